"""The compiled (numba) join of arrays along their last axis. Imported on first use by ``kernels/concat.py``,
whose twin (NumPy's concatenate) gives the same values.

Joining an Inception module's branches on the channels copies, for every pixel, a few runs of 4-24
values; NumPy's concatenate copies each input as a strided pass of such short runs, about 2-3x
slower than copying each output row from all inputs in turn, as here.
"""

from __future__ import annotations

import numba

jit = numba.njit(cache=True, nogil=True)


@jit
def concat_rows(xs, offsets, out, m0, m1):  # pragma: no cover - compiled
    """out[m, offsets[k]:offsets[k] + c_k] = xs[k][m] for the rows m0 .. m1 - 1: xs a tuple of (M, c_k) arrays."""
    for m in range(m0, m1):
        row = out[m]
        for k in range(len(xs)):
            src = xs[k][m]
            dst = row[offsets[k]:offsets[k] + src.shape[0]]
            for j in range(src.shape[0]):
                dst[j] = src[j]
