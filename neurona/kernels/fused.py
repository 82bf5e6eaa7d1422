"""Fused elementwise passes over large arrays, split over neurona's threads.

Each is one named pass a Function calls instead of a chain of NumPy expressions with
temporaries: the same arithmetic, written once, in place where it can be.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ..backend import get_array_module
from . import compiled as compiled_kernels
from .threads import over_batch

COMPILED_MIN_VALUES = compiled_kernels.COMPILED_MIN_VALUES  # the compiled passes (ReLU, batch norm) from here on


def elementwise_kernels(*arrays: Any, compiled: bool | None = None) -> ModuleType | None:
    """The compiled ReLU passes (``_numba_elementwise``) when they run on these arrays (NumPy, float,
    C-contiguous, of one shape, COMPILED_MIN_VALUES values or more), else None: the array twins run.
    ``compiled`` False forces the twins, True insists on the kernels."""
    fits = all(isinstance(b, np.ndarray) and b.flags.c_contiguous and b.shape == arrays[0].shape for b in arrays)
    return compiled_kernels.select(
        "_numba_elementwise", *arrays, compiled=compiled, min_values=COMPILED_MIN_VALUES, fits=fits,
        needs="the compiled ReLU passes take C-contiguous NumPy arrays of one shape")


def relu(x: Any, out: Any = None, compiled: bool | None = None) -> Any:
    """max(x, 0), into ``out`` (may be x itself) or a new array."""
    xp = get_array_module(x)
    out = xp.empty(x.shape, xp.result_type(x, 0)) if out is None else out
    kernels = elementwise_kernels(x, out, compiled=compiled)
    if kernels is not None:
        x1, out1 = x.reshape(-1), out.reshape(-1)
        over_batch(lambda s: kernels.relu(x1[s], out1[s]), x1)
        return out
    over_batch(lambda s: xp.maximum(x[s], 0, out=out[s]), out)
    return out


def relu_mask(g: Any, y: Any, compiled: bool | None = None) -> Any:
    """dL/d(pre-activation) of a fused ReLU from its output y: g * (y > 0), g where y > 0, else 0."""
    out = get_array_module(g).empty_like(g)
    kernels = elementwise_kernels(g, y, out, compiled=compiled)
    if kernels is not None:
        g1, y1, out1 = g.reshape(-1), y.reshape(-1), out.reshape(-1)
        over_batch(lambda s: kernels.relu_mask(g1[s], y1[s], out1[s]), g1, passes=2)
        return out

    def mask(s: slice) -> None:
        get_array_module(g).multiply(g[s], y[s] > 0, out=out[s])

    over_batch(mask, out, passes=2)
    return out


# ---------------------------------------------------------------- batch normalisation passes, on (M, C) arrays
# Each has a compiled kernel (``_numba``) that makes it one pass over its arrays, used on the CPU for
# arrays of COMPILED_MIN_VALUES values or more; the array expressions here are their twins.
# ``compiled`` False forces the twin, True the kernel.


def _kernels(a: Any, compiled: bool | None, *arrays: Any) -> Any:
    return compiled_kernels.select("_numba", a, *arrays, compiled=compiled, min_values=COMPILED_MIN_VALUES)


def column_sum(a: Any) -> Any:
    """Sum of a 2-D array over its rows: ones @ a, a BLAS matrix-vector product several times
    faster than ``a.sum(axis=0)`` for the tall (N*H*W, C) arrays of a CNN (7x for (16384, 32))."""
    return get_array_module(a).ones(a.shape[0], dtype=a.dtype) @ a


def column_moments(x: Any, compiled: bool | None = None) -> tuple[Any, Any]:
    """(mean, biased variance) of each column of x (M, C): mean = sum(x) / M, var = sum((x - mean)^2) / M."""
    xp, M = get_array_module(x), x.shape[0]
    kernels = _kernels(x, compiled)
    if kernels is not None:
        mean, var = np.empty(x.shape[1], x.dtype), np.empty(x.shape[1], x.dtype)
        kernels.column_moments(x, mean, var)
        return mean, var
    mean = column_sum(x) * (1.0 / M)
    xc = xp.subtract(x, mean)
    return mean, column_sum(xp.multiply(xc, xc, out=xc)) * (1.0 / M)


def normalize(x: Any, mean: Any, scale: Any, shift: Any, out: Any, compiled: bool | None = None) -> Any:
    """out = (x - mean) * scale + shift per column of x (M, C) (shift may be None)."""
    xp = get_array_module(x)
    kernels = _kernels(x, compiled, out)
    if kernels is not None:
        shift = np.zeros_like(scale) if shift is None else shift
        over_batch(lambda s: kernels.normalize_columns(x[s], mean, scale, shift, out[s]), out)
        return out

    def affine(s: slice) -> None:
        y = xp.subtract(x[s], mean, out=out[s])
        y *= scale
        if shift is not None:
            y += shift

    over_batch(affine, out, passes=3)
    return out


def grad_sums(gy: Any, x: Any, mean: Any, compiled: bool | None = None) -> tuple[Any, Any]:
    """(sum(gy), sum(gy * (x - mean))) over the rows of gy and x (M, C): batch norm's dL/dbeta and,
    divided by sigma, dL/dgamma."""
    xp = get_array_module(x)
    kernels = _kernels(x, compiled, gy)
    if kernels is not None:
        sums = np.empty((2, x.shape[1]), x.dtype)
        kernels.column_grad_sums(gy, x, mean, sums[0], sums[1])
        return sums[0], sums[1]
    t = xp.subtract(x, mean)
    return column_sum(gy), column_sum(xp.multiply(t, gy, out=t))


def batch_norm_input_grad(gy: Any, x: Any, mean: Any, slope: Any, shift: Any, scale: Any, out: Any,
                          compiled: bool | None = None) -> Any:
    """out = (gy + (x - mean) * slope - shift) * scale, per column: batch norm's dL/dx
    (see ``functional.BatchNorm``)."""
    xp = get_array_module(gy)
    kernels = _kernels(x, compiled, gy, out)
    if kernels is not None:
        over_batch(lambda s: kernels.batch_norm_input_grad(gy[s], x[s], mean, slope, shift, scale, out[s]), out)
        return out

    def input_grad(s: slice) -> None:
        g = xp.subtract(x[s], mean, out=out[s])
        g *= slope
        g += gy[s]
        g -= shift
        g *= scale

    over_batch(input_grad, out, passes=5)
    return out
