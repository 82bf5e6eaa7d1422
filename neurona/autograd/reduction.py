"""Reductions over axes: sum, mean, max, min.

The gradient of a reduction is the upstream gradient spread back over the axes
that were reduced: unchanged for ``sum``, divided by the count for ``mean``, and
only to the position(s) of the extremum for ``max``/``min`` (shared evenly on ties,
as ``torch.amax`` does).
"""

from __future__ import annotations

from ..backend import get_array_module
from .function import Function


def normalize_axis(axis, ndim: int) -> tuple[int, ...] | None:
    """Axis argument as a sorted tuple of non-negative ints (None means all axes)."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for an array of {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(out))


def _keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class _Reduction(Function):
    def __init__(self, axis, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def _spread(self, gy):
        """The upstream gradient reshaped so it broadcasts over the reduced axes."""
        return gy.reshape(_keepdims_shape(self.shape, self.axes)) if not self.keepdims else gy


class Sum(_Reduction):
    """y = sum of x over axes;  dy/dx = 1 for every summed element."""

    def forward(self, x):
        self.shape = x.shape
        self.axes = normalize_axis(self.axis, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        return get_array_module(gy).broadcast_to(self._spread(gy), self.shape)


class Mean(_Reduction):
    """y = mean of x over axes;  dy/dx = 1/n for every averaged element."""

    def forward(self, x):
        self.shape = x.shape
        self.axes = normalize_axis(self.axis, x.ndim)
        y = x.mean(axis=self.axes, keepdims=self.keepdims)
        self.n = x.size // max(y.size, 1)
        return y

    def backward(self, gy):
        return get_array_module(gy).broadcast_to(self._spread(gy) / self.n, self.shape)


class Max(_Reduction):
    """y = max of x over axes;  dy/dx = 1 at the maximum (split evenly between ties), else 0."""

    reduce = "max"

    def forward(self, x):
        self.x = x
        self.shape = x.shape
        self.axes = normalize_axis(self.axis, x.ndim)
        if x.size == 0:
            raise ValueError(f"{self.name}: cannot reduce an empty array of shape {x.shape}")
        self.y = getattr(x, self.reduce)(axis=self.axes, keepdims=True)
        return self.y if self.keepdims else self.y.reshape(_drop(x.shape, self.axes))

    def backward(self, gy):
        mask = self.x == self.y
        count = mask.sum(axis=self.axes, keepdims=True, dtype=gy.dtype)
        return mask * (self._spread(gy) / count)


class Min(Max):
    """y = min of x over axes;  dy/dx = 1 at the minimum (split evenly between ties), else 0."""

    reduce = "min"


def _drop(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape left after removing the reduced axes."""
    if axes is None:
        return ()
    return tuple(s for i, s in enumerate(shape) if i not in axes)
