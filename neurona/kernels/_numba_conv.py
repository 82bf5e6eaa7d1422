"""Compiled (numba) direct convolution of one-channel images, forward and weight gradient, and the one-pass
max-pool and ReLU of a conv-pool layer in inference: imported on first use by ``kernels/convolution.py``,
whose im2col and matrix products (and NumPy maxima) are their twins.

A grayscale first layer with few filters (LeNet-5's C1: 5x5, 6 filters) makes a poor product: the
patch matrix is kh*kw values wide and the output only C_out wide, so BLAS runs far below its peak,
after a copy of kh*kw times the image. Here each image is padded once into a plane of width Wp, and
every tap (a, b) of filter o is then one multiply-add over Ho*Wp contiguous values: output position
p = i*Wp + j reads the plane at p + a*Wp + b (the last kw - 1 columns of each output row are
computed and dropped, so that the whole image is one run).
"""

from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "nsz", "arcp"})
def _dot(a, b):  # pragma: no cover - compiled
    """sum of a*b over two 1-D arrays of one size; reassociated, so that LLVM adds 8-wide partial sums
    (the same order for the same size, so the same bits on any thread)."""
    s = np.float32(0.0)
    for q in range(a.size):
        s += a[q] * b[q]
    return s


@jit
def conv_forward(xpad, W, b, out, Ho, Wo):  # pragma: no cover - compiled
    """out[(n*Ho + i)*Wo + j, o] = b[o] + sum over taps (a, b) of xpad[n, i + a, j + b] W[a*kw + b, o]:
    a stride-1 convolution of planes xpad (n, Hp + 1, Wp) (zero-padded, one spare row for the run's
    end) with W (kh*kw, C_out), kw = Wp - Wo + 1, into out (n*Ho*Wo, C_out) rows in image order."""
    N, Hp1, Wp = xpad.shape
    K, O = W.shape
    kw = Wp - Wo + 1
    L = Ho * Wp
    acc = np.empty((O, L), out.dtype)
    for n in range(N):
        plane = xpad[n].reshape(Hp1 * Wp)
        for o in range(O):
            dst = acc[o]
            bo = b[o]
            for p in range(L):
                dst[p] = bo
            for t in range(K):
                w = W[t, o]
                off = (t // kw) * Wp + t % kw
                src = plane[off:off + L]
                for p in range(L):
                    dst[p] += w * src[p]
        for i in range(Ho):
            for j in range(Wo):
                row = out[(n * Ho + i) * Wo + j]
                for o in range(O):
                    row[o] = acc[o, i * Wp + j]


@jit
def conv_weight_grad(xpad, g, Ho, Wo, gW):  # pragma: no cover - compiled
    """gW[a*kw + b, o] = sum over n, i, j of xpad[n, i + a, j + b] g[(n*Ho + i)*Wo + j, o]: the weight
    gradient of ``conv_forward`` (layouts as there; gW (kh*kw, C_out), overwritten), image by image."""
    N, Hp1, Wp = xpad.shape
    K, O = gW.shape
    kw = Wp - Wo + 1
    L = Ho * Wp
    planes = np.zeros((O, L), g.dtype)  # g of one image, planar, zero in the dropped columns
    for t in range(K):
        for o in range(O):
            gW[t, o] = 0.0
    for n in range(N):
        plane = xpad[n].reshape(Hp1 * Wp)
        for i in range(Ho):
            for j in range(Wo):
                row = g[(n * Ho + i) * Wo + j]
                for o in range(O):
                    planes[o, i * Wp + j] = row[o]
        for t in range(K):
            off = (t // kw) * Wp + t % kw
            src = plane[off:off + L]
            for o in range(O):
                gW[t, o] += _dot(planes[o], src)


@jit
def max_relu_of_four(z, out):  # pragma: no cover - compiled
    """out = max(max(max(max(z[0], 0), z[1]), z[2]), z[3]) elementwise with NumPy's maximum's rules (NaN
    propagates, a tie gives the second operand: the same bits, signed zeros included): the 2x2
    max-pool and ReLU of a conv-pool chunk without backward, in one pass instead of four. z (4, *out.shape),
    both C-contiguous."""
    a, b, c, d = z[0].reshape(out.size), z[1].reshape(out.size), z[2].reshape(out.size), z[3].reshape(out.size)
    dst = out.reshape(out.size)
    zero = dst.dtype.type(0.0)
    for p in range(dst.size):
        m = a[p] if (a[p] != a[p] or a[p] > zero) else zero  # a tie gives the second operand, as np.maximum
        m = m if (m != m or m > b[p]) else b[p]
        m = m if (m != m or m > c[p]) else c[p]
        dst[p] = m if (m != m or m > d[p]) else d[p]
