"""Shape primitives: reshape, transpose, indexing, broadcasting, concatenation, stacking.

None of them changes a value, so each backward only moves the gradient back to
where its value came from.
"""

from __future__ import annotations

from ..backend import get_array_module, scatter_add
from ..kernels.concat import concatenate
from .function import Function


class Reshape(Function):
    """y = x viewed with a new shape;  the gradient is reshaped back."""

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.in_shape = x.shape
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.in_shape)


class Transpose(Function):
    """y = x with its axes permuted (reversed when axes is None);  the gradient is permuted back."""

    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        if self.axes is None:
            self.axes = tuple(range(x.ndim - 1, -1, -1))
        elif len(self.axes) != x.ndim:
            raise ValueError(f"Transpose: axes {self.axes} do not match an array of {x.ndim} dimensions")
        return x.transpose(self.axes)

    def backward(self, gy):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a % len(self.axes)] = i
        return gy.transpose(inverse)


def _is_int_array_index(index) -> bool:
    """True when the index holds an integer array, where repeated positions must add up."""
    parts = index if isinstance(index, tuple) else (index,)
    for p in parts:
        dtype = getattr(p, "dtype", None)
        if dtype is not None and dtype.kind in "iu" and getattr(p, "ndim", 0) > 0:
            return True
        if isinstance(p, list):
            return True
    return False


class GetItem(Function):
    """y = x[index] (basic or advanced NumPy indexing);  the gradient is scattered back, adding repeats."""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.shape = x.shape
        return x[self.index]

    def backward(self, gy):
        xp = get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if _is_int_array_index(self.index):
            scatter_add(gx, self.index, gy)
        else:
            gx[self.index] = gy
        return gx


class BroadcastTo(Function):
    """y = x repeated along broadcast axes;  the engine sums the gradient back to x's shape."""

    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return get_array_module(x).broadcast_to(x, self.shape)

    def backward(self, gy):
        return gy


class Concat(Function):
    """y = the inputs joined along an existing axis;  the gradient is split at the same places
    (views of it: no copy). Large joins on the last axis run compiled (``kernels.concat``)."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return concatenate(xs, self.axis)

    def backward(self, gy):
        xp = get_array_module(gy)
        cuts, total = [], 0
        for s in self.sizes[:-1]:
            total += s
            cuts.append(total)
        return tuple(xp.split(gy, cuts, axis=self.axis))


class Stack(Function):
    """y = the inputs joined along a new axis;  input i gets slice i of the gradient."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        self.n = len(xs)
        y = get_array_module(xs[0]).stack(xs, axis=self.axis)
        self.axis = self.axis % y.ndim
        return y

    def backward(self, gy):
        lead = (slice(None),) * self.axis
        return tuple(gy[lead + (i,)] for i in range(self.n))
