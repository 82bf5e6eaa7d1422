"""A pool's geometry, max pooling (the 2x2 tournament on four taps; any window, tap by tap as
arrays or in one compiled pass), and average pooling of windows that tile the image.

``PoolGeometry`` is everything about a pool that follows from the shapes alone: window,
stride, pads, output size, and the taps (strided views) that hold one pixel of every window.

The four pixels of every 2x2 window come as four arrays of one shape (t0 t1 / t2 t3):
strided views of an image, or the four contiguous blocks of a convolution's output in
pooling-window order. The max is a tournament (the winner of each row pair, then of the
two rows) that records three bool arrays, all that backward needs to route a gradient
to the winner.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..backend import get_array_module
from . import compiled as compiled_kernels
from .threads import over_batch

Pair = tuple[int, int]
Pads = tuple[int, int, int, int]  # top, bottom, left, right


@dataclass(frozen=True)
class PoolGeometry:
    """Where the windows of a pool sit: ph x pw windows every (sh, sw) pixels of x (N, H, W, C)
    padded by ``pads``, giving ``out_hw`` = ((H + top + bottom - ph) // sh + 1, ...).

    A window of ph*pw pixels is read as ph*pw *taps*: tap (a, b) is the strided view
    xpad[:, a::sh, b::sw] (cut to the output size), pixel (a, b) of every window at once.
    """

    pool: Pair
    stride: Pair
    pads: Pads
    out_hw: Pair

    @property
    def overlap(self) -> bool:
        """Whether windows share pixels (stride < pool): then gradients must add, not assign."""
        return self.stride[0] < self.pool[0] or self.stride[1] < self.pool[1]

    @property
    def tournament(self) -> bool:
        """Four taps in non-overlapping windows (2x2 in practice): ``max_pool_2x2`` runs it."""
        return self.pool[0] * self.pool[1] == 4 and self.stride == self.pool

    def tiles(self, shape: tuple[int, ...]) -> bool:
        """Whether the windows lie side by side and cover an unpadded x of this shape exactly."""
        return (self.stride == self.pool and not any(self.pads) and self.out_hw[0] * self.pool[0] == shape[1]
                and self.out_hw[1] * self.pool[1] == shape[2])

    def taps(self, xpad: Any) -> list[Any]:
        """The ph*pw strided views xpad[:, a::sh, b::sw], each (N, Ho, Wo, C), in row-major window order."""
        (ph, pw), (sh, sw), (Ho, Wo) = self.pool, self.stride, self.out_hw
        return [xpad[:, a:a + sh * (Ho - 1) + 1:sh, b:b + sw * (Wo - 1) + 1:sw] for a in range(ph) for b in range(pw)]

    def grad_buffer(self, xp: Any, shape: tuple[int, ...], dtype: Any) -> Any:
        """A buffer for dL/dxpad (shape: the padded input's): zeros, unless the windows tile the image
        exactly, so that every element is written once."""
        tiled = (self.stride == self.pool and self.out_hw[0] * self.pool[0] == shape[1]
                 and self.out_hw[1] * self.pool[1] == shape[2])
        return xp.empty(shape, dtype) if tiled else xp.zeros(shape, dtype)

    def unpad(self, gxpad: Any) -> Any:
        """dL/dx from dL/dxpad: the padding's rows and columns cut off."""
        top, bottom, left, right = self.pads
        if not any(self.pads):
            return gxpad
        return gxpad[:, top:gxpad.shape[1] - bottom, left:gxpad.shape[2] - right]


def max_pool_2x2(taps: list[Any], y: Any, pairs: list[Any]) -> None:
    """The common 2x2 window, as a tournament: the winner of each row pair, then of the two rows.

    taps: the four pixels of every window (t0 t1 / t2 t3, each (N, Ho, Wo, C)); writes their
    max into y and, into the three bool arrays ``pairs``, whether t1 beat t0, t3 beat t2
    and the bottom row beat the top: all that backward needs. Strict > keeps ties with
    the earlier tap, which is the first maximum in row-major order (PyTorch's choice).
    """
    xp = get_array_module(y)
    t0, t1, t2, t3 = taps
    low = xp.maximum(t2, t3)
    xp.maximum(t0, t1, out=y)
    xp.greater(t1, t0, out=pairs[0])
    xp.greater(t3, t2, out=pairs[1])
    xp.greater(low, y, out=pairs[2])
    xp.maximum(y, low, out=y)


def max_pool_2x2_backward(gy: Any, pairs: list[Any], gtaps: list[Any]) -> None:
    """Route gy to the winner of each 2x2 window (see max_pool_2x2); writes all four taps of dL/dx."""
    xp = get_array_module(gy)
    right_top, right_bottom, bottom_row = pairs
    g0, g1, g2, g3 = gtaps
    g_bottom = gy * bottom_row
    g_top = gy - g_bottom  # exact: each element is gy or 0
    xp.multiply(g_top, right_top, out=g1)
    xp.subtract(g_top, g1, out=g0)
    xp.multiply(g_bottom, right_bottom, out=g3)
    xp.subtract(g_bottom, g3, out=g2)


# ---------------------------------------------------------------- max pooling of any window, tap by tap
def max_pool_taps(xpad: Any, geo: PoolGeometry) -> Any:
    """y = the max over the taps of xpad (x padded with -inf), one elementwise maximum per tap."""
    xp = get_array_module(xpad)
    taps = geo.taps(xpad)
    y = taps[0].copy() if len(taps) == 1 else xp.maximum(taps[0], taps[1])
    for t in taps[2:]:
        xp.maximum(y, t, out=y)
    return y


def max_pool_taps_backward(gy: Any, xpad: Any, y: Any, geo: PoolGeometry) -> Any:
    """dL/dxpad of ``max_pool_taps``: gy goes to the first tap of its window (row-major) that equals y,
    hit_k = (tap_k == y) and no earlier tap hit; where windows overlap, the taps' parts add in tap order."""
    xp = get_array_module(gy)
    gxpad = geo.grad_buffer(xp, xpad.shape, gy.dtype)
    taken = None
    taps = geo.taps(xpad)
    for k, (t, gt) in enumerate(zip(taps, geo.taps(gxpad), strict=True)):
        hit = t == y
        if taken is not None:
            xp.greater(hit, taken, out=hit)  # hit and not already taken by an earlier tap
        if geo.overlap:
            gt += gy * hit
        else:
            xp.multiply(gy, hit, out=gt)
        if k + 1 < len(taps):
            taken = hit if taken is None else xp.logical_or(taken, hit, out=taken)
    return gxpad


COMPILED_MIN_VALUES = compiled_kernels.COMPILED_MIN_VALUES  # the compiled pools from this many input values on


def pool_kernels(x: Any, compiled: bool | None = None) -> ModuleType | None:
    """The compiled pooling kernels when they run on x, else None (the array twins run).

    ``compiled`` None decides by size (``COMPILED_MIN_VALUES``), False forces the twin, True insists."""
    return compiled_kernels.select("_numba_pooling", x, compiled=compiled, min_values=COMPILED_MIN_VALUES)


def max_pool_argmax(kernels: ModuleType, x: Any, geo: PoolGeometry) -> tuple[Any, Any]:
    """(y, arg): the max pool of x (N, H, W, C), unpadded, in one compiled pass, and which tap of its window
    each output took (a*pw + b, int32), for ``max_pool_argmax_backward``; the same y as ``max_pool_taps``."""
    N, H, W, C = x.shape
    x3 = np.ascontiguousarray(x).reshape(N, H, W * C)
    (ph, pw), (sh, sw), (top, _, left, _), (Ho, Wo) = geo.pool, geo.stride, geo.pads, geo.out_hw
    y, arg = np.empty((N, Ho, Wo * C), x.dtype), np.empty((N, Ho, Wo * C), np.int32)
    over_batch(lambda s: kernels.max_pool_argmax(x3, y, arg, C, ph, pw, sh, sw, top, left, s.start, s.stop), x,
               passes=2)
    return y.reshape(N, Ho, Wo, C), arg


def max_pool_argmax_backward(kernels: ModuleType, gy: Any, arg: Any, x_shape: tuple[int, ...],
                             geo: PoolGeometry) -> Any:
    """dL/dx (x_shape) of ``max_pool_argmax``: each gy to the pixel its ``arg`` names; the same bits as
    ``max_pool_taps_backward`` (cut to x) where no window's maximum is -inf or NaN."""
    N, H, W, C = x_shape
    gy3 = np.ascontiguousarray(gy).reshape(arg.shape)
    (ph, pw), (sh, sw), (top, _, left, _) = geo.pool, geo.stride, geo.pads
    gx = np.empty((N, H, W * C), gy.dtype)
    over_batch(lambda s: kernels.max_pool_argmax_backward(gy3, arg, gx, C, ph, pw, sh, sw, top, left, s.start,
                                                          s.stop), gx, passes=2)
    return gx.reshape(x_shape)


# ---------------------------------------------------------------- average pooling of windows that tile the image
def avg_pool_tiled(x: Any, pool: Pair, kernels: ModuleType | None = None) -> Any:
    """The mean of every ph x pw window of x (N, H, W, C) when the windows tile it exactly
    (stride == pool, H = Ho*ph, W = Wo*pw): (N, Ho, Wo, C).

    The window's rows are added first, as whole image rows (contiguous runs of W*C values),
    then its columns, as runs of C: a pass over x and one over a 1/ph as large array,
    instead of ph*pw passes over strided taps of runs of C values. With ``kernels``
    (``pool_kernels``), the same sums in one compiled pass, image row by image row.
    """
    N, H, W, C = x.shape
    (ph, pw), Ho, Wo = pool, H // pool[0], W // pool[1]
    if kernels is not None:
        x3 = np.ascontiguousarray(x).reshape(N, H, W * C)
        y = np.empty((N, Ho, Wo * C), x.dtype)
        over_batch(lambda s: kernels.avg_pool_tiled(x3, y, C, ph, pw, s.start, s.stop), x)
        return y.reshape(N, Ho, Wo, C)
    rows = x.reshape(N * Ho, ph, W * C)
    r = rows[:, 0].copy() if ph == 1 else rows[:, 0] + rows[:, 1]
    for a in range(2, ph):
        r += rows[:, a]
    cols = r.reshape(N * Ho, Wo, pw, C)
    y = cols[:, :, 0].copy() if pw == 1 else cols[:, :, 0] + cols[:, :, 1]
    for b in range(2, pw):
        y += cols[:, :, b]
    y *= 1.0 / (ph * pw)
    return y.reshape(N, Ho, Wo, C)


def avg_pool_tiled_backward(gy: Any, pool: Pair, kernels: ModuleType | None = None) -> Any:
    """dL/dx of ``avg_pool_tiled``: every pixel of a window gets gy / (ph*pw), (N, Ho*ph, Wo*pw, C).

    gy / (ph*pw) is repeated along the window's columns (runs of C values) into one image row,
    which is then copied to the window's ph rows as whole runs of W*C values (with ``kernels``:
    in one compiled pass, the same bits).
    """
    xp = get_array_module(gy)
    N, Ho, Wo, C = gy.shape
    ph, pw = pool
    if kernels is not None:
        gy3 = np.ascontiguousarray(gy).reshape(N, Ho, Wo * C)
        gx = np.empty((N, Ho * ph, Wo * pw * C), gy.dtype)
        over_batch(lambda s: kernels.avg_pool_tiled_backward(gy3, gx, C, ph, pw, s.start, s.stop), gx)
        return gx.reshape(N, Ho * ph, Wo * pw, C)
    g = (gy * (1.0 / (ph * pw))).astype(gy.dtype, copy=False)
    row = xp.repeat(g.reshape(N * Ho, Wo, 1, C), pw, axis=2).reshape(N * Ho, 1, Wo * pw * C)
    gx = xp.empty((N * Ho, ph, Wo * pw * C), gy.dtype)
    gx[...] = row
    return gx.reshape(N, Ho * ph, Wo * pw, C)
