"""Fused elementwise passes over large arrays, split over neurona's threads.

Each is one named pass a Function calls instead of a chain of NumPy expressions with
temporaries: the same arithmetic, written once, in place where it can be.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module
from .threads import over_batch


def relu(x: Any, out: Any = None) -> Any:
    """max(x, 0), into ``out`` (may be x itself) or a new array."""
    xp = get_array_module(x)
    out = xp.empty(x.shape, xp.result_type(x, 0)) if out is None else out
    over_batch(lambda s: xp.maximum(x[s], 0, out=out[s]), out)
    return out


def relu_mask(g: Any, y: Any) -> Any:
    """dL/d(pre-activation) of a fused ReLU from its output y: g where y > 0, else 0."""
    out = get_array_module(g).empty_like(g)

    def mask(s: slice) -> None:
        get_array_module(g).multiply(g[s], y[s] > 0, out=out[s])

    over_batch(mask, out, passes=2)
    return out
