"""Ready-made networks, by name: ``nr.models.get("cnn", input_shape=(28, 28, 1), num_classes=10)``.

Each builder returns a built model (an ``nn.Sequential``, or an ``nn.Model`` for the networks
with branches: GoogLeNet, the ResNets, U-Net) that outputs logits. Images are channels-last
(H, W, C); a flat input (features,) suits the MLP. The course's CNNs from AlexNet on live in
one module per family (alexnet.py, vgg.py, googlenet.py, resnet.py, unet.py) and are listed
in ``MODELS`` below; each takes ``width`` to scale its channels down for a laptop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import nn
from .alexnet import alexnet, zfnet
from .googlenet import googlenet
from .resnet import resnet18, resnet34, resnet50, se_resnet
from .unet import unet
from .vgg import vgg11, vgg16


def mlp(input_shape: tuple[int, ...] = (784,), num_classes: int = 10, hidden: tuple[int, ...] = (100,),
        activation: str = "relu", dropout: float = 0.0) -> nn.Sequential:
    """The multilayer perceptron: dense layers with one activation each, then a dense output layer.

    Flatten, Dense(h, activation) per hidden size, Dense(num_classes)."""
    layers: list[nn.Module] = [nn.Flatten()] if len(input_shape) > 1 else []
    for units in hidden:
        layers.append(nn.Dense(units, activation=activation))
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Dense(num_classes))
    return _built(layers, input_shape, "mlp")


def reference_cnn(input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> nn.Sequential:
    """The benchmarks' reference CNN: two 3x3 convolutions with max pooling, then two dense layers.

    Conv 32 and 64 filters ("same", ReLU) each followed by 2x2 max-pooling, then Dense(128, ReLU)
    and Dense(num_classes)."""
    return _built([
        nn.Conv2D(32, 3, padding="same", activation="relu"),
        nn.MaxPool2D(2),
        nn.Conv2D(64, 3, padding="same", activation="relu"),
        nn.MaxPool2D(2),
        nn.Flatten(),
        nn.Dense(128, activation="relu"),
        nn.Dense(num_classes),
    ], input_shape, "cnn")


def lenet5(input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998): convolutions and subsampling learn features for reading digits.

    C1 6@5x5, S2 average pooling, C3 16@5x5, S4 average pooling, C5/F6 dense 120 and 84, tanh
    units. On 28x28 inputs C1 pads ("same") to keep the original 32x32 geometry of the later layers."""
    return _built([
        nn.Conv2D(6, 5, padding="same", activation="tanh"),
        nn.AvgPool2D(2),
        nn.Conv2D(16, 5, activation="tanh"),
        nn.AvgPool2D(2),
        nn.Flatten(),
        nn.Dense(120, activation="tanh"),
        nn.Dense(84, activation="tanh"),
        nn.Dense(num_classes),
    ], input_shape, "lenet5")


def resnet(depth: int = 20, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10,
           widths: tuple[int, int, int] = (16, 32, 64)) -> nn.Sequential:
    """The CIFAR-style ResNet of He et al. (2016): a 3x3 conv, three stages of (depth - 2) / 6 basic
    residual blocks (the second and third halve the resolution and double the width), global
    average pooling and a dense classifier. depth 20 gives resnet20 (about 0.27 M parameters)."""
    if (depth - 2) % 6:
        raise ValueError(f"resnet: depth must be 6n + 2 (20, 32, 44, 56...). Received: depth={depth}")
    n = (depth - 2) // 6
    layers: list[nn.Module] = [
        nn.Conv2D(widths[0], 3, padding="same", use_bias=False),
        nn.BatchNorm(),
        nn.Activation("relu"),
    ]
    for stage, width in enumerate(widths):
        for block in range(n):
            layers.append(nn.ResidualBlock(width, strides=2 if stage > 0 and block == 0 else 1))
    layers += [nn.GlobalAvgPool2D(), nn.Dense(num_classes)]
    return _built(layers, input_shape, f"resnet{depth}")


def resnet20(input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10) -> nn.Sequential:
    """ResNet-20 (He et al., 2015): the CIFAR-style residual network, three stages of three basic blocks."""
    return resnet(20, input_shape, num_classes)


def _built(layers: list[nn.Module], input_shape: tuple[int, ...], name: str) -> nn.Sequential:
    model = nn.Sequential(layers, name=name)
    model.build((None,) + tuple(input_shape))
    return model


MODELS: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp,
    "cnn": reference_cnn,
    "lenet5": lenet5,
    "resnet20": resnet20,
    "alexnet": alexnet,
    "zfnet": zfnet,
    "vgg11": vgg11,
    "vgg16": vgg16,
    "googlenet": googlenet,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "se_resnet": se_resnet,
    "unet": unet,
}


def get(name: str, input_shape: tuple[int, ...], num_classes: int, **kwargs: Any) -> nn.Module:
    """Build a zoo model by name for inputs of ``input_shape`` (one sample, no batch axis)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}. Available: {', '.join(sorted(MODELS))}")
    return MODELS[name](input_shape=tuple(input_shape), num_classes=num_classes, **kwargs)


def available() -> list[str]:
    """The names ``get`` accepts."""
    return sorted(MODELS)
