"""Pooling and up-sampling layers, channels-last (N, H, W, C); no weights.

Keras names, with Keras's long spellings as aliases: MaxPooling2D, AveragePooling2D,
GlobalAveragePooling2D, GlobalMaxPooling2D. The pools take ``data_format="channels_first"``
for (N, C, H, W) images: the same pool between two transposes (``conv.ChannelsFirst``).
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..autograd import Tensor
from ..functional.conv import pair
from .conv import ChannelsFirst, check_data_format, image_input
from .module import Module


def _channels_first_variant(cls: type, data_format: Any) -> type:
    """The class a pool's constructor makes: ``cls``, or its channels-first twin (see ``ChannelsFirst``)."""
    if check_data_format(data_format, cls.__name__) == "channels_first":
        return _CHANNELS_FIRST.get(cls, cls)
    return cls


def _check_own_format(layer: Module, data_format: Any) -> None:
    if check_data_format(data_format, f"{type(layer).__name__} layer '{layer.name}'") != layer.data_format:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}': data_format must be {layer.data_format!r}. "
                         f"Received: data_format={data_format!r}")


class _Pool2D(Module):
    """MaxPool2D and AvgPool2D: the window, its stride and the padding."""

    op: Any = None
    data_format = "channels_last"

    def __new__(cls, *args: Any, data_format: str | None = None, **kwargs: Any) -> _Pool2D:
        return super().__new__(_channels_first_variant(cls, data_format))

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid", name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, data_format: str | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        _check_own_format(self, data_format)
        where = f"{type(self).__name__} layer '{self.name}'"
        self.pool_size = pair(pool_size, "pool_size", where)
        self.strides = None if strides is None else pair(strides, "strides", where)
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            raise ValueError(f"{where}: padding must be 'valid' or 'same'. Received: padding={padding!r}")
        self.padding = padding.lower()

    def forward(self, x: Any) -> Tensor:
        x = image_input(self, x)
        try:
            return type(self).op(x, self.pool_size, self.strides, self.padding)
        except ValueError as exc:  # e.g. a pool larger than the image: say which layer
            raise ValueError(f"{type(self).__name__} layer '{self.name}': {exc}") from None

    def get_config(self) -> dict[str, Any]:
        return {"pool_size": list(self.pool_size), "strides": None if self.strides is None else list(self.strides),
                "padding": self.padding, "name": self.name}

    def extra_repr(self) -> str:
        return f"pool_size={self.pool_size}, strides={self.strides or self.pool_size}, padding={self.padding!r}"


class MaxPool2D(_Pool2D):
    """Max over windows of pool_size pixels, moved by strides (default: pool_size), channels-last.

    >>> nn.MaxPool2D(2)   # (N, 28, 28, 32) -> (N, 14, 14, 32)
    """

    op = staticmethod(F.max_pool2d)


class AvgPool2D(_Pool2D):
    """Mean over windows of pool_size pixels (only real pixels with padding="same"), channels-last.

    >>> nn.AvgPool2D(2)   # (N, 28, 28, 32) -> (N, 14, 14, 32)
    """

    op = staticmethod(F.avg_pool2d)


class _GlobalPool2D(Module):
    op: Any = None
    data_format = "channels_last"

    def __new__(cls, *args: Any, data_format: str | None = None, **kwargs: Any) -> _GlobalPool2D:
        return super().__new__(_channels_first_variant(cls, data_format))

    def __init__(self, keepdims: bool = False, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, data_format: str | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        _check_own_format(self, data_format)
        self.keepdims = bool(keepdims)

    def forward(self, x: Any) -> Tensor:
        return type(self).op(image_input(self, x), keepdims=self.keepdims)

    def get_config(self) -> dict[str, Any]:
        return {"keepdims": self.keepdims, "name": self.name}


class GlobalAvgPool2D(_GlobalPool2D):
    """Mean over all pixels: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with keepdims (ResNet's head)."""

    op = staticmethod(F.global_avg_pool2d)


class GlobalMaxPool2D(_GlobalPool2D):
    """Max over all pixels: (N, H, W, C) -> (N, C), or (N, 1, 1, C) with keepdims."""

    op = staticmethod(F.global_max_pool2d)


class _ChannelsFirstPool(ChannelsFirst):
    def __init__(self, *args: Any, data_format: str | None = "channels_first", **kwargs: Any) -> None:
        super().__init__(*args, data_format=data_format, **kwargs)


class ChannelsFirstMaxPool2D(_ChannelsFirstPool, MaxPool2D):
    """``MaxPool2D(..., data_format="channels_first")``: (N, C, H, W) -> (N, C, Ho, Wo)."""


class ChannelsFirstAvgPool2D(_ChannelsFirstPool, AvgPool2D):
    """``AvgPool2D(..., data_format="channels_first")``: (N, C, H, W) -> (N, C, Ho, Wo)."""


class ChannelsFirstGlobalAvgPool2D(_ChannelsFirstPool, GlobalAvgPool2D):
    """``GlobalAvgPool2D(data_format="channels_first")``: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims."""


class ChannelsFirstGlobalMaxPool2D(_ChannelsFirstPool, GlobalMaxPool2D):
    """``GlobalMaxPool2D(data_format="channels_first")``: (N, C, H, W) -> (N, C), or (N, C, 1, 1) with keepdims."""


_CHANNELS_FIRST: dict[type, type] = {MaxPool2D: ChannelsFirstMaxPool2D, AvgPool2D: ChannelsFirstAvgPool2D,
                                     GlobalAvgPool2D: ChannelsFirstGlobalAvgPool2D,
                                     GlobalMaxPool2D: ChannelsFirstGlobalMaxPool2D}


class UpSampling2D(Module):
    """Repeat (nearest) or interpolate (bilinear) pixels by integer factors: (N, H, W, C) -> (N, H*sh, W*sw, C).

    >>> nn.UpSampling2D(2)   # (N, 14, 14, 64) -> (N, 28, 28, 64)
    """

    def __init__(self, size: Any = 2, interpolation: str = "nearest", name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        where = f"UpSampling2D layer '{self.name}'"
        self.size = pair(size, "size", where)
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"{where}: interpolation must be 'nearest' or 'bilinear'. "
                             f"Received: interpolation={interpolation!r}")
        self.interpolation = interpolation

    def forward(self, x: Any) -> Tensor:
        return F.upsample2d(image_input(self, x), self.size, self.interpolation)

    def get_config(self) -> dict[str, Any]:
        return {"size": list(self.size), "interpolation": self.interpolation, "name": self.name}

    def extra_repr(self) -> str:
        return f"size={self.size}, interpolation={self.interpolation!r}"


MaxPooling2D = MaxPool2D
AveragePooling2D = AvgPool2D
GlobalAveragePooling2D = GlobalAvgPool2D
GlobalMaxPooling2D = GlobalMaxPool2D
