"""Weight initialisers: how a layer's parameters start.

The course's rule: start with small zero-mean random weights whose spread is set by
the number of inputs (the fan-in), so each unit's weighted sum starts with about
unit variance and neither saturates a sigmoid nor dies. ``lecun_*`` scale by 1/fan_in,
``glorot_*`` (Xavier) by 2/(fan_in + fan_out), ``he_*`` by 2/fan_in (for ReLU).
The ``*_normal`` variants draw from a normal truncated at two standard deviations,
as Keras does.

Each initialiser is a callable ``init(shape, dtype) -> array`` on the default device.
Values are drawn on the CPU from neurona's seeded generator, so a seed gives the same
weights on every device.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backend


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """(fan_in, fan_out): Dense kernels (n_in, n_out); conv kernels (kh, kw, C_in, C_out) count the window."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: subclasses implement ``sample(shape, gen) -> float64 NumPy array``."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> Any:
        dtype = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        values = np.asarray(self.sample(tuple(shape), backend.rng(np)), dtype=dtype)
        return backend.to_device(values, backend.get_device()) if backend.get_device() != "cpu" else values

    def sample(self, shape: tuple[int, ...], gen: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def sample(self, shape, gen):
        return np.zeros(shape)


class Ones(Initializer):
    def sample(self, shape, gen):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def sample(self, shape, gen):
        return np.full(shape, self.value)


class RandomUniform(Initializer):
    """Uniform on [minval, maxval)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05):
        self.minval, self.maxval = float(minval), float(maxval)

    def sample(self, shape, gen):
        return gen.uniform(self.minval, self.maxval, shape)


class RandomNormal(Initializer):
    """Normal with the given mean and standard deviation."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape, gen):
        return gen.normal(self.mean, self.stddev, shape)


def _truncated_normal(shape: tuple[int, ...], stddev: float, gen: np.random.Generator) -> np.ndarray:
    """Normal(0, stddev) redrawn until every value lies within two standard deviations."""
    values = gen.standard_normal(shape)
    bad = np.abs(values) > 2.0
    while bad.any():
        values[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(values) > 2.0
    return values * stddev


class TruncatedNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05):
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape, gen):
        return self.mean + _truncated_normal(shape, self.stddev, gen)


class VarianceScaling(Initializer):
    """Variance = scale / n, with n the fan-in, the fan-out or their average (Keras's definition)."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal"):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be 'fan_in', 'fan_out' or 'fan_avg'. Received: mode={mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"distribution must be 'truncated_normal', 'untruncated_normal' or 'uniform'. "
                             f"Received: distribution={distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def sample(self, shape, gen):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return gen.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return gen.normal(0.0, math.sqrt(variance), shape)
        # std of a unit normal truncated at +-2 is 0.8796..., so divide to keep the intended variance
        return _truncated_normal(shape, math.sqrt(variance) / 0.87962566103423978, gen)


class Orthogonal(Initializer):
    """A random orthogonal matrix (rows or columns orthonormal), times ``gain`` (for recurrent kernels)."""

    def __init__(self, gain: float = 1.0):
        self.gain = float(gain)

    def sample(self, shape, gen):
        if len(shape) < 2:
            raise ValueError(f"orthogonal initialisation needs at least 2 dimensions. Received: shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = gen.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


def _scaling(scale: float, mode: str, distribution: str):
    return lambda: VarianceScaling(scale, mode, distribution)


INITIALIZERS = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "uniform": RandomUniform,
    "random_uniform": RandomUniform,
    "normal": RandomNormal,
    "random_normal": RandomNormal,
    "truncated_normal": TruncatedNormal,
    "orthogonal": Orthogonal,
    "lecun_uniform": _scaling(1.0, "fan_in", "uniform"),
    "lecun_normal": _scaling(1.0, "fan_in", "truncated_normal"),
    "glorot_uniform": _scaling(1.0, "fan_avg", "uniform"),
    "glorot_normal": _scaling(1.0, "fan_avg", "truncated_normal"),
    "xavier_uniform": _scaling(1.0, "fan_avg", "uniform"),
    "xavier_normal": _scaling(1.0, "fan_avg", "truncated_normal"),
    "he_uniform": _scaling(2.0, "fan_in", "uniform"),
    "he_normal": _scaling(2.0, "fan_in", "truncated_normal"),
}

_CLASSES = {c.__name__: c for c in (Zeros, Ones, Constant, RandomUniform, RandomNormal, TruncatedNormal,
                                    VarianceScaling, Orthogonal)}


def get_initializer(spec: Any) -> Initializer:
    """An initialiser from a name ("he_normal"), a config dict, an instance, or any callable(shape, dtype)."""
    if isinstance(spec, str):
        key = spec.lower()
        if key not in INITIALIZERS:
            raise ValueError(f"unknown initializer. Expected one of {sorted(INITIALIZERS)}. Received: {spec!r}")
        return INITIALIZERS[key]()
    if isinstance(spec, dict):
        name = spec.get("class")
        if name not in _CLASSES:
            raise ValueError(f"unknown initializer class in config. Expected one of {sorted(_CLASSES)}. "
                             f"Received: {name!r}")
        return _CLASSES[name](**spec.get("config", {}))
    if callable(spec):
        return spec
    raise TypeError(f"initializer must be a name, a config dict or a callable. Received: {type(spec).__name__}")


def serialize_initializer(init: Any) -> Any:
    """A JSON-friendly description of an initialiser (its config), for saving architectures."""
    if isinstance(init, Initializer):
        return {"class": type(init).__name__, "config": init.get_config()}
    raise TypeError(f"cannot serialise a custom initializer {init!r}; pass a name or an Initializer")
