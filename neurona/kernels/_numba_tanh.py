"""Compiled (numba) tanh passes: imported on first use by ``kernels/tanh.py``, whose array
expressions are their twins.

NumPy's float32 tanh is a scalar function call per value (~4 ns); ``tanh32`` (shared with the
LSTM cell) is plain arithmetic that LLVM turns into 8-wide AVX instructions.
"""

from __future__ import annotations

import numba
import numpy as np

from ._numba_recurrent import tanh32

# error_model="numpy": no Python division-by-zero check per value, which would keep the loop scalar.
jit = numba.njit(cache=True, nogil=True, error_model="numpy")
_ONE = np.float32(1.0)


@jit
def tanh_inplace(x):  # pragma: no cover - compiled
    """x = tanh(x) for a 1-D C-contiguous float32 array, within 7 ulp of NumPy's (``tanh32``)."""
    for i in range(x.size):
        x[i] = tanh32(x[i])


@jit
def tanh_grad(g, y, out):  # pragma: no cover - compiled
    """out = g * (1 - y * y) for 1-D arrays of one size: the twin's operations in its order, the same bits."""
    for i in range(out.size):
        out[i] = g[i] * (_ONE - y[i] * y[i])
