"""im2col and col2im: a convolution's patch matrix and its adjoint, channels-last.

Layouts: images ``(N, H, W, C)``, patch matrices ``(N*Ho*Wo, kh*kw*C)`` whose row
(n, i, j) is the window of output pixel (i, j) in (a, b, c) order, which is
``W.reshape(kh*kw*C, C_out)``'s row order. Channels-last is what makes im2col one copy
of a strided view: the view (N, Ho, Wo, kh, kw, C) of the padded input already has the
patch matrix's element order. col2im adds per-tap values back onto the pixels they were
read from, one strided slice-add per tap. Both work on NumPy and CuPy arrays alike and
split their passes over neurona's threads (``threads.over_batch``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_array_module
from .compiled import select, usable
from .threads import over_batch, parallel_for

Pair = tuple[int, int]
COMPILED_MIN_TAPS = 1 << 18  # col2im's compiled kernel from this many tap values (per chunk) on
PLANAR_CHANNELS = 8  # below this many channels, col2im's compiled kernel sums planar taps (col2im_planar)
COMPILED_MIN_PATCHES = 1 << 21  # im2col's compiled kernel for layers with this many patch values (whole batch;
# half as many with fewer than 8 channels, where the row-major matrix also makes the products faster: LeNet-5's C3)
COMPILED_MIN_CHANNELS = 4  # and this many channels: with fewer, the twin's transposed matrix is built faster
Pads = tuple[int, int, int, int]  # top, bottom, left, right


def pad(x: Any, pads: Pads, value: float = 0.0) -> Any:
    """x (N, H, W, C) with rows/columns of ``value`` added around; a negative pad crops instead."""
    top, bottom, left, right = pads
    if top == bottom == left == right == 0:
        return x
    xp = get_array_module(x)
    N, H, W, C = x.shape
    shape = (N, H + top + bottom, W + left + right, C)
    out = xp.empty(shape, x.dtype)
    src = x[:, max(-top, 0):H - max(-bottom, 0), max(-left, 0):W - max(-right, 0)]
    inner = (slice(max(top, 0), max(top, 0) + src.shape[1]), slice(max(left, 0), max(left, 0) + src.shape[2]))

    def fill(s: slice) -> None:
        out[s] = value
        out[s][:, inner[0], inner[1]] = src[s]

    over_batch(fill, out)
    return out


def im2col(xpad: Any, k: Pair, out_hw: Pair, stride: Pair, dilation: Pair, ones_column: bool = False,
           pool_major: bool = False) -> Any:
    """The patch matrix (N*Ho*Wo, kh*kw*C) of a padded image, built with one copy of a strided view.

    Row (n, i, j) holds the window of output pixel (i, j): xpad[n, i*sh + a*dh, j*sw + b*dw, c]
    for a < kh, b < kw, c < C, in that order (which is W.reshape(kh*kw*C, C_out)'s row order).
    ``ones_column`` appends a column of ones, so that a bias row appended to W rides along
    in the same GEMM (and its gradient comes out of the weight-gradient GEMM).
    ``pool_major`` orders the rows by position in a 2x2 pooling window instead, (p, q, n, i2, j2)
    for output pixel (2*i2 + p, 2*j2 + q), and leaves out an odd last row or column of
    outputs: then the GEMM's output holds the four pixels of every window as four
    contiguous blocks (see conv_pool.py).

    With C >= 8 channels the matrix is row-major: each window row is a run of kw*C
    contiguous values. With fewer channels those runs are too short to copy fast, so the
    matrix is built transposed, (kh*kw*C, N*Ho*Wo), whose rows are runs of Wo pixels, and
    returned as its .T view (BLAS takes either layout): 5x faster for a grayscale first layer.
    """
    xp = get_array_module(xpad)
    N, _, _, C = xpad.shape
    (kh, kw), (Ho, Wo) = k, out_hw
    sN, sH, sW, sC = xpad.strides
    windows = xp.lib.stride_tricks.as_strided(
        xpad, (N, Ho, Wo, kh, kw, C), (sN, sH * stride[0], sW * stride[1], sH * dilation[0], sW * dilation[1], sC))
    batch_axis = 0
    if pool_major:
        Ho2, Wo2 = Ho // 2, Wo // 2
        windows = windows[:, :2 * Ho2, :2 * Wo2].reshape(N, Ho2, 2, Wo2, 2, kh, kw, C).transpose(2, 4, 0, 1, 3, 5, 6, 7)
        batch_axis = 2
    lead = windows.shape[:-3]  # the axes of the rows: (N, Ho, Wo) or (2, 2, N, Ho2, Wo2)
    K, M, extra = kh * kw * C, int(np.prod(lead)), int(ones_column)

    def rows(s: slice) -> tuple:  # index of batch slice s along the row axes
        return (slice(None),) * batch_axis + (s,)

    if C >= 8:
        cols = xp.empty((M, K + extra), xpad.dtype)
        dst = cols.reshape(*lead, K + extra)

        def copy(s: slice) -> None:
            block = dst[rows(s)]
            block[..., :K].reshape(*block.shape[:-1], kh, kw, C)[...] = windows[rows(s)]
            if extra:
                block[..., K] = 1

        over_batch(copy, windows.transpose(batch_axis, *(a for a in range(windows.ndim) if a != batch_axis)))
        return cols
    cols_t = xp.empty((K + extra, M), xpad.dtype)
    dst_t = cols_t.reshape(K + extra, *lead)
    src = windows.transpose(*range(len(lead), len(lead) + 3), *range(len(lead)))  # (kh, kw, C, *lead)

    def copy_t(s: slice) -> None:
        block = dst_t[(slice(None),) + rows(s)]
        block[:K].reshape(kh, kw, C, *block.shape[1:])[...] = src[(slice(None),) * 3 + rows(s)]
        if extra:
            block[K] = 1

    parallel_for(copy_t, N, min_chunk=-(-(1 << 18) // max(1, (K + extra) * Ho * Wo)), xp=xp)
    return cols_t.T


def patches(x: Any, pads: Pads, k: Pair, out_hw: Pair, stride: Pair, dilation: Pair, ones_column: bool = False,
            pool_major: bool = False, compiled: bool | None = None) -> Any:
    """The patch matrix of x (N, H, W, C) padded by ``pads`` (zeros): ``im2col(pad(x, pads), ...)``.

    On the CPU, with C >= ``COMPILED_MIN_CHANNELS``, a compiled kernel (``_numba.im2col_rows``)
    builds the same matrix, row-major, in one pass over x, writing zeros where a window hangs over
    the border instead of first making a padded copy: the same values, faster than the strided
    copy, whose inner runs (C values) are short. (With 4-7 channels the twin's matrix is transposed,
    which the product takes more slowly: LeNet-5's 6-channel layer runs its patches and both
    products ~2x faster on the compiled row-major matrix.)
    ``compiled`` False runs the array twin (None: compiled when numba is available).
    """
    C = x.shape[3]
    kernels = usable(x, use=compiled) if C >= COMPILED_MIN_CHANNELS and compiled is not False else None
    if kernels is None or any(p < 0 for p in pads):
        return im2col(pad(x, pads), k, out_hw, stride, dilation, ones_column, pool_major)
    N, (Ho, Wo) = x.shape[0], out_hw
    rows = N * (Ho // 2) * (Wo // 2) * 4 if pool_major else N * Ho * Wo
    cols = np.empty((rows, k[0] * k[1] * C + int(ones_column)), x.dtype)
    kernels.im2col_rows(np.ascontiguousarray(x), cols, *k, *stride, *dilation, pads[0], pads[2], Ho, Wo, pool_major)
    return cols


def _tap_range(offset: int, stride: int, n_out: int, size: int) -> tuple[int, int]:
    """The outputs o in [lo, hi) whose input position stride*o + offset falls inside [0, size)."""
    lo = max(0, -(offset // stride))
    hi = min(n_out, (size - 1 - offset) // stride + 1)
    return lo, hi


def col2im(taps: Any, shape: tuple[int, ...], k: Pair, stride: Pair, dilation: Pair, top_left: Pair,
           out: Any = None, compiled: bool | None = None) -> Any:
    """Scatter-add per-tap values back onto the image: the adjoint of im2col.

    taps (kh*kw, N, Ho, Wo, C) (any strides): the value tap (a, b) of output pixel (i, j) sends to input
    pixel (i*sh + a*dh - top, j*sw + b*dw - left). One strided slice-add per tap (kh*kw in
    all, each over the whole batch); positions that fall in the padding are dropped.
    The result goes to ``out`` (overwritten) when given.

    On the CPU a compiled kernel (``_numba.col2im_gather``) makes the same sums in one pass,
    each pixel gathering its taps in this order: the same bits. With fewer than ``PLANAR_CHANNELS``
    channels ``_numba.col2im_planar`` makes them instead, one (image, channel) plane at a time over
    taps laid out (kh*kw, C, N, Ho, Wo) (no copy when taps is such an array's view, as
    ``convolution.input_grad`` makes it): 2x faster than gathering runs of C values for LeNet-5's 6
    channels. ``compiled`` False runs these array expressions instead (None: compiled when numba is
    available and there are COMPILED_MIN_TAPS tap values or more, see ``kernels.compiled``).
    """
    xp = get_array_module(taps)
    gx = xp.empty(shape, taps.dtype) if out is None else out
    Ho, Wo = taps.shape[2:4]
    adds = []
    for a in range(k[0]):
        oy = a * dilation[0] - top_left[0]
        y0, y1 = _tap_range(oy, stride[0], Ho, shape[1])
        for b in range(k[1]):
            ox = b * dilation[1] - top_left[1]
            x0, x1 = _tap_range(ox, stride[1], Wo, shape[2])
            if y1 <= y0 or x1 <= x0:
                continue
            rows = slice(y0 * stride[0] + oy, (y1 - 1) * stride[0] + oy + 1, stride[0])
            cols = slice(x0 * stride[1] + ox, (x1 - 1) * stride[1] + ox + 1, stride[1])
            adds.append((rows, cols, a * k[1] + b, slice(y0, y1), slice(x0, x1)))

    # A tap that reaches every input pixel (the centre one of a stride-1 "same" convolution) can be
    # copied in instead of added onto zeros: one pass fewer.
    full = next((a for a in adds if gx[:1, a[0], a[1]].shape == gx[:1].shape), None)
    rest = [a for a in adds if a is not full]

    # Small images (a few hundred thousand tap values) stay with the twin: then loading numba
    # (~1 s of CPU once per process) would cost more than the compiled pass saves in a whole run.
    kernels = select("_numba", taps, gx, compiled=compiled, min_values=COMPILED_MIN_TAPS)
    if kernels is not None:
        first = -1 if full is None else full[2]
        if shape[3] < PLANAR_CHANNELS:
            planes = np.ascontiguousarray(taps.transpose(0, 4, 1, 2, 3))  # (kh*kw, C, N, Ho, Wo)
            over_batch(lambda s: kernels.col2im_planar(planes, gx, s.start, s.stop, k[0], k[1], *stride, *dilation,
                                                       *top_left, first), gx, passes=len(adds))
            return gx
        cols = np.ascontiguousarray(np.moveaxis(taps, 0, 3))  # (N, Ho, Wo, kh*kw, C): no copy for a view of g W2^T
        over_batch(lambda s: kernels.col2im_gather(cols[s], gx[s], k[0], k[1], *stride, *dilation, *top_left, first),
                   gx, passes=len(adds))
        return gx

    def scatter(s: slice) -> None:
        if full is None:
            gx[s] = 0
        else:
            gx[s] = taps[full[2], s, full[3], full[4]]
        for rows, cols, tap, ys, xs in rest:
            gx[s, rows, cols] += taps[tap, s, ys, xs]

    over_batch(scatter, gx, passes=len(adds))
    return gx


def sum_rows(g: Any) -> Any:
    """g.sum(axis=0) for a 2-D array, as a matrix-vector product (BLAS: ~5x NumPy's axis-0 sum here)."""
    xp = get_array_module(g)
    return xp.ones(g.shape[0], g.dtype) @ g
