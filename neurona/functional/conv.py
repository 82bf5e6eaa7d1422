"""2-D convolution and transposed convolution, channels-last, as one large matrix product.

Layouts: images ``(N, H, W, C)`` (channels-last, as Keras), kernels ``(kh, kw, C_in, C_out)``.

How a convolution becomes one GEMM (im2col): every output pixel sees a window of
kh x kw pixels of C_in channels. Laying those windows out as the rows of a "patch
matrix" ``cols`` of shape (N*Ho*Wo, kh*kw*C_in) turns the convolution into

    y = cols @ W.reshape(kh*kw*C_in, C_out)        (N*Ho*Wo, C_out) -> (N, Ho, Wo, C_out)

Channels-last is what makes this cheap: a strided *view* of the (padded) input with
shape (N, Ho, Wo, kh, kw, C_in) already has the patch matrix's element order, so
building ``cols`` is a single copy (and no transpose). A column of ones appended to
``cols`` and the bias appended to W as a last row put the bias into the same GEMM.
Backward builds ``cols`` again (cheaper than keeping 9x the input's memory for a 3x3 kernel):

    [gW; gb] = [cols 1]^T @ g             one GEMM
    gx = col2im(g @ W^T)                  one GEMM, then kh*kw strided slice-adds

where g is dL/dy, masked by the fused ReLU (with stride 1 and C_out <= C_in, gx is
instead a convolution of g, see ``Conv2d.backward_chunks``). The transposed convolution
is the same two pieces in the other order: its forward is conv2d's input gradient
(GEMM, then col2im), its backward is an im2col and two GEMMs.

conv2d runs all of this chunk by chunk over the batch, each of neurona's threads taking
whole chunks with BLAS on one thread (``backend.parallel_chunks``); the transposed
convolution splits its memory-bound passes over the batch (``backend.over_batch``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, Tensor, apply
from ..backend import get_array_module, over_batch, parallel_chunks, parallel_for
from .activations import get_activation

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]  # top, bottom, left, right


# ---------------------------------------------------------------- argument parsing
def pair(value: Any, what: str, op: str, minimum: int = 1) -> Pair:
    """An int or a pair of ints (rows, columns), each >= minimum; a clear error otherwise."""
    def is_int(v: Any) -> bool:
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

    if is_int(value):
        value = (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) and v >= minimum for v in value):
        return int(value[0]), int(value[1])
    kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    raise ValueError(f"{op}: {what} must be {kind} or a pair of them. Received: {what}={value!r}")


def same_pads(size: int, k: int, stride: int) -> tuple[int, int]:
    """TensorFlow's "same": output ceil(size / stride); the odd pixel of padding goes at the end."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def conv_pads(padding: Any, hw: Pair, k: Pair, stride: Pair, op: str) -> Pads:
    """(top, bottom, left, right) for padding "valid", "same", an int or a pair (k: dilated kernel size)."""
    if isinstance(padding, str) and padding.lower() in ("valid", "same"):
        if padding.lower() == "valid":
            return 0, 0, 0, 0
        return same_pads(hw[0], k[0], stride[0]) + same_pads(hw[1], k[1], stride[1])
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be 'valid', 'same', a non-negative int or a pair. "
                         f"Received: padding={padding!r}")
    ph, pw = pair(padding, "padding", op, minimum=0)
    return ph, ph, pw, pw


def shape_of(a: Any, what: str, op: str) -> tuple[int, ...]:
    if not hasattr(a, "shape"):
        raise TypeError(f"{op}: {what} must be a Tensor or an array. Received: {type(a).__name__}")
    return tuple(a.shape)


# ---------------------------------------------------------------- array helpers (NumPy and CuPy)
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


def _tap_range(offset: int, stride: int, n_out: int, size: int) -> tuple[int, int]:
    """The outputs o in [lo, hi) whose input position stride*o + offset falls inside [0, size)."""
    lo = max(0, -(offset // stride))
    hi = min(n_out, (size - 1 - offset) // stride + 1)
    return lo, hi


def col2im(taps: Any, shape: tuple[int, ...], k: Pair, stride: Pair, dilation: Pair, top_left: Pair,
           out: Any = None) -> Any:
    """Scatter-add per-tap values back onto the image: the adjoint of im2col.

    taps (kh*kw, N, Ho, Wo, C) (any strides): the value tap (a, b) of output pixel (i, j) sends to input
    pixel (i*sh + a*dh - top, j*sw + b*dw - left). One strided slice-add per tap (kh*kw in
    all, each over the whole batch); positions that fall in the padding are dropped.
    The result goes to ``out`` (overwritten) when given.
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


def relu_mask(g: Any, y: Any) -> Any:
    """dL/d(pre-activation) of a fused ReLU from its output y: g where y > 0, else 0."""
    out = get_array_module(g).empty_like(g)

    def mask(s: slice) -> None:
        get_array_module(g).multiply(g[s], y[s] > 0, out=out[s])

    over_batch(mask, out)
    return out


def relu_(y: Any) -> None:
    """y = max(y, 0) in place."""
    over_batch(lambda s: get_array_module(y).maximum(y[s], 0, out=y[s]), y)


def _activation(activation: str | None) -> tuple[bool, Any]:
    """(fuse relu?, activation applied after the op or None)."""
    if activation is None or activation == "linear":
        return False, None
    if activation == "relu":
        return True, None
    return False, get_activation(activation)


# ---------------------------------------------------------------- conv2d
def batch_chunk(n: int, rows_per_item: int, row_size: int, elements: int = 1 << 20) -> int:
    """Items per chunk when a layer runs chunk by chunk over a batch of n (``parallel_chunks``):
    a patch matrix of about ``elements`` values (4 MB of float32) each, large enough for an
    efficient GEMM even when rows are short, small enough to stay in cache; and an even
    number of chunks, so that two threads share them evenly."""
    rows = max(1, elements // row_size)
    count = max(2, 2 * -(-n * rows_per_item // (2 * rows)))
    return max(1, -(-n // count))


class Conv2d(Function):
    """y = act(conv(x, W) + b): x (N, H, W, C_in), W (kh, kw, C_in, C_out), b (C_out,) -> (N, Ho, Wo, C_out).

    y[n, i, j, o] = sum_{a, b, c} xpad[n, i*sh + a*dh, j*sw + b*dw, c] W[a, b, c, o] + b[o],
    computed as one GEMM [cols 1] @ [W2; b] with cols = im2col(xpad), W2 = W.reshape(kh*kw*C_in, C_out)
    (the column of ones carries the bias). Backward, with g = dL/dy (times y > 0 for the
    fused ReLU), reshaped (N*Ho*Wo, C_out): [gW2; gb] = [cols 1]^T g (one GEMM),
    gx = col2im(g W2^T). A 1x1 kernel with stride 1 and no padding needs no im2col: cols is x.

    Both directions run chunk by chunk over the batch (``backend.parallel_chunks``): each
    thread takes a few images through im2col, the GEMMs and col2im on its own. The patch
    matrix is not kept for backward but built again there, one small chunk at a time:
    a cheap pass that saves its memory (9x the input's for a 3x3 kernel).
    """

    pool_major = False  # the order of the patch matrix's rows (see im2col)

    def __init__(self, stride: Pair, pads: Pads, dilation: Pair, relu: bool):
        self.stride, self.pads, self.dilation, self.relu = stride, pads, dilation, relu

    def patches(self, x: Any) -> Any:
        """The patch matrix of x (a chunk of the batch), with a column of ones for a bias row."""
        N, H, Wd, C = x.shape
        if self.pointwise:
            return x.reshape(N * H * Wd, C)
        return im2col(pad(x, self.pads), self.k, self.out_hw, self.stride, self.dilation, self.bias_row,
                      self.pool_major)

    def setup(self, x: Any, W: Any, b: Any) -> None:
        """Output size, kernel matrix [W2; b] and chunk size of a forward pass; x, W kept for backward."""
        N, H, Wd, C = x.shape
        kh, kw, _, O = W.shape
        (sh, sw), (dh, dw), (top, bottom, left, right) = self.stride, self.dilation, self.pads
        Ho = (H + top + bottom - dh * (kh - 1) - 1) // sh + 1
        Wo = (Wd + left + right - dw * (kw - 1) - 1) // sw + 1
        self.k, self.out_hw = (kh, kw), (Ho, Wo)
        self.pointwise = kh == kw == 1 and sh == sw == 1 and not any(self.pads) and not self.pool_major
        self.bias_row = b is not None and not self.pointwise  # the bias rides in the GEMM (ones column)
        W2 = W.reshape(kh * kw * C, O)
        self.Wb = get_array_module(x).concatenate([W2, b.reshape(1, O)]) if self.bias_row else W2
        self.b, self.x, self.W = b, x, W
        self.chunk = batch_chunk(N, Ho * Wo, kh * kw * C + 1)

    def convolve(self, x: Any, out: Any) -> None:
        """out (rows, C_out) = the convolution of x (a chunk of the batch), plus the bias."""
        get_array_module(x).matmul(self.patches(x), self.Wb, out=out)
        if self.b is not None and not self.bias_row:
            out += self.b

    def forward(self, x, W, b=None):
        self.setup(x, W, b)
        xp, O = get_array_module(x), W.shape[3]
        y = xp.empty((x.shape[0], *self.out_hw, O), x.dtype)

        def chunk(_: int, s: slice) -> None:
            out = y[s].reshape(-1, O)
            self.convolve(x[s], out)
            if self.relu:
                xp.maximum(out, 0, out=out)

        parallel_chunks(chunk, x.shape[0], self.chunk, xp)
        if self.relu:
            self.y = y
        return y

    def backward(self, gy):
        O = self.W.shape[3]

        def grad_of_output(s: slice) -> Any:
            g = gy[s].reshape(-1, O)
            return g * (self.y[s].reshape(-1, O) > 0) if self.relu else g

        return self.backward_chunks(grad_of_output)

    def backward_chunks(self, grad_of_output: Any) -> tuple[Any, Any, Any]:
        """(gx, gW, gb), chunk by chunk; grad_of_output(s) gives dL/d(conv output) of chunk s as (rows, C_out)."""
        x, W = self.x, self.W
        xp = get_array_module(x)
        kh, kw, C, O = W.shape
        need_x, need_W = self.needs_input_grad[:2]
        need_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        gx = xp.empty(x.shape, x.dtype) if need_x else None
        parts: list[Any] = [None] * -(-x.shape[0] // self.chunk)  # per chunk [gW2; gb], summed in chunk order

        def chunk(k: int, s: slice) -> None:
            g = grad_of_output(s)
            if need_W:
                parts[k] = self.patches(x[s]).T @ g
                if need_b and not self.bias_row:
                    parts[k] = xp.concatenate([parts[k], sum_rows(g)[None]])
            elif need_b:
                parts[k] = sum_rows(g)
            if need_x:
                self.input_grad(g, gx[s])

        parallel_chunks(chunk, x.shape[0], self.chunk, xp)
        if not parts:  # an empty batch: one empty chunk, whose products are zeros of the right shapes
            parts = [None]
            chunk(0, slice(0, 0))
        gW = gb = None
        if need_W or need_b:
            total = parts[0]
            for part in parts[1:]:
                total = total + part
            gW = total[:kh * kw * C].reshape(W.shape) if need_W else None
            gb = (total[-1] if need_W else total) if need_b else None
        return gx, gW, gb

    def input_grad(self, g: Any, gx: Any) -> None:
        """gx (a chunk of dL/dx) from g (its dL/dy, (rows, C_out)).

        In general each output pixel's taps, g W2^T (one GEMM for all taps), are added onto
        the pixels they read (col2im, reading the taps through a view). With stride 1 and no
        more output channels than input ones, dL/dx is cheaper as a convolution of dL/dy,
        with the kernel flipped and in/out swapped, over dL/dy padded back to x's size plus
        the kernel's reach: its patch matrix (kh*kw*C_out wide) is a fast copy, where col2im
        would make kh*kw strided passes over runs of only C_in values.
        """
        xp = get_array_module(g)
        (kh, kw), (Ho, Wo), C = self.k, self.out_hw, gx.shape[3]
        W, O = self.W, g.shape[1]
        if self.pointwise:
            xp.matmul(g, W.reshape(C, O).T, out=gx.reshape(-1, C))
        elif self.stride == (1, 1) and O <= C:
            (dh, dw), (top, bottom, left, right) = self.dilation, self.pads
            ry, rx = (kh - 1) * dh, (kw - 1) * dw  # the kernel's reach
            g_pad = pad(g.reshape(-1, Ho, Wo, O), (ry - top, ry - bottom, rx - left, rx - right))
            W_flipped = xp.ascontiguousarray(W[::-1, ::-1].transpose(0, 1, 3, 2)).reshape(kh * kw * O, C)
            xp.matmul(im2col(g_pad, self.k, gx.shape[1:3], (1, 1), self.dilation), W_flipped, out=gx.reshape(-1, C))
        else:
            gcols = (g @ W.reshape(kh * kw * C, O).T).reshape(gx.shape[0], Ho, Wo, kh * kw, C)
            col2im(xp.moveaxis(gcols, 3, 0), gx.shape, self.k, self.stride, self.dilation,
                   (self.pads[0], self.pads[2]), out=gx)


def _conv_args(op: str, x: Any, w: Any, b: Any, stride: Any, dilation: Any) -> tuple:
    """Check x, w and b of a convolution; (x shape, w shape, stride pair, dilation pair, dilated kernel size)."""
    xs, ws = shape_of(x, "x", op), shape_of(w, "w", op)
    if len(xs) != 4 or len(ws) != 4 or xs[3] != ws[2]:
        raise ValueError(f"{op}: x must be (N, H, W, C) and w (kh, kw, C_in, C_out) with matching C_in. "
                         f"Received: x {xs}, w {ws}")
    if b is not None and shape_of(b, "b", op) != (ws[3],):
        raise ValueError(f"{op}: b must have shape (C_out,) = ({ws[3]},). Received: b {tuple(b.shape)}")
    stride, dilation = pair(stride, "stride", op), pair(dilation, "dilation", op)
    k = (dilation[0] * (ws[0] - 1) + 1, dilation[1] * (ws[1] - 1) + 1)
    return xs, ws, stride, dilation, k


def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           activation: str | None = None) -> Tensor:
    """2-D convolution (cross-correlation, as in every framework), channels-last.

    x (N, H, W, C_in), w (kh, kw, C_in, C_out), b (C_out,) or None -> (N, Ho, Wo, C_out),
    Ho = (H + pad_top + pad_bottom - dilation*(kh - 1) - 1) // stride + 1.
    stride, dilation: int or (rows, cols). padding: int or (rows, cols) of zeros on each
    side, "valid" (none) or "same" (TensorFlow's: Ho = ceil(H / stride), the extra row or
    column of padding at the bottom/right). activation "relu" is fused into the op (with
    the bias); any other activation name is applied after it.

    >>> y = F.conv2d(x, w, b, padding="same", activation="relu")   # x (8, 28, 28, 1), w (3, 3, 1, 32)
    """
    op = "conv2d"
    xs, ws, stride, dilation, k = _conv_args(op, x, w, b, stride, dilation)
    pads = conv_pads(padding, xs[1:3], k, stride, op)
    padded = (xs[1] + pads[0] + pads[1], xs[2] + pads[2] + pads[3])
    if padded[0] < k[0] or padded[1] < k[1]:
        raise ValueError(f"{op}: the kernel {k} (dilated) is larger than the padded input {padded} "
                         f"(padding={padding!r}). Received: x {xs}, w {ws}")
    relu, after = _activation(activation)
    y = apply(Conv2d(stride, pads, dilation, relu), *((x, w) if b is None else (x, w, b)))
    return y if after is None else after(y)


# ---------------------------------------------------------------- conv2d_transpose
class Conv2dTranspose(Function):
    """y = act(conv2d_transpose(x, W) + b): x (N, H, W, C_in), W (kh, kw, C_in, C_out) -> (N, Ho, Wo, C_out).

    The adjoint of conv2d: input pixel (i, j) adds x[n, i, j, :] @ W[a, b] to output pixel
    (i*sh + a*dh - top, j*sw + b*dw - left). Forward: taps = x2 @ W[a, b] for every tap
    (one GEMM), then col2im. Backward, with g = dL/dy (times y > 0 for ReLU):
    cols = im2col(g padded back to the full size) (N*H*W, kh*kw*C_out), then
    gx = cols @ W^T (as (kh*kw*C_out, C_in)), gW = x2^T cols, gb = sum of g.
    """

    def __init__(self, stride: Pair, dilation: Pair, top_left: Pair, out_hw: Pair, relu: bool):
        self.stride, self.dilation, self.top_left, self.out_hw, self.relu = stride, dilation, top_left, out_hw, relu

    def forward(self, x, W, b=None):
        xp = get_array_module(x)
        N, H, Wd, C = x.shape
        kh, kw, _, O = W.shape
        x2 = x.reshape(N * H * Wd, C)
        taps = (x2 @ W.transpose(2, 0, 1, 3).reshape(C, kh * kw * O)).reshape(N, H, Wd, kh * kw, O)
        y = col2im(xp.moveaxis(taps, 3, 0), (N, *self.out_hw, O), (kh, kw), self.stride, self.dilation,
                   self.top_left)
        if b is not None:
            y += b
        if self.relu:
            relu_(y)
            self.y = y
        self.x2, self.W, self.in_hw = x2, W, (H, Wd)
        return y

    def backward(self, gy):
        W, x2 = self.W, self.x2
        kh, kw, C, O = W.shape
        g = relu_mask(gy, self.y) if self.relu else gy
        (sh, sw), (dh, dw), (top, left) = self.stride, self.dilation, self.top_left
        H, Wd = self.in_hw
        # Undo the crop of the forward: pad g so that tap (a, b) of input pixel (i, j) reads g at
        # (i*sh + a*dh, j*sw + b*dw); a negative pad at the end crops rows no tap reaches.
        full = ((H - 1) * sh + dh * (kh - 1) + 1, (Wd - 1) * sw + dw * (kw - 1) + 1)
        Ho, Wo = self.out_hw
        gpad = pad(g, (top, full[0] - Ho - top, left, full[1] - Wo - left))
        cols = im2col(gpad, (kh, kw), (H, Wd), self.stride, self.dilation)
        need_x, need_W = self.needs_input_grad[:2]
        need_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        gx = (cols @ W.transpose(0, 1, 3, 2).reshape(kh * kw * O, C)).reshape(-1, H, Wd, C) if need_x else None
        gW = (x2.T @ cols).reshape(C, kh, kw, O).transpose(1, 2, 0, 3) if need_W else None
        gb = sum_rows(g.reshape(-1, O)) if need_b else None
        return gx, gW, gb


def transpose_output_size(size: int, k: int, stride: int, padding: Any, output_padding: int | None) -> tuple[int, int]:
    """(output size, pixels cropped at the start) of a transposed convolution along one axis (k dilated).

    Int padding p follows PyTorch: (size - 1)*stride + k - 2p + output_padding, crop p.
    "valid"/"same" follow Keras: size*stride + max(k - stride, 0) / size*stride without
    output_padding, else (size - 1)*stride + k - 2*(0 / k // 2) + output_padding; the crop is
    that of the "same" conv2d this op is the gradient of.
    """
    if isinstance(padding, int):
        return (size - 1) * stride + k - 2 * padding + (output_padding or 0), padding
    if output_padding is None:
        out = size * stride + max(k - stride, 0) if padding == "valid" else size * stride
    else:
        out = (size - 1) * stride + k - 2 * (k // 2 if padding == "same" else 0) + output_padding
    top = max((size - 1) * stride + k - out, 0) // 2 if padding == "same" else 0
    return out, top


def conv2d_transpose(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, output_padding: Any = None,
                     dilation: Any = 1, activation: str | None = None) -> Tensor:
    """Transposed convolution (the gradient of conv2d with respect to its input), channels-last; up-samples.

    x (N, H, W, C_in), w (kh, kw, C_in, C_out) (the same layout as conv2d's kernel; Keras
    stores a Conv2DTranspose kernel as (kh, kw, C_out, C_in) and PyTorch as
    (C_in, C_out, kh, kw)), b (C_out,) -> (N, Ho, Wo, C_out).
    padding int p (PyTorch): Ho = (H - 1)*stride + dilation*(kh - 1) + 1 - 2p + output_padding.
    padding "same" (Keras): Ho = H*stride; "valid": Ho = H*stride + max(kh - stride, 0).
    output_padding (int or pair, < stride) adds rows/columns at the bottom/right.
    activation "relu" is fused; any other activation name is applied after the op.

    >>> y = F.conv2d_transpose(x, w, b, stride=2, padding="same")   # (8, 16, 16, 64) -> (8, 32, 32, C_out)
    """
    op = "conv2d_transpose"
    xs, ws, stride, dilation, k = _conv_args(op, x, w, b, stride, dilation)
    if isinstance(padding, str):
        if padding.lower() not in ("valid", "same"):
            raise ValueError(f"{op}: padding must be 'valid', 'same', a non-negative int or a pair. "
                             f"Received: padding={padding!r}")
        pads: tuple[Any, Any] = (padding.lower(), padding.lower())
    else:
        pads = pair(padding, "padding", op, minimum=0)
    out_pad: tuple[Any, Any] = (None, None)
    if output_padding is not None:
        out_pad = pair(output_padding, "output_padding", op, minimum=0)
        if out_pad[0] >= max(stride[0], dilation[0]) or out_pad[1] >= max(stride[1], dilation[1]):
            raise ValueError(f"{op}: output_padding must be smaller than the stride (or the dilation). "
                             f"Received: output_padding={output_padding!r}, stride={stride}")
    (Ho, top), (Wo, left) = (transpose_output_size(xs[1 + i], k[i], stride[i], pads[i], out_pad[i]) for i in (0, 1))
    if Ho < 1 or Wo < 1:
        raise ValueError(f"{op}: the padding {padding!r} crops the whole output (size {(Ho, Wo)}). "
                         f"Received: x {xs}, w {ws}")
    relu, after = _activation(activation)
    fn = Conv2dTranspose(stride, dilation, (top, left), (Ho, Wo), relu)
    y = apply(fn, *((x, w) if b is None else (x, w, b)))
    return y if after is None else after(y)

