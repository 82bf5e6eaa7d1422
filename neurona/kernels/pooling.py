"""A pool's geometry, the 2x2 max-pooling tournament (forward and backward, on four taps),
and average pooling of windows that tile the image.

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
from typing import Any

from ..backend import get_array_module

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


# ---------------------------------------------------------------- average pooling of windows that tile the image
def avg_pool_tiled(x: Any, pool: Pair) -> Any:
    """The mean of every ph x pw window of x (N, H, W, C) when the windows tile it exactly
    (stride == pool, H = Ho*ph, W = Wo*pw): (N, Ho, Wo, C).

    The window's rows are added first, as whole image rows (contiguous runs of W*C values),
    then its columns, as runs of C: a pass over x and one over a 1/ph as large array,
    instead of ph*pw passes over strided taps of runs of C values.
    """
    N, H, W, C = x.shape
    (ph, pw), Ho, Wo = pool, H // pool[0], W // pool[1]
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


def avg_pool_tiled_backward(gy: Any, pool: Pair) -> Any:
    """dL/dx of ``avg_pool_tiled``: every pixel of a window gets gy / (ph*pw), (N, Ho*ph, Wo*pw, C).

    gy / (ph*pw) is repeated along the window's columns (runs of C values) into one image row,
    which is then copied to the window's ph rows as whole runs of W*C values.
    """
    xp = get_array_module(gy)
    N, Ho, Wo, C = gy.shape
    ph, pw = pool
    g = (gy * (1.0 / (ph * pw))).astype(gy.dtype, copy=False)
    row = xp.repeat(g.reshape(N * Ho, Wo, 1, C), pw, axis=2).reshape(N * Ho, 1, Wo * pw * C)
    gx = xp.empty((N * Ho, ph, Wo * pw * C), gy.dtype)
    gx[...] = row
    return gx.reshape(N, Ho * ph, Wo * pw, C)
