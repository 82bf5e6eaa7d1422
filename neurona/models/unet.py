"""U-Net (2015): an encoder-decoder with skip connections for per-pixel classification."""

from __future__ import annotations

from typing import Any

from .. import nn
from .common import check_common, image_shape, scaled


def _double_conv(x: Any, filters: int, name: str, batch_norm: bool) -> Any:
    for i in (1, 2):
        x = nn.Conv2D(filters, 3, padding="same", use_bias=not batch_norm, name=f"{name}_conv{i}")(x)
        if batch_norm:
            x = nn.BatchNorm(momentum=0.9, epsilon=1e-5, name=f"{name}_bn{i}")(x)
        x = nn.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def unet(input_shape: tuple[int, ...] = (64, 64, 1), num_classes: int = 2, width: float = 1.0,
         depth: int | None = None, batch_norm: bool = True) -> nn.Model:
    """U-Net (Ronneberger, Fischer & Brox, 2015): skip links give the decoder fine detail, for per-pixel labels.

    Encoder: ``depth`` levels of two 3x3 convolutions (64, 128, 256, 512 channels times
    ``width``) each followed by 2x2 max pooling; a bottleneck of twice the last width; decoder:
    per level a 2x2 stride-2 transposed convolution, concatenation with the encoder's map of
    that size, two 3x3 convolutions; a 1x1 convolution to ``num_classes`` logits per pixel:
    output (N, H, W, num_classes). "same" padding (the paper crops "valid" maps instead),
    BatchNorm after each convolution unless batch_norm=False. H and W must be multiples of
    2**depth; by default depth is the paper's 4, or less when the image does not halve that often
    (28x28: 2).
    """
    H, W, C = image_shape(input_shape, "unet")
    check_common("unet", num_classes, width)
    if depth is None:
        depth = 4
        while depth > 1 and (H % 2 ** depth or W % 2 ** depth):
            depth -= 1
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 1:
        raise ValueError(f"unet: depth must be a positive integer. Received: depth={depth!r}")
    if H % 2 ** depth or W % 2 ** depth:
        raise ValueError(f"unet: with depth={depth} the image height and width must be multiples of {2 ** depth} "
                         f"(each level halves them). Received: input_shape={tuple(input_shape)}")
    x = nn.Input((H, W, C), name="input")
    skips = []
    y = x
    for level in range(depth):
        y = _double_conv(y, scaled(64 * 2 ** level, width), f"down{level + 1}", batch_norm)
        skips.append(y)
        y = nn.MaxPool2D(2, name=f"pool{level + 1}")(y)
    y = _double_conv(y, scaled(64 * 2 ** depth, width), "bottleneck", batch_norm)
    for level in reversed(range(depth)):
        filters = scaled(64 * 2 ** level, width)
        y = nn.Conv2DTranspose(filters, 2, strides=2, name=f"up{level + 1}_upconv")(y)
        y = nn.concatenate([skips[level], y], name=f"up{level + 1}_concat")
        y = _double_conv(y, filters, f"up{level + 1}", batch_norm)
    return nn.Model(x, nn.Conv2D(num_classes, 1, name="classifier")(y), name="unet")
