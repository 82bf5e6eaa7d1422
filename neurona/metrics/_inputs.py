"""Turning what users pass to a metric into NumPy arrays, and telling what kind of target it is.

Metrics run on the host: they take lists, NumPy or CuPy arrays, and neurona (or torch)
Tensors, and copy them to NumPy once. The target kinds follow scikit-learn's
``type_of_target``: "binary", "multiclass", "multilabel-indicator", "continuous",
"continuous-multioutput".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for these inputs (e.g. ROC AUC with one class) and NaN is returned."""


def to_array(x: Any) -> np.ndarray:
    """A NumPy array from a list, a NumPy/CuPy array or a Tensor (anything with ``.numpy()``)."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "numpy") and not hasattr(x, "__cuda_array_interface__"):
        x = x.detach().numpy() if hasattr(x, "detach") and hasattr(x, "requires_grad") else x.numpy()
    return np.asarray(backend.to_numpy(x))


def check_lengths(where: str, **arrays: Any) -> None:
    """All given arrays (None skipped) hold the same number of samples."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        got = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"{where}: expected the same number of samples in every argument. Received: {got}")


def sample_weights(where: str, sample_weight: Any, n: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = to_array(sample_weight).astype(np.float64).reshape(-1)
    if len(w) != n:
        raise ValueError(f"{where}: expected one sample_weight per sample ({n}). Received: {len(w)}")
    return w


def unique(y: np.ndarray) -> np.ndarray:
    """Sorted distinct values; for integer labels a bincount (linear time) instead of np.unique's sort."""
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind in "iub" and y.size:
        lo, hi = int(y.min()), int(y.max())
        if hi - lo <= max(1 << 16, 4 * y.size):
            present = np.flatnonzero(np.bincount(y.astype(np.int64) - lo))
            return (present + lo).astype(y.dtype)
    return np.unique(y)


def union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted distinct values of both arrays."""
    a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
    if a.dtype != b.dtype and a.dtype.kind in "iub" and b.dtype.kind in "iub":
        a, b = a.astype(np.int64), b.astype(np.int64)
    return unique(np.concatenate([a, b]))


def _is_integral(y: np.ndarray) -> bool:
    return y.dtype.kind in "biuOUS" or (y.dtype.kind == "f" and bool(np.all(np.mod(y, 1) == 0)))


def target_type(y: np.ndarray) -> str:
    """scikit-learn's kinds of target; an (N, 1) column counts as 1-D."""
    if y.ndim > 2:
        return "unknown"
    if y.ndim == 2 and y.shape[1] > 1:
        if y.dtype.kind == "b" or (y.dtype.kind in "iuf" and y.size and np.isin(y, (0, 1)).all()):
            return "multilabel-indicator"
        return "continuous-multioutput" if y.dtype.kind == "f" and not _is_integral(y) else "multiclass-multioutput"
    y = y.reshape(-1)
    if y.dtype.kind == "f" and not _is_integral(y):
        return "continuous"
    return "multiclass" if len(unique(y)) > 2 else "binary"


def is_one_hot(y: np.ndarray) -> bool:
    return y.ndim == 2 and y.shape[1] > 1 and np.isin(y, (0, 1)).all() and (y.sum(axis=1) == 1).all()


def check_targets(where: str, y_true: Any, y_pred: Any) -> tuple[str, np.ndarray, np.ndarray]:
    """Validate a pair of label arrays; returns (kind, y_true, y_pred) with kind "binary",
    "multiclass" or "multilabel-indicator". One-hot rows next to 1-D labels become labels
    (their argmax), so Keras-style one-hot targets can be compared with predicted classes."""
    y_true, y_pred = to_array(y_true), to_array(y_pred)
    check_lengths(where, y_true=y_true, y_pred=y_pred)
    kinds = [target_type(y_true), target_type(y_pred)]
    if "multilabel-indicator" in kinds and kinds[0] != kinds[1]:
        ys = [y_true, y_pred]
        for i in (0, 1):
            if kinds[i] == "multilabel-indicator" and is_one_hot(ys[i]) and kinds[1 - i] in ("binary", "multiclass"):
                ys[i] = ys[i].argmax(axis=1)
                kinds[i] = "multiclass"
        y_true, y_pred = ys
    for name, kind in zip(("y_true", "y_pred"), kinds, strict=True):
        if kind.startswith("continuous"):
            raise ValueError(f"{where}: {name} holds continuous values (scores or probabilities?); this metric "
                             "needs class labels. Threshold them (p > 0.5) or take y.argmax(axis=1) first")
        if kind in ("unknown", "multiclass-multioutput"):
            shape = (y_true if name == "y_true" else y_pred).shape
            raise ValueError(f"{where}: {name} must be labels of shape (N,) or a 0/1 indicator matrix (N, C). "
                             f"Received: shape={shape}")
    if kinds[0] != kinds[1] and "multilabel-indicator" in kinds:
        raise ValueError(f"{where}: can't mix a multilabel indicator matrix with labels. "
                         f"Received: y_true is {kinds[0]}, y_pred is {kinds[1]}")
    if kinds[0] == "multilabel-indicator":
        if y_true.shape != y_pred.shape:
            raise ValueError(f"{where}: y_true and y_pred have different shapes: {y_true.shape} and {y_pred.shape}")
        return "multilabel-indicator", y_true.astype(np.int64), y_pred.astype(np.int64)
    y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
    if (y_true.dtype.kind in "OUS") != (y_pred.dtype.kind in "OUS"):
        raise ValueError(f"{where}: mix of string and number labels. Received: y_true dtype {y_true.dtype}, "
                         f"y_pred dtype {y_pred.dtype}")
    kind = "multiclass" if "multiclass" in kinds or len(union(y_true, y_pred)) > 2 else "binary"
    return kind, y_true, y_pred


def encode(y: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Index of each value of y in ``labels`` (any order), -1 for values not in labels."""
    if y.dtype.kind in "iub" and labels.dtype.kind in "iub" and len(labels):
        lo, hi = int(labels.min()), int(labels.max())
        if hi - lo <= max(1 << 16, 4 * len(y)):  # a lookup table: linear time
            table = np.full(hi - lo + 1, -1, dtype=np.int64)
            table[labels.astype(np.int64) - lo] = np.arange(len(labels))
            shifted = y.astype(np.int64) - lo
            inside = (shifted >= 0) & (shifted <= hi - lo)
            return np.where(inside, table[np.clip(shifted, 0, hi - lo)], -1)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    pos = np.clip(np.searchsorted(sorted_labels, y), 0, len(labels) - 1)
    found = sorted_labels[pos] == y if len(labels) else np.zeros(len(y), dtype=bool)
    return np.where(found, order[pos], -1)
