"""AlexNet (2012) and ZFNet (2013): five convolutions and three dense layers."""

from __future__ import annotations

from .. import nn
from .common import LARGE_INPUT, built, check_common, image_shape, pool_out, scaled


def _features(first: list[nn.Module], widths: tuple[int, ...], w: float, pool: tuple[int, int]) -> list[nn.Module]:
    k, s = pool
    c2, c3, c4, c5 = (scaled(c, w) for c in widths)
    return first + [
        nn.MaxPool2D(k, strides=s),
        nn.Conv2D(c2, 5, padding=2, activation="relu"),
        nn.MaxPool2D(k, strides=s),
        nn.Conv2D(c3, 3, padding=1, activation="relu"),
        nn.Conv2D(c4, 3, padding=1, activation="relu"),
        nn.Conv2D(c5, 3, padding=1, activation="relu"),
        nn.MaxPool2D(k, strides=s),
    ]


def _classifier(units: int, num_classes: int, dropout: float) -> list[nn.Module]:
    return [
        nn.Flatten(),
        nn.Dense(units, activation="relu"), nn.Dropout(dropout),
        nn.Dense(units, activation="relu"), nn.Dropout(dropout),
        nn.Dense(num_classes),
    ]


def alexnet(input_shape: tuple[int, ...] = (227, 227, 3), num_classes: int = 1000, width: float = 1.0,
            dropout: float = 0.5) -> nn.Sequential:
    """AlexNet (Krizhevsky, Sutskever & Hinton, 2012): a deep CNN trained on GPUs with ReLU and dropout won ImageNet.

    Conv 96@11x11 stride 4, max pool 3/2, conv 256@5x5, pool, conv 384, 384, 256 @3x3, pool,
    dense 4096, 4096, num_classes (ReLU, dropout before each of the last two). At 227x227x3 the
    last pool gives 6x6x256 = 9216 values and the model has about 62M parameters, 37.7M of them
    in the first dense layer. Images under 64 pixels get a 3x3 stride-1 first layer and 2x2
    pooling instead. ``width`` scales every layer's channels and units (1 is the paper's);
    the single-GPU version, without the paper's two-GPU channel groups.
    """
    H, W, C = image_shape(input_shape, "alexnet")
    check_common("alexnet", num_classes, width)
    if min(H, W) >= LARGE_INPUT:
        first: list[nn.Module] = [nn.Conv2D(scaled(96, width), 11, strides=4, activation="relu")]
        pool = (3, 2)
    else:
        first = [nn.Conv2D(scaled(96, width), 3, padding=1, activation="relu")]
        pool = (2, 2)
    layers = _features(first, (256, 384, 384, 256), width, pool)
    return built(layers + _classifier(scaled(4096, width), num_classes, dropout), (H, W, C), "alexnet")


def zfnet(input_shape: tuple[int, ...] = (224, 224, 3), num_classes: int = 1000, width: float = 1.0,
          dropout: float = 0.5) -> nn.Sequential:
    """ZFNet (Zeiler & Fergus, 2013): looking at what each layer's filters respond to led to a better AlexNet.

    Their deconvolution pictures showed AlexNet's 11x11 stride-4 first layer aliasing and
    leaving dead filters, so ZFNet uses 7x7 stride 2 (96 filters), then 5x5 stride 2 (256),
    then AlexNet's 384, 384, 256 @3x3, pools 3/2 and dense 4096, 4096, num_classes. Images
    under 64 pixels get a 3x3 stride-1 first layer, a stride-1 second one and 2x2 pooling.
    """
    H, W, C = image_shape(input_shape, "zfnet")
    check_common("zfnet", num_classes, width)
    c1, c2, c3, c4, c5 = (scaled(c, width) for c in (96, 256, 384, 384, 256))
    if min(H, W) >= LARGE_INPUT:
        k, s = 3, 2
        layers: list[nn.Module] = [nn.Conv2D(c1, 7, strides=2, padding=1, activation="relu"),
                                   nn.MaxPool2D(k, strides=s, padding="same"),
                                   nn.Conv2D(c2, 5, strides=2, activation="relu")]
    else:
        k, s = 2, 2
        layers = [nn.Conv2D(c1, 3, padding=1, activation="relu"), nn.MaxPool2D(k, strides=s),
                  nn.Conv2D(c2, 5, padding=2, activation="relu")]
    layers += [
        nn.MaxPool2D(k, strides=s, padding="same"),
        nn.Conv2D(c3, 3, padding=1, activation="relu"),
        nn.Conv2D(c4, 3, padding=1, activation="relu"),
        nn.Conv2D(c5, 3, padding=1, activation="relu"),
        nn.MaxPool2D(k, strides=s),
    ]
    return built(layers + _classifier(scaled(4096, width), num_classes, dropout), (H, W, C), "zfnet")


__all__ = ["alexnet", "pool_out", "zfnet"]
