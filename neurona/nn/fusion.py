"""Faster equivalent forms of common layer sequences, planned when a ``Sequential`` is built.

This is the course's "optimise execution through graphs" in its simplest form: look
at the chain of layers once, and run some neighbours as one cheaper computation that
gives the same numbers.

Conv2D(activation="relu") followed by MaxPool2D(2) runs as one op,
``F.conv2d_relu_max_pool2d``: ReLU commutes with taking a maximum, so the two layers
are relu(maxpool(conv(x))), computed chunk by chunk without storing the convolution's
full-size output (see functional/conv_pool.py; its plain twin is
``F.reference.conv2d_relu_max_pool2d``). Inside a Sequential the convolution's output
feeds only the pooling layer, which is what makes the rewrite safe; a functional
``nn.Model`` fuses the pair where that holds in its graph (the convolution's output is
read by the pooling call alone and is not an output of the model, each layer called once).

The plan depends only on the layers' settings, so it is made once, when the model is
put together; from the first call on, every call runs (and records) the same steps.
``model.summary()`` and ``nr.viz.graph`` show a fused step as one row / one node.
Fusion can be turned off, to see every layer's own op in the graph:

    nn.Sequential([...], fuse=False)          # this model (nn.Model(x, y, fuse=False) too)
    nn.set_fusion(False)                      # every model, until nn.set_fusion(True)
    with nn.set_fusion(False): model(x)       # every model, inside the block
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import functional as F
from ..autograd import Tensor
from .conv import Conv2D, image_input
from .module import Module
from .pooling import MaxPool2D


class _State:
    enabled = True


class set_fusion:
    """Turn fusion on or off for every ``Sequential``: ``nn.set_fusion(False)`` until set again, or
    ``with nn.set_fusion(False): ...`` for a block (the previous setting comes back after it)."""

    def __init__(self, enabled: bool) -> None:
        self.previous = _State.enabled
        _State.enabled = bool(enabled)

    def __enter__(self) -> set_fusion:
        return self

    def __exit__(self, *exc: Any) -> None:
        _State.enabled = self.previous


def fusion_enabled() -> bool:
    """True unless fusion was turned off with ``nn.set_fusion(False)``."""
    return _State.enabled


class Fused:
    """A step that runs several layers as one op. ``layers``: which; ``label``: what it computes."""

    label = ""

    def __init__(self, *layers: Module) -> None:
        self.layers = layers

    def __repr__(self) -> str:
        return f"{self.label} (fused: {', '.join(layer.name for layer in self.layers)})"


class ConvReluMaxPool(Fused):
    """Run Conv2D(relu) + MaxPool2D(2) as one op (see the module docstring)."""

    label = "Conv2D+ReLU+MaxPool2D"

    def __init__(self, conv: Conv2D, pool: MaxPool2D) -> None:
        super().__init__(conv, pool)
        self.conv, self.pool = conv, pool

    def __call__(self, x: Any) -> Tensor:
        conv = self.conv
        x = image_input(conv, x, conv.kernel.shape[2], conv.kernel.dtype)
        padding = tuple(conv.padding) if isinstance(conv.padding, list) else conv.padding
        try:
            return F.conv2d_relu_max_pool2d(x, conv.kernel, conv.bias, stride=conv.strides, padding=padding,
                                            dilation=conv.dilation_rate)
        except ValueError as exc:  # e.g. an image too small: say which layers
            raise ValueError(f"Conv2D layer '{conv.name}' + MaxPool2D layer '{self.pool.name}': {exc}") from None


def _pools_2x2(layer: Module | None) -> bool:
    return (type(layer) is MaxPool2D and layer.pool_size == (2, 2) and layer.strides in (None, (2, 2))
            and layer.padding == "valid")


def fusible(layer: Module, following: Module | None) -> bool:
    """Whether ``layer`` and the ``following`` one (reading only its output) run as one ``ConvReluMaxPool``."""
    return type(layer) is Conv2D and layer.activation == "relu" and _pools_2x2(following)


def fuse(layers: list[Module]) -> list[Callable[[Any], Any]]:
    """The layers as a list of steps, with fusible neighbours replaced by one ``Fused`` step."""
    steps: list[Callable[[Any], Any]] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        following = layers[i + 1] if i + 1 < len(layers) else None
        if fusible(layer, following):
            steps.append(ConvReluMaxPool(layer, following))
            i += 2
        else:
            steps.append(layer)
            i += 1
    return steps
