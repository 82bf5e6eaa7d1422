"""The primitive ops as functions (``F.exp(x)``, ``F.matmul(a, b)``), for tensors or plain arrays.

They are the Tensor methods; these spellings exist for code written in the
functional style, and they accept arrays and numbers as well as tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..autograd import Tensor, concat, stack  # noqa: F401 (re-exported)


def _t(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def add(a: Any, b: Any) -> Tensor:
    return _t(a) + b


def sub(a: Any, b: Any) -> Tensor:
    return _t(a) - b


def mul(a: Any, b: Any) -> Tensor:
    return _t(a) * b


def div(a: Any, b: Any) -> Tensor:
    return _t(a) / b


def pow(a: Any, b: Any) -> Tensor:  # noqa: A001 (the op's name)
    return _t(a) ** b


def neg(x: Any) -> Tensor:
    return -_t(x)


def exp(x: Any) -> Tensor:
    return _t(x).exp()


def log(x: Any) -> Tensor:
    return _t(x).log()


def sqrt(x: Any) -> Tensor:
    return _t(x).sqrt()


def abs(x: Any) -> Tensor:  # noqa: A001
    return _t(x).abs()


def clip(x: Any, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    return _t(x).clip(min, max)


def maximum(a: Any, b: Any) -> Tensor:
    return _t(a).maximum(b)


def matmul(a: Any, b: Any) -> Tensor:
    return _t(a) @ b


def sum(x: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _t(x).sum(axis, keepdims)


def mean(x: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
    return _t(x).mean(axis, keepdims)


def max(x: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _t(x).max(axis, keepdims)


def min(x: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _t(x).min(axis, keepdims)


def logsumexp(x: Any, axis: int = -1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) along an axis, computed stably by shifting by the maximum."""
    x = _t(x)
    m = x.data.max(axis=axis, keepdims=True)
    out = (x - m).exp().sum(axis, keepdims=True).log() + m
    return out if keepdims else out.squeeze(axis)


def reshape(x: Any, shape: Sequence[int]) -> Tensor:
    return _t(x).reshape(tuple(shape))


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    return _t(x).transpose(*(axes or ()))


def flatten(x: Any, start_axis: int = 1) -> Tensor:
    """Merge all axes from ``start_axis`` on (by default keep the batch axis)."""
    return _t(x).flatten(start_axis)


def broadcast_to(x: Any, shape: Sequence[int]) -> Tensor:
    return _t(x).broadcast_to(shape)
