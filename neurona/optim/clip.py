"""Gradient clipping, torch style: ``clip_grad_norm_`` and ``clip_grad_value_`` between backward and step.

    loss.backward()
    optim.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()

Clipping bounds the size of a step when a batch produces a huge gradient (exploding
gradients in recurrent networks, an unlucky batch early in training), without
changing the direction of the step (norm clipping) or only its outliers (value clipping).
The Keras spellings are options of every optimizer instead: ``clipvalue=``,
``clipnorm=`` (per parameter) and ``global_clipnorm=`` (over all parameters).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor


def _grads(parameters: Tensor | Iterable[Tensor], where: str) -> list[Any]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: expected Tensors (e.g. model.parameters()). Received: {type(p).__name__}")
    return [p.grad for p in params if p.grad is not None and p.grad.size]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Any:
    """Scale all gradients together, in place, so that their joint norm is at most ``max_norm``.

    total = || (||g_1||_q, ..., ||g_n||_q) ||_q   (q = norm_type; ``float("inf")``: the largest |g|)
    g_i <- g_i * min(1, max_norm / (total + 1e-6))

    As torch.nn.utils.clip_grad_norm_: parameters without a gradient are ignored, and the
    total norm before clipping is returned, here as a NumPy scalar of the gradients' dtype
    (``float(norm)``, ``norm.item()`` and f-strings work as on torch's 0-d tensor), e.g.
    ``norm = clip_grad_norm_(model.parameters(), max_norm=1.0)`` between backward and step.
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if max_norm < 0 or not norm_type > 0:
        raise ValueError("clip_grad_norm_: expected max_norm >= 0 and norm_type > 0 (or float('inf')). "
                         f"Received: max_norm={max_norm}, norm_type={norm_type}")
    grads = _grads(parameters, "clip_grad_norm_")
    if not grads:
        return np.float32(0.0)
    xp = backend.get_array_module(grads[0])
    if math.isinf(norm_type):
        norms = [xp.abs(g).max() for g in grads]
        total = xp.stack([xp.asarray(n) for n in norms]).max()
    elif norm_type == 2.0:
        # a BLAS dot per gradient: no temporary array of squares
        norms = [xp.sqrt(xp.vdot(g.ravel(), g.ravel())) for g in grads]
        stacked = xp.stack([xp.asarray(n) for n in norms])
        total = xp.sqrt(xp.vdot(stacked, stacked))
    else:
        norms = [(xp.abs(g) ** norm_type).sum() ** (1.0 / norm_type) for g in grads]
        total = (xp.stack([xp.asarray(n) for n in norms]) ** norm_type).sum() ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
                           f"{float(total)}, so they cannot be clipped. Pass error_if_nonfinite=False to clip anyway")
    coef = xp.minimum(max_norm / (total + 1e-6), 1.0).astype(total.dtype)  # in the gradients' dtype
    for g in grads:
        g *= coef
    return backend.to_numpy(total)[()]


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clip every gradient element, in place, into [-clip_value, clip_value] (as torch.nn.utils)."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0. Received: clip_value={clip_value}")
    for g in _grads(parameters, "clip_grad_value_"):
        backend.get_array_module(g).clip(g, -clip_value, clip_value, out=g)
