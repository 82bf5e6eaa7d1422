"""The 2x2 max-pooling tournament, forward and backward, on four taps.

The four pixels of every 2x2 window come as four arrays of one shape (t0 t1 / t2 t3):
strided views of an image, or the four contiguous blocks of a convolution's output in
pooling-window order. The max is a tournament (the winner of each row pair, then of the
two rows) that records three bool arrays, all that backward needs to route a gradient
to the winner.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module


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
