"""Teaching sets: the logic gates and the 2-D classification problems of a first course.

Each returns ``(X, y)``: X float32 (n, 2), y int64 (n,). Random sets take ``noise``
(the standard deviation of Gaussian noise added to each coordinate) and ``seed``
(an int for a private generator; None draws from neurona's, seeded by ``nr.manual_seed``).

* ``make_and``, ``make_or``, ``make_xor``: the truth tables. A single perceptron learns
  AND and OR (linearly separable) but never XOR, which needs a hidden layer.
* ``make_circles``, ``make_moons``, ``make_spirals``: classes no straight line separates.
* ``make_blobs``: Gaussian clusters, linearly separable when far apart.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend

_GATES = {"and": (0, 0, 0, 1), "or": (0, 1, 1, 1), "xor": (0, 1, 1, 0), "nand": (1, 1, 1, 0), "nor": (1, 0, 0, 0)}


def truth_table(gate: str, bipolar: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The four rows of a two-input logic gate ('and', 'or', 'xor', 'nand', 'nor').

    Inputs are 0/1, rows in the order (0,0), (0,1), (1,0), (1,1); labels 0/1. With
    ``bipolar=True`` inputs and labels are -1/+1 instead (the perceptron rule's
    classic encoding, where a 0 input would never move its weight).

    >>> X, y = truth_table("xor")      # y = [0, 1, 1, 0]
    """
    key = gate.lower()
    if key not in _GATES:
        raise ValueError(f"truth_table: gate must be one of {tuple(_GATES)}. Received: gate={gate!r}")
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array(_GATES[key], dtype=np.int64)
    if bipolar:
        return 2 * X - 1, 2 * y - 1
    return X, y


def make_and(bipolar: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """AND's truth table (see ``truth_table``)."""
    return truth_table("and", bipolar)


def make_or(bipolar: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """OR's truth table (see ``truth_table``)."""
    return truth_table("or", bipolar)


def make_xor(bipolar: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """XOR's truth table (see ``truth_table``): the problem a single perceptron cannot solve."""
    return truth_table("xor", bipolar)


def _generator(seed: int | None) -> np.random.Generator:
    return backend.rng() if seed is None else np.random.default_rng(seed)


def _check(fn: str, n_samples: int, noise: float, min_samples: int = 2) -> None:
    if not isinstance(n_samples, (int, np.integer)) or n_samples < min_samples:
        raise ValueError(f"{fn}: n_samples must be an integer >= {min_samples}. Received: n_samples={n_samples!r}")
    if noise < 0:
        raise ValueError(f"{fn}: noise must be >= 0. Received: noise={noise}")


def _finish(X: np.ndarray, y: np.ndarray, noise: float, gen: np.random.Generator,
            shuffle: bool) -> tuple[np.ndarray, np.ndarray]:
    if noise > 0:
        X = X + noise * gen.standard_normal(X.shape)
    if shuffle:
        order = gen.permutation(len(y))
        X, y = X[order], y[order]
    return X.astype(np.float32), y.astype(np.int64)


def make_circles(n_samples: int = 200, noise: float = 0.05, factor: float = 0.5, shuffle: bool = True,
                 seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 on radius 1, class 1 on radius ``factor`` (0 < factor < 1).

    Without noise the points are those of scikit-learn's ``make_circles``.
    """
    _check("make_circles", n_samples, noise)
    if not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be in (0, 1). Received: factor={factor}")
    gen = _generator(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _finish(X, y, noise, gen, shuffle)


def make_moons(n_samples: int = 200, noise: float = 0.1, shuffle: bool = True,
               seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (class 0 the upper one). Without noise, scikit-learn's points."""
    _check("make_moons", n_samples, noise)
    gen = _generator(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _finish(X, y, noise, gen, shuffle)


def make_spirals(n_samples: int = 300, n_classes: int = 3, noise: float = 0.05, turns: float = 0.75,
                 shuffle: bool = True, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms (CS231n's classic), one class per arm.

    Arm k: radius r from 0 to 1, angle 2 pi k / n_classes + 2 pi turns r.
    """
    _check("make_spirals", n_samples, noise, min_samples=n_classes)
    if n_classes < 2:
        raise ValueError(f"make_spirals: n_classes must be >= 2. Received: n_classes={n_classes}")
    gen = _generator(seed)
    sizes = [n_samples // n_classes + (k < n_samples % n_classes) for k in range(n_classes)]
    parts, labels = [], []
    for k, n in enumerate(sizes):
        r = np.linspace(0.0, 1.0, n)
        t = 2 * np.pi * k / n_classes + 2 * np.pi * turns * r
        parts.append(np.stack([r * np.cos(t), r * np.sin(t)], 1))
        labels.append(np.full(n, k))
    return _finish(np.concatenate(parts), np.concatenate(labels), noise, gen, shuffle)


def make_blobs(n_samples: int = 300, centers: Any = 3, cluster_std: float = 1.0,
               center_box: tuple[float, float] = (-10.0, 10.0), shuffle: bool = True,
               seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters: class k ~ N(center_k, cluster_std^2 I).

    ``centers``: the number of clusters (centres drawn uniformly in ``center_box``) or
    an array of shape (K, 2) of centres.
    """
    _check("make_blobs", n_samples, 0.0)
    if cluster_std < 0:
        raise ValueError(f"make_blobs: cluster_std must be >= 0. Received: cluster_std={cluster_std}")
    gen = _generator(seed)
    if isinstance(centers, (int, np.integer)):
        if centers < 1:
            raise ValueError(f"make_blobs: centers must be >= 1. Received: centers={centers}")
        centers = gen.uniform(center_box[0], center_box[1], size=(int(centers), 2))
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[1] != 2:
        raise ValueError(f"make_blobs: centers must be a count or an array of shape (K, 2). "
                         f"Received: shape={centers.shape}")
    k = len(centers)
    labels = np.arange(n_samples) % k
    X = centers[labels]
    return _finish(X, labels, cluster_std, gen, shuffle)
