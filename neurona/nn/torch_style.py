"""PyTorch's names for neurona's layers: thin adapters, one implementation.

``nn.Linear(in_features, out_features)`` is a ``Dense`` and ``nn.Conv2d(in, out, kernel_size)``
a ``Conv2D``, built at construction (PyTorch users create the optimizer before the first
call) and initialised as PyTorch does (uniform in +-1/sqrt(fan_in)). Differences that remain:

- images are channels-last (N, H, W, C), not PyTorch's (N, C, H, W);
- the weights are ``kernel`` (in, out) and (kh, kw, C_in, C_out), not ``weight`` (out, in, ...).

The activation modules are ``Activation`` layers: ``nn.ReLU()`` is ``nn.Activation("relu")``.
"""

from __future__ import annotations

import math
from typing import Any

from .conv import Conv2D
from .core import Activation, Dense
from .initializers import RandomUniform
from .pooling import AvgPool2D, MaxPool2D


def _torch_init(fan_in: int) -> RandomUniform:
    """PyTorch's default for weights and biases of Linear and Conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return RandomUniform(-bound, bound)


def _positive(value: Any, what: str, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive integer. Received: {what}={value!r}")
    return value


class Linear(Dense):
    """y = x @ kernel + bias with kernel (in_features, out_features): PyTorch's ``nn.Linear`` over ``Dense``.

    >>> fc = nn.Linear(784, 10)     # parameters exist at once: optim.SGD(fc.parameters()) works
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, name: str | None = None) -> None:
        _positive(in_features, "in_features", "Linear")
        _positive(out_features, "out_features", "Linear")
        init = _torch_init(in_features)
        super().__init__(out_features, use_bias=bias, kernel_initializer=init, bias_initializer=init, name=name)
        self.in_features, self.out_features = in_features, out_features
        self.build((None, in_features))

    def get_config(self) -> dict[str, Any]:
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": self.use_bias,
                "name": self.name}

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.use_bias}"


class Conv2d(Conv2D):
    """PyTorch's ``nn.Conv2d`` over ``Conv2D``, channels-last: x (N, H, W, in_channels) -> (N, Ho, Wo, out_channels).

    padding: an int or pair of zeros per side, or "same"/"valid"; kernel (kh, kw, in_channels, out_channels).
    Feed (N, H, W, C) images: a PyTorch script's ``x.view(-1, 1, 28, 28)`` becomes ``x.view(-1, 28, 28, 1)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, bias: bool = True, name: str | None = None) -> None:
        _positive(in_channels, "in_channels", "Conv2d")
        _positive(out_channels, "out_channels", "Conv2d")
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        init = _torch_init(in_channels * kh * kw)
        super().__init__(out_channels, kernel_size, strides=stride, padding=padding, dilation_rate=dilation,
                         use_bias=bias, kernel_initializer=init, bias_initializer=init, name=name)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.build((None, None, None, in_channels))

    def get_config(self) -> dict[str, Any]:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": list(self.kernel_size), "stride": list(self.strides),
                "padding": list(self.padding) if isinstance(self.padding, (list, tuple)) else self.padding,
                "dilation": list(self.dilation_rate), "bias": self.use_bias, "name": self.name}


class MaxPool2d(MaxPool2D):
    """PyTorch's ``nn.MaxPool2d(kernel_size, stride=None)`` over ``MaxPool2D``, channels-last."""

    def __init__(self, kernel_size: Any, stride: Any = None, name: str | None = None) -> None:
        super().__init__(kernel_size, stride, name=name)

    def get_config(self) -> dict[str, Any]:
        return {"kernel_size": list(self.pool_size), "stride": None if self.strides is None else list(self.strides),
                "name": self.name}


class AvgPool2d(AvgPool2D):
    """PyTorch's ``nn.AvgPool2d(kernel_size, stride=None)`` over ``AvgPool2D``, channels-last."""

    def __init__(self, kernel_size: Any, stride: Any = None, name: str | None = None) -> None:
        super().__init__(kernel_size, stride, name=name)

    def get_config(self) -> dict[str, Any]:
        return {"kernel_size": list(self.pool_size), "stride": None if self.strides is None else list(self.strides),
                "name": self.name}


class _Named(Activation):
    """An ``Activation`` fixed to one function, constructed without arguments as in PyTorch."""

    activation_name = ""

    def __init__(self, inplace: bool = False, name: str | None = None) -> None:
        super().__init__(self.activation_name, name=name)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}

    def extra_repr(self) -> str:
        return ""


class ReLU(_Named):
    """max(x, 0) as a module: ``nn.ReLU()`` (``inplace`` is accepted and ignored)."""

    activation_name = "relu"


class Tanh(_Named):
    """tanh(x) as a module: ``nn.Tanh()``."""

    activation_name = "tanh"


class Sigmoid(_Named):
    """1 / (1 + exp(-x)) as a module: ``nn.Sigmoid()``."""

    activation_name = "sigmoid"


class _AlongDim(Activation):
    """softmax / log_softmax along ``dim`` (PyTorch's argument name; -1 when omitted)."""

    function = ""

    def __init__(self, dim: int | None = None, name: str | None = None) -> None:
        super().__init__(self.function, name=name)
        self.dim = -1 if dim is None else int(dim)

    def forward(self, x: Any) -> Any:
        return self.fn(x, axis=self.dim)

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim, "name": self.name}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """softmax(x) along ``dim``: ``nn.Softmax(dim=1)``."""

    function = "softmax"


class LogSoftmax(_AlongDim):
    """log(softmax(x)) along ``dim``, stably: ``nn.LogSoftmax(dim=1)``."""

    function = "log_softmax"
