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

where g is dL/dy through the fused activation (ReLU: masked; tanh: times 1 - y^2). With stride 1
and C_out <= C_in, gx is instead a convolution of g, see ``kernels.convolution.input_grad``.
The transposed convolution is the same two pieces in the other order: its forward is conv2d's
input gradient (GEMM, then col2im), its backward is an im2col and two GEMMs.

conv2d runs all of this chunk by chunk over the batch, each of neurona's threads taking
whole chunks with BLAS on one thread (``kernels.parallel_chunks``); the transposed
convolution splits its memory-bound passes over the batch (``kernels.over_batch``).
The kernels (im2col, col2im, geometry, threads) live in ``neurona.kernels``; the plain
twins, a few lines of autograd each, in ``neurona.functional.reference``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, Tensor, apply, is_grad_enabled
from ..backend import get_array_module
from ..kernels.convolution import ConvGeometry, convolve, input_grad, weight_grad
from ..kernels.fused import relu, relu_mask
from ..kernels.im2col import Pads, Pair, col2im, sum_rows
from ..kernels.tanh import tanh_, tanh_grad, tanh_kernels
from ..kernels.threads import parallel_chunks
from .activations import get_activation


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


def _activation(activation: str | None, fusable: tuple[str, ...] = ("relu",)) -> tuple[str | None, Any]:
    """(the activation fused into the op or None, the activation applied after the op or None)."""
    if activation is None or activation == "linear":
        return None, None
    if activation in fusable:
        return activation, None
    return None, get_activation(activation)


# ---------------------------------------------------------------- conv2d
class Conv2d(Function):
    """y = act(conv(x, W) + b): x (N, H, W, C_in), W (kh, kw, C_in, C_out), b (C_out,) -> (N, Ho, Wo, C_out).

    y[n, i, j, o] = sum_{a, b, c} xpad[n, i*sh + a*dh, j*sw + b*dw, c] W[a, b, c, o] + b[o]
    is one GEMM, y = [cols 1] @ [W2; b], with cols = im2col(xpad) and W2 = W as a (kh*kw*C_in, C_out)
    matrix. Backward, with g = dL/dy (times y > 0 for the fused ReLU) as (rows, C_out):

        [gW2; gb] = [cols 1]^T @ g        gx = col2im(g @ W2^T)

    Both directions run chunk by chunk over the batch (``kernels.parallel_chunks``), and the
    patch matrix is built again in backward, one chunk at a time, instead of kept (it is
    kh*kw times the input's size). The kernels are in ``neurona.kernels.convolution``;
    the same maths in a few plain lines of autograd is ``neurona.functional.reference.conv2d``.
    """

    pool_major = False  # the order of the patch matrix's rows (see kernels.im2col)

    def __init__(self, stride: Pair, pads: Pads, dilation: Pair, relu: bool, keep_patches: bool = False):
        self.stride, self.pads, self.dilation, self.relu = stride, pads, dilation, relu
        self.keep_patches = keep_patches  # W needs its gradient: a small layer keeps [cols 1] for it

    def forward(self, x, W, b=None):
        self.geo = geo = ConvGeometry.of(x.shape, W.shape, self.stride, self.pads, self.dilation, b is not None,
                                         self.pool_major)
        self.x, self.W = x, W
        xp, O, Wb = get_array_module(x), W.shape[3], geo.kernel_matrix(W, b)
        y = xp.empty((x.shape[0], *geo.out_hw, O), x.dtype)
        self.patches = patches = [None] * -(-x.shape[0] // geo.chunk) if self.keep_patches and geo.small else None
        activate = self.activation(y)

        def chunk(k: int, s: slice) -> None:
            out = y[s].reshape(-1, O)
            cols = convolve(geo, x[s], Wb, b, out)  # out = [cols 1] @ [W2; b]
            if patches is not None:
                patches[k] = cols
            if activate is not None:
                activate(out)  # while the chunk is in cache

        parallel_chunks(chunk, x.shape[0], geo.chunk, xp)
        self.y = None if activate is None else y
        return y

    def activation(self, y: Any) -> Any:
        """The fused activation as an in-place pass over a chunk of y (rows, C_out), or None."""
        if not self.relu:
            return None
        xp = get_array_module(y)
        return lambda out: xp.maximum(out, 0, out=out)

    def activation_grad(self, g: Any, y: Any) -> Any:
        """dL/d(conv output) of a chunk from g = dL/dy and the chunk's output y (both (rows, C_out))."""
        return g * (y > 0)

    def backward(self, gy):
        O = self.W.shape[3]

        def grad_of_output(s: slice) -> Any:
            g = gy[s].reshape(-1, O)
            return g if self.y is None else self.activation_grad(g, self.y[s].reshape(-1, O))

        return self.backward_chunks(grad_of_output)

    def backward_chunks(self, grad_of_output: Any) -> tuple[Any, Any, Any]:
        """(gx, gW, gb), chunk by chunk; grad_of_output(s) gives dL/d(conv output) of chunk s as (rows, C_out)."""
        x, W, geo = self.x, self.W, self.geo
        xp = get_array_module(x)
        need_x, need_W = self.needs_input_grad[:2]
        need_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        gx = xp.empty(x.shape, x.dtype) if need_x else None
        parts: list[Any] = [None] * -(-x.shape[0] // geo.chunk)  # per chunk [gW2; gb], summed in chunk order

        def chunk(k: int, s: slice) -> None:
            g = grad_of_output(s)
            if need_W:
                parts[k] = weight_grad(geo, x[s], g, self.patches[k] if self.patches else None)  # [cols 1]^T g
                if need_b and not geo.bias_column:
                    parts[k] = xp.concatenate([parts[k], sum_rows(g)[None]])
            elif need_b:
                parts[k] = sum_rows(g)
            if need_x:
                self.input_grad(g, gx[s])  # col2im(g W2^T)

        parallel_chunks(chunk, x.shape[0], geo.chunk, xp)
        if not parts:  # an empty batch: one empty chunk, whose products are zeros of the right shapes
            parts = [None]
            chunk(0, slice(0, 0))
        gW = gb = None
        if need_W or need_b:
            total = parts[0]
            for part in parts[1:]:
                if part is not None:  # on a GPU the batch is one chunk (parallel_chunks): the others stay None
                    total = total + part
            gW = total[:W[..., 0].size].reshape(W.shape) if need_W else None
            gb = (total[-1] if need_W else total) if need_b else None
        return gx, gW, gb

    def input_grad(self, g: Any, gx: Any) -> None:
        """gx (a chunk of dL/dx) from g (its dL/dy, (rows, C_out)); see ``kernels.convolution.input_grad``."""
        input_grad(self.geo, g, self.W, gx)


class Conv2dTanh(Conv2d):
    """y = tanh(conv(x, W) + b): Conv2d with tanh as its fused activation, dL/d(conv output) = g (1 - y^2).

    Each chunk of the output goes through tanh while it is still in cache, on the chunk's thread;
    a layer large enough runs the compiled tanh (``kernels.tanh``: within 7 ulp of NumPy's, several
    times faster). Twin: ``neurona.functional.reference.conv2d(..., activation="tanh")``. A class of
    its own, not a flag, so that a graph pass fusing a Conv2d with a following ReLU never matches it.
    """

    def __init__(self, stride: Pair, pads: Pads, dilation: Pair, keep_patches: bool = False):
        super().__init__(stride, pads, dilation, relu=False, keep_patches=keep_patches)

    def activation(self, y: Any) -> Any:
        # decided once per layer (every chunk runs the same code), from the shapes: any size when the
        # convolution's own compiled kernels load numba anyway (``ConvGeometry.large``)
        kernels = self.kernels = tanh_kernels(y, min_values=0 if self.geo.large else None)
        return lambda out: tanh_(kernels, out)

    def activation_grad(self, g: Any, y: Any) -> Any:
        return tanh_grad(self.kernels, g, y)


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
    column of padding at the bottom/right). activation "relu" and "tanh" are fused into
    the op (with the bias); any other activation name is applied after it.

    >>> y = F.conv2d(x, w, b, padding="same", activation="relu")   # x (8, 28, 28, 1), w (3, 3, 1, 32)
    """
    op = "conv2d"
    xs, ws, stride, dilation, k = _conv_args(op, x, w, b, stride, dilation)
    pads = conv_pads(padding, xs[1:3], k, stride, op)
    padded = (xs[1] + pads[0] + pads[1], xs[2] + pads[2] + pads[3])
    if padded[0] < k[0] or padded[1] < k[1]:
        raise ValueError(f"{op}: the kernel {k} (dilated) is larger than the padded input {padded} "
                         f"(padding={padding!r}). Received: x {xs}, w {ws}")
    fused, after = _activation(activation, ("relu", "tanh"))
    keep = is_grad_enabled() and isinstance(w, Tensor) and w.requires_grad
    fn = Conv2dTanh(stride, pads, dilation, keep) if fused == "tanh" else Conv2d(stride, pads, dilation,
                                                                                fused == "relu", keep)
    y = apply(fn, *((x, w) if b is None else (x, w, b)))
    return y if after is None else after(y)


# ---------------------------------------------------------------- conv2d_transpose
class Conv2dTranspose(Function):
    """y = act(conv2d_transpose(x, W) + b): x (N, H, W, C_in), W (kh, kw, C_in, C_out) -> (N, Ho, Wo, C_out).

    The adjoint of conv2d: input pixel (i, j) adds x[n, i, j, :] @ W[a, b] to output pixel
    (i*sh + a*dh - top, j*sw + b*dw - left). Forward: taps = x2 @ W[a, b] for every tap
    (one GEMM), then col2im. Backward, with g = dL/dy (times y > 0 for ReLU):
    cols = im2col(g padded back to the full size) (N*H*W, kh*kw*C_out), then
    gx = cols @ W^T (as (kh*kw*C_out, C_in)), gW = x2^T cols, gb = sum of g.
    Twin: ``neurona.functional.reference.conv2d_transpose``.
    """

    def __init__(self, stride: Pair, dilation: Pair, top_left: Pair, out_hw: Pair, relu: bool):
        self.stride, self.dilation, self.top_left, self.out_hw, self.relu = stride, dilation, top_left, out_hw, relu

    def forward(self, x, W, b=None):
        xp = get_array_module(x)
        N, H, Wd, C = x.shape
        kh, kw, _, O = W.shape
        # the convolution this op is the adjoint of: it reads y's (N, Ho, Wo, O) image and gives x's (H, W)
        self.geo = geo = ConvGeometry.of_transpose(x.shape, W.shape, self.stride, self.dilation, self.top_left,
                                                   self.out_hw)
        x2 = x.reshape(N * H * Wd, C)
        taps = (x2 @ W.transpose(2, 0, 1, 3).reshape(C, kh * kw * O)).reshape(N, H, Wd, kh * kw, O)
        y = col2im(xp.moveaxis(taps, 3, 0), (N, *geo.in_hw, O), geo.kernel, geo.stride, geo.dilation,
                   (geo.pads[0], geo.pads[2]))
        if b is not None:
            y += b
        if self.relu:
            relu(y, out=y)
            self.y = y
        self.x2, self.W = x2, W
        return y

    def backward(self, gy):
        W, x2, geo = self.W, self.x2, self.geo
        kh, kw, C, O = W.shape
        g = relu_mask(gy, self.y) if self.relu else gy
        cols = geo.patches(g)  # (N*H*W, kh*kw*O): tap (a, b) of input pixel (i, j) reads g at (i*sh + a*dh, ...)
        need_x, need_W = self.needs_input_grad[:2]
        need_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        gx = (cols @ W.transpose(0, 1, 3, 2).reshape(kh * kw * O, C)).reshape(-1, *geo.out_hw, C) if need_x else None
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
    fused, after = _activation(activation)
    fn = Conv2dTranspose(stride, dilation, (top, left), (Ho, Wo), fused == "relu")
    y = apply(fn, *((x, w) if b is None else (x, w, b)))
    return y if after is None else after(y)

