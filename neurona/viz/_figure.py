"""Headless matplotlib figures and saving them: what every plot function starts and ends with."""

from __future__ import annotations

import io
import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..files import atomic_write

IMAGE_FORMATS = ("png", "svg", "pdf", "jpg", "jpeg")
SavePath = str | os.PathLike | None  # where to save a figure; None: do not save
BAD = "#d62728"  # wrong predictions, the best epoch, the suggested learning rate


def new_figure(width: float, height: float) -> Figure:
    """A Figure drawn by Agg, outside pyplot: no window, no global state, freed when dropped.

    Returned figures display themselves in Jupyter; in a script, pass ``path=`` or call ``fig.savefig``.
    """
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def finish(fig: Figure, path: SavePath, who: str, dpi: int = 100) -> Figure:
    """Save ``fig`` to ``path`` (format from the extension, written atomically) when a path is given."""
    if path is not None:
        path = Path(path)
        fmt = path.suffix.lstrip(".").lower()
        if fmt not in IMAGE_FORMATS:
            raise ValueError(f"{who}: path must end in one of {', '.join('.' + f for f in IMAGE_FORMATS)}. "
                             f"Received: path={str(path)!r}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=dpi)
        atomic_write(path, buffer.getvalue())
    return fig
