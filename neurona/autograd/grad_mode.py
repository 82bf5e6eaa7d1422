"""Switches that change what the engine records: ``no_grad``, ``enable_grad`` and ``detect_anomaly``.

The state lives in one small object, ``mode``, read by the engine on every op;
the context managers below save and restore it, so they nest and survive errors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


class _Mode:
    """Global recording state. ``grad``: record graphs; ``anomaly``: check every value for NaN/Inf;
    ``tracer``: while ``neurona.graphs`` traces a call, the object that records every op (else None)."""

    __slots__ = ("grad", "anomaly", "tracer")

    def __init__(self) -> None:
        self.grad = True
        self.anomaly = False
        self.tracer = None


def side_effect(update: Callable[[], None], *after: Any) -> None:
    """Run ``update()`` (an in-place change outside the graph, e.g. batch norm's running statistics)
    and, while a call is being traced, record it so that a replay runs it too, after ``after``'s ops."""
    update()
    if mode.tracer is not None:
        mode.tracer.side_effect(update, after)


mode = _Mode()


class _Switch:
    """A context manager (and decorator) that sets one field of ``mode`` and restores it on exit."""

    field = ""
    value = False

    def __enter__(self) -> None:
        self._saved = getattr(mode, self.field)
        setattr(mode, self.field, self.value)

    def __exit__(self, *exc: Any) -> None:
        setattr(mode, self.field, self._saved)

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_Switch):
    """Record nothing: ops inside produce tensors without history (inference, optimizer updates).

    >>> with nr.no_grad():
    ...     y = model(x)          # y.requires_grad is False, no graph is kept

    A decorator too, with or without parentheses: ``@nr.no_grad()`` or ``@nr.no_grad``.
    """

    field, value = "grad", False

    def __new__(cls, fn: Callable | None = None) -> Any:
        if fn is not None:  # ``@no_grad`` without parentheses: decorate at once
            return object.__new__(cls)(fn)
        return object.__new__(cls)


class enable_grad(_Switch):
    """Record graphs again inside a ``no_grad`` block."""

    field, value = "grad", True


class detect_anomaly(_Switch):
    """Check every op's output and every gradient for NaN/Inf; raise at the first one.

    The error names the op and the shapes of its inputs, so a student sees where a
    ``log(0)`` or an overflowing ``exp`` happened instead of a NaN loss many steps later.
    It is slow (one extra pass over each array): use it to debug, not to train.
    """

    field, value = "anomaly", True


class set_grad_enabled(_Switch):
    """``with set_grad_enabled(False):`` is ``no_grad``; ``True`` is ``enable_grad``."""

    field = "grad"

    def __init__(self, enabled: bool) -> None:
        self.value = bool(enabled)

    def __call__(self, fn: Callable) -> Callable:
        raise TypeError("set_grad_enabled(...) is a context manager, not a decorator")


def is_grad_enabled() -> bool:
    """True when ops record the graph for backward."""
    return mode.grad
