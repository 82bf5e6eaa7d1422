"""Depthwise and depthwise-separable convolutions, channels-last: DepthwiseConv2D and SeparableConv2D.

A depthwise convolution filters each input channel on its own (``depth_multiplier`` filters
per channel, no mixing across channels); a separable convolution follows it with a 1x1
("pointwise") convolution that mixes the channels. Xception and MobileNet are built from
them: a 3x3 separable conv costs about 1/9 + 1/filters of a full 3x3 conv's multiply-adds.

Images are (N, H, W, C), the depthwise kernel (kh, kw, C, depth_multiplier) and the pointwise
kernel (1, 1, C * depth_multiplier, filters), Keras's layouts. Output channel c * M + m of the
depthwise step comes from input channel c and filter m, as in PyTorch's ``conv2d(groups=C)``
with weight ``kernel.permute(2, 3, 0, 1).reshape(C * M, 1, kh, kw)``.
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..autograd import Tensor
from ..functional.conv import conv_pads, pair
from ..functional.reference import pad
from .conv import ChannelsFirst, _as_config, check_data_format, check_padding, image_input
from .core import _activation_name, _serial
from .initializers import serialize_initializer
from .module import Module
from .regularizers import serialize_regularizer


def depthwise_conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = "valid",
                     dilation: Any = 1) -> Tensor:
    """Each channel convolved with its own filters: x (N, H, W, C), w (kh, kw, C, M) -> (N, Ho, Wo, C * M).

    y[n, p, q, c*M + m] = b[c*M + m] + sum_{i, j} x_pad[n, p*sh + i*dh, q*sw + j*dw, c] * w[i, j, c, m]

    Composed from primitives (one strided slice of the padded image per kernel tap, scaled
    per channel and added up), so autograd gives the gradients; kh*kw passes over the image
    instead of an im2col matrix kh*kw times its size. padding as ``F.conv2d``'s.
    """
    op = "depthwise_conv2d"
    x = x if isinstance(x, Tensor) else Tensor(x)
    w = w if isinstance(w, Tensor) else Tensor(w)
    if len(x.shape) != 4 or len(w.shape) != 4 or x.shape[3] != w.shape[2]:
        raise ValueError(f"{op}: x must be (N, H, W, C) and w (kh, kw, C, depth_multiplier) with the same C. "
                         f"Received: x {tuple(x.shape)}, w {tuple(w.shape)}")
    N, H, W, C = x.shape
    kh, kw, _, M = w.shape
    if b is not None and tuple(b.shape) != (C * M,):
        raise ValueError(f"{op}: b must have shape (C * depth_multiplier,) = ({C * M},). Received: b {tuple(b.shape)}")
    (sh, sw), (dh, dw) = pair(stride, "stride", op), pair(dilation, "dilation", op)
    k = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)  # the dilated kernel's extent
    top, bottom, left, right = conv_pads(padding, (H, W), k, (sh, sw), op)
    if H + top + bottom < k[0] or W + left + right < k[1]:
        raise ValueError(f"{op}: the kernel {k} (dilated) is larger than the padded input "
                         f"{(H + top + bottom, W + left + right)} (padding={padding!r}). Received: x {tuple(x.shape)}")
    x = pad(x, top, bottom, left, right)
    Ho, Wo = (x.shape[1] - k[0]) // sh + 1, (x.shape[2] - k[1]) // sw + 1
    if M > 1:
        x = x.reshape(N, x.shape[1], x.shape[2], C, 1)  # each channel broadcast over its M filters
    y = None
    for i in range(kh):
        for j in range(kw):
            tap = x[:, i * dh:i * dh + sh * (Ho - 1) + 1:sh, j * dw:j * dw + sw * (Wo - 1) + 1:sw]
            term = tap * (w[i, j] if M > 1 else w[i, j, :, 0])
            y = term if y is None else y + term
    if M > 1:
        y = y.reshape(N, Ho, Wo, C * M)
    return y if b is None else y + b


class _Depthwise(Module):
    """What DepthwiseConv2D and SeparableConv2D share: arguments, the depthwise kernel, the depthwise step.

    ``data_format="channels_first"`` constructs the channels-first twin (``ChannelsFirstSeparableConv2D``...):
    the same layer between two transposes (see ``conv.ChannelsFirst``).
    """

    data_format = "channels_last"

    def __new__(cls, *args: Any, data_format: str | None = None, **kwargs: Any) -> _Depthwise:
        if check_data_format(data_format, cls.__name__) == "channels_first":
            cls = _CHANNELS_FIRST.get(cls, cls)
        return super().__new__(cls)

    def __init__(self, kernel_size: Any, strides: Any, padding: Any, data_format: str | None, dilation_rate: Any,
                 depth_multiplier: int, activation: Any, use_bias: bool, depthwise_initializer: Any,
                 bias_initializer: Any, depthwise_regularizer: Any, name: str | None,
                 input_shape: tuple[int, ...] | None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        where = f"{type(self).__name__} layer '{self.name}'"
        if check_data_format(data_format, where) != self.data_format:
            raise ValueError(f"{where}: data_format must be {self.data_format!r}. "
                             f"Received: data_format={data_format!r}")
        if not isinstance(depth_multiplier, int) or isinstance(depth_multiplier, bool) or depth_multiplier < 1:
            raise ValueError(f"{where}: depth_multiplier must be a positive integer. "
                             f"Received: depth_multiplier={depth_multiplier!r}")
        self.kernel_size = pair(kernel_size, "kernel_size", where)
        self.strides = pair(strides, "strides", where)
        self.padding = check_padding(padding, where)
        self.dilation_rate = pair(dilation_rate, "dilation_rate", where)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{where}: strides > 1 and dilation_rate > 1 cannot be combined (as in Keras). "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.depth_multiplier = depth_multiplier
        self.activation = _activation_name(activation)
        self.use_bias = use_bias
        self.depthwise_initializer, self.bias_initializer = depthwise_initializer, bias_initializer
        self.depthwise_regularizer = depthwise_regularizer
        self.depthwise_kernel = self.bias = None

    def _channels(self, input_shape: tuple[int, ...]) -> int:
        if len(input_shape) != 4:
            raise ValueError(f"{type(self).__name__} layer '{self.name}': expected input with 4 dimensions "
                             f"(N, H, W, C). Received: shape={tuple(input_shape)}")
        return int(input_shape[-1])

    def _depthwise(self, x: Any) -> Tensor:
        """The depthwise step (x checked against the built kernel)."""
        x = image_input(self, x, self.depthwise_kernel.shape[2], self.depthwise_kernel.dtype)
        padding = tuple(self.padding) if isinstance(self.padding, list) else self.padding
        try:
            return depthwise_conv2d(x, self.depthwise_kernel, None, self.strides, padding, self.dilation_rate)
        except ValueError as exc:  # e.g. a kernel larger than the image: say which layer
            raise ValueError(f"{type(self).__name__} layer '{self.name}': {exc}") from None

    def _base_config(self) -> dict[str, Any]:
        if callable(self.activation):
            raise TypeError(f"{type(self).__name__} '{self.name}': a custom activation function cannot be saved; "
                            "use a name")
        return {
            "kernel_size": list(self.kernel_size), "strides": list(self.strides),
            "padding": _as_config(self.padding),
            "dilation_rate": list(self.dilation_rate), "depth_multiplier": self.depth_multiplier,
            "activation": self.activation, "use_bias": self.use_bias,
            "depthwise_initializer": _serial(self.depthwise_initializer, serialize_initializer),
            "bias_initializer": _serial(self.bias_initializer, serialize_initializer),
            "depthwise_regularizer": _serial(self.depthwise_regularizer, serialize_regularizer),
            "name": self.name,
        }


class DepthwiseConv2D(_Depthwise):
    """Depthwise convolution layer: y = activation(depthwise_conv2d(x, depthwise_kernel) + bias).

    x (N, H, W, C) -> (N, Ho, Wo, C * depth_multiplier); depthwise_kernel (kh, kw, C, depth_multiplier),
    bias (C * depth_multiplier,). padding "valid", "same" or an int/pair; ``data_format="channels_first"``
    takes and gives (N, C, H, W) (transposed in and out, see ``_Depthwise``).

    >>> layer = nn.DepthwiseConv2D(3, padding="same")   # (N, 32, 32, 64) -> (N, 32, 32, 64)
    """

    def __init__(self, kernel_size: Any, strides: Any = 1, padding: Any = "valid", depth_multiplier: int = 1,
                 dilation_rate: Any = 1, activation: Any = None,
                 use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, data_format: str | None = None) -> None:
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, name, input_shape)

    def build(self, input_shape: tuple[int, ...]) -> None:
        c = self._channels(input_shape)
        self.add_weight("depthwise_kernel", (*self.kernel_size, c, self.depth_multiplier),
                        self.depthwise_initializer, self.depthwise_regularizer)
        if self.use_bias:
            self.add_weight("bias", (c * self.depth_multiplier,), self.bias_initializer)

    def forward(self, x: Any) -> Tensor:
        y = self._depthwise(x)
        if self.bias is not None:
            y = y + self.bias
        if self.activation is not None:
            y = F.get_activation(self.activation)(y) if isinstance(self.activation, str) else self.activation(y)
        return y

    def get_config(self) -> dict[str, Any]:
        return self._base_config()

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, strides={self.strides}, padding={self.padding!r}, "
                f"depth_multiplier={self.depth_multiplier}, activation={self.activation!r}")


class SeparableConv2D(_Depthwise):
    """Depthwise-separable convolution: a depthwise conv, then a 1x1 conv mixing the channels.

    y = activation(conv2d(depthwise_conv2d(x, depthwise_kernel), pointwise_kernel) + bias)
    x (N, H, W, C) -> (N, Ho, Wo, filters); depthwise_kernel (kh, kw, C, depth_multiplier),
    pointwise_kernel (1, 1, C * depth_multiplier, filters), bias (filters,). strides, padding
    and dilation_rate apply to the depthwise step. A ReLU is fused into the pointwise conv.

    >>> layer = nn.SeparableConv2D(128, 3, padding="same")   # (N, 90, 90, 64) -> (N, 90, 90, 128)
    """

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: Any = "valid",
                 dilation_rate: Any = 1, depth_multiplier: int = 1,
                 activation: Any = None, use_bias: bool = True, depthwise_initializer: Any = "glorot_uniform",
                 pointwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, pointwise_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, data_format: str | None = None) -> None:
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, name, input_shape)
        if not isinstance(filters, int) or isinstance(filters, bool) or filters < 1:
            raise ValueError(f"SeparableConv2D layer '{self.name}': filters must be a positive integer. "
                             f"Received: filters={filters!r}")
        self.filters = filters
        self.pointwise_initializer, self.pointwise_regularizer = pointwise_initializer, pointwise_regularizer
        self.pointwise_kernel = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        c = self._channels(input_shape)
        self.add_weight("depthwise_kernel", (*self.kernel_size, c, self.depth_multiplier),
                        self.depthwise_initializer, self.depthwise_regularizer)
        self.add_weight("pointwise_kernel", (1, 1, c * self.depth_multiplier, self.filters),
                        self.pointwise_initializer, self.pointwise_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.filters,), self.bias_initializer)

    def forward(self, x: Any) -> Tensor:
        h = self._depthwise(x)
        act = self.activation
        fused = act if act is None or isinstance(act, str) else None
        y = F.conv2d(h, self.pointwise_kernel, self.bias, activation=fused)
        if fused is None and act is not None:
            y = act(y)
        return y

    def get_config(self) -> dict[str, Any]:
        config = self._base_config()
        config.update(filters=self.filters,
                      pointwise_initializer=_serial(self.pointwise_initializer, serialize_initializer),
                      pointwise_regularizer=_serial(self.pointwise_regularizer, serialize_regularizer))
        return config

    def extra_repr(self) -> str:
        return (f"{self.filters}, kernel_size={self.kernel_size}, strides={self.strides}, "
                f"padding={self.padding!r}, depth_multiplier={self.depth_multiplier}, "
                f"activation={self.activation!r}")


class _ChannelsFirstTwin(ChannelsFirst):
    def __init__(self, *args: Any, data_format: str | None = "channels_first", **kwargs: Any) -> None:
        super().__init__(*args, data_format=data_format, **kwargs)

    def build(self, input_shape: tuple[int, ...]) -> None:
        super().build(self.channels_last_shape(input_shape))


class ChannelsFirstDepthwiseConv2D(_ChannelsFirstTwin, DepthwiseConv2D):
    """``DepthwiseConv2D(..., data_format="channels_first")``: (N, C, H, W) -> (N, C * M, Ho, Wo)."""


class ChannelsFirstSeparableConv2D(_ChannelsFirstTwin, SeparableConv2D):
    """``SeparableConv2D(..., data_format="channels_first")``: (N, C, H, W) -> (N, filters, Ho, Wo)."""


_CHANNELS_FIRST: dict[type, type] = {DepthwiseConv2D: ChannelsFirstDepthwiseConv2D,
                                     SeparableConv2D: ChannelsFirstSeparableConv2D}

__all__ = ["ChannelsFirstDepthwiseConv2D", "ChannelsFirstSeparableConv2D", "DepthwiseConv2D", "SeparableConv2D",
           "depthwise_conv2d"]
