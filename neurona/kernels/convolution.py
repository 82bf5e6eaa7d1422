"""The pieces of a chunked convolution: its geometry, its patch matrix, its products, and dL/dx;
for one-channel images with few filters, the compiled direct convolution that replaces the first two.

``ConvGeometry`` is everything about a convolution that follows from the shapes alone:
kernel, stride, dilation, pads, input and output size, the order of the patch matrix's
rows and how many images a chunk takes. ``functional.conv.Conv2d`` keeps one of these
instead of loose attributes, and calls the kernels below chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..backend import get_array_module
from .compiled import usable
from .im2col import COMPILED_MIN_PATCHES, PLANAR_CHANNELS, Pads, Pair, col2im, pad, patches, sum_rows
from .threads import batch_chunk

# Patch values per chunk (2 MB of float32): measured, 1 thread, a ResNet-20 step ran ~15% faster than with
# 4 MB chunks (the patch matrix stays in cache between im2col and its GEMM), the reference CNN ~2%.
CHUNK_VALUES = 1 << 19
DIRECT_MAX_FILTERS = 8  # a one-channel layer with at most this many filters convolves directly (see direct_kernels)
KEEP_PATCHES = 3 << 20  # a layer whose patch matrix (whole batch) has at most this many values (12 MB of float32)
# keeps it for backward: LeNet-5's C3 does (its C1 convolves directly, without one), a ResNet's (several times
# larger) build theirs again


@dataclass(frozen=True)
class ConvGeometry:
    """Where the windows of a 2-D convolution sit. x (N, H, W, C), kernel (kh, kw, C, C_out).

    Ho = (H + top + bottom - dh*(kh - 1) - 1) // sh + 1 (and Wo alike). ``pool_major``
    orders the patch matrix's rows by position in a 2x2 pooling window (see im2col);
    ``bias_column`` appends a column of ones to it, so that the bias rides in the GEMM.
    """

    kernel: Pair
    stride: Pair
    dilation: Pair
    pads: Pads
    in_hw: Pair
    out_hw: Pair
    channels: int
    chunk: int
    pool_major: bool
    bias_column: bool
    large: bool = False  # enough patch values in the layer to repay loading the compiled im2col
    small: bool = False  # few enough that backward may keep forward's patch matrix (KEEP_PATCHES)
    direct: bool = False  # one channel, few filters, stride 1: the compiled direct convolution may run

    @classmethod
    def of(cls, x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: Pair, pads: Pads, dilation: Pair,
           bias: bool, pool_major: bool = False) -> ConvGeometry:
        N, H, Wd, C = x_shape
        kh, kw = w_shape[:2]
        (sh, sw), (dh, dw), (top, bottom, left, right) = stride, dilation, pads
        Ho = (H + top + bottom - dh * (kh - 1) - 1) // sh + 1
        Wo = (Wd + left + right - dw * (kw - 1) - 1) // sw + 1
        pointwise = kh == kw == 1 and sh == sw == 1 and not any(pads) and not pool_major
        large = N * Ho * Wo * kh * kw * C >= (COMPILED_MIN_PATCHES if C >= 8 else COMPILED_MIN_PATCHES // 2)
        direct = (large and C == 1 and w_shape[3] <= DIRECT_MAX_FILTERS and stride == dilation == (1, 1)
                  and min(pads) >= 0 and not pool_major)
        return cls((kh, kw), stride, dilation, pads, (H, Wd), (Ho, Wo), C,
                   batch_chunk(N, Ho * Wo, kh * kw * C + 1, CHUNK_VALUES), pool_major, bias and not pointwise,
                   large, N * Ho * Wo * (kh * kw * C + 1) <= KEEP_PATCHES and not direct, direct)

    @classmethod
    def of_transpose(cls, x_shape: tuple[int, ...], w_shape: tuple[int, ...], stride: Pair, dilation: Pair,
                     top_left: Pair, out_hw: Pair) -> ConvGeometry:
        """The geometry of the convolution a transposed convolution is the adjoint of: x (N, H, W, C_in),
        kernel (kh, kw, C_in, C_out), output (N, *out_hw, C_out) cropped by ``top_left``. That convolution
        reads the (N, Ho, Wo, C_out) image with the pads that put tap (a, b) of pixel (i, j) at
        (i*sh + a*dh, j*sw + b*dw) (a negative pad at the end crops rows no tap reaches), and gives (H, W)."""
        N, H, Wd, C = x_shape
        kh, kw, _, O = w_shape
        (sh, sw), (dh, dw), (top, left), (Ho, Wo) = stride, dilation, top_left, out_hw
        full = ((H - 1) * sh + dh * (kh - 1) + 1, (Wd - 1) * sw + dw * (kw - 1) + 1)
        pads = (top, full[0] - Ho - top, left, full[1] - Wo - left)
        return cls.of((N, Ho, Wo, O), (kh, kw, O, C), stride, pads, dilation, bias=False)

    @property
    def pointwise(self) -> bool:
        """A 1x1 kernel, stride 1, no padding: the patch matrix is x itself."""
        return self.kernel == (1, 1) and self.stride == (1, 1) and not any(self.pads) and not self.pool_major

    def patches(self, x: Any) -> Any:
        """The patch matrix of x (a chunk of the batch), (rows, kh*kw*C [+ 1 for the bias column])."""
        if self.pointwise:
            return x.reshape(-1, self.channels)
        return patches(x, self.pads, self.kernel, self.out_hw, self.stride, self.dilation, self.bias_column,
                       self.pool_major, compiled=None if self.large else False)

    def kernel_matrix(self, W: Any, b: Any) -> Any:
        """W as a (kh*kw*C, C_out) matrix, with the bias as a last row when the patches carry a ones column."""
        W2 = W.reshape(-1, W.shape[3])
        return get_array_module(W).concatenate([W2, b.reshape(1, -1)]) if self.bias_column else W2


def direct_kernels(geo: ConvGeometry, x: Any) -> ModuleType | None:
    """The compiled direct convolution (``_numba_conv``) when it runs on x, a chunk of a layer of this
    geometry, else None (the twin: im2col and the products).

    Only for one-channel images, a few filters (``DIRECT_MAX_FILTERS``), stride and dilation 1: there the
    patch matrix is a poor product (kh*kw wide, C_out tall), and the direct loops over whole padded images
    run the layer ~1.6x faster, forward and weight gradient (LeNet-5's C1, 5x5 with 6 filters); with 32
    filters the product is as fast forward and faster backward. For layers large enough to repay loading
    numba (``ConvGeometry.large``)."""
    if not geo.direct or usable(x) is None:
        return None
    from . import _numba_conv

    return _numba_conv


def planes(geo: ConvGeometry, x: Any) -> Any:
    """x (n, H, W, 1) zero-padded into planes (n, Hp + 1, Wp) (a spare row: the direct loops read past the
    last padded row by kw - 1 values), the layout of ``_numba_conv``."""
    n, H, Wd = x.shape[:3]
    top, bottom, left, right = geo.pads
    out = np.zeros((n, H + top + bottom + 1, Wd + left + right), x.dtype)
    out[:, top:top + H, left:left + Wd] = x[..., 0]
    return out


def convolve(geo: ConvGeometry, x: Any, Wb: Any, b: Any, out: Any) -> Any:
    """out (rows, C_out) = patches(x) @ Wb, plus the bias when it does not ride in the GEMM.
    Returns the patch matrix, which backward may keep (``ConvGeometry.small``) instead of building it again
    (None from the direct convolution, ``direct_kernels``, which needs none)."""
    kernels = direct_kernels(geo, x)
    if kernels is not None:
        K = geo.kernel[0] * geo.kernel[1]
        bias = Wb[K] if geo.bias_column else (b if b is not None else np.zeros(Wb.shape[1], Wb.dtype))
        kernels.conv_forward(planes(geo, x), Wb[:K], bias, out, *geo.out_hw)  # the bias added in the loops
        return None
    cols = geo.patches(x)
    get_array_module(x).matmul(cols, Wb, out=out)
    if b is not None and not geo.bias_column:
        out += b
    return cols


def weight_grad(geo: ConvGeometry, x: Any, g: Any, cols: Any = None) -> Any:
    """[cols 1]^T g for a chunk x and its g (rows, C_out): [gW2; gb] with a bias column, else gW2
    (kh*kw*C, C_out). cols: the chunk's patch matrix when forward kept it, else built again."""
    kernels = direct_kernels(geo, x)
    if kernels is None:
        return (geo.patches(x) if cols is None else cols).T @ g
    K = geo.kernel[0] * geo.kernel[1]
    gW = np.empty((K + int(geo.bias_column), g.shape[1]), g.dtype)
    kernels.conv_weight_grad(planes(geo, x), np.ascontiguousarray(g), *geo.out_hw, gW[:K])
    if geo.bias_column:
        gW[K] = sum_rows(g)  # the ones column's row: gb
    return gW


def max_relu_of_four(geo: ConvGeometry, z: Any, out: Any) -> None:
    """out = max(z[0], z[1], z[2], z[3], 0): the 2x2 max-pool and ReLU of a conv-pool chunk whose output
    needs no backward (z (4, rows, C_out), the window's four pixels as blocks). In a layer whose
    convolution runs compiled kernels (``ConvGeometry.large``), one compiled pass
    (``_numba_conv.max_relu_of_four``, the same bits, NaN and signed zeros included); else four NumPy
    passes, its twin."""
    xp = get_array_module(z)
    if geo.large and usable(z, out) is not None:
        from . import _numba_conv

        _numba_conv.max_relu_of_four(z, out)
        return
    xp.maximum(z[0], 0, out=out)
    for t in z[1:]:
        xp.maximum(out, t, out=out)


def input_grad(geo: ConvGeometry, g: Any, W: Any, gx: Any) -> None:
    """gx (a chunk of dL/dx, (n, H, W, C)) from g, its dL/dy as (rows, C_out), rows in image order.

    In general each output pixel's taps, g W2^T (one GEMM for all taps), are added onto
    the pixels they read (col2im). With stride 1 and no more output channels than input
    ones, dL/dx is cheaper as a convolution of dL/dy, with the kernel flipped and in/out
    swapped, over dL/dy padded back to x's size plus the kernel's reach: its patch matrix
    (kh*kw*C_out wide) is a fast copy, where col2im would make kh*kw strided passes over
    runs of only C_in values.
    """
    xp = get_array_module(g)
    (kh, kw), (Ho, Wo), C = geo.kernel, geo.out_hw, gx.shape[3]
    O = g.shape[1]
    if geo.pointwise:
        xp.matmul(g, W.reshape(C, O).T, out=gx.reshape(-1, C))
    elif geo.stride == (1, 1) and O <= C:
        (dh, dw), (top, bottom, left, right) = geo.dilation, geo.pads
        ry, rx = (kh - 1) * dh, (kw - 1) * dw  # the kernel's reach
        g_pads = (ry - top, ry - bottom, rx - left, rx - right)
        W_flipped = xp.ascontiguousarray(W[::-1, ::-1].transpose(0, 1, 3, 2)).reshape(kh * kw * O, C)
        cols = patches(g.reshape(-1, Ho, Wo, O), g_pads, geo.kernel, gx.shape[1:3], (1, 1), geo.dilation,
                       compiled=None if geo.large else False)
        xp.matmul(cols, W_flipped, out=gx.reshape(-1, C))
    else:
        W2, n = W.reshape(kh * kw * C, O), gx.shape[0]
        if C < PLANAR_CHANNELS:
            # W2 g^T: the taps planar, (kh*kw, C, n, Ho, Wo), the layout col2im sums fastest for few channels
            # (compiled; its twin takes any layout, and with the same products gives the same bits)
            taps = (W2 @ g.T).reshape(kh * kw, C, n, Ho, Wo).transpose(0, 2, 3, 4, 1)
        else:
            taps = xp.moveaxis((g @ W2.T).reshape(n, Ho, Wo, kh * kw, C), 3, 0)
        col2im(taps, gx.shape, geo.kernel, geo.stride, geo.dilation, (geo.pads[0], geo.pads[2]), out=gx)


def pool_major_to_image(g: Any, geo: ConvGeometry) -> Any:
    """Rows of g (rows, C_out) in 2x2-pooling-window order (p, q, n, i2, j2) put back in image order
    (n, i, j), as an (n*Ho*Wo, C_out) array; an odd last row or column (dropped by the pool) gets zeros."""
    (Ho, Wo), O = geo.out_hw, g.shape[1]
    Ho2, Wo2 = Ho // 2, Wo // 2
    n = g.shape[0] // (4 * Ho2 * Wo2)
    xp = get_array_module(g)
    image = xp.ascontiguousarray(g.reshape(2, 2, n, Ho2, Wo2, O).transpose(2, 3, 0, 4, 1, 5))
    return pad(image.reshape(n, 2 * Ho2, 2 * Wo2, O), (0, Ho % 2, 0, Wo % 2)).reshape(-1, O)
