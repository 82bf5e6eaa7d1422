"""Checking and batching the arrays handed to ``fit``/``evaluate``/``predict``.

Everything here runs before training starts, so bad data fails in a second with
a message that names what was wrong, not after an epoch with a NumPy error from
deep inside an op. The arrays stay as the user gave them (uint8 images stay
uint8: rescaling is the user's or the loader's job); each batch is converted to
the model's float dtype when it is taken.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor, no_grad
from ..kernels import parallel_for

# What the targets mean for the loss: class labels, binary targets, or values.
MULTICLASS, BINARY, REGRESSION = "multiclass", "binary", "regression"


def as_array(a: Any, what: str) -> np.ndarray:
    """A NumPy array of numbers from an array, a Tensor or nested lists; TypeError for strings/objects."""
    if isinstance(a, Tensor):
        a = a.data
    a = backend.to_numpy(a) if hasattr(a, "__cuda_array_interface__") else a
    try:
        a = np.asarray(a)
    except ValueError as exc:  # ragged lists
        raise TypeError(f"{what} must be an array of numbers with one row per sample. Received: {exc}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{what} must hold numbers (bool, int or float). Received: dtype={a.dtype}"
                        + (" (strings: encode the categories as numbers first)" if a.dtype.kind in "USO" else ""))
    if a.ndim == 0:
        raise ValueError(f"{what} must have a batch axis (one row per sample). Received: a scalar")
    return a


def _limit(a: np.ndarray, dtype: Any) -> float | None:
    """The largest magnitude ``dtype`` holds when it is narrower than ``a``'s dtype, else None."""
    if dtype is not None and np.dtype(dtype).kind == "f" and np.finfo(dtype).max < np.finfo(a.dtype).max:
        return float(np.finfo(dtype).max)
    return None


def _sums_of_squares_within(a: np.ndarray, limit: float | None) -> bool:
    """True when the sums of the squares of ``a``'s values (one per slice, a BLAS dot product
    each, the slices split over neurona's threads) are finite (and at most limit^2): then every
    value is finite (and within +-limit). One pass over the data instead of min and max's two.
    False also when a sum overflows with finite values, so False means "look closer", never
    "bad". Only for contiguous float32/float64 arrays, and with a limit only for float64 (where
    squaring and summing cannot hide a value above it)."""
    if a.dtype not in (np.float32, np.float64) or not a.flags.c_contiguous:
        return False
    if limit is not None and a.dtype != np.float64:
        return False
    flat = a.reshape(-1)
    bound = math.inf if limit is None else limit * limit
    ok: list[bool] = []

    def check(s: slice) -> None:
        with np.errstate(over="ignore", invalid="ignore"):
            ss = float(np.dot(flat[s], flat[s]))
        ok.append(math.isfinite(ss) and ss <= bound)

    parallel_for(check, flat.size, min_chunk=1 << 21)  # whole data sets: a batch is checked in one piece
    return all(ok)


def is_finite(a: np.ndarray, dtype: Any = None) -> bool:
    """Whether ``check_finite(a, ..., dtype)`` passes: no NaN or Inf and, with ``dtype``, no value
    beyond what it holds. Cheap on a batch that is about to be used (it is in cache after)."""
    if a.dtype.kind != "f" or a.size == 0:
        return True
    limit = _limit(a, dtype)
    if _sums_of_squares_within(a, limit):
        return True
    lo, hi = a.min(), a.max()  # NaN and Inf show in min/max: no temporary array
    return bool(np.isfinite(lo) and np.isfinite(hi) and (limit is None or (-limit <= lo and hi <= limit)))


def check_finite(a: np.ndarray, what: str, dtype: Any = None) -> None:
    """ValueError naming the first sample with NaN or Inf, or, when ``dtype`` is given, the first
    sample with a finite value too large for it (float64 data above float32's 3.4e38 would
    become Inf once cast for a float32 model)."""
    if is_finite(a, dtype):
        return
    limit = _limit(a, dtype)
    rows = a.reshape(len(a), -1)
    bad = ~np.isfinite(rows).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{what} contains NaN or Inf ({int(bad.sum())} samples, the first is sample {i}): "
                         "remove or impute them first")
    big = (np.abs(rows) > limit).any(axis=1)
    i = int(np.argmax(big))
    raise ValueError(f"{what} has finite values too large for {np.dtype(dtype)}, the model's dtype (largest "
                     f"{limit:.4g}); they would become Inf. Received: values up to {float(np.abs(rows).max()):.4g} "
                     f"({int(big.sum())} samples, the first is sample {i}): rescale the data (e.g. standardise it)")


def check_batch_axis(model: Any, x: np.ndarray, what: str = "x") -> None:
    """ValueError when 1-D ``x`` goes to a model whose inputs have a batch axis and more.

    A model built on (N, d) inputs records ``input_shape`` (N, d); one that is not built yet
    is tried on a copy with 2 and with 3 rows: a model that takes one number per sample keeps
    the batch axis, one that needs rows of features does not (a lazy Dense would take the
    whole vector as one sample's features).
    """
    if x.ndim != 1:
        return
    shape = model.__dict__.get("input_shape") if model.__dict__.get("built") else None
    if shape is None:
        shape = model.__dict__.get("declared_input_shape")
        shape = None if shape is None else (None, *shape)
    if shape is None:
        skip = {id(v): None for k, v in model.__dict__.items() if k in ("_trainer", "optimizer")}
        probe = copy.deepcopy(model, skip)  # the trainer and optimizer are not copied
        probe.eval()
        try:
            with no_grad():
                takes = all(tuple(probe(Tensor(x[:n], device=backend.get_device())).shape)[:1] == (len(x[:n]),)
                            for n in (2, 3))
        except Exception:  # noqa: BLE001 - any failure means it does not take one number per sample
            takes = False
        if takes:
            return
    elif len(shape) < 2:
        return
    need = "" if shape is None else f" (the model takes inputs of shape {(None, *shape[1:])})"
    raise ValueError(f"{what} must have a batch axis, one row per sample{need}. Received: shape={x.shape}; "
                     f"for one sample pass {what}[None] (shape {(1, *x.shape)}), for one feature per sample "
                     f"{what}.reshape(-1, 1)")


def checked_pair(x: Any, y: Any, w: np.ndarray | None = None, prefix: str = "",
                 dtype: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """x and y as arrays, checked for equal lengths (with ``w`` when given), for NaN/Inf and,
    with ``dtype`` (the model's), for finite values that would overflow it."""
    x, y = as_array(x, f"{prefix}x"), as_array(y, f"{prefix}y")
    check_lengths(x, y, w, prefix)
    check_finite(x, f"{prefix}x", dtype)
    check_finite(y, f"{prefix}y", dtype)
    return x, y


def check_lengths(x: np.ndarray, y: np.ndarray | None, w: np.ndarray | None, prefix: str = "") -> None:
    if y is not None and len(y) != len(x):
        raise ValueError(f"{prefix}x and {prefix}y must have the same number of samples. "
                         f"Received: len(x)={len(x)}, len(y)={len(y)}")
    if w is not None and w.shape != (len(x),):
        raise ValueError(f"{prefix}sample_weight must have shape ({len(x)},) (one weight per sample). "
                         f"Received: shape={w.shape}")


def prepare_targets(y: np.ndarray, out_shape: tuple[int, ...], kind: str | None, dtype: Any,
                    what: str = "y") -> np.ndarray:
    """Targets in the form the loss takes, checked against the model's output shape.

    multiclass: int labels (N, ...) in [0, C - 1] (whole-number floats are accepted) or
    probability rows with the output's shape; binary and regression: floats with the
    output's shape ((N,) is read as (N, 1) for a single output).
    """
    sample_out = tuple(out_shape[1:])
    if kind == MULTICLASS:
        C = sample_out[-1] if sample_out else 1
        if C < 2:
            raise ValueError(f"cross-entropy needs a model with at least 2 outputs (one per class). Received: "
                             f"output shape {tuple(out_shape)}; for two classes use 1 output with "
                             "binary cross-entropy, or 2 outputs")
        if y.shape[1:] == sample_out:
            return probability_rows(y, dtype, what)  # one-hot or probability rows
        if y.ndim == len(sample_out) + 1 and y.shape[-1] == 1 and C > 1:
            y = y.reshape(y.shape[:-1])  # (N, 1) labels
        if y.shape[1:] != sample_out[:-1]:
            raise ValueError(f"{what}: cross-entropy takes class labels of shape {(len(y),) + sample_out[:-1]} or "
                             f"one-hot rows of shape {(len(y),) + sample_out} for a model with output shape "
                             f"{(None,) + sample_out}. Received: shape={y.shape}")
        if y.dtype.kind == "f" and not bool(np.all(y == np.round(y))):
            raise ValueError(f"{what}: class labels must be whole numbers. Received: {y.dtype} values such as "
                             f"{y[y != np.round(y)].ravel()[0]}")
        labels = y.astype(np.int64, copy=False)
        if labels.size and (labels.min() < 0 or labels.max() >= C):
            raise ValueError(f"{what}: labels must be in [0, {C - 1}] for a model with {C} outputs. Received: "
                             f"labels from {int(labels.min())} to {int(labels.max())}")
        return labels
    if kind in (BINARY, REGRESSION):
        if y.shape[1:] != sample_out and y.ndim == 1 and sample_out == (1,):
            y = y.reshape(-1, 1)
        if y.shape[1:] != sample_out:
            loss = "binary cross-entropy" if kind == BINARY else "a regression loss"
            raise ValueError(f"{what}: {loss} takes targets of the output's shape {(len(y),) + sample_out}. "
                             f"Received: shape={y.shape}")
        y = y.astype(dtype, copy=False)
        if kind == BINARY and y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"{what}: binary cross-entropy targets must be in [0, 1]. Received: values from "
                             f"{float(y.min())} to {float(y.max())}")
        return y
    return y.astype(dtype, copy=False) if y.dtype.kind in "bf" else y


def probability_rows(y: np.ndarray, dtype: Any, what: str = "y") -> np.ndarray:
    """One-hot or probability rows (last axis), checked: no negative entry, each row sums to 1."""
    if y.size == 0:
        return y.astype(dtype, copy=False)
    if y.min() < 0:
        raise ValueError(f"{what}: one-hot or probability rows must not be negative. Received: a minimum of "
                         f"{float(y.min())}")
    sums = y.sum(axis=-1, dtype=np.float64)
    off = np.abs(sums - 1.0) > 1e-3  # float32 rows of soft labels sum to 1 within rounding
    if off.any():
        i = np.unravel_index(int(np.argmax(off)), off.shape)
        raise ValueError(f"{what}: one-hot or probability rows must each sum to 1. Received: {int(off.sum())} rows "
                         f"that do not, the first is row {i[0] if len(i) == 1 else i} summing to {float(sums[i]):.6g}")
    return y.astype(dtype, copy=False)


def class_weights_to_samples(class_weight: dict[Any, float], y: np.ndarray, kind: str | None,
                             dtype: Any) -> np.ndarray:
    """Per-sample weights w_i = class_weight[label of sample i] (1 for classes not listed)."""
    if kind == MULTICLASS:
        labels = y.argmax(axis=-1) if y.dtype.kind == "f" else y
    elif kind == BINARY and y.ndim == 2 and y.shape[1] == 1:
        labels = np.round(y[:, 0]).astype(np.int64)
    else:
        raise ValueError("class_weight needs class labels: a cross-entropy loss, or binary cross-entropy with one "
                         "output; use sample_weight for other tasks")
    if labels.ndim != 1:
        raise ValueError("class_weight needs one label per sample; use sample_weight for per-position labels")
    keys = [int(k) for k in class_weight]
    table = np.ones(max(keys + [int(labels.max()) if labels.size else 0]) + 1, dtype=dtype)
    for k, v in class_weight.items():
        if not np.isfinite(v) or v < 0:
            raise ValueError(f"class_weight values must be finite and >= 0. Received: {{{k!r}: {v!r}}}")
        table[int(k)] = v
    return table[labels]


def prepare_weights(w: Any, n: int, dtype: Any, what: str = "sample_weight") -> np.ndarray | None:
    if w is None:
        return None
    w = as_array(w, what).astype(dtype, copy=False)
    if w.shape != (n,):
        raise ValueError(f"{what} must have shape ({n},) (one weight per sample). Received: shape={w.shape}")
    check_finite(w, what)
    if w.size and w.min() < 0:
        raise ValueError(f"{what} must be >= 0. Received: a minimum of {float(w.min())}")
    return w


def split_validation(arrays: list[Any], fraction: float) -> tuple[list[Any], list[Any]]:
    """Keras's validation_split: the last ``fraction`` of the samples, taken before any shuffling."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"validation_split must be in [0, 1). Received: validation_split={fraction}")
    n = len(arrays[0])
    split = int(np.floor(n * (1.0 - fraction)))
    if split == 0 or split == n:
        raise ValueError(f"validation_split={fraction} leaves {'no training' if split == 0 else 'no validation'} "
                         f"samples out of {n}")
    train = [None if a is None else a[:split] for a in arrays]
    val = [None if a is None else a[split:] for a in arrays]
    return train, val


def batch_indices(n: int, batch_size: int, order: np.ndarray | None) -> Iterator[Any]:
    """Slices (no shuffling: views, no copy) or slices of a permutation, one per batch."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield slice(start, stop) if order is None else order[start:stop]


def take(a: np.ndarray | None, index: Any, dtype: Any = None, device: str = "cpu") -> Any:
    """One batch of ``a`` (a slice is a view; an index array gathers), in ``dtype``, on ``device``."""
    if a is None:
        return None
    b = a[index] if isinstance(index, slice) else a.take(index, axis=0)  # take: NumPy's faster gather of rows
    if dtype is not None and b.dtype != dtype:
        b = b.astype(dtype)
    return b if device == "cpu" else backend.to_device(b, device)


def batch_tensor(a: np.ndarray, index: Any, dtype: Any, device: str = "cpu") -> Tensor:
    """One batch of inputs as a Tensor of the model's dtype (a float64 model gets float64 inputs
    whatever the default dtype)."""
    return Tensor(take(a, index, dtype, device), dtype=dtype)


def moved(a: Any, device: str) -> Any:
    """``a`` on ``device`` (no copy on the CPU; None stays None)."""
    return a if a is None or device == "cpu" else backend.to_device(a, device)


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
    return int(batch_size)
