"""Normalisation ops: batch normalisation (over every axis but the last) and layer
normalisation (over the last axis), each with a fused backward.

Both standardise values, x_hat = (x - mean) / sqrt(var + eps), then rescale them with a
learned per-feature scale gamma and shift beta: y = gamma * x_hat + beta. They differ
in which values share a mean: batch norm pools a channel over the batch (and, for images
(N, H, W, C), over every position), layer norm pools the features of one sample.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function, Tensor, apply
from ..autograd.grad_mode import side_effect
from ..backend import get_array_module
from ..kernels.fused import batch_norm_input_grad, column_moments, column_sum, grad_sums, normalize


class BatchNorm(Function):
    """y = gamma * x_hat + beta, x_hat = (x - mean) / sqrt(var + eps), statistics of the batch.

    x (..., C): mean and (biased) var are taken per channel over every other axis, M values
    each (M = N for (N, C), N*H*W for (N, H, W, C)). gamma, beta (C,) or None.

    Backward, with sums over those M positions and sigma = sqrt(var + eps):
      g_beta  = sum(gy)
      g_gamma = sum(gy * x_hat)
      g_x     = gamma / sigma * (gy - g_beta / M - x_hat * g_gamma / M)
    (the last two terms are the gradient flowing through the batch mean and variance).
    Each direction is two passes over the data, named kernels in ``kernels.fused`` (one sweep for
    the per-channel sums, one for the elementwise map, each compiled on large arrays); the
    composed twin is ``neurona.functional.reference.batch_norm``.
    """

    def __init__(self, eps: float):
        self.eps = eps

    def forward(self, x, gamma=None, beta=None):
        xp = get_array_module(x)
        x2 = x.reshape(-1, x.shape[-1])
        mean, var = column_moments(x2)
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        scale = inv_std if gamma is None else gamma * inv_std
        y = normalize(x2, mean, scale, beta, out=xp.empty_like(x2))  # y = (x - mean) gamma / sigma + beta
        self.x2, self.inv_std, self.gamma, self.batch_mean, self.batch_var = x2, inv_std, gamma, mean, var
        self.count = x2.shape[0]
        return y.reshape(x.shape)

    def backward(self, gy):
        x2, mean, inv_std, M = self.x2, self.batch_mean, self.inv_std, self.count
        gy2 = gy.reshape(x2.shape)
        g_beta, g_xc = grad_sums(gy2, x2, mean)
        g_gamma = g_xc * inv_std  # sum(gy * x_hat), x_hat = (x - mean) / sigma
        gx = None
        if self.needs_input_grad[0]:
            slope, shift = g_gamma * inv_std * (-1.0 / M), g_beta * (1.0 / M)
            scale = inv_std if self.gamma is None else self.gamma * inv_std
            # (gy - g_beta / M - x_hat g_gamma / M) gamma / sigma
            gx = batch_norm_input_grad(gy2, x2, mean, slope, shift, scale, out=get_array_module(gy).empty_like(x2))
            gx = gx.reshape(gy.shape)
        needs = self.needs_input_grad
        return (gx, g_gamma if len(needs) > 1 and needs[1] else None,
                g_beta if len(needs) > 2 and needs[2] else None)


def _check_vector(op: str, what: str, v: Any, C: int, x_shape: tuple[int, ...]) -> None:
    if v is not None and tuple(v.shape) != (C,):
        raise ValueError(f"{op}: {what} must have shape ({C},), one value per feature of x {x_shape}. "
                         f"Received: {what}.shape={tuple(v.shape)}")


class _RunningUpdate:
    """running = momentum * running + (1 - momentum) * the statistic of the batch ``fn`` last normalised."""

    def __init__(self, fn: BatchNorm, running_mean: Any, running_var: Any, momentum: float) -> None:
        self.fn, self.running_mean, self.running_var, self.momentum = fn, running_mean, running_var, momentum

    def __call__(self) -> None:
        fn, momentum = self.fn, self.momentum
        M = fn.count
        unbiased = fn.batch_var * (M / (M - 1)) if M > 1 else fn.batch_var
        self.running_mean *= momentum
        self.running_mean += (1.0 - momentum) * fn.batch_mean
        self.running_var *= momentum
        self.running_var += (1.0 - momentum) * unbiased


def batch_norm(x: Any, gamma: Any = None, beta: Any = None, running_mean: Any = None, running_var: Any = None,
               training: bool = True, momentum: float = 0.99, eps: float = 1e-3) -> Tensor:
    """Batch normalisation over every axis but the last: x (N, C) after Dense, (N, H, W, C) after Conv2D.

    training=True: normalise with the batch's own mean and variance and, when running_mean
    and running_var (arrays (C,)) are given, update them in place, Keras's way:
        running = momentum * running + (1 - momentum) * batch statistic
    (PyTorch's ``momentum`` is 1 - this one). The running variance is updated with the
    unbiased batch variance (times M / (M - 1), as PyTorch does), the estimate of the
    population variance that inference should use. training=False: normalise with the
    running statistics (a fixed per-channel affine map).

    >>> y = F.batch_norm(x, gamma, beta, running_mean, running_var, training=True)
    """
    shape = tuple(x.shape)
    if len(shape) < 2:
        raise ValueError(f"batch_norm: expected x with at least 2 dimensions (N, ..., C). Received: shape={shape}")
    C = shape[-1]
    for what, v in (("gamma", gamma), ("beta", beta), ("running_mean", running_mean), ("running_var", running_var)):
        _check_vector("batch_norm", what, v, C, shape)
    if training:
        fn = BatchNorm(eps)
        y = apply(fn, x, gamma, beta)
        if running_mean is not None and running_var is not None:
            # a side effect: a traced training step (neurona.graphs) records it and runs it on every replay
            side_effect(_RunningUpdate(fn, running_mean, running_var, momentum), y)
        return y
    if running_mean is None or running_var is None:
        raise ValueError("batch_norm: training=False needs running_mean and running_var")
    # Inference is a per-channel affine map; composing it from primitives keeps gamma and beta
    # trainable through it (a frozen layer being fine-tuned around).
    xp = get_array_module(running_var)
    inv_std = 1.0 / xp.sqrt(running_var + eps)
    x = x if isinstance(x, Tensor) else Tensor(x)
    scale = inv_std if gamma is None else gamma * inv_std
    shift = -running_mean * scale
    if beta is not None:
        shift = shift + beta
    return x * scale + shift


class LayerNorm(Function):
    """y = gamma * x_hat + beta, x_hat = (x - mean) / sqrt(var + eps) over the last axis (D values).

    x (..., D); gamma, beta (D,) or None. Backward, per sample, with g = gy * gamma and
    means over the D features, sigma = sqrt(var + eps):
      g_x     = (g - mean(g) - x_hat * mean(g * x_hat)) / sigma
      g_gamma = sum over samples of gy * x_hat,  g_beta = sum over samples of gy
    (the row means of g and g * x_hat are products with gamma: no array g is formed).
    """

    def __init__(self, eps: float):
        self.eps = eps

    def forward(self, x, gamma=None, beta=None):
        xp = get_array_module(x)
        D = x.shape[-1]
        x2 = x.reshape(-1, D)
        ones = xp.ones(D, dtype=x.dtype)
        mean = (x2 @ ones) * (1.0 / D)
        xc = x2 - mean[:, None]
        y = xc * xc
        var = (y @ ones) * (1.0 / D)
        inv_std = (1.0 / xp.sqrt(var + self.eps))[:, None]
        xc *= inv_std  # xc now holds x_hat
        if gamma is not None:
            xp.multiply(xc, gamma, out=y)
        else:
            y[...] = xc
        if beta is not None:
            y += beta
        self.x_hat, self.inv_std, self.gamma = xc, inv_std, gamma
        return y.reshape(x.shape)

    def backward(self, gy):
        xp = get_array_module(gy)
        x_hat, gamma, D = self.x_hat, self.gamma, self.x_hat.shape[1]
        gy2 = gy.reshape(x_hat.shape)
        needs = self.needs_input_grad
        t = gy2 * x_hat
        g_gamma = column_sum(t) if len(needs) > 1 and needs[1] else None
        g_beta = column_sum(gy2) if len(needs) > 2 and needs[2] else None
        gx = None
        if needs[0]:
            w = xp.ones(D, dtype=gy.dtype) if gamma is None else gamma
            mean_g = (gy2 @ w) * (1.0 / D)  # row means of g = gy * gamma
            mean_gx = (t @ w) * (1.0 / D)  # row means of g * x_hat
            xp.multiply(x_hat, mean_gx[:, None], out=t)
            gx = gy2 * gamma if gamma is not None else gy2.copy()
            gx -= t
            gx -= mean_g[:, None]
            gx *= self.inv_std
            gx = gx.reshape(gy.shape)
        return gx, g_gamma, g_beta


def layer_norm(x: Any, gamma: Any = None, beta: Any = None, eps: float = 1e-3) -> Tensor:
    """Layer normalisation over the last axis: each sample's D features get mean 0 and variance 1,
    then y = gamma * x_hat + beta. x (..., D), gamma and beta (D,). The same in training and
    inference (no running statistics). eps defaults to Keras's 1e-3 (PyTorch's is 1e-5).

    >>> y = F.layer_norm(x, gamma, beta)
    """
    shape = tuple(x.shape)
    if len(shape) < 1:
        raise ValueError(f"layer_norm: expected x with at least 1 dimension (..., D). Received: shape={shape}")
    for what, v in (("gamma", gamma), ("beta", beta)):
        _check_vector("layer_norm", what, v, shape[-1], shape)
    return apply(LayerNorm(eps), x, gamma, beta)
