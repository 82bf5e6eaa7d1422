"""Stochastic gradient descent, with momentum and Nesterov's variant."""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module
from .optimizer import Optimizer


class SGD(Optimizer):
    """p <- p - lr * d, the course's gradient step on a mini-batch, as torch.optim.SGD.

    d = g + weight_decay * p, then with momentum mu:
      b <- mu b + (1 - dampening) d   (b = d on the first step)
      d <- d + mu b  (nesterov)   or   d <- b
    Momentum keeps a running direction, so the steps grow along consistent slopes and
    oscillations across a ravine cancel out.
    """

    def __init__(self, params: Any = None, lr: Any = 0.01, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, **kwargs: Any) -> None:
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov), kwargs)

    def group_state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if group["momentum"] else ()

    def update(self, p, g, state, step, group):
        xp = get_array_module(p)
        t = state["scratch"]
        wd, mu = group["weight_decay"], group["momentum"]
        if wd:
            g = g + wd * p
        if mu:
            buf = state["momentum_buffer"]
            if step == 1:
                buf[...] = g
            else:
                buf *= mu
                if group["dampening"]:
                    xp.multiply(g, 1 - group["dampening"], out=t)
                    buf += t
                else:
                    buf += g
            if group["nesterov"]:
                xp.multiply(buf, mu, out=t)
                t += g
            else:
                xp.multiply(buf, group["lr"], out=t)
                p -= t
                return
        else:
            t[...] = g
        t *= group["lr"]
        p -= t
