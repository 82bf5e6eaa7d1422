"""What the viz modules share, without matplotlib: atomic writes, inputs as NumPy arrays, running a model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor, no_grad, tensor
from ..nn import Module


def as_numpy(x: Any) -> np.ndarray:
    """A Tensor, a CuPy or NumPy array, or a list, as a NumPy array."""
    if isinstance(x, Tensor):
        return x.numpy()
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return backend.to_numpy(x)
    return np.asarray(x)


def as_labels(y: Any, who: str, what: str) -> np.ndarray:
    """Class labels (N,) from labels or from scores/one-hot rows (N, C), taking the argmax."""
    y = as_numpy(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    if y.ndim == 2:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{who}: expected {what} as labels (N,) or scores (N, C). Received: shape={y.shape}")
    if y.dtype.kind == "f":
        if not np.array_equal(y, np.round(y)):  # e.g. sigmoid outputs, which astype(int) would silently zero
            raise ValueError(f"{who}: {what} holds non-integer values; pass class labels (threshold probabilities "
                             "first) or scores per class (N, C)")
        y = y.astype(np.int64)
    return y


def predict_function(model: Any, who: str) -> Callable[[np.ndarray], np.ndarray]:
    """A function array -> array of outputs for a Module (run under no_grad in eval mode), a
    ``.predict`` method (a Keras-style model) or any callable."""
    if isinstance(model, Module):
        def predict(x: np.ndarray) -> np.ndarray:
            with no_grad(), evaluation(model):
                return as_numpy(model(tensor(x, device=model_device(model))))
        return predict
    if hasattr(model, "predict") and callable(model.predict):
        return lambda x: as_numpy(model.predict(x))
    if callable(model):
        return lambda x: as_numpy(model(x))
    raise TypeError(f"{who}: expected a model (nn.Module), an object with .predict or a function. "
                    f"Received: {type(model).__name__}")


def model_device(model: Module) -> str | None:
    """The device of a model's weights (None before it has any): its inputs must be put there."""
    params = model.parameters()
    return params[0].device if params else None


class evaluation:
    """Context: put a Module in eval mode, then give every sub-module back its own previous mode."""

    def __init__(self, model: Module) -> None:
        self.model = model

    def __enter__(self) -> Module:
        self.modes = [(m, m.training) for m in self.model.modules()]
        return self.model.eval()

    def __exit__(self, *exc: Any) -> None:
        for m, mode in self.modes:
            m.__dict__["training"] = mode
