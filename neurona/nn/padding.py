"""``ZeroPadding2D``: rows and columns of zeros around each image, channels-last (N, H, W, C)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..functional.reference import pad
from .conv import image_input
from .module import Module


class ZeroPadding2D(Module):
    """Pad images (N, H, W, C) with zeros: (N, H + top + bottom, W + left + right, C), as Keras's layer.

    ``padding``: an int (the same on all four sides), (rows, cols) (symmetric), or
    ((top, bottom), (left, right)). ZeroPadding2D(1) then MaxPool2D(3, 2) on non-negative
    inputs (after a ReLU) is PyTorch's MaxPool2d(3, 2, padding=1), ResNet's stem pooling.
    """

    def __init__(self, padding: Any = 1, name: str | None = None) -> None:
        super().__init__(name=name)
        self.padding = _pads(padding, self.name)

    def forward(self, x: Any) -> Tensor:
        x = image_input(self, x, None)
        (top, bottom), (left, right) = self.padding
        return pad(x, top, bottom, left, right)

    def get_config(self) -> dict[str, Any]:
        return {"padding": [list(p) for p in self.padding], "name": self.name}

    def extra_repr(self) -> str:
        return f"padding={self.padding}"


def _pads(padding: Any, name: str) -> tuple[tuple[int, int], tuple[int, int]]:
    def ok(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0

    if ok(padding):
        return (padding, padding), (padding, padding)
    if isinstance(padding, (list, tuple)) and len(padding) == 2:
        if all(ok(v) for v in padding):
            return (padding[0], padding[0]), (padding[1], padding[1])
        if all(isinstance(p, (list, tuple)) and len(p) == 2 and all(ok(v) for v in p) for p in padding):
            return (padding[0][0], padding[0][1]), (padding[1][0], padding[1][1])
    raise ValueError(f"ZeroPadding2D '{name}': padding must be an int >= 0, (rows, cols) or ((top, bottom), "
                     f"(left, right)). Received: padding={padding!r}")
