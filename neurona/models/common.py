"""What the zoo's builders share: argument checks, the width factor, the image-size rule."""

from __future__ import annotations

from typing import Any

from .. import nn

# Inputs at least this large (height and width) get the paper's stem (large strided first layers);
# smaller ones (28x28, 32x32) a 3x3 stride-1 stem, so the later layers still see a feature map.
LARGE_INPUT = 64


def image_shape(input_shape: Any, where: str) -> tuple[int, int, int]:
    """(H, W, C) checked: three positive integers."""
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(s, int) and s > 0 for s in shape):
        raise ValueError(f"{where}: input_shape must be (height, width, channels) of one image. "
                         f"Received: input_shape={input_shape!r}")
    return shape  # type: ignore[return-value]


def scaled(channels: int, width: float) -> int:
    """``channels * width``, rounded, at least 1: the width factor that makes a network fit a laptop."""
    return max(1, int(round(channels * width)))


def check_common(where: str, num_classes: Any, width: Any) -> None:
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
        raise ValueError(f"{where}: num_classes must be a positive integer. Received: num_classes={num_classes!r}")
    if not isinstance(width, (int, float)) or isinstance(width, bool) or not width > 0:
        raise ValueError(f"{where}: width must be a number > 0 (1 is the paper's). Received: width={width!r}")


def built(layers: list[nn.Module], input_shape: tuple[int, ...], name: str) -> nn.Sequential:
    """A Sequential built for one sample of ``input_shape``."""
    model = nn.Sequential(layers, name=name)
    model.build((None,) + tuple(input_shape))
    return model


def pool_out(size: int, k: int, s: int) -> int:
    """The output size of a "valid" pooling window k with stride s."""
    return (size - k) // s + 1


def with_weights(model: nn.Module, weights: str | None) -> nn.Module:
    """``model`` with a PyTorch state dict from a safetensors file copied in (see ``weights.py``), if given."""
    if weights is not None:
        from .weights import load_torch_weights  # imported on use: reading files is not needed to build

        load_torch_weights(model, weights)
    return model
