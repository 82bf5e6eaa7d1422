"""Regularising noise: dropout and additive Gaussian noise, active only in training."""

from __future__ import annotations

from typing import Any

from ..autograd import Function, Tensor, apply
from ..backend import get_array_module, rng


class Dropout(Function):
    """y = x * m / (1 - rate), m ~ Bernoulli(1 - rate) per element;  gx = gy * m / (1 - rate)."""

    def __init__(self, rate: float):
        self.rate = rate

    def forward(self, x):
        xp = get_array_module(x)
        keep = rng(xp).random(x.shape, dtype=x.dtype) >= self.rate
        self.mask = keep * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x: Any, rate: float, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability ``rate`` and scale the rest by 1/(1 - rate).

    Scaling the kept units during training keeps each unit's expected input the same
    with and without dropout, so at test time the network is used as it is. That is
    the course's "multiply the weights by the keep probability at test time", moved
    to training time: the two give the same expected activations, and inference
    needs no change at all. With ``training=False`` (or rate 0) x passes unchanged.
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1). Received: rate={rate}")
    x = x if isinstance(x, Tensor) else Tensor(x)
    if not training or rate == 0.0:
        return x
    return apply(Dropout(rate), x)


def gaussian_noise(x: Any, stddev: float, training: bool = True) -> Tensor:
    """Add zero-mean Gaussian noise of standard deviation ``stddev`` (noise injection), in training only."""
    if stddev < 0:
        raise ValueError(f"gaussian_noise: stddev must be >= 0. Received: stddev={stddev}")
    x = x if isinstance(x, Tensor) else Tensor(x)
    if not training or stddev == 0:
        return x
    xp = get_array_module(x.data)
    noise = rng(xp).standard_normal(x.shape, dtype=x.dtype)
    noise *= stddev
    return x + noise
