"""Joining arrays along an axis: NumPy's (or CuPy's) concatenate, or, for large NumPy arrays joined
on their last axis (an Inception module's branches, a U-Net's skips), one compiled pass that writes
each output row from all the inputs in turn (``_numba_concat``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import get_array_module
from . import compiled as compiled_kernels
from .threads import over_batch

COMPILED_MIN_VALUES = compiled_kernels.COMPILED_MIN_VALUES  # the compiled join from this many output values on


def _joins_last_axis(xs: Sequence[Any], axis: int) -> bool:
    x0 = xs[0]
    return (len(xs) > 1 and x0.ndim > 0 and axis % x0.ndim == x0.ndim - 1
            and all(isinstance(x, np.ndarray) and x.flags.c_contiguous and x.dtype == x0.dtype
                    and x.shape[:-1] == x0.shape[:-1] for x in xs))


def concatenate(xs: Sequence[Any], axis: int, compiled: bool | None = None) -> Any:
    """xs joined along ``axis``, as ``xp.concatenate``. ``compiled`` None decides by size and layout,
    False forces the twin (NumPy's concatenate), True insists on the compiled join."""
    _numba_concat = compiled_kernels.select(
        "_numba_concat", *xs, compiled=compiled, values=sum(x.size for x in xs), min_values=COMPILED_MIN_VALUES,
        fits=_joins_last_axis(xs, axis),
        needs="the compiled join takes C-contiguous NumPy arrays of one dtype, joined on the last axis")
    if _numba_concat is None:
        return get_array_module(xs[0]).concatenate(xs, axis=axis)
    lead = xs[0].shape[:-1]
    sizes = [x.shape[-1] for x in xs]
    rows = tuple(x.reshape(-1, c) for x, c in zip(xs, sizes, strict=True))
    offsets = np.cumsum([0] + sizes[:-1]).astype(np.int64)
    out = np.empty((rows[0].shape[0], sum(sizes)), xs[0].dtype)
    over_batch(lambda s: _numba_concat.concat_rows(rows, offsets, out, s.start, s.stop), out)
    return out.reshape(lead + (sum(sizes),))
