"""The compiled (numba) max-pooling kernels for any window and stride. Imported on first use by
``kernels/pooling.py``, whose array-expression twins (``max_pool_taps``/``max_pool_taps_backward``
there) give the same numbers.

An overlapping pool (GoogLeNet's 3x3 windows with stride 1 or 2) as arrays is a pass per tap
forward and about five per tap backward (which tap was the first maximum, then its gradient),
~50 passes over the image for a 3x3 window; compiled, each output row of the image stays in
cache while the window's taps pass over it. The forward records which tap of its window each
output took (``arg``, int32), all that backward needs.

Images come as (N, H, W*C) arrays, so that one tap of a stride-1 pool over an output row is one
run of values. What keeps the loops vectorised (8 floats an instruction): int32 tap numbers (with
uint8 the selects stay scalar, 10x slower), ``|`` rather than ``or`` (a branch), a float32 zero
(a float64 one converts every value), and a running maximum written to another row than the one
read (an update in place compiles to masked stores, several times slower on AMD processors).
"""

from __future__ import annotations

import numba
import numpy as np

# error_model="numpy": no Python check per division; the loops over channels then vectorise.
jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@jit
def _take_max(src, pm, pk, nm, nk, t):  # pragma: no cover - compiled
    """nm, nk = pm, pk, or src, t where src beats pm (strict >, as PyTorch: the first maximum stays; a NaN wins)."""
    for q in range(src.shape[0]):
        v, w = src[q], pm[q]
        wins = (v > w) | (v != v)
        nm[q] = v if wins else w
        nk[q] = t if wins else pk[q]


@jit
def _keep(pm, pk, nm, nk):  # pragma: no cover - compiled
    for q in range(pm.shape[0]):
        nm[q] = pm[q]
        nk[q] = pk[q]


@jit
def _columns(b, pw, sw, left, W, Wo):  # pragma: no cover - compiled
    """The outputs j whose window's column b lies inside the image: j_lo <= j < j_hi."""
    j_lo = max(0, -((b - left) // sw))
    j_hi = min(Wo, (W - 1 + left - b) // sw + 1)
    return j_lo, max(j_lo, j_hi)


@jit
def max_pool_argmax(x, y, arg, C, ph, pw, sh, sw, top, left, n0, n1):  # pragma: no cover - compiled
    """For the images n0 .. n1 - 1 of x (N, H, W*C): y[n, i, j*C + c] = the max over the window of ph x pw
    pixels at (i*sh - top, j*sw - left), pixels outside x left out (they never win), and arg[n, i, j*C + c]
    = a*pw + b, the tap (a, b) of the window that holds it: the first maximum in row-major order (strict >,
    as PyTorch; a NaN wins, so it propagates). y and arg (N, Ho, Wo*C); arg int32."""
    H, W = x.shape[1], x.shape[2] // C
    Ho, Wo = y.shape[1], y.shape[2] // C
    L = Wo * C
    rows_m = np.empty((2, L), y.dtype)  # the running maximum and its tap, ping-ponged between two rows
    rows_k = np.empty((2, L), np.int32)
    lowest = y.dtype.type(-np.inf)
    for n in range(n0, n1):
        for i in range(Ho):
            h0 = i * sh - top
            a0, a1 = max(0, -h0), min(ph, H - h0)
            pm, pk = rows_m[0], rows_k[0]
            for j in range(Wo):  # -inf, and the window's first pixel inside x: it wins if nothing beats -inf
                first = np.int32(a0 * pw + max(0, left - j * sw))
                m, k = pm[j * C:(j + 1) * C], pk[j * C:(j + 1) * C]
                for c in range(C):
                    m[c] = lowest
                    k[c] = first
            step, steps = 0, (a1 - a0) * pw
            for a in range(a0, a1):
                src_row = x[n, h0 + a]
                for b in range(pw):
                    t = np.int32(a * pw + b)
                    step += 1
                    if step == steps:
                        nm, nk = y[n, i], arg[n, i]
                    else:
                        nm, nk = rows_m[step % 2], rows_k[step % 2]
                    j_lo, j_hi = _columns(b, pw, sw, left, W, Wo)
                    _keep(pm[:j_lo * C], pk[:j_lo * C], nm[:j_lo * C], nk[:j_lo * C])
                    if sw == 1:  # the tap's values for the whole row are one run
                        o = (j_lo - left + b) * C
                        _take_max(src_row[o:o + (j_hi - j_lo) * C], pm[j_lo * C:j_hi * C], pk[j_lo * C:j_hi * C],
                                  nm[j_lo * C:j_hi * C], nk[j_lo * C:j_hi * C], t)
                    else:
                        for j in range(j_lo, j_hi):
                            o = (j * sw - left + b) * C
                            _take_max(src_row[o:o + C], pm[j * C:(j + 1) * C], pk[j * C:(j + 1) * C],
                                      nm[j * C:(j + 1) * C], nk[j * C:(j + 1) * C], t)
                    _keep(pm[j_hi * C:], pk[j_hi * C:], nm[j_hi * C:], nk[j_hi * C:])
                    pm, pk = nm, nk


@jit
def _add_where(g, k, dst, t):  # pragma: no cover - compiled
    """dst += g where k == t (adding a float32 zero elsewhere: a plain store, which vectorises)."""
    zero = g.dtype.type(0)
    for q in range(g.shape[0]):
        dst[q] = dst[q] + (g[q] if k[q] == t else zero)


@jit
def max_pool_argmax_backward(gy, arg, gx, C, ph, pw, sh, sw, top, left, n0, n1):  # pragma: no cover - compiled
    """dL/dx for the images n0 .. n1 - 1 into gx (N, H, W*C): each gy[n, i, j*C + c] goes to the pixel of its
    window that arg names (see max_pool_argmax). Output rows and columns are visited last to first, so a
    pixel shared by windows adds their gradients in tap order, as the twin does (the same bits)."""
    H, W = gx.shape[1], gx.shape[2] // C
    Ho, Wo = gy.shape[1], gy.shape[2] // C
    zero = gx.dtype.type(0)
    for n in range(n0, n1):
        for h in range(H):
            row = gx[n, h]
            for q in range(row.shape[0]):
                row[q] = zero
        for i in range(Ho - 1, -1, -1):
            h0 = i * sh - top
            a0, a1 = max(0, -h0), min(ph, H - h0)
            g_row, k_row = gy[n, i], arg[n, i]
            for a in range(a0, a1):
                dst_row = gx[n, h0 + a]
                for b in range(pw):
                    t = np.int32(a * pw + b)
                    j_lo, j_hi = _columns(b, pw, sw, left, W, Wo)
                    if sw == 1:
                        o = (j_lo - left + b) * C
                        _add_where(g_row[j_lo * C:j_hi * C], k_row[j_lo * C:j_hi * C],
                                   dst_row[o:o + (j_hi - j_lo) * C], t)
                    else:
                        for j in range(j_hi - 1, j_lo - 1, -1):
                            o = (j * sw - left + b) * C
                            _add_where(g_row[j * C:(j + 1) * C], k_row[j * C:(j + 1) * C], dst_row[o:o + C], t)


@jit
def avg_pool_tiled(x, y, C, ph, pw, n0, n1):  # pragma: no cover - compiled
    """For the images n0 .. n1 - 1 of x (N, Ho*ph, Wo*pw*C): y[n, i, j*C + c] = the mean of the ph x pw window
    at (i*ph, j*pw), windows that tile x. As the twin (``kernels.pooling.avg_pool_tiled``): the window's rows
    added first, then its columns, then times 1 / (ph*pw): the same bits. The 2x2 window (LeNet's) in one
    expression per value; others through a row of the window's row sums."""
    Ho, L = y.shape[1], y.shape[2]
    Wo = L // C
    row = np.empty(x.shape[2], x.dtype)
    scale = x.dtype.type(1.0 / (ph * pw))
    for n in range(n0, n1):
        for i in range(Ho):
            dst = y[n, i]
            if ph == 2 and pw == 2:
                top, bottom = x[n, 2 * i], x[n, 2 * i + 1]
                for j in range(Wo):
                    o = 2 * j * C
                    t0, b0, t1, b1 = top[o:o + C], bottom[o:o + C], top[o + C:o + 2 * C], bottom[o + C:o + 2 * C]
                    out = dst[j * C:(j + 1) * C]
                    for c in range(C):
                        out[c] = ((t0[c] + b0[c]) + (t1[c] + b1[c])) * scale
                continue
            first = x[n, i * ph]
            for q in range(row.shape[0]):
                row[q] = first[q]
            for a in range(1, ph):
                src = x[n, i * ph + a]
                for q in range(row.shape[0]):
                    row[q] = row[q] + src[q]
            for j in range(Wo):
                out = dst[j * C:(j + 1) * C]
                r0 = row[j * pw * C:(j * pw + 1) * C]
                for c in range(C):
                    out[c] = r0[c]
                for b in range(1, pw):
                    rb = row[(j * pw + b) * C:(j * pw + b + 1) * C]
                    for c in range(C):
                        out[c] = out[c] + rb[c]
                for c in range(C):
                    out[c] = out[c] * scale


@jit
def avg_pool_tiled_backward(gy, gx, C, ph, pw, n0, n1):  # pragma: no cover - compiled
    """dL/dx of ``avg_pool_tiled`` for the images n0 .. n1 - 1: every pixel of a window gets gy / (ph*pw).
    gy (N, Ho, Wo*C), gx (N, Ho*ph, Wo*pw*C)."""
    Ho, L = gy.shape[1], gy.shape[2]
    Wo = L // C
    scale = gy.dtype.type(1.0 / (ph * pw))
    for n in range(n0, n1):
        for i in range(Ho):
            g, row = gy[n, i], gx[n, i * ph]
            for j in range(Wo):
                src = g[j * C:(j + 1) * C]
                for b in range(pw):
                    dst = row[(j * pw + b) * C:(j * pw + b + 1) * C]
                    for c in range(C):
                        dst[c] = src[c] * scale
            for a in range(1, ph):
                copy = gx[n, i * ph + a]
                for q in range(row.shape[0]):
                    copy[q] = row[q]
