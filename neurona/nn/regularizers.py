"""Weight penalties added to the training loss: L1, L2 and both.

The course applies them to weights, never to biases (a bias only shifts a unit, so
shrinking it does not reduce the network's capacity to overfit): layers accept
``kernel_regularizer`` and no bias regulariser. Penalties follow Keras's definition,
l1 * sum|w| + l2 * sum w^2. Weight decay inside an optimizer (``weight_decay=``) is
the separate, optimizer-side form of L2.
"""

from __future__ import annotations

from typing import Any


class Regularizer:
    """A callable giving the penalty (a scalar Tensor) of a parameter."""

    def __call__(self, w: Any) -> Any:
        raise NotImplementedError

    def get_config(self) -> dict[str, float]:
        return dict(self.__dict__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"


class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w^2)."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        if l1 < 0 or l2 < 0:
            raise ValueError(f"regularization factors must be >= 0. Received: l1={l1}, l2={l2}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, w: Any) -> Any:
        penalty = None
        if self.l1:
            penalty = w.abs().sum() * self.l1
        if self.l2:
            term = (w * w).sum() * self.l2
            penalty = term if penalty is None else penalty + term
        return penalty if penalty is not None else (w * 0.0).sum()


class L1(L1L2):
    """l1 * sum(|w|): pushes weights to exactly zero (sparse weights)."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, float]:
        return {"l1": self.l1}


class L2(L1L2):
    """l2 * sum(w^2): shrinks every weight in proportion to its size ("weight decay")."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, float]:
        return {"l2": self.l2}


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2}


def get_regularizer(spec: Any) -> Regularizer | None:
    """A regulariser from None, a name ("l1", "l2", "l1_l2"), a config dict, or a callable."""
    if spec is None:
        return None
    if isinstance(spec, str):
        names = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01)}
        if spec.lower() not in names:
            raise ValueError(f"unknown regularizer. Expected one of {sorted(names)}. Received: {spec!r}")
        return names[spec.lower()]()
    if isinstance(spec, dict):
        if spec.get("class") not in _CLASSES:
            raise ValueError(f"unknown regularizer class. Expected one of {sorted(_CLASSES)}. Received: {spec!r}")
        return _CLASSES[spec["class"]](**spec.get("config", {}))
    if callable(spec):
        return spec
    raise TypeError(f"regularizer must be a name, a config dict or a callable. Received: {type(spec).__name__}")


def serialize_regularizer(reg: Any) -> Any:
    if reg is None:
        return None
    if isinstance(reg, Regularizer):
        return {"class": type(reg).__name__, "config": reg.get_config()}
    raise TypeError(f"cannot serialise a custom regularizer {reg!r}; use L1, L2 or L1L2")
