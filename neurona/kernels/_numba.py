"""The compiled (numba) CPU kernels. Imported on first use by ``compiled.py``; each function
here has an array-expression twin (named in its docstring) that gives the same numbers.

The kernels release the GIL (``nogil``), so neurona's own threads run them in parallel on
disjoint parts of the batch; they never start threads of their own.
"""

from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)


@jit
def taps_reaching(size, k, s, d, before, n_out):  # pragma: no cover - compiled
    """Along one axis of col2im: for each input position p < size, the taps (t, o) whose value goes
    to p (o*s + t*d - before == p, 0 <= o < n_out), in t order: (count (size,), taps (size, k, 2))."""
    count = np.zeros(size, np.int64)
    taps = np.empty((size, k, 2), np.int64)
    for p in range(size):
        for t in range(k):
            q = p + before - t * d
            if q < 0:
                break
            if q % s != 0:
                continue
            o = q // s
            if o >= n_out:
                continue
            taps[p, count[p], 0] = t
            taps[p, count[p], 1] = o
            count[p] += 1
    return count, taps


@jit
def col2im_gather(cols, gx, kh, kw, sh, sw, dh, dw, top, left, first):  # pragma: no cover - compiled
    """gx[n, y, x, c] = sum over taps (a, b) of cols[n, i, j, a*kw + b, c] where
    (y, x) = (i*sh + a*dh - top, j*sw + b*dw - left): the twin of ``im2col.col2im``'s slice-adds.

    Each pixel gathers its taps in the same order as the twin adds them (tap ``first``,
    the one that reaches every pixel, when >= 0, then the others in (a, b) order), so the
    sums are the same bits. Which taps reach a row or a column is worked out once per call
    (``taps_reaching``), not once per pixel. cols (N, Ho, Wo, kh*kw, C), gx (N, H, W, C).
    """
    N, H, W, C = gx.shape
    Ho, Wo = cols.shape[1], cols.shape[2]
    count_y, taps_y = taps_reaching(H, kh, sh, dh, top, Ho)
    count_x, taps_x = taps_reaching(W, kw, sw, dw, left, Wo)
    for n in range(N):
        for y in range(H):
            for x in range(W):
                out = gx[n, y, x]
                if first >= 0:
                    src = cols[n, (y + top - (first // kw) * dh) // sh, (x + left - (first % kw) * dw) // sw, first]
                    for c in range(C):
                        out[c] = src[c]
                else:
                    out[:] = 0.0
                for p in range(count_y[y]):
                    a, i = taps_y[y, p, 0], taps_y[y, p, 1]
                    for q in range(count_x[x]):
                        b, j = taps_x[x, q, 0], taps_x[x, q, 1]
                        t = a * kw + b
                        if t == first:
                            continue
                        src = cols[n, i, j, t]
                        for c in range(C):
                            out[c] += src[c]


@jit
def col2im_planar(taps, gx, n0, n1, kh, kw, sh, sw, dh, dw, top, left, first):  # pragma: no cover - compiled
    """gx[n, y, x, c] for the images n0 <= n < n1: the sums of ``col2im_gather`` (the same bits), from taps
    laid out planar, (kh*kw, C, N, Ho, Wo), for images with few channels.

    With C < 8 a pixel's C values are too short a run to copy fast, so each (image, channel) plane is
    summed in an (H, W) scratch instead: tap by tap (``first`` copied in when >= 0, the others added in
    (a, b) order, as the twin does), each output row a contiguous run of Wo values (every sw-th of the
    scratch row), then written into gx's channel c.
    """
    C, Ho, Wo = taps.shape[1], taps.shape[3], taps.shape[4]
    H, W = gx.shape[1], gx.shape[2]
    plane = np.empty((H, W), gx.dtype)
    for n in range(n0, n1):
        for c in range(C):
            if first < 0:
                for y in range(H):
                    row = plane[y]
                    for x in range(W):
                        row[x] = 0.0
            for step in range(kh * kw + 1):  # step 0: the tap copied in (if any), then the others in order
                t = first if step == 0 else step - 1
                if t < 0 or (step > 0 and t == first):
                    continue
                oy, ox = (t // kw) * dh - top, (t % kw) * dw - left
                i0, i1 = max(0, -(oy // sh)), min(Ho, (H - 1 - oy) // sh + 1)
                j0, j1 = max(0, -(ox // sw)), min(Wo, (W - 1 - ox) // sw + 1)
                x0 = j0 * sw + ox
                for i in range(i0, i1):
                    src = taps[t, c, n, i, j0:j1]
                    dst = plane[i * sh + oy, x0:x0 + (j1 - j0 - 1) * sw + 1:sw]
                    if step == 0:
                        for q in range(j1 - j0):
                            dst[q] = src[q]
                    else:
                        for q in range(j1 - j0):
                            dst[q] += src[q]
            out = gx[n]
            for y in range(H):
                row = plane[y]
                for x in range(W):
                    out[y, x, c] = row[x]


@jit
def im2col_rows(x, cols, kh, kw, sh, sw, dh, dw, top, left, Ho, Wo, pool_major):  # pragma: no cover - compiled
    """cols[r, (a*kw + b)*C + c] = x[n, i*sh + a*dh - top, j*sw + b*dw - left, c] (0 where that falls
    outside x) for output pixel (i, j) of image n at row r, then 1 in a last column past kh*kw*C if
    cols has one: the twin of ``im2col.im2col(pad(x, pads), ...)``, the same copies in one pass,
    without the padded copy of x.

    Rows in image order (n, i, j), or with ``pool_major`` in 2x2-pooling-window order
    (p, q, n, i2, j2) for pixel (2*i2 + p, 2*j2 + q), an odd last row or column left out.
    x (N, H, W, C) C-contiguous, cols (rows, kh*kw*C [+ 1]).

    A window row that lies wholly inside x (dw == 1) is one run of kw*C contiguous values, copied
    as one; the others tap by tap. Copies go through slices (``dst[c] = src[c]``): an index
    with a runtime offset costs a wrap-around check per value, which keeps LLVM from vectorising.
    """
    N, H, W, C = x.shape
    rows_of_x = x.reshape(N, H, W * C)
    run = kw * C
    K = kh * run
    Ho2, Wo2 = Ho // 2, Wo // 2
    for n in range(N):
        for i in range(Ho):
            if pool_major and i >= 2 * Ho2:
                break
            for j in range(Wo):
                if pool_major:
                    if j >= 2 * Wo2:
                        break
                    r = (((i % 2) * 2 + j % 2) * N + n) * Ho2 * Wo2 + (i // 2) * Wo2 + j // 2
                else:
                    r = (n * Ho + i) * Wo + j
                row = cols[r]
                u0 = j * sw - left
                whole = dw == 1 and u0 >= 0 and u0 + kw <= W
                for a in range(kh):
                    y = i * sh + a * dh - top
                    o = a * run
                    if y < 0 or y >= H:
                        row[o:o + run] = 0.0
                    elif whole:
                        src = rows_of_x[n, y, u0 * C:u0 * C + run]
                        dst = row[o:o + run]
                        for c in range(run):
                            dst[c] = src[c]
                    else:
                        for b in range(kw):
                            u = u0 + b * dw
                            dst = row[o + b * C:o + (b + 1) * C]
                            if 0 <= u < W:
                                src = x[n, y, u]
                                for c in range(C):
                                    dst[c] = src[c]
                            else:
                                dst[:] = 0.0
                for c in range(K, cols.shape[1]):
                    row[c] = 1.0


# ---------------------------------------------------------------- batch normalisation, on (M, C) arrays
@jit
def column_moments(x, mean, var):  # pragma: no cover - compiled
    """mean[c] and the biased var[c] of x (M, C) over its rows, in one pass: sums of d = x - x[0] and
    d^2 accumulated in float64 (shifting by a sample keeps var's difference of sums free of cancellation).
    The twin: ``fused.column_moments``'s two array passes (within float32 rounding)."""
    M, C = x.shape
    s1 = np.zeros(C)
    s2 = np.zeros(C)
    first = np.empty(C)
    for c in range(C):
        first[c] = x[0, c]
    for m in range(M):
        row = x[m]
        for c in range(C):
            d = row[c] - first[c]
            s1[c] += d
            s2[c] += d * d
    for c in range(C):
        mu = s1[c] / M
        mean[c] = first[c] + mu
        var[c] = max(s2[c] / M - mu * mu, 0.0)


@jit
def normalize_columns(x, mean, scale, shift, out):  # pragma: no cover - compiled
    """out = (x - mean) * scale + shift per column of x (M, C): ``fused.normalize``'s twin, the same bits."""
    M, C = x.shape
    for m in range(M):
        row, dst = x[m], out[m]
        for c in range(C):
            dst[c] = (row[c] - mean[c]) * scale[c] + shift[c]


@jit
def column_grad_sums(gy, x, mean, sum_gy, sum_gyx):  # pragma: no cover - compiled
    """sum_gy[c] = sum of gy, sum_gyx[c] = sum of gy * (x - mean) over the rows of (M, C) arrays, in one
    pass, accumulated in float64. The twin: ``fused.grad_sums``'s array passes (within float32 rounding)."""
    M, C = x.shape
    s1 = np.zeros(C)
    s2 = np.zeros(C)
    for m in range(M):
        g, row = gy[m], x[m]
        for c in range(C):
            s1[c] += g[c]
            s2[c] += g[c] * (row[c] - mean[c])
    for c in range(C):
        sum_gy[c] = s1[c]
        sum_gyx[c] = s2[c]


@jit
def batch_norm_input_grad(gy, x, mean, slope, shift, scale, out):  # pragma: no cover - compiled
    """out = (gy + (x - mean) * slope - shift) * scale per column: the twin is
    ``fused.batch_norm_input_grad``'s array passes, the same bits."""
    M, C = x.shape
    for m in range(M):
        g, row, dst = gy[m], x[m], out[m]
        for c in range(C):
            dst[c] = (g[c] + (row[c] - mean[c]) * slope[c] - shift[c]) * scale[c]
