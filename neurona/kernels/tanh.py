"""tanh and its gradient from the output, as passes a fused op runs on a chunk of its output.

y = tanh(x);  dL/dx = g * (1 - y^2) with g = dL/dy. The array expressions below are the twins;
on the CPU, for float32 layers with enough values to repay loading numba (``COMPILED_MIN_VALUES``,
decided by the caller for the whole layer so that every chunk runs the same code), the compiled
passes (``_numba_tanh``) run instead: the gradient with the same bits, tanh within 7 ulp of
NumPy's (which is a function call per value, several times slower).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from ..backend import get_array_module
from . import compiled as compiled_kernels

# From this many values in a layer's output on (a LeNet-5 first layer at batch 128 has 602,112).
COMPILED_MIN_VALUES = compiled_kernels.COMPILED_MIN_VALUES


def tanh_kernels(y: Any, compiled: bool | None = None, min_values: int | None = None) -> ModuleType | None:
    """The compiled passes when they run on a layer output like y (float32 NumPy), else None (the twins).
    ``compiled`` None decides by size (from ``min_values`` values, by default COMPILED_MIN_VALUES; 0 when
    the layer loads numba anyway), False forces the twins, True insists."""
    return compiled_kernels.select(
        "_numba_tanh", y, compiled=compiled, min_values=COMPILED_MIN_VALUES if min_values is None else min_values,
        fits=isinstance(y, np.ndarray) and y.dtype == np.float32, needs="the compiled tanh takes float32 NumPy arrays")


def tanh_(kernels: ModuleType | None, y: Any) -> None:
    """y = tanh(y) in place, y C-contiguous."""
    if kernels is not None:
        kernels.tanh_inplace(y.reshape(-1))
    else:
        get_array_module(y).tanh(y, out=y)


def tanh_grad(kernels: ModuleType | None, g: Any, y: Any) -> Any:
    """g * (1 - y * y): dL/dx of y = tanh(x) from g = dL/dy, as a new array of g's shape."""
    if kernels is None:
        return g * (1 - y * y)
    out = np.empty(g.shape, g.dtype)
    kernels.tanh_grad(np.ascontiguousarray(g).reshape(-1), np.ascontiguousarray(y).reshape(-1), out.reshape(-1))
    return out
