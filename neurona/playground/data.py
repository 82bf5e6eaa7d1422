"""The playground's points and input features, and the same steps written as code for the export.

Every data set has two classes (labels 0/1) and lies roughly in [-1.5, 1.5]^2. The
logic gates are clouds of points around the four corners (-1/+1) of their truth
table; the others come from ``neurona.data``'s teaching sets. ``points`` and
``code`` must describe the same steps: tests/test_playground.py runs the code and
compares.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import data
from .settings import Settings

# Each input feature: the function the session applies and the expression the export writes.
FEATURE_FUNCTIONS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], str]] = {
    "x1": (lambda x1, x2: x1, "x1"),
    "x2": (lambda x1, x2: x2, "x2"),
    "x1^2": (lambda x1, x2: x1 ** 2, "x1 ** 2"),
    "x2^2": (lambda x1, x2: x2 ** 2, "x2 ** 2"),
    "x1*x2": (lambda x1, x2: x1 * x2, "x1 * x2"),
    "sin(x1)": (lambda x1, x2: np.sin(np.pi * x1), "np.sin(np.pi * x1)"),
    "sin(x2)": (lambda x1, x2: np.sin(np.pi * x2), "np.sin(np.pi * x2)"),
}
MOONS_SHIFT = (0.5, 0.25)  # centres make_moons' points on the origin
BLOB_CENTERS = [[-1.0, -1.0], [1.0, 1.0]]


def _blob_std(noise: float) -> float:
    return round(0.25 + noise, 6)


def points(s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The data set's points X (n, 2) float32 and labels y (n,) int64, in random order."""
    n, noise, seed = s.points, s.noise, s.seed
    if s.dataset in ("xor", "and", "or"):
        corners, labels = data.truth_table(s.dataset, bipolar=True)
        rng = np.random.default_rng(seed)
        pick = rng.integers(0, 4, size=n)
        X = (corners[pick] + noise * rng.standard_normal((n, 2))).astype(np.float32)
        return X, (labels[pick] > 0).astype(np.int64)
    if s.dataset == "circles":
        return data.make_circles(n, noise=noise, seed=seed)
    if s.dataset == "moons":
        X, y = data.make_moons(n, noise=noise, seed=seed)
        return (X - np.array(MOONS_SHIFT, dtype=np.float32)).astype(np.float32), y
    if s.dataset == "spirals":
        return data.make_spirals(n, n_classes=2, noise=noise, seed=seed)
    return data.make_blobs(n, centers=BLOB_CENTERS, cluster_std=_blob_std(noise), seed=seed)


def points_code(s: Settings) -> str:
    """Python lines that make the same X and y as ``points(s)``."""
    n, noise, seed = s.points, s.noise, s.seed
    if s.dataset in ("xor", "and", "or"):
        return (f"corners, labels = nr.data.truth_table({s.dataset!r}, bipolar=True)  # the 4 corners, -1/+1\n"
                f"rng = np.random.default_rng({seed})\n"
                f"pick = rng.integers(0, 4, size={n})  # a cloud of points around each corner\n"
                f"X = (corners[pick] + {noise!r} * rng.standard_normal(({n}, 2))).astype(np.float32)\n"
                f"y = (labels[pick] > 0).astype(np.int64)\n")
    if s.dataset == "circles":
        return f"X, y = nr.data.make_circles({n}, noise={noise!r}, seed={seed})\n"
    if s.dataset == "moons":
        return (f"X, y = nr.data.make_moons({n}, noise={noise!r}, seed={seed})\n"
                f"X = (X - np.array({list(MOONS_SHIFT)!r}, dtype=np.float32)).astype(np.float32)  # centred\n")
    if s.dataset == "spirals":
        return f"X, y = nr.data.make_spirals({n}, n_classes=2, noise={noise!r}, seed={seed})\n"
    return f"X, y = nr.data.make_blobs({n}, centers={BLOB_CENTERS!r}, cluster_std={_blob_std(noise)!r}, seed={seed})\n"


def n_train(s: Settings) -> int:
    """How many of the (already shuffled) points train; the rest test. At least one of each."""
    return min(max(round(s.points * s.train_fraction), 1), s.points - 1)


def features(X: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The network's inputs (n, len(names)) float32 computed from the points' coordinates."""
    x1, x2 = X[:, 0], X[:, 1]
    return np.stack([FEATURE_FUNCTIONS[f][0](x1, x2) for f in names], axis=1).astype(np.float32)


def features_code(names: tuple[str, ...]) -> str:
    """A ``features(X)`` function, as code, computing the same inputs as ``features``."""
    exprs = ", ".join(FEATURE_FUNCTIONS[f][1] for f in names)
    return ("def features(X):\n"
            f'    """The network\'s inputs: {", ".join(names)}."""\n'
            "    x1, x2 = X[:, 0], X[:, 1]\n"
            f"    return np.stack([{exprs}], axis=1).astype(np.float32)\n")
