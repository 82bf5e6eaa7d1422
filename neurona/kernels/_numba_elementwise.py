"""The compiled (numba) ReLU passes. Imported on first use by ``kernels/fused.py``, whose array
expressions (the twins: ``np.maximum(x, 0)``, ``g * (y > 0)``) give the same bits.

NumPy's float32 maximum with a scalar runs at ~0.7-1 ns a value on the AVX2 machines measured
(a copy: ~0.2), and the mask is two passes (a bool array, then a product); each is one vectorised
pass here. Both take flat (1-D, C-contiguous) arrays.
"""

from __future__ import annotations

import numba

jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@jit
def relu(x, out):  # pragma: no cover - compiled
    """out = max(x, 0) as NumPy's maximum: x where x > 0 or NaN, else +0."""
    zero = x.dtype.type(0)
    for i in range(x.shape[0]):
        v = x[i]
        out[i] = v if (v > zero) | (v != v) else zero


@jit
def relu_mask(g, y, out):  # pragma: no cover - compiled
    """out = g * (y > 0), as the twin: g times 1 or 0 (so a masked -g is -0.0, a masked inf NaN)."""
    zero, one = g.dtype.type(0), g.dtype.type(1)
    for i in range(g.shape[0]):
        out[i] = g[i] * (one if y[i] > zero else zero)
