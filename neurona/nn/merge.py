"""Merge layers: combine a list of tensors into one (Add, Subtract, Multiply, Average, Maximum,
Minimum, Concatenate), for networks with branches: residual connections, Inception modules.

Called on a list: ``nn.Add()([a, b])``, ``nn.Concatenate(axis=-1)([a, b, c])``.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from ..autograd import Tensor, concat
from .module import Module


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


class _Merge(Module):
    """Shared checks: a list of at least two tensors (exactly ``arity`` when set)."""

    arity: int | None = None

    def _inputs(self, inputs: Any) -> list[Tensor]:
        where = f"{type(self).__name__} layer '{self.name}'"
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"{where}: expected a list of tensors, as in {type(self).__name__}()([a, b]). "
                            f"Received: {type(inputs).__name__}")
        if len(inputs) < 2 or (self.arity is not None and len(inputs) != self.arity):
            expected = f"exactly {self.arity}" if self.arity else "at least 2"
            raise ValueError(f"{where}: expected a list of {expected} tensors. Received: {len(inputs)}")
        return [_as_tensor(x) for x in inputs]

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}


class _Elementwise(_Merge):
    """Inputs of one shape combined elementwise."""

    def forward(self, inputs: Any) -> Tensor:
        xs = self._inputs(inputs)
        shapes = [tuple(x.shape) for x in xs]
        if any(s != shapes[0] for s in shapes):
            raise ValueError(f"{type(self).__name__} layer '{self.name}': expected inputs of the same shape. "
                             f"Received: shapes={shapes}")
        return self.combine(xs)

    def combine(self, xs: list[Tensor]) -> Tensor:
        raise NotImplementedError


class Add(_Elementwise):
    """The sum of the inputs: ``nn.Add()([x, shortcut])`` (a residual connection)."""

    def combine(self, xs):
        return reduce(lambda a, b: a + b, xs)


class Subtract(_Elementwise):
    """a - b for exactly two inputs [a, b]."""

    arity = 2

    def combine(self, xs):
        return xs[0] - xs[1]


class Multiply(_Elementwise):
    """The elementwise product of the inputs (gating)."""

    def combine(self, xs):
        return reduce(lambda a, b: a * b, xs)


class Average(_Elementwise):
    """The elementwise mean of the inputs (ensembles)."""

    def combine(self, xs):
        return reduce(lambda a, b: a + b, xs) * (1.0 / len(xs))


class Maximum(_Elementwise):
    """The elementwise maximum of the inputs."""

    def combine(self, xs):
        return reduce(lambda a, b: a.maximum(b), xs)


class Minimum(_Elementwise):
    """The elementwise minimum of the inputs: min(a, b) = -max(-a, -b)."""

    def combine(self, xs):
        return -reduce(lambda a, b: a.maximum(b), [-x for x in xs])


class Concatenate(_Merge):
    """Join the inputs along ``axis`` (the channels, -1, by default); every other axis must match.

    >>> nn.Concatenate()([branch_1x1, branch_3x3, branch_5x5])    # (N, H, W, C1 + C2 + C3)
    """

    def __init__(self, axis: int = -1, name: str | None = None) -> None:
        super().__init__(name=name)
        if not isinstance(axis, int):
            raise TypeError(f"Concatenate: axis must be an integer. Received: axis={axis!r}")
        self.axis = axis

    def forward(self, inputs: Any) -> Tensor:
        xs = self._inputs(inputs)
        shapes = [tuple(x.shape) for x in xs]
        ndim = len(shapes[0])
        where = f"Concatenate layer '{self.name}'"
        if any(len(s) != ndim for s in shapes) or not -ndim <= self.axis < ndim:
            raise ValueError(f"{where}: expected inputs with the same number of dimensions and axis={self.axis} "
                             f"in range. Received: shapes={shapes}")
        axis = self.axis % ndim
        rest = [s[:axis] + s[axis + 1:] for s in shapes]
        if any(r != rest[0] for r in rest):
            raise ValueError(f"{where}: expected inputs whose shapes match except on the concatenation axis "
                             f"{self.axis}. Received: shapes={shapes}")
        return concat(xs, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis, "name": self.name}

    def extra_repr(self) -> str:
        return f"axis={self.axis}"
