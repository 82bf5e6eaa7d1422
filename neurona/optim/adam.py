"""Adam and AdamW: momentum plus a per-weight step size from the gradient's running variance."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import get_array_module
from ..kernels import compiled
from .optimizer import Optimizer

# Loading numba costs ~1 s of a process's first step (3 s the first time, compiling): worth it
# only for updates this large (at 2^17 values the one pass saves ~0.1 ms a step), so small models,
# `make run` and the command line's first run never load it for Adam.
COMPILED_MIN = 1 << 17


def _compiled_adam(*arrays: Any) -> Any:
    """The compiled twin of ``Adam.update`` (``kernels/_numba_updates.adam``: one pass over the
    values instead of 12 array passes, the same float operations in the same order, so the same
    bits) when it may run: 1-D contiguous NumPy float arrays (the flat buffers' slices) of at least
    ``COMPILED_MIN`` values and compiled kernels enabled (``kernels.compiled``); else None."""
    if arrays[0].size < COMPILED_MIN:
        return None
    if not all(isinstance(a, np.ndarray) and a.ndim == 1 and a.flags.c_contiguous for a in arrays):
        return None
    if compiled.usable(*arrays) is None:
        return None
    from ..kernels import _numba_updates  # imports numba: only once compiled kernels are known to run

    return _numba_updates.adam


class Adam(Optimizer):
    """Adaptive moment estimation (Kingma & Ba, 2015), as torch.optim.Adam.

    m <- b1 m + (1 - b1) g            (mean of the gradient: momentum)
    v <- b2 v + (1 - b2) g^2          (mean of its square: the scale of each weight's gradient)
    p <- p - lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)
    The (1 - b^t) factors undo the bias of starting m and v at zero. ``amsgrad`` uses
    the running maximum of v. ``weight_decay`` adds weight_decay * p to g (L2).
    ``bias_correction=False`` is the course slides' form, without those factors:
    p <- p - lr * m / (sqrt(v) + eps)   (its first step is (1 - b1) / sqrt(1 - b2) lr ~ 3.16 lr).
    """

    def __init__(self, params: Any = None, lr: Any = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 bias_correction: bool = True, **kwargs: Any) -> None:
        if not isinstance(bias_correction, bool):
            raise TypeError(f"{type(self).__name__}: bias_correction must be True or False. "
                            f"Received: bias_correction={bias_correction!r}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, bias_correction=bias_correction), kwargs)

    def group_state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if group["amsgrad"] else ())

    def decay(self, p, group):
        """Weight decay folded into the gradient (Adam's L2); AdamW overrides this."""
        return group["weight_decay"]

    def update(self, p, g, state, step, group):
        xp = get_array_module(p)
        b1, b2 = group["betas"]
        wd = self.decay(p, group)
        if wd:
            g = g + wd * p
        t = state["scratch"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        plain = not wd and not group["amsgrad"] and group.get("bias_correction", True)
        kernel = _compiled_adam(p, g, m, v) if plain else None
        if kernel is not None:  # the same operations as below, in one pass
            root_bc2 = math.sqrt(1 - b2**step)
            dt = p.dtype.type
            kernel(p, g, m, v, dt(1 - b1), dt(b1), dt(1 - b2), dt(b2), dt(group["eps"] * root_bc2),
                   dt(group["lr"] * root_bc2 / (1 - b1**step)))
            return
        # Scale the new term before adding it: (v - g^2) b2 + g^2 would cost the same but lose
        # float32 precision when v is small next to g^2.
        xp.multiply(g, 1 - b1, out=t)
        m *= b1
        m += t
        xp.multiply(g, g, out=t)
        t *= 1 - b2
        v *= b2
        v += t
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            xp.maximum(vmax, v, out=vmax)
            v = vmax
        if not group.get("bias_correction", True):
            xp.sqrt(v, out=t)
            t += group["eps"]
            xp.divide(m, t, out=t)
            t *= group["lr"]
            p -= t
            return
        root_bc2 = math.sqrt(1 - b2**step)
        # lr/bc1 * m / (sqrt(v)/root_bc2 + eps)  ==  (lr root_bc2 / bc1) * m / (sqrt(v) + eps root_bc2)
        xp.sqrt(v, out=t)
        t += group["eps"] * root_bc2
        xp.divide(m, t, out=t)
        t *= group["lr"] * root_bc2 / (1 - b1**step)
        p -= t


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as torch.optim.AdamW:
    p <- p (1 - lr weight_decay) before the Adam step, instead of adding weight_decay * p to g."""

    def __init__(self, params: Any = None, lr: Any = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 bias_correction: bool = True, **kwargs: Any) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         bias_correction=bias_correction, **kwargs)

    def decay(self, p, group):
        if group["weight_decay"]:
            p *= 1 - group["lr"] * group["weight_decay"]
        return 0.0
