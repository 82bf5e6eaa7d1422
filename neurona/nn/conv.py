"""Convolution layers, channels-last: Conv2D and Conv2DTranspose.

Images are (N, H, W, C) and kernels (kh, kw, C_in, C_out), Keras's layout (PyTorch's
is (C_out, C_in, kh, kw)). C_in is taken from the first input, as for Dense.
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..autograd import Tensor
from ..functional.conv import pair
from .core import _activation_name, _serial, check_input
from .initializers import serialize_initializer
from .module import Module
from .regularizers import serialize_regularizer


def image_input(layer: Module, x: Any, channels: int | None = None, dtype: Any = None) -> Tensor:
    """x as a Tensor, after checking it is a batch of images (N, H, W, C) with the expected channels."""
    if len(x.shape) != 4:
        check_input(layer, x, ndim=4, what="(N, H, W, C)")
    if channels is not None and x.shape[-1] != channels:
        check_input(layer, x, last=channels, what="(the channels the layer was built for)")
    x = x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)
    if dtype is not None and x.dtype != dtype:
        x = x.astype(dtype)  # a float64 batch into a float32 layer would otherwise run in float64
    return x


def check_padding(padding: Any, where: str) -> Any:
    """"valid", "same" (any case), an int or a pair of ints >= 0."""
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be 'valid', 'same', an int or a pair. "
                             f"Received: padding={padding!r}")
        return padding.lower()
    return list(pair(padding, "padding", where, minimum=0))


def check_data_format(data_format: Any, where: str) -> str:
    """"channels_last" (None: neurona's and Keras's default) or "channels_first"."""
    if data_format not in (None, "channels_last", "channels_first"):
        raise ValueError(f"{where}: data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    return data_format or "channels_last"


class ChannelsFirst:
    """Mixin: the layer on (N, C, H, W) images, run channels-last between two transposes.

    ``Conv2D(..., data_format="channels_first")`` (and the pools) construct the class that mixes
    this in (``ChannelsFirstConv2D``...): the same weights and arithmetic, the input transposed to
    (N, H, W, C) on the way in and the output back to (N, C, H, W) on the way out. Being its own
    class, it is never fused with the next layer and the ONNX exporter refuses it rather than
    export it channels-last.
    """

    data_format = "channels_first"

    def channels_last_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """(N, C, H, W) -> (N, H, W, C), for building the channels-last layer; an error for other ranks."""
        s = tuple(input_shape)
        if len(s) != 4:
            raise ValueError(f"{type(self).__name__} layer '{self.name}': expected input with 4 dimensions "
                             f"(N, C, H, W) (data_format='channels_first'). Received: shape={s}")
        return s[0], s[2], s[3], s[1]

    def forward(self, x: Any) -> Tensor:
        if len(x.shape) != 4:
            check_input(self, x, ndim=4, what="(N, C, H, W) (data_format='channels_first')")
        x = x if isinstance(x, Tensor) else Tensor(x)
        y = super().forward(x.transpose(0, 2, 3, 1))
        return y.transpose(0, 3, 1, 2) if len(y.shape) == 4 else y

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": "channels_first"}


def _as_config(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


class _Conv(Module):
    """What Conv2D and Conv2DTranspose share: arguments, weights, config."""

    def __init__(self, filters: int, kernel_size: Any, strides: Any, padding: Any, dilation_rate: Any,
                 activation: Any, use_bias: bool, kernel_initializer: Any, bias_initializer: Any,
                 kernel_regularizer: Any, name: str | None, input_shape: tuple[int, ...] | None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        where = f"{type(self).__name__} layer '{self.name}'"
        if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"{where}: filters must be a positive integer. Received: filters={filters!r}")
        self.filters = filters
        self.kernel_size = pair(kernel_size, "kernel_size", where)
        self.strides = pair(strides, "strides", where)
        self.padding = check_padding(padding, where)
        self.dilation_rate = pair(dilation_rate, "dilation_rate", where)
        self.activation = _activation_name(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.kernel = self.bias = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 4:
            raise ValueError(f"{type(self).__name__} layer '{self.name}': expected input with 4 dimensions "
                             f"(N, H, W, C). Received: shape={tuple(input_shape)}")
        shape = (*self.kernel_size, int(input_shape[-1]), self.filters)
        self.add_weight("kernel", shape, self.kernel_initializer, self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def _run(self, op: Any, x: Any, activation: Any, **kwargs: Any) -> Tensor:
        x = image_input(self, x, self.kernel.shape[2], self.kernel.dtype)
        fused = activation if activation is None or isinstance(activation, str) else None
        try:
            y = op(x, self.kernel, self.bias, activation=fused, **kwargs)
        except ValueError as exc:  # e.g. a kernel larger than the image: say which layer
            raise ValueError(f"{type(self).__name__} layer '{self.name}': {exc}") from None
        return y if fused is not None or activation is None else activation(y)

    def get_config(self) -> dict[str, Any]:
        if callable(self.activation):
            raise TypeError(f"{type(self).__name__} '{self.name}': a custom activation function cannot be saved; "
                            "use a name")
        return {
            "filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
            "padding": _as_config(self.padding), "dilation_rate": list(self.dilation_rate),
            "activation": self.activation, "use_bias": self.use_bias,
            "kernel_initializer": _serial(self.kernel_initializer, serialize_initializer),
            "bias_initializer": _serial(self.bias_initializer, serialize_initializer),
            "kernel_regularizer": _serial(self.kernel_regularizer, serialize_regularizer),
            "name": self.name,
        }

    def extra_repr(self) -> str:
        return (f"{self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, "
                f"padding={self.padding!r}, activation={self.activation!r}")


class Conv2D(_Conv):
    """2-D convolution layer: y = activation(conv2d(x, kernel) + bias), channels-last.

    x (N, H, W, C_in) -> (N, Ho, Wo, filters); kernel (kh, kw, C_in, filters), bias (filters,).
    padding "valid" (none), "same" (Ho = ceil(H / stride)) or an int/pair of zeros per side.
    A ReLU activation is fused into the convolution (see ``F.conv2d``).

    ``data_format="channels_first"`` takes and gives (N, C, H, W): a ``ChannelsFirstConv2D``, the same
    layer between two transposes (see ``ChannelsFirst``).

    >>> layer = nn.Conv2D(32, 3, padding="same", activation="relu")   # (N, 28, 28, 1) -> (N, 28, 28, 32)
    """

    data_format = "channels_last"

    def __new__(cls, *args: Any, data_format: str | None = None, **kwargs: Any) -> Conv2D:
        if cls is Conv2D and check_data_format(data_format, "Conv2D") == "channels_first":
            cls = ChannelsFirstConv2D
        return super().__new__(cls)

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: Any = "valid",
                 dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, data_format: str | None = None) -> None:
        super().__init__(filters, kernel_size, strides, padding, dilation_rate, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer, name, input_shape)
        if check_data_format(data_format, f"Conv2D layer '{self.name}'") != self.data_format:
            raise ValueError(f"{type(self).__name__} layer '{self.name}': data_format must be {self.data_format!r}. "
                             f"Received: data_format={data_format!r}")

    def forward(self, x: Any) -> Tensor:
        padding = tuple(self.padding) if isinstance(self.padding, list) else self.padding
        return self._run(F.conv2d, x, self.activation, stride=self.strides, padding=padding,
                         dilation=self.dilation_rate)


class ChannelsFirstConv2D(ChannelsFirst, Conv2D):
    """``Conv2D(..., data_format="channels_first")``: x (N, C_in, H, W) -> (N, filters, Ho, Wo)."""

    def __init__(self, *args: Any, data_format: str | None = "channels_first", **kwargs: Any) -> None:
        super().__init__(*args, data_format=data_format, **kwargs)

    def build(self, input_shape: tuple[int, ...]) -> None:
        super().build(self.channels_last_shape(input_shape))


class Conv2DTranspose(_Conv):
    """Transposed convolution layer (learned up-sampling, as in U-Net's decoder), channels-last.

    x (N, H, W, C_in) -> (N, Ho, Wo, filters); "same" gives Ho = H * strides, "valid"
    H * strides + max(kh - strides, 0) (Keras). The kernel is (kh, kw, C_in, filters), the
    same layout as Conv2D's; Keras stores it as (kh, kw, filters, C_in): to load Keras
    weights, swap the last two axes.

    >>> layer = nn.Conv2DTranspose(64, 2, strides=2)   # (N, 14, 14, 128) -> (N, 28, 28, 64)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: Any = "valid",
                 output_padding: Any = None, dilation_rate: Any = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(filters, kernel_size, strides, padding, dilation_rate, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer, name, input_shape)
        where = f"Conv2DTranspose layer '{self.name}'"
        self.output_padding = None if output_padding is None else pair(output_padding, "output_padding", where, 0)

    def forward(self, x: Any) -> Tensor:
        padding = tuple(self.padding) if isinstance(self.padding, list) else self.padding
        return self._run(F.conv2d_transpose, x, self.activation, stride=self.strides, padding=padding,
                         output_padding=self.output_padding, dilation=self.dilation_rate)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["output_padding"] = None if self.output_padding is None else list(self.output_padding)
        return config
