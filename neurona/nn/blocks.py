"""The course's building blocks of modern CNNs, channels-last (N, H, W, C): ResidualBlock (ResNet),
SqueezeExcite (SENet) and InceptionBlock (GoogLeNet). Each is a Module made of Conv2D, BatchNorm,
pooling, Dense and merge layers, usable like any layer inside a Sequential.
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..autograd import Tensor
from .conv import Conv2D, image_input
from .core import Dense
from .merge import Concatenate
from .module import Module
from .normalization import BatchNorm
from .pooling import GlobalAvgPool2D, MaxPool2D


def _positive(where: str, **values: Any) -> None:
    for what, v in values.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{where}: {what} must be a positive integer. Received: {what}={v!r}")


def _built_channels(block: Module) -> int | None:
    """The channels a block was built for (None before its first call): later inputs must match."""
    return block.input_shape[-1] if block.built and block.input_shape else None


def _adopt(parent: Module, child: Module) -> Module:
    """A sublayer created after the parent was set up follows its mode and trainability."""
    child.train(parent.training)
    if not parent.trainable:
        child.trainable = False
    return child


class ResidualBlock(Module):
    """The basic ResNet block (He et al., 2016): y = relu(F(x) + shortcut(x)).

    F(x) = BN(conv3x3(relu(BN(conv3x3(x, strides))))), filters channels; the convolutions have
    no bias (BatchNorm's beta plays its part) and pad one pixel on every side, as in the paper
    and torchvision (the output size is Keras's "same": ceil(H / strides)). The shortcut is the
    identity when the shape is unchanged, else (strides != 1 or other channels, or projection=True)
    a 1x1 convolution with the same strides followed by BatchNorm. It is chosen on the first
    call, when the input's channels are known; projection=False forbids it.

    Learning the residual F(x) = H(x) - x instead of H(x) is what lets very deep networks
    train: the identity path carries the signal and its gradient through every block.

    >>> nn.Sequential([nn.Conv2D(64, 3, padding="same"), nn.ResidualBlock(64), nn.ResidualBlock(128, strides=2)])
    """

    def __init__(self, filters: int, strides: Any = 1, projection: bool | None = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        _positive(f"ResidualBlock '{self.name}'", filters=filters)
        if projection not in (None, True, False):
            raise ValueError(f"ResidualBlock '{self.name}': projection must be None (automatic), True or False. "
                             f"Received: projection={projection!r}")
        self.filters, self.projection = filters, projection
        self.strides = tuple(strides) if isinstance(strides, (list, tuple)) else strides
        self.conv1 = Conv2D(filters, 3, strides=strides, padding=1, use_bias=False)
        self.bn1 = BatchNorm()
        self.conv2 = Conv2D(filters, 3, padding=1, use_bias=False)
        self.bn2 = BatchNorm()
        self.shortcut_conv = self.shortcut_bn = None
        self._shortcut_chosen = False

    def _choose_shortcut(self, channels: int) -> None:
        strided = self.conv1.strides != (1, 1)
        needed = strided or channels != self.filters
        if needed and self.projection is False:
            raise ValueError(f"ResidualBlock '{self.name}': an identity shortcut needs the output shape to equal "
                             f"the input's, but strides={self.strides} and channels {channels} -> {self.filters}; "
                             "use projection=None or True")
        if needed or self.projection:
            self.shortcut_conv = _adopt(self, Conv2D(self.filters, 1, strides=self.strides, use_bias=False))
            self.shortcut_bn = _adopt(self, BatchNorm())
        self._shortcut_chosen = True

    def forward(self, x: Any) -> Tensor:
        x = image_input(self, x, _built_channels(self))
        if not self._shortcut_chosen:
            self._choose_shortcut(x.shape[-1])
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        shortcut = x if self.shortcut_conv is None else self.shortcut_bn(self.shortcut_conv(x))
        if shortcut.shape != y.shape:  # an identity shortcut built for other inputs
            raise ValueError(f"ResidualBlock '{self.name}': the shortcut gives shape {tuple(shortcut.shape)} but "
                             f"the residual branch {tuple(y.shape)}. Received: input shape={tuple(x.shape)}")
        return F.relu(y + shortcut)

    def get_config(self) -> dict[str, Any]:
        strides = list(self.strides) if isinstance(self.strides, tuple) else self.strides
        return {"filters": self.filters, "strides": strides, "projection": self.projection, "name": self.name}

    def extra_repr(self) -> str:
        return f"{self.filters}, strides={self.strides}"


class SqueezeExcite(Module):
    """Squeeze-and-excitation (Hu et al., 2018): reweight the channels by what the whole image shows.

    s = sigmoid(Dense_C(relu(Dense_{C/ratio}(global average pool of x))))  (N, C);
    y = x * s, each channel of each image scaled by its own weight in (0, 1).
    C is taken from the first input; the bottleneck has max(1, C // ratio) units.

    >>> nn.SqueezeExcite(ratio=16)(x)     # x (N, H, W, 64) -> (N, H, W, 64), bottleneck of 4 units
    """

    def __init__(self, ratio: int = 16, name: str | None = None, input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        _positive(f"SqueezeExcite '{self.name}'", ratio=ratio)
        self.ratio = ratio
        self.pool = GlobalAvgPool2D()
        self.squeeze = self.excite = None

    def forward(self, x: Any) -> Tensor:
        x = image_input(self, x, _built_channels(self))
        C = x.shape[-1]
        if self.squeeze is None:
            self.squeeze = _adopt(self, Dense(max(1, C // self.ratio), activation="relu"))
            self.excite = _adopt(self, Dense(C, activation="sigmoid"))
        s = self.excite(self.squeeze(self.pool(x)))
        return x * s.reshape(s.shape[0], 1, 1, C)

    def get_config(self) -> dict[str, Any]:
        return {"ratio": self.ratio, "name": self.name}

    def extra_repr(self) -> str:
        return f"ratio={self.ratio}"


class InceptionBlock(Module):
    """The GoogLeNet inception module (Szegedy et al., 2015): four parallel branches, concatenated on channels.

      1x1 conv (filters_1x1)
      1x1 conv (filters_3x3_reduce) -> 3x3 conv (filters_3x3)
      1x1 conv (filters_5x5_reduce) -> 5x5 conv (filters_5x5)
      3x3 max pool (stride 1) -> 1x1 conv (filters_pool_proj)

    Every convolution has a bias and a ReLU, and "same" padding, so the branches keep the
    image size: (N, H, W, C) -> (N, H, W, filters_1x1 + filters_3x3 + filters_5x5 + filters_pool_proj).
    The 1x1 "reduce" convolutions cut the channels before the costly 3x3 and 5x5 ones.

    >>> nn.InceptionBlock(64, 96, 128, 16, 32, 32)    # GoogLeNet's 3a: 192 channels in, 256 out
    """

    def __init__(self, filters_1x1: int, filters_3x3_reduce: int, filters_3x3: int, filters_5x5_reduce: int,
                 filters_5x5: int, filters_pool_proj: int, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        sizes = {"filters_1x1": filters_1x1, "filters_3x3_reduce": filters_3x3_reduce, "filters_3x3": filters_3x3,
                 "filters_5x5_reduce": filters_5x5_reduce, "filters_5x5": filters_5x5,
                 "filters_pool_proj": filters_pool_proj}
        _positive(f"InceptionBlock '{self.name}'", **sizes)
        self.sizes = sizes
        self.branch_1x1 = Conv2D(filters_1x1, 1, activation="relu")
        self.branch_3x3_reduce = Conv2D(filters_3x3_reduce, 1, activation="relu")
        self.branch_3x3 = Conv2D(filters_3x3, 3, padding="same", activation="relu")
        self.branch_5x5_reduce = Conv2D(filters_5x5_reduce, 1, activation="relu")
        self.branch_5x5 = Conv2D(filters_5x5, 5, padding="same", activation="relu")
        self.branch_pool = MaxPool2D(3, strides=1, padding="same")
        self.branch_pool_proj = Conv2D(filters_pool_proj, 1, activation="relu")
        self.concat = Concatenate(axis=-1)

    def forward(self, x: Any) -> Tensor:
        x = image_input(self, x, _built_channels(self))
        return self.concat([
            self.branch_1x1(x),
            self.branch_3x3(self.branch_3x3_reduce(x)),
            self.branch_5x5(self.branch_5x5_reduce(x)),
            self.branch_pool_proj(self.branch_pool(x)),
        ])

    def get_config(self) -> dict[str, Any]:
        return {**self.sizes, "name": self.name}

    def extra_repr(self) -> str:
        return ", ".join(str(v) for v in self.sizes.values())
