"""``nr.save`` / ``nr.load``: PyTorch's way of saving a state dict, as an npz file (no pickle).

>>> nr.save(model.state_dict(), "model.pth")        # writes exactly "model.pth", atomically
>>> model.load_state_dict(nr.load("model.pth"))

Only what a state dict holds can be saved: a flat ``dict`` from names to arrays, Tensors
or numbers (an optimizer's or a whole model's state belongs in ``model.save``).
"""

from __future__ import annotations

import io
import os
import zipfile
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor
from .files import atomic_write


def save(obj: dict[str, Any], f: str | os.PathLike) -> None:
    """Write a state dict (names -> arrays/Tensors/numbers) to exactly ``f`` as npz, atomically."""
    if not isinstance(obj, dict):
        raise TypeError(f"nr.save: expected a state dict (a dict of arrays, e.g. model.state_dict()); whole "
                        f"objects are not pickled (use model.save for a model). Received: {type(obj).__name__}")
    arrays = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(f"nr.save: state dict keys must be strings. Received: {key!r}")
        value = value.data if isinstance(value, Tensor) else value
        array = backend.to_numpy(value) if hasattr(value, "shape") else np.asarray(value)
        if array.dtype == object:
            raise TypeError(f"nr.save: {key!r} is not an array or a number (nothing is pickled). "
                            f"Received: {type(value).__name__}")
        arrays[key] = array
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(f, buffer.getvalue())


def load(f: str | os.PathLike, map_location: Any = None, weights_only: bool = True) -> dict[str, np.ndarray]:
    """Read a state dict written by ``nr.save``: names -> NumPy arrays (in the file's order).

    ``map_location`` and ``weights_only`` are accepted for PyTorch scripts: the arrays are on the
    CPU (``load_state_dict`` moves them to the model's device) and nothing but weights is ever read.
    """
    try:
        with np.load(f, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"nr.load: {f} is not a state dict saved by nr.save (an npz file). "
                         f"Reason: {exc}") from None
