"""Faster equivalent forms of common layer sequences, used by a built ``Sequential``.

This is the course's "optimise execution through graphs" in its simplest form: look
at the chain of layers once, and run some neighbours as one cheaper computation that
gives the same numbers.

Conv2D(activation="relu") followed by MaxPool2D. ReLU is non-decreasing, so it
commutes with taking a maximum: maxpool(relu(z)) = relu(maxpool(z)). Pooling first
leaves the ReLU, and the mask its gradient needs, a quarter of the elements (with 2x2
windows). The gradients are the same too: where a window's maximum is positive both
orders route the gradient to its first maximum; where it is not, both give zero.
Inside a Sequential the convolution's output feeds only the pooling layer, which is
what makes the rewrite safe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import functional as F
from ..autograd import Tensor
from .conv import Conv2D
from .module import Module
from .pooling import MaxPool2D


class ConvReluMaxPool:
    """Run Conv2D(relu) + MaxPool2D as convolution, max-pooling, ReLU (see the module docstring)."""

    def __init__(self, conv: Conv2D, pool: MaxPool2D) -> None:
        self.conv, self.pool = conv, pool

    def __call__(self, x: Any) -> Tensor:
        return F.relu(self.pool(self.conv.convolve(x, None)))


def fuse(layers: list[Module]) -> list[Callable[[Any], Any]]:
    """The layers as a list of steps, with fusible neighbours replaced by one step."""
    steps: list[Callable[[Any], Any]] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        following = layers[i + 1] if i + 1 < len(layers) else None
        if type(layer) is Conv2D and layer.activation == "relu" and type(following) is MaxPool2D:
            steps.append(ConvReluMaxPool(layer, following))
            i += 2
        else:
            steps.append(layer)
            i += 1
    return steps
