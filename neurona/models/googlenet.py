"""GoogLeNet (2014), Inception v1, written with the functional API."""

from __future__ import annotations

from typing import Any

from .. import nn
from .common import LARGE_INPUT, check_common, image_shape, scaled

# (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection) per inception module, from the paper's table 1
INCEPTION = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def _conv(x: Any, filters: int, k: int, name: str, strides: int = 1) -> Any:
    return nn.Conv2D(filters, k, strides=strides, padding="same", activation="relu", name=name)(x)


def inception(x: Any, sizes: tuple[int, ...], name: str) -> Any:
    """Four branches joined on the channels: 1x1; 1x1 then 3x3; 1x1 then 5x5; 3x3 max pool then 1x1."""
    c1, r3, c3, r5, c5, pp = sizes
    b1 = _conv(x, c1, 1, f"{name}_1x1")
    b2 = _conv(_conv(x, r3, 1, f"{name}_3x3_reduce"), c3, 3, f"{name}_3x3")
    b3 = _conv(_conv(x, r5, 1, f"{name}_5x5_reduce"), c5, 5, f"{name}_5x5")
    b4 = _conv(nn.MaxPool2D(3, strides=1, padding="same", name=f"{name}_pool")(x), pp, 1, f"{name}_pool_proj")
    return nn.concatenate([b1, b2, b3, b4], name=f"{name}_concat")


def googlenet(input_shape: tuple[int, ...] = (224, 224, 3), num_classes: int = 1000, width: float = 1.0,
              dropout: float = 0.4) -> nn.Model:
    """GoogLeNet (Szegedy et al., 2014): inception modules run 1x1, 3x3 and 5x5 kernels side by side and concatenate.

    Stem (7x7/2 conv, pool, 1x1 and 3x3 convs, pool; a 3x3 stride-1 stem without pools below
    64 pixels), inception 3a-3b, pool, 4a-4e, pool, 5a-5b (the paper's table 1, channels times
    ``width``), global average pooling, dropout 0.4 and a dense layer. 1x1 "reduce" convolutions
    cut the channels before the costly 3x3 and 5x5 ones: 22 layers, about 7M parameters. The
    auxiliary classifiers and local response normalisation of the paper are left out. At
    224x224x3 with 1000 classes: 6,998,552 parameters, the paper's layers; torchvision's
    ``googlenet(aux_logits=False)`` has 6,624,904, because it puts BatchNorm (2 per channel)
    after bias-free convolutions (+7,280) and uses 3x3 kernels in the "5x5" branch (-380,928).
    """
    H, W, C = image_shape(input_shape, "googlenet")
    check_common("googlenet", num_classes, width)
    x = nn.Input((H, W, C), name="input")
    if min(H, W) >= LARGE_INPUT:
        y = _conv(x, scaled(64, width), 7, "conv1", strides=2)
        y = nn.MaxPool2D(3, strides=2, padding="same", name="pool1")(y)
        y = _conv(_conv(y, scaled(64, width), 1, "conv2_reduce"), scaled(192, width), 3, "conv2")
        y = nn.MaxPool2D(3, strides=2, padding="same", name="pool2")(y)
    else:
        y = _conv(x, scaled(64, width), 3, "conv1")
        y = _conv(_conv(y, scaled(64, width), 1, "conv2_reduce"), scaled(192, width), 3, "conv2")
    for stage in ("3a", "3b", "pool3", "4a", "4b", "4c", "4d", "4e", "pool4", "5a", "5b"):
        if stage.startswith("pool"):
            y = nn.MaxPool2D(3, strides=2, padding="same", name=stage)(y)
        else:
            y = inception(y, tuple(scaled(c, width) for c in INCEPTION[stage]), f"inception{stage}")
    y = nn.Dropout(dropout, name="dropout")(nn.GlobalAvgPool2D(name="avgpool")(y))
    return nn.Model(x, nn.Dense(num_classes, name="fc")(y), name="googlenet")
