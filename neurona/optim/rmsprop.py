"""RMSprop: AdaGrad's per-weight step size with a running average instead of a growing sum."""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module
from .optimizer import Optimizer


class RMSprop(Optimizer):
    """Root-mean-square propagation (Hinton's lecture 6e, 2012), as torch.optim.RMSprop.

    g <- g + weight_decay * p                         (L2, when weight_decay > 0)
    v <- alpha v + (1 - alpha) g^2                    (running mean of the squared gradient)
    m <- alpha m + (1 - alpha) g ; d = sqrt(v - m^2)  (centered: the running variance)
    d = sqrt(v)                                       (otherwise)
    b <- momentum b + g / (d + eps) ; p <- p - lr b   (momentum > 0)
    p <- p - lr g / (d + eps)                         (otherwise)

    Why: like AdaGrad, each weight's step is divided by the typical size of its gradient,
    so steep and flat directions advance at similar speeds. The running average forgets
    old gradients, so the step does not vanish as training goes on (AdaGrad's sum only
    grows), and it follows the scale of the gradient as it changes.
    """

    def __init__(self, params: Any = None, lr: Any = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, **kwargs: Any) -> None:
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered), kwargs)

    def group_state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return (("square_avg",) + (("momentum_buffer",) if group["momentum"] else ())
                + (("grad_avg",) if group["centered"] else ()))

    def update(self, p, g, state, step, group):
        xp = get_array_module(p)
        t, v = state["scratch"], state["square_avg"]
        alpha, wd, mu = group["alpha"], group["weight_decay"], group["momentum"]
        if wd:
            g = g + wd * p
        xp.multiply(g, g, out=t)
        t *= 1 - alpha
        v *= alpha
        v += t
        if group["centered"]:
            m = state["grad_avg"]
            xp.subtract(g, m, out=t)  # m <- m + (1 - alpha)(g - m), torch's lerp
            t *= 1 - alpha
            m += t
            xp.multiply(m, m, out=t)
            xp.subtract(v, t, out=t)
            # v - m^2 is a variance, but rounding makes it slightly negative when a gradient barely
            # changes over many steps; torch's sqrt then gives NaN, here the step is g / eps
            xp.maximum(t, 0.0, out=t)
            xp.sqrt(t, out=t)
        else:
            xp.sqrt(v, out=t)
        t += group["eps"]
        xp.divide(g, t, out=t)
        if mu:
            b = state["momentum_buffer"]
            b *= mu
            b += t
            xp.multiply(b, group["lr"], out=t)
        else:
            t *= group["lr"]
        p -= t
