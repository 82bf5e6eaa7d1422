"""``keras.utils.to_categorical``: integer class labels to one-hot rows."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_categorical(x: Any, num_classes: int | None = None) -> np.ndarray:
    """One-hot float32 rows for integer labels, as Keras: shape ``x.shape + (num_classes,)``
    (a trailing axis of size 1 is dropped first, so (N, 1) labels give (N, C)).

    >>> to_categorical([0, 2], num_classes=3)
    array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    y = np.asarray(x)
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        raise ValueError(f"to_categorical: expected integer class labels. Received: float values such as "
                         f"{y[y != np.round(y)].flat[0]!r}")
    if y.dtype.kind not in "iuf" and y.size:
        raise TypeError(f"to_categorical: expected integer class labels. Received: dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0. Received: {int(y.min())}")
    top = int(y.max()) + 1 if y.size else 0
    if num_classes is None:
        num_classes = top
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"to_categorical: num_classes must be a positive integer. Received: {num_classes!r}")
    elif top > num_classes:
        raise ValueError(f"to_categorical: label {top - 1} does not fit num_classes={num_classes} "
                         f"(expected labels in 0..{num_classes - 1})")
    out = np.zeros(y.shape + (int(num_classes),), dtype=np.float32)
    np.put_along_axis(out, y[..., None], 1.0, axis=-1)
    return out
