"""Splitting a data set into training, validation and test sets (stratified and seeded).

The course's rule: choose everything (architecture, epochs, learning rate) on the
validation set, and measure the test set once, at the end. Stratified splits keep each
class's share the same in the three sets: with n_c samples of class c out of n, each set
of size m holds about m n_c / n of them (rounded as scikit-learn's stratified splits do:
the floor of each share, then the leftover samples to the classes with the largest
fractional parts).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor

__all__ = ["train_val_test_split"]


def _size(name: str, value: Any, n: int) -> int:
    """A set's size from a fraction in [0, 1) (rounded up, as scikit-learn) or a count."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"train_val_test_split: {name} must be a fraction in [0, 1) or a count. "
                        f"Received: {name}={value!r}")
    if isinstance(value, (float, np.floating)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"train_val_test_split: {name} as a fraction must be in [0, 1). Received: {name}={value}")
        return math.ceil(value * n)
    if not 0 <= value < n:
        raise ValueError(f"train_val_test_split: {name} as a count must be in [0, {n}). Received: {name}={value}")
    return int(value)


def _labels(y: Any, n: int) -> np.ndarray:
    y = backend.to_numpy(y.data if isinstance(y, Tensor) else y) if y is not None else None
    if y is None:
        raise ValueError("train_val_test_split: stratify=True needs the labels y; pass stratify=False to split "
                         "without them")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
        y = y.argmax(axis=1)
    y = y.reshape(len(y), -1)[:, 0] if y.ndim == 2 else y
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"train_val_test_split: stratifying needs one class label per sample, shape ({n},) or "
                         f"one-hot ({n}, C). Received: shape={y.shape}")
    return y


def _allocate(total: int, counts: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """Split ``total`` over the classes in proportion to ``counts``: floors, then the remainder to the
    largest fractional parts (ties in random order), never more than a class has."""
    share = total * counts / counts.sum()
    take = np.floor(share).astype(np.int64)
    left = total - int(take.sum())
    order = np.lexsort((gen.random(len(counts)), -(share - take)))
    for c in order:
        if left == 0:
            break
        if take[c] < counts[c]:
            take[c] += 1
            left -= 1
    return take


def _take(a: Any, idx: np.ndarray) -> Any:
    if a is None:
        return None
    if isinstance(a, Tensor):
        return Tensor(a.data[backend.to_device(idx, a.device) if a.device != "cpu" else idx])
    if backend.device_of(a) != "cpu":
        return a[backend.to_device(idx, backend.device_of(a))]
    return a[idx]


def train_val_test_split(x: Any, y: Any = None, val: float | int = 0.1, test: float | int = 0.1,
                         stratify: bool = True, seed: int | None = 0, shuffle: bool = True
                         ) -> tuple[tuple[Any, Any], tuple[Any, Any], tuple[Any, Any]]:
    """((x_train, y_train), (x_val, y_val), (x_test, y_test)), Keras-shaped.

    val, test: fractions of the whole set (rounded up) or counts; the rest is training.
    stratify: keep each class's share in every set (y: int labels (N,) or one-hot (N, C)).
    seed: an int gives the same split every time, independently of ``nr.manual_seed``;
    None draws from neurona's generator. shuffle=False (only without stratify) keeps the
    order: training first, then validation, then test.

    >>> (xt, yt), (xv, yv), (xs, ys) = nr.data.train_val_test_split(x, y, val=0.1, test=0.1, seed=0)
    """
    x = x if isinstance(x, Tensor) or hasattr(x, "shape") else np.asarray(x)
    y = y if y is None or isinstance(y, Tensor) or hasattr(y, "shape") else np.asarray(y)
    xa = x.data if isinstance(x, Tensor) else x
    if not hasattr(xa, "shape") or len(xa.shape) == 0:
        raise ValueError(f"train_val_test_split: expected x with samples along axis 0. Received: {type(x).__name__}")
    n = int(xa.shape[0])
    if y is not None and len(y) != n:
        raise ValueError(f"train_val_test_split: x and y must have the same number of samples. "
                         f"Received: {n} and {len(y)}")
    n_test, n_val = _size("test", test, n), _size("val", val, n)
    if n_test + n_val >= n:
        raise ValueError(f"train_val_test_split: val + test leave no training samples ({n_val} + {n_test} of {n})")
    if stratify and not shuffle:
        raise ValueError("train_val_test_split: a stratified split shuffles; pass shuffle=True or stratify=False")
    gen = np.random.default_rng(seed) if seed is not None else backend.rng()
    if not stratify:
        order = gen.permutation(n) if shuffle else np.arange(n)
        n_train = n - n_val - n_test
        parts = [order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]]
    else:
        labels = _labels(y, n)
        classes, inverse = np.unique(labels, return_inverse=True)
        counts = np.bincount(inverse, minlength=len(classes))
        test_counts = _allocate(n_test, counts, gen)
        val_counts = _allocate(n_val, counts - test_counts, gen)
        parts = [[], [], []]
        for c in range(len(classes)):
            members = gen.permutation(np.flatnonzero(inverse == c))
            t, v = test_counts[c], val_counts[c]
            parts[2].append(members[:t])
            parts[1].append(members[t:t + v])
            parts[0].append(members[t + v:])
        parts = [gen.permutation(np.concatenate(p)) for p in parts]  # classes mixed within each set
    return tuple((_take(x, idx), _take(y, idx)) for idx in parts)
