"""AdaGrad: a per-weight step size that shrinks with the gradients that weight has already seen."""

from __future__ import annotations

from typing import Any

from ..backend import get_array_module
from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adaptive gradient (Duchi et al., 2011), as torch.optim.Adagrad.

    g <- g + weight_decay * p                      (L2, when weight_decay > 0)
    s <- s + g^2                                   (s starts at initial_accumulator_value)
    p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)

    Why: dividing by the root of the summed squared gradients gives each weight its
    own step size. Weights with large or frequent gradients slow down; rarely-updated
    weights (rare features, rare words) keep big steps. The sum only grows, so the
    steps shrink over training, which is AdaGrad's weakness on long runs (RMSprop's fix).
    """

    def __init__(self, params: Any = None, lr: Any = 0.01, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, **kwargs: Any) -> None:
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps), kwargs)

    state_names = ("sum",)

    def update(self, p, g, state, step, group):
        xp = get_array_module(p)
        t, s = state["scratch"], state["sum"]
        wd = group["weight_decay"]
        if wd:
            g = g + wd * p
        if step == 1 and group["initial_accumulator_value"]:
            s[...] = group["initial_accumulator_value"]  # the buffers start at zero
        xp.multiply(g, g, out=t)
        s += t
        xp.sqrt(s, out=t)
        t += group["eps"]
        xp.divide(g, t, out=t)
        t *= group["lr"] / (1 + (step - 1) * group["lr_decay"])
        p -= t
