"""Reading a saved model for evaluate and predict: any failure is the user's file, reported in one message."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import numpy as np

import neurona as nr

from .errors import UserError


def load_model_file(path: str) -> Any:
    """``nr.load_model(path)`` for the command line: a missing, special or damaged file is a UserError."""
    p = Path(path)
    if not p.exists():
        raise UserError(f"no such model file: {path}")
    if not stat.S_ISREG(p.stat().st_mode):  # a folder, or a FIFO that would block
        raise UserError(f"{path} is not a regular file; expected a model file written by neurona train "
                        "(runs/<run>/model.neurona)")
    try:
        return nr.load_model(path, compile=False)
    except MemoryError:
        raise UserError(f"{path}: the model file asks for more memory than there is; it is damaged or "
                        "not a neurona model") from None
    except Exception as exc:  # a hostile or damaged file must not show a traceback, whatever breaks
        raise UserError(f"cannot read the model file {path} ({type(exc).__name__}: {exc})") from None


def check_input(model: Any, x: np.ndarray, what: str) -> None:
    expected = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) != expected:
        raise UserError(f"{what} has samples of shape {tuple(x.shape[1:])} but the model expects {expected}")


def image_settings(model: Any) -> tuple[tuple[int, int] | None, str]:
    """The image size and color mode a model's input needs (None, 'grayscale' for tables)."""
    shape = tuple(model.input_shape[1:])
    if len(shape) != 3:
        return None, "grayscale"
    return (int(shape[0]), int(shape[1])), "rgb" if shape[-1] == 3 else "grayscale"
