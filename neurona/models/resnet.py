"""ResNet (2015) and SE-ResNet (2017), ImageNet-style, written with the functional API.

Layer names follow torchvision's module paths with "_" for "." (``layer1_0_conv1`` is
torchvision's ``layer1.0.conv1``), so ``weights.py`` can load torchvision state dicts.
"""

from __future__ import annotations

from typing import Any

from .. import nn
from .common import LARGE_INPUT, check_common, image_shape, scaled, with_weights

# blocks per stage and the block kind, as torchvision's resnet18/34/50/101/152
DEPTHS: dict[int, tuple[str, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}


def _bn(name: str) -> nn.BatchNorm:
    return nn.BatchNorm(momentum=0.9, epsilon=1e-5, name=name)  # PyTorch's BatchNorm2d defaults


def _conv(filters: int, k: int, strides: int, name: str) -> nn.Conv2D:
    return nn.Conv2D(filters, k, strides=strides, padding=k // 2, use_bias=False, name=name)


def _block(x: Any, kind: str, planes: int, strides: int, name: str, se_ratio: int | None) -> Any:
    """One residual block relu(F(x) + shortcut(x)); F basic (two 3x3) or bottleneck (1x1, 3x3, 1x1 to 4x channels)."""
    out_channels = planes if kind == "basic" else planes * 4
    if kind == "basic":
        y = nn.Activation("relu")(_bn(f"{name}_bn1")(_conv(planes, 3, strides, f"{name}_conv1")(x)))
        y = _bn(f"{name}_bn2")(_conv(planes, 3, 1, f"{name}_conv2")(y))
    else:
        y = nn.Activation("relu")(_bn(f"{name}_bn1")(_conv(planes, 1, 1, f"{name}_conv1")(x)))
        y = nn.Activation("relu")(_bn(f"{name}_bn2")(_conv(planes, 3, strides, f"{name}_conv2")(y)))
        y = _bn(f"{name}_bn3")(_conv(out_channels, 1, 1, f"{name}_conv3")(y))
    if se_ratio:
        y = nn.SqueezeExcite(se_ratio, name=f"{name}_se")(y)
    shortcut = x
    if strides != 1 or x.shape[-1] != out_channels:
        shortcut = _bn(f"{name}_downsample_1")(_conv(out_channels, 1, strides, f"{name}_downsample_0")(x))
    return nn.Activation("relu")(nn.Add(name=f"{name}_add")([y, shortcut]))


def _resnet(depth: int, input_shape: Any, num_classes: int, width: float, se_ratio: int | None,
            name: str) -> nn.Model:
    if depth not in DEPTHS:
        raise ValueError(f"{name}: depth must be one of {sorted(DEPTHS)}. Received: depth={depth!r}")
    H, W, C = image_shape(input_shape, name)
    check_common(name, num_classes, width)
    kind, counts = DEPTHS[depth]
    x = nn.Input((H, W, C), name="input")
    if min(H, W) >= LARGE_INPUT:  # the paper's stem: 7x7 stride 2, then 3x3 max pool stride 2 (padding 1)
        y = nn.Activation("relu")(_bn("bn1")(_conv(scaled(64, width), 7, 2, "conv1")(x)))
        y = nn.MaxPool2D(3, strides=2)(nn.ZeroPadding2D(1)(y))  # zeros = -inf padding after a ReLU
    else:  # small images (CIFAR, MNIST): a 3x3 stride-1 stem and no pooling
        y = nn.Activation("relu")(_bn("bn1")(_conv(scaled(64, width), 3, 1, "conv1")(x)))
    for stage, (planes, n) in enumerate(zip((64, 128, 256, 512), counts), start=1):
        for i in range(n):
            strides = 2 if stage > 1 and i == 0 else 1
            y = _block(y, kind, scaled(planes, width), strides, f"layer{stage}_{i}", se_ratio)
    y = nn.GlobalAvgPool2D(name="avgpool")(y)
    return nn.Model(x, nn.Dense(num_classes, name="fc")(y), name=name)


def resnet18(input_shape: tuple[int, ...] = (224, 224, 3), num_classes: int = 1000, width: float = 1.0,
             weights: str | None = None) -> nn.Model:
    """ResNet-18 (He, Zhang, Ren & Sun, 2015): residual blocks y = relu(F(x) + x) let very deep networks train.

    ImageNet-style: a 7x7 stride-2 stem and max pool (a 3x3 stride-1 stem below 64 pixels),
    four stages of two basic blocks (two 3x3 convolutions) with 64, 128, 256, 512 channels
    times ``width``, global average pooling and a dense layer: 11.7M parameters at width 1.
    ``weights``: a safetensors file of torchvision's resnet18 state dict (see ``weights.py``).
    """
    return with_weights(_resnet(18, input_shape, num_classes, width, None, "resnet18"), weights)


def resnet34(input_shape: tuple[int, ...] = (224, 224, 3), num_classes: int = 1000, width: float = 1.0,
             weights: str | None = None) -> nn.Model:
    """ResNet-34 (He et al., 2015): the basic-block ResNet with 3, 4, 6, 3 blocks per stage (21.8M parameters)."""
    return with_weights(_resnet(34, input_shape, num_classes, width, None, "resnet34"), weights)


def resnet50(input_shape: tuple[int, ...] = (224, 224, 3), num_classes: int = 1000, width: float = 1.0,
             weights: str | None = None) -> nn.Model:
    """ResNet-50 (He et al., 2015): bottleneck blocks (1x1 down, 3x3, 1x1 up) make depth cheap (25.6M parameters)."""
    return with_weights(_resnet(50, input_shape, num_classes, width, None, "resnet50"), weights)


def se_resnet(depth: int = 18, input_shape: tuple[int, ...] = (224, 224, 3), num_classes: int = 1000,
              width: float = 1.0, ratio: int = 16, weights: str | None = None) -> nn.Model:
    """SE-ResNet (Hu, Shen & Sun, 2017): squeeze-and-excitation weights each block's channels by the whole image.

    A ResNet-``depth`` whose every block scales its residual F(x), channel by channel, by
    sigmoid(Dense(relu(Dense(global average of F(x))))) with a bottleneck of C / ``ratio``
    units, before adding the shortcut (see ``nn.SqueezeExcite``).
    """
    return with_weights(_resnet(depth, input_shape, num_classes, width, ratio, f"se_resnet{depth}"), weights)

