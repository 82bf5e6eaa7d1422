"""Compiled (numba) optimizer rules for traced training steps: one pass over the flat buffers.

NumPy runs an update rule as one array pass per operation (Adam: 12 passes over every
parameter, moment and scratch value); a compiled loop reads and writes each value once.
Imported on first use by ``passes.specialize`` (only when ``kernels.compiled.enabled()``).
Each kernel is the twin of an optimizer's ``update`` (named in its docstring): the same
float32 operations in the same order, each rounded as NumPy rounds it (no fused
multiply-add: numba does not contract without fastmath), so the same bits.
"""

from __future__ import annotations

import numba
import numpy as np

# error_model="numpy": division by zero gives inf or nan as in NumPy (the default, "python", raises, and
# its check on every division keeps the loop from being vectorised)
jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@jit
def adam(p, g, m, v, c1, b1, c2, b2, eps, scale):  # pragma: no cover - compiled
    """``optim.Adam.update`` with bias correction, no weight decay, no amsgrad, on 1-D buffers:
    m = m b1 + g c1, v = v b2 + (g g) c2, p -= m / (sqrt(v) + eps) * scale, with c1 = 1 - b1,
    c2 = 1 - b2 and eps, scale the rule's corrected constants (all of p's dtype)."""
    for i in range(p.shape[0]):
        gi = g[i]
        mi = m[i] * b1 + gi * c1
        vi = v[i] * b2 + (gi * gi) * c2
        m[i] = mi
        v[i] = vi
        p[i] -= mi / (np.sqrt(vi) + eps) * scale


@jit
def sgd(p, g, lr):  # pragma: no cover - compiled
    """``optim.SGD.update`` without momentum or weight decay, on 1-D buffers: p -= g lr."""
    for i in range(p.shape[0]):
        p[i] -= g[i] * lr
