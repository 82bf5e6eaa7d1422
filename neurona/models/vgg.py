"""VGG (2014): stacks of 3x3 convolutions, doubling the channels after each pooling."""

from __future__ import annotations

from .. import nn
from .common import built, check_common, image_shape, scaled, with_weights

# The paper's configurations A (11 weight layers) and D (16): channels, "M" for a 2x2 max pool.
CONFIGS: dict[int, list] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def vgg(depth: int = 16, input_shape: tuple[int, ...] = (224, 224, 3), num_classes: int = 1000,
        width: float = 1.0, dropout: float = 0.5, batch_norm: bool = False) -> nn.Sequential:
    """VGG (Simonyan & Zisserman, 2014): depth from stacked 3x3 convolutions (two see as far as one 5x5, fewer weights).

    Blocks of 3x3 convolutions (padding 1, ReLU; BatchNorm after each with batch_norm=True)
    separated by 2x2 max pools, then dense 4096, 4096, num_classes with dropout, as torchvision
    builds it. At 224x224 the features end at 7x7x512 (VGG-16: about 138M parameters). A pool
    is left out when the map is already 1 pixel, so 28x28 and 32x32 inputs work; ``width``
    scales every layer's channels and units.
    """
    if depth not in CONFIGS:
        raise ValueError(f"vgg: depth must be one of {sorted(CONFIGS)}. Received: depth={depth!r}")
    H, W, C = image_shape(input_shape, f"vgg{depth}")
    check_common(f"vgg{depth}", num_classes, width)
    layers: list[nn.Module] = []
    h, w = H, W
    for v in CONFIGS[depth]:
        if v == "M":
            if min(h, w) >= 2:
                layers.append(nn.MaxPool2D(2))
                h, w = h // 2, w // 2
            continue
        if batch_norm:
            layers += [nn.Conv2D(scaled(v, width), 3, padding=1), nn.BatchNorm(momentum=0.9, epsilon=1e-5),
                       nn.Activation("relu")]
        else:
            layers.append(nn.Conv2D(scaled(v, width), 3, padding=1, activation="relu"))
    units = scaled(4096, width)
    layers += [nn.Flatten(),
               nn.Dense(units, activation="relu"), nn.Dropout(dropout),
               nn.Dense(units, activation="relu"), nn.Dropout(dropout),
               nn.Dense(num_classes)]
    return built(layers, (H, W, C), f"vgg{depth}{'_bn' if batch_norm else ''}")


def vgg11(input_shape: tuple[int, ...] = (224, 224, 3), num_classes: int = 1000, width: float = 1.0,
          weights: str | None = None, **kwargs) -> nn.Sequential:
    """VGG-11 (Simonyan & Zisserman, 2014): eight 3x3 convolutions and three dense layers (configuration A).

    ``weights``: a safetensors file of torchvision's vgg11 state dict (224x224 inputs; see ``weights.py``)."""
    return with_weights(vgg(11, input_shape, num_classes, width, **kwargs), weights)


def vgg16(input_shape: tuple[int, ...] = (224, 224, 3), num_classes: int = 1000, width: float = 1.0,
          weights: str | None = None, **kwargs) -> nn.Sequential:
    """VGG-16 (Simonyan & Zisserman, 2014): thirteen 3x3 convolutions and three dense layers (configuration D).

    ``weights``: a safetensors file of torchvision's vgg16 state dict (224x224 inputs; see ``weights.py``)."""
    return with_weights(vgg(16, input_shape, num_classes, width, **kwargs), weights)
