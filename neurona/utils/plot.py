"""``keras.utils.plot_model``: a picture of a model's layer graph, drawn by Graphviz from ``nr.viz.layer_graph``."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any


def plot_model(model: Any, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False) -> Path:
    """Draw ``model``'s layers and their connections into ``to_file`` (PNG, SVG or PDF, from the extension).

    Boxes show each layer's name and type (with ``show_shapes``, its output shape and parameter
    count). Keras's ``show_dtype``, ``show_layer_names``, ``expand_nested``, ``dpi``,
    ``show_layer_activations`` and ``show_trainable`` are accepted and do not change the drawing.
    Without Graphviz's ``dot`` program, the graph is written as DOT text to ``to_file`` with the
    suffix ``.dot`` instead, with a warning saying how to draw it; the path written is returned.

    >>> nr.utils.plot_model(model, "model.png", show_shapes=True)
    """
    from .. import viz  # imported on use: viz sits above the layers utils serves

    del show_dtype, show_layer_names, expand_nested, dpi, show_layer_activations, show_trainable
    dot = viz.layer_graph(model, show_shapes=show_shapes, rankdir=rankdir)
    path = Path(to_file)
    if shutil.which("dot") is None:
        text_path = path.with_suffix(".dot")
        from ..files import atomic_write

        atomic_write(text_path, dot.encode())
        warnings.warn(f"plot_model: Graphviz's 'dot' program was not found, so {str(path)!r} was not drawn; the "
                      f"graph was written as DOT text to {str(text_path)!r} (draw it with `dot -Tpng "
                      f"{text_path} -o {path}` once Graphviz is installed: apt install graphviz)", stacklevel=2)
        return text_path
    return viz.render(dot, path)
