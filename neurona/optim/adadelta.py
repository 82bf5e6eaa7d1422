"""Adadelta: AdaGrad's per-weight step without a learning rate to tune, from running averages."""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module
from .optimizer import Optimizer


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), as torch.optim.Adadelta.

    g <- g + weight_decay * p                          (L2, when weight_decay > 0)
    v <- rho v + (1 - rho) g^2                          (running mean of squared gradients)
    d <- sqrt(u + eps) / sqrt(v + eps) * g              (the step, in the units of p)
    u <- rho u + (1 - rho) d^2                          (running mean of squared steps)
    p <- p - lr * d

    Why: RMSprop divides by the root of recent squared gradients; Adadelta also multiplies
    by the root of recent squared steps, so the update has the units of the weight and
    lr = 1.0 (the default) works without tuning.
    """

    def __init__(self, params: Any = None, lr: Any = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, **kwargs: Any) -> None:
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Adadelta: rho must be in [0, 1]. Received: rho={rho}")
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay), kwargs)

    state_names = ("square_avg", "acc_delta")

    def update(self, p, g, state, step, group):
        xp = get_array_module(p)
        t, v, u = state["scratch"], state["square_avg"], state["acc_delta"]
        rho, eps, wd = group["rho"], group["eps"], group["weight_decay"]
        if wd:
            g = g + wd * p
        v *= rho
        v += (1 - rho) * g * g
        xp.add(u, eps, out=t)
        xp.sqrt(t, out=t)
        t /= xp.sqrt(v + eps)
        t *= g                      # t = d
        u *= rho
        u += (1 - rho) * t * t
        t *= group["lr"]
        p -= t
