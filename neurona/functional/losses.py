"""Cost functions: cross-entropy (softmax and binary), quadratic (MSE), absolute (MAE), Huber.

``reduction`` is "mean" (the default), "sum" or "none" (one value per element, or
per position for cross-entropy), as in PyTorch.

Cross-entropy takes logits. When it is handed the output of a softmax (or sigmoid)
that was recorded in the graph, it reaches back to that op's input and uses the
stable fused form, so a model that ends in ``activation="softmax"`` never has the
softmax applied twice nor the log of an underflowed probability taken.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Function, Tensor, apply
from ..autograd.elementwise import Clip, Sigmoid
from ..backend import get_array_module, item
from .activations import Softmax

_REDUCTIONS = ("mean", "sum", "none")
_LOG_FLOOR = math.exp(-100.0)  # PyTorch clamps log(p) at -100 in binary cross-entropy


def _check_reduction(name: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be one of {_REDUCTIONS}. Received: reduction={reduction!r}")


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _array(x: Any, like: Any) -> Any:
    """A constant (target, weights) as an array on ``like``'s device."""
    x = x.data if isinstance(x, Tensor) else x
    return get_array_module(like).asarray(x)


class CrossEntropy(Function):
    """Softmax cross-entropy on logits x (..., C), fused and stable.

    loss_i = -sum_c a_ic log p_ic with p = softmax(x_i) and a the target weights
    (one-hot or probabilities, smoothed, times class weights). Writing
    log p_ic = z_ic - log sum_j e^{z_j} (z = x - max x) never takes the log of a
    probability. Gradient: dloss_i/dx_ic = p_ic * sum_c' a_ic' - a_ic, which for
    plain labels is p - onehot.
    """

    def __init__(self, weight, label_smoothing: float, reduction: str):
        self.weight, self.eps, self.reduction = weight, label_smoothing, reduction

    def forward(self, x, target):
        xp = get_array_module(x)
        C = x.shape[-1]
        self.shape = x.shape
        z = x.reshape(-1, C)
        z = z - z.max(axis=1, keepdims=True)
        e = xp.exp(z)
        s = e.sum(axis=1, keepdims=True)
        logs = xp.log(s)[:, 0]
        w, eps, M = self.weight, self.eps, z.shape[0]
        if target.dtype.kind in "iu":  # class labels
            t = target.reshape(-1)
            rows = xp.arange(M)
            nll = logs - z[rows, t]
            if w is None:
                losses = nll if eps == 0 else (1 - eps) * nll + eps * (logs - z.mean(axis=1))
                self.norm = M
            else:
                wt = w[t]
                losses = (1 - eps) * wt * nll
                if eps:
                    losses += (eps / C) * (logs * w.sum() - z @ w)
                self.norm = wt.sum()
                self.wt = wt
            self.t, self.rows = t, rows
        else:  # probabilities, one row per position
            q = target.reshape(-1, C)
            if eps:
                q = q * (1 - eps) + eps / C
            a = q * w if w is not None else q
            losses = logs * a.sum(axis=1) - (a * z).sum(axis=1)
            self.norm, self.a, self.t = M, a, None
        e /= s
        self.p = e
        if self.reduction == "none":
            return losses.reshape(self.shape[:-1])
        total = losses.sum()
        return total / self.norm if self.reduction == "mean" else total

    def backward(self, gy):
        p, w, eps = self.p, self.weight, self.eps
        C = p.shape[1]
        if self.reduction == "none":
            g = gy.reshape(-1, 1)
        else:
            g = gy / self.norm if self.reduction == "mean" else gy
        if self.t is None:
            a = self.a
            gx = p * a.sum(axis=1, keepdims=True)
            gx -= a
        elif w is None:
            gx = p - eps / C if eps else p.copy()
            gx[self.rows, self.t] -= 1 - eps
        else:
            wt = self.wt
            gx = p * ((1 - eps) * wt + (eps / C) * w.sum())[:, None]
            if eps:
                gx -= (eps / C) * w
            gx[self.rows, self.t] -= (1 - eps) * wt
        gx *= g
        return gx.reshape(self.shape), None


def _softmax_input(x: Any) -> Any:
    """The logits behind a recorded softmax over the last axis, else None."""
    fn = x.creator if isinstance(x, Tensor) else None
    if isinstance(fn, Softmax) and fn.axis in (-1, x.ndim - 1) and fn.inputs is not None:
        return fn.inputs[0]
    return None


def cross_entropy(input: Any, target: Any, weight: Any = None, label_smoothing: float = 0.0,  # noqa: A002
                  reduction: str = "mean", from_logits: bool = True) -> Tensor:
    """Softmax cross-entropy between logits (N, C) (or (N, ..., C), channels last) and a target.

    target: int class labels of shape (N,) (or (N, ...)), or probabilities / one-hot rows
    of shape (N, C). weight: per-class weights (C,). label_smoothing: mix the target with
    the uniform distribution by this amount. ``from_logits=False`` takes probabilities
    (a softmax output) instead. As ``torch.nn.functional.cross_entropy`` otherwise.

    >>> loss = F.cross_entropy(model(x), y)        # y: labels 0..C-1
    """
    _check_reduction("cross_entropy", reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1]. Received: {label_smoothing}")
    logits = _softmax_input(input)
    if logits is None:
        logits = input if from_logits else (input if isinstance(input, Tensor) else Tensor(input)).clip(1e-7, 1.0).log()
    x = logits.data if isinstance(logits, Tensor) else get_array_module(logits).asarray(logits)
    t = _array(target, x)
    C = x.shape[-1] if x.ndim else 0
    if x.ndim < 1 or C < 1:
        raise ValueError(f"cross_entropy: logits must have shape (N, C). Received: {x.shape}")
    if t.shape == x.shape and t.dtype.kind == "f":
        t = t.astype(x.dtype, copy=False)
    elif t.shape == x.shape[:-1]:
        if t.dtype.kind == "f":
            if not bool((t == get_array_module(t).round(t)).all()):
                raise ValueError("cross_entropy: float targets of shape (N,) must hold whole class numbers")
            t = t.astype(np.int64)
        elif t.dtype.kind not in "iu":
            raise TypeError(f"cross_entropy: labels must be integers. Received dtype {t.dtype}")
        low, high = (item(t.min()), item(t.max())) if t.size else (0, 0)  # one transfer from the device
        if low < 0 or high >= C:
            raise ValueError(
                f"cross_entropy: labels must be in [0, {C - 1}] for {C} classes. "
                f"Received labels from {low} to {high}"
            )
    else:
        raise ValueError(
            f"cross_entropy: target must be labels of shape {x.shape[:-1]} or probabilities of shape {x.shape}. "
            f"Received: {t.shape} (logits {x.shape})"
        )
    w = None
    if weight is not None:
        w = _array(weight, x).astype(x.dtype)
        if w.shape != (C,):
            raise ValueError(f"cross_entropy: weight must have shape ({C},). Received: {w.shape}")
    return apply(CrossEntropy(w, float(label_smoothing), reduction), logits, t)


class BinaryCrossEntropyWithLogits(Function):
    """loss = (1 - t) x + l * softplus(-x), l = 1 + (pos_weight - 1) t; stable for any x.

    Gradient: dloss/dx = l * sigmoid(x) - pos_weight * t (= sigmoid(x) - t without pos_weight).
    """

    def __init__(self, pos_weight):
        self.pos_weight = pos_weight

    def forward(self, x, t):
        xp = get_array_module(x)
        softplus_neg = xp.maximum(-x, 0) + xp.log1p(xp.exp(-abs(x)))
        self.s = 0.5 + 0.5 * xp.tanh(0.5 * x)
        self.t = t
        if self.pos_weight is None:
            return (1 - t) * x + softplus_neg
        self.l = 1 + (self.pos_weight - 1) * t
        return (1 - t) * x + self.l * softplus_neg

    def backward(self, gy):
        if self.pos_weight is None:
            return gy * (self.s - self.t), None
        return gy * (self.l * self.s - self.pos_weight * self.t), None


class BinaryCrossEntropy(Function):
    """loss = -(t log p + (1 - t) log(1 - p)), each log clamped at -100 as PyTorch does.

    Gradient: (p - t) / max(p (1 - p), 1e-12).
    """

    def forward(self, p, t):
        xp = get_array_module(p)
        self.p, self.t = p, t
        return -(t * xp.log(xp.maximum(p, _LOG_FLOOR)) + (1 - t) * xp.log(xp.maximum(1 - p, _LOG_FLOOR)))

    def backward(self, gy):
        xp = get_array_module(gy)
        p = self.p
        return gy * (p - self.t) / xp.maximum(p * (1 - p), 1e-12), None


def _binary_target(name: str, x: Any, target: Any) -> Any:
    t = _array(target, x)
    if t.shape != x.shape:
        raise ValueError(f"{name}: target must have the input's shape {x.shape}. Received: {t.shape}")
    return t.astype(x.dtype, copy=False)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None, pos_weight: Any = None,  # noqa: A002
                                     reduction: str = "mean") -> Tensor:
    """Sigmoid cross-entropy on logits, for binary and multi-label outputs (targets in [0, 1]).

    ``pos_weight`` (one per output) scales the positive term: > 1 favours recall.
    ``weight`` multiplies each element's loss. As PyTorch's function of the same name.
    """
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    x = input.data if isinstance(input, Tensor) else input
    t = _binary_target("binary_cross_entropy_with_logits", x, target)
    pw = None if pos_weight is None else _array(pos_weight, x).astype(x.dtype)
    losses = apply(BinaryCrossEntropyWithLogits(pw), input, t)
    if weight is not None:
        losses = losses * _array(weight, x).astype(x.dtype)
    return _reduce(losses, reduction)


def binary_cross_entropy(input: Any, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Cross-entropy between probabilities p in [0, 1] and targets t in [0, 1].

    When p is the output of a recorded sigmoid, the stable logits form is used instead.
    """
    _check_reduction("binary_cross_entropy", reduction)
    fn = input.creator if isinstance(input, Tensor) else None
    if isinstance(fn, Sigmoid) and fn.inputs is not None:
        return binary_cross_entropy_with_logits(fn.inputs[0], target, weight=weight, reduction=reduction)
    p = input.data if isinstance(input, Tensor) else input
    t = _binary_target("binary_cross_entropy", p, target)
    xp = get_array_module(p)
    if p.size and (bool((p < 0).any()) or bool((p > 1).any()) or bool(xp.isnan(p).any())):
        raise ValueError("binary_cross_entropy: inputs must be probabilities in [0, 1]; pass logits to "
                         "binary_cross_entropy_with_logits")
    losses = apply(BinaryCrossEntropy(), input, t)
    if weight is not None:
        losses = losses * _array(weight, p).astype(p.dtype)
    return _reduce(losses, reduction)


def _difference(name: str, pred: Any, target: Any) -> Tensor:
    pred = pred if isinstance(pred, Tensor) else Tensor(pred)
    t = _array(target, pred.data)
    if t.shape != pred.shape:
        raise ValueError(f"{name}: target must have the prediction's shape {pred.shape}. Received: {t.shape}")
    return pred - t.astype(pred.dtype, copy=False)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Quadratic cost: mean of (prediction - target)^2."""
    _check_reduction("mse_loss", reduction)
    d = _difference("mse_loss", input, target)
    return _reduce(d * d, reduction)


def l1_loss(input: Any, target: Any, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Absolute cost: mean of |prediction - target| (MAE)."""
    _check_reduction("l1_loss", reduction)
    return _reduce(_difference("l1_loss", input, target).abs(), reduction)


mae_loss = l1_loss


def huber_loss(input: Any, target: Any, delta: float = 1.0, reduction: str = "mean") -> Tensor:  # noqa: A002
    """Quadratic for small errors, linear for large: 0.5 d^2 if |d| <= delta else delta (|d| - delta/2)."""
    _check_reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive. Received: delta={delta}")
    a = _difference("huber_loss", input, target).abs()
    q = apply(Clip(None, delta), a)
    return _reduce(q * q * 0.5 + (a - q) * delta, reduction)


def nll_loss(input: Any, target: Any, weight: Any = None, ignore_index: int = -100,  # noqa: A002
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities (N, C) (or (N, ..., C), channels last) at int labels.

    loss_i = -w[t_i] * input[i, t_i]; "mean" divides the sum by sum_i w[t_i], as PyTorch.
    Labels equal to ``ignore_index`` count for nothing. Use after ``log_softmax``:
    ``F.nll_loss(F.log_softmax(z, dim=1), t) == F.cross_entropy(z, t)``.
    """
    _check_reduction("nll_loss", reduction)
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim < 2:
        raise ValueError(f"nll_loss: input must be log-probabilities of shape (N, C). Received: shape={x.shape}")
    xp = get_array_module(x.data)
    t = _array(target, x.data)
    C = x.shape[-1]
    if t.shape != x.shape[:-1] or t.dtype.kind not in "iu":
        raise ValueError(f"nll_loss: target must be int labels of shape {x.shape[:-1]}. "
                         f"Received: {t.dtype} array of shape {t.shape}")
    t = t.reshape(-1).astype(np.int64)
    keep = t != ignore_index
    labels = xp.where(keep, t, 0)
    low, high = (item(labels.min()), item(labels.max())) if labels.size else (0, 0)
    if low < 0 or high >= C:
        raise ValueError(f"nll_loss: labels must be in [0, {C - 1}] for {C} classes. "
                         f"Received labels from {low} to {high}")
    w = keep.astype(x.dtype)
    if weight is not None:
        wc = _array(weight, x.data).astype(x.dtype)
        if wc.shape != (C,):
            raise ValueError(f"nll_loss: weight must have shape ({C},). Received: {wc.shape}")
        w = w * wc[labels]
    picked = x.reshape(-1, C)[xp.arange(len(labels)), labels]
    losses = -picked * w
    if reduction == "none":
        return losses.reshape(x.shape[:-1])
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / w.sum()
