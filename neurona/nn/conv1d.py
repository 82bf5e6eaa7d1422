"""1-D layers for sequences (N, L, C), channels-last as Keras: Conv1D, MaxPooling1D, AveragePooling1D,
GlobalAveragePooling1D, GlobalMaxPooling1D.

Each runs the 2-D op on the sequence seen as an image one pixel wide, (N, L, 1, C): a 1-D
convolution is a 2-D one with a (k, 1) kernel, so there is no second implementation to trust.
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..autograd import Tensor
from ..functional.reference import pad
from .conv import _Conv
from .core import check_input
from .module import Module


def _single(value: Any, what: str, where: str) -> int:
    """An int, or a 1-tuple/list of one (Keras accepts kernel_size=(3,))."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {what} must be a positive integer. Received: {what}={value!r}")
    return value


def sequence_input(layer: Module, x: Any, dtype: Any = None) -> Tensor:
    """x as a Tensor after checking it is a batch of sequences (N, L, C)."""
    if len(x.shape) != 3:
        check_input(layer, x, ndim=3, what="(N, L, C): a batch of sequences of channels")
    x = x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)
    return x if dtype is None or x.dtype == dtype else x.astype(dtype)


class Conv1D(_Conv):
    """1-D convolution: y = activation(conv1d(x, kernel) + bias); x (N, L, C_in) -> (N, Lo, filters).

    kernel (k, C_in, filters) (Keras's layout), bias (filters,). padding "valid", "same"
    (Lo = ceil(L / strides)), an int of zeros on each side, or "causal" (dilation_rate * (k - 1)
    zeros before the first step: y[t] depends on x[t] and earlier steps only, as in WaveNet).

    >>> layer = nn.Conv1D(64, 3, padding="same", activation="relu")   # (N, 500, 1) -> (N, 500, 64)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: Any = "valid",
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        where = f"Conv1D layer '{name or 'conv1d'}'"
        k, s, d = (_single(v, n, where) for v, n in ((kernel_size, "kernel_size"), (strides, "strides"),
                                                      (dilation_rate, "dilation_rate")))
        if isinstance(padding, (tuple, list)) and len(padding) == 1:
            padding = padding[0]
        causal = isinstance(padding, str) and padding.lower() == "causal"
        pad2d = "valid" if causal else padding if isinstance(padding, str) else (padding, 0)
        super().__init__(filters, (k, 1), (s, 1), pad2d, (d, 1), activation, use_bias, kernel_initializer,
                         bias_initializer, kernel_regularizer, name, input_shape)
        if causal:
            self.padding = "causal"

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 3:
            raise ValueError(f"Conv1D layer '{self.name}': expected input with 3 dimensions (N, L, C). "
                             f"Received: shape={tuple(input_shape)}")
        shape = (self.kernel_size[0], int(input_shape[-1]), self.filters)
        self.add_weight("kernel", shape, self.kernel_initializer, self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def forward(self, x: Any) -> Tensor:
        x = sequence_input(self, x, self.kernel.dtype)
        if x.shape[-1] != self.kernel.shape[1]:
            check_input(self, x, last=self.kernel.shape[1], what="(the channels the layer was built for)")
        n, length, c = x.shape
        k, c_in, c_out = self.kernel.shape
        padding = tuple(self.padding) if isinstance(self.padding, list) else self.padding
        x = x.reshape(n, length, 1, c)
        if padding == "causal":  # zeros before the first step only: y[t] sees x[t], x[t - d], ... never the future
            x, padding = pad(x, self.dilation_rate[0] * (k - 1), 0, 0, 0), "valid"
        fused = self.activation if self.activation is None or isinstance(self.activation, str) else None
        try:
            y = F.conv2d(x, self.kernel.reshape(k, 1, c_in, c_out), self.bias,
                         stride=self.strides, padding=padding, dilation=self.dilation_rate, activation=fused)
        except ValueError as exc:  # e.g. a kernel longer than the sequence: say which layer
            raise ValueError(f"Conv1D layer '{self.name}': {exc}") from None
        y = y.reshape(n, y.shape[1], c_out)
        return y if fused is not None or self.activation is None else self.activation(y)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        given = config["padding"]
        config.update(kernel_size=self.kernel_size[0], strides=self.strides[0], dilation_rate=self.dilation_rate[0],
                      padding=given if isinstance(given, str) else given[0])
        return config


class _Pool1D(Module):
    op = staticmethod(F.max_pool2d)

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid", name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        where = f"{type(self).__name__} layer '{self.name}'"
        self.pool_size = _single(pool_size, "pool_size", where)
        self.strides = self.pool_size if strides is None else _single(strides, "strides", where)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be 'valid' or 'same'. Received: padding={padding!r}")
        self.padding = padding.lower()

    def forward(self, x: Any) -> Tensor:
        x = sequence_input(self, x)
        n, length, c = x.shape
        y = self.op(x.reshape(n, length, 1, c), (self.pool_size, 1), (self.strides, 1), self.padding)
        return y.reshape(n, y.shape[1], c)

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding, "name": self.name}


class MaxPooling1D(_Pool1D):
    """Max over windows of ``pool_size`` steps: (N, L, C) -> (N, Lo, C)."""

    op = staticmethod(F.max_pool2d)


class AveragePooling1D(_Pool1D):
    """Mean over windows of ``pool_size`` steps: (N, L, C) -> (N, Lo, C)."""

    op = staticmethod(F.avg_pool2d)


class _GlobalPool1D(Module):
    def __init__(self, keepdims: bool = False, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.keepdims = bool(keepdims)

    def get_config(self) -> dict[str, Any]:
        return {"keepdims": self.keepdims, "name": self.name}


class GlobalAveragePooling1D(_GlobalPool1D):
    """Mean over the steps: (N, L, C) -> (N, C), or (N, 1, C) with keepdims."""

    def forward(self, x: Any) -> Tensor:
        return sequence_input(self, x).mean(axis=1, keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalPool1D):
    """Max over the steps: (N, L, C) -> (N, C), or (N, 1, C) with keepdims."""

    def forward(self, x: Any) -> Tensor:
        return sequence_input(self, x).max(axis=1, keepdims=self.keepdims)


MaxPool1D, AvgPool1D, GlobalAvgPool1D, GlobalMaxPool1D = (MaxPooling1D, AveragePooling1D, GlobalAveragePooling1D,
                                                          GlobalMaxPooling1D)

__all__ = ["AveragePooling1D", "AvgPool1D", "Conv1D", "GlobalAveragePooling1D", "GlobalAvgPool1D",
           "GlobalMaxPool1D", "GlobalMaxPooling1D", "MaxPool1D", "MaxPooling1D"]
