"""Convolution, 2x2 max-pooling and ReLU as one op: the block of almost every small CNN.

relu(max_pool2d(conv2d(x, W) + b, 2)) equals max_pool2d(relu(conv2d(x, W) + b), 2), since
ReLU is non-decreasing and so commutes with taking a maximum; pooling first leaves the
ReLU a quarter of the elements. The gradients agree too: where a window's maximum is
positive both orders route it to the window's first maximum, elsewhere both give zero.

As one op it runs chunk by chunk over the batch (``kernels.parallel_chunks``): each
thread convolves a few images, pools and rectifies them while the convolution's output
is still in cache, and the full-size output is never stored, only the pooled one and the
three bool masks of the pooling tournament (each a quarter of the output's size). The
convolution's output comes out in pooling-window order, so that pooling reads and
writes whole contiguous blocks instead of strided views.
Backward rebuilds the chunk's gradient of the convolution output from them, then runs
the convolution's backward on it (``Conv2d.backward_chunks``).
"""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor, apply, is_grad_enabled
from ..backend import get_array_module
from ..kernels.convolution import ConvGeometry, convolve, input_grad, max_relu_of_four, pool_major_to_image
from ..kernels.pooling import max_pool_2x2, max_pool_2x2_backward
from ..kernels.threads import parallel_chunks
from .conv import Conv2d, _conv_args, conv_pads


class Conv2dMaxPoolRelu(Conv2d):
    """y = relu(max_pool2d(conv2d(x, W) + b, 2)): x (N, H, W, C_in) -> (N, Ho // 2, Wo // 2, C_out),
    (Ho, Wo) the convolution's output size; an odd last row or column is dropped, as by the pool.

    The patch matrix's rows are in pooling-window order (``im2col(pool_major=True)``), so
    the GEMM's output is the four pixels of every window as four contiguous blocks, and
    the pooling, forward and backward, runs on whole contiguous arrays (``kernels.pooling``).
    The three ops in a row are its twin: ``neurona.functional.reference.conv2d_relu_max_pool2d``.
    """

    pool_major = True

    def __init__(self, stride: Any, pads: Any, dilation: Any, for_backward: bool):
        super().__init__(stride, pads, dilation, relu=False, keep_patches=for_backward)
        self.for_backward = for_backward  # keep what backward needs (not under no_grad: inference)

    def forward(self, x, W, b=None):
        self.geo = geo = ConvGeometry.of(x.shape, W.shape, self.stride, self.pads, self.dilation, b is not None,
                                         pool_major=True)
        xp, O, N = get_array_module(x), W.shape[3], x.shape[0]
        Wb = geo.kernel_matrix(W, b)
        y = xp.empty((N, geo.out_hw[0] // 2, geo.out_hw[1] // 2, O), x.dtype)
        pairs = [xp.empty(y.shape, bool) for _ in range(3)] if self.for_backward else None
        self.patches = patches = [None] * -(-N // geo.chunk) if self.keep_patches and geo.small else None

        def chunk(k: int, s: slice) -> None:
            out = y[s].reshape(-1, O)
            z = xp.empty((4, out.shape[0], O), x.dtype)  # the window's pixels t0 t1 / t2 t3, one block each
            cols = convolve(geo, x[s], Wb, b, z.reshape(-1, O))
            if patches is not None:
                patches[k] = cols
            if pairs is None:  # no backward: the max alone, with the ReLU as its first term
                max_relu_of_four(geo, z, out)
            else:
                max_pool_2x2(list(z), out, [p[s].reshape(out.shape) for p in pairs])
                xp.maximum(out, 0, out=out)

        parallel_chunks(chunk, N, geo.chunk, xp)
        if self.for_backward:
            self.x, self.W, self.y, self.pairs = x, W, y, pairs
        return y

    def backward(self, gy):
        xp, O = get_array_module(gy), self.W.shape[3]

        def grad_of_output(s: slice) -> Any:
            g = (gy[s] * (self.y[s] > 0)).reshape(-1, O)
            gz = xp.empty((4, g.shape[0], O), gy.dtype)
            max_pool_2x2_backward(g, [p[s].reshape(g.shape) for p in self.pairs], list(gz))
            return gz.reshape(-1, O)

        return self.backward_chunks(grad_of_output)

    def input_grad(self, g: Any, gx: Any) -> None:
        """As Conv2d's, after putting g's rows back in image order (a quarter-size copy): col2im on
        rows in pooling-window order would take four times as many strided passes."""
        input_grad(self.geo, pool_major_to_image(g, self.geo), self.W, gx)


def conv2d_relu_max_pool2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
                           dilation: Any = 1) -> Tensor:
    """relu(max_pool2d(conv2d(x, w, b, stride, padding, dilation), 2)) as one op, channels-last.

    Same numbers and gradients as the three ops in a row (see the module docstring), in
    less time and memory. Arguments as ``conv2d``; the pool is 2x2 with stride 2, "valid".

    >>> y = F.conv2d_relu_max_pool2d(x, w, b, padding="same")   # x (8, 28, 28, 1), w (3, 3, 1, 32) -> (8, 14, 14, 32)
    """
    op = "conv2d_relu_max_pool2d"
    xs, ws, stride, dilation, k = _conv_args(op, x, w, b, stride, dilation)
    pads = conv_pads(padding, xs[1:3], k, stride, op)
    out = [(xs[i + 1] + pads[2 * i] + pads[2 * i + 1] - k[i]) // stride[i] + 1 for i in (0, 1)]
    if min(out) < 2:
        raise ValueError(f"{op}: the convolution's output {tuple(out)} is smaller than the 2x2 pool "
                         f"(padding={padding!r}). Received: x {xs}, w {ws}")
    inputs = (x, w) if b is None else (x, w, b)
    for_backward = is_grad_enabled() and any(isinstance(a, Tensor) and a.requires_grad for a in inputs)
    return apply(Conv2dMaxPoolRelu(stride, pads, dilation, for_backward), *inputs)
