"""Activation functions: the course's (step, sign, linear, saturated linear, sigmoid, tanh,
gaussian, ReLU, softmax) and the modern ones users expect (leaky ReLU, ELU, SELU, GELU,
softplus, swish).

Each is usable as ``F.name(x)``, by name on a layer (``activation="relu"``) and as
``nn.Activation(name)``; ``get_activation`` does the look-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..autograd import Function, Tensor, apply
from ..autograd.elementwise import Clip, ReLU, Sigmoid, Tanh
from ..backend import erf, get_array_module


def relu(x: Any) -> Tensor:
    """max(x, 0): the rectified linear unit."""
    return apply(ReLU(), x)


def _remember_input(fn: Function, x: Any, y: Tensor) -> Tensor:
    """Keep the link from y back to fn and x even when nothing was recorded (under no_grad).

    A cross-entropy given a softmax's (or a sigmoid's) output uses that link to reach
    the logits and compute the stable fused form, with or without gradients, so the
    loss has the same value in training and in evaluation. The link carries no
    gradient: y.requires_grad stays False.
    """
    if y.creator is None:
        fn.inputs = (x,)
        fn.needs_input_grad = [False]
        fn.generation = 0
        fn.n_outputs = 1
        fn.grads = fn.retained = None
        y.creator = fn
    return y


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + e^-x), the logistic function (stable for any x)."""
    fn = Sigmoid()
    return _remember_input(fn, x, apply(fn, x))


logistic = sigmoid


def tanh(x: Any) -> Tensor:
    """Hyperbolic tangent, a sigmoid rescaled to (-1, 1)."""
    return apply(Tanh(), x)


def linear(x: Any) -> Tensor:
    """The identity: a neuron with a linear activation outputs its weighted sum."""
    return x if isinstance(x, Tensor) else Tensor(x)


class _Threshold(Function):
    """Step-like functions: flat almost everywhere, so the gradient is 0 (they exist for the perceptron)."""

    def __init__(self, low: float):
        self.low = low

    def forward(self, x):
        xp = get_array_module(x)
        return xp.where(x >= 0, 1, self.low).astype(x.dtype)

    def backward(self, gy):
        return get_array_module(gy).zeros_like(gy)


def step(x: Any) -> Tensor:
    """Heaviside step: 1 where x >= 0, else 0. Its gradient is 0 almost everywhere, so gradient
    descent cannot train it: use it for the perceptron and its learning rule, not for backprop."""
    return apply(_Threshold(0.0), x)


heaviside = step


def sign(x: Any) -> Tensor:
    """Bipolar step: +1 where x >= 0, else -1. Zero gradient almost everywhere, like ``step``."""
    return apply(_Threshold(-1.0), x)


def saturated_linear(x: Any) -> Tensor:
    """Linear between 0 and 1, flat outside: min(max(x, 0), 1) (MATLAB's satlin)."""
    return apply(Clip(0.0, 1.0), x)


def hard_tanh(x: Any) -> Tensor:
    """Symmetric saturated linear: min(max(x, -1), 1) (MATLAB's satlins)."""
    return apply(Clip(-1.0, 1.0), x)


def gaussian(x: Any) -> Tensor:
    """exp(-x^2): a bump centred at 0, as in radial-basis units."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    return (-(x * x)).exp()


class LeakyReLU(Function):
    """y = x if x > 0 else a x;  dy/dx = 1 or a."""

    def __init__(self, alpha: float):
        self.alpha = alpha

    def forward(self, x):
        self.pos = x > 0
        return get_array_module(x).where(self.pos, x, x * self.alpha)

    def backward(self, gy):
        return get_array_module(gy).where(self.pos, gy, gy * self.alpha)


def leaky_relu(x: Any, alpha: float = 0.01) -> Tensor:
    """x for x > 0, alpha * x otherwise (PyTorch's default slope 0.01)."""
    return apply(LeakyReLU(alpha), x)


class ELU(Function):
    """y = x if x > 0 else a (e^x - 1);  dy/dx = 1 or y + a. ``scale`` multiplies both (SELU)."""

    def __init__(self, alpha: float, scale: float = 1.0):
        self.alpha, self.scale = alpha, scale

    def forward(self, x):
        xp = get_array_module(x)
        self.pos = x > 0
        self.neg = self.alpha * xp.expm1(xp.minimum(x, 0))
        y = xp.where(self.pos, x, self.neg)
        return y * self.scale if self.scale != 1.0 else y

    def backward(self, gy):
        xp = get_array_module(gy)
        return gy * (xp.where(self.pos, 1, self.neg + self.alpha) * self.scale).astype(gy.dtype, copy=False)


def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: x for x > 0, alpha (e^x - 1) otherwise."""
    return apply(ELU(alpha), x)


_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def selu(x: Any) -> Tensor:
    """Scaled ELU with the self-normalising constants of Klambauer et al. (2017)."""
    return apply(ELU(_SELU_ALPHA, _SELU_SCALE), x)


class GELU(Function):
    """y = x Phi(x) with Phi the standard normal CDF;  dy/dx = Phi(x) + x phi(x)."""

    def forward(self, x):
        self.x = x
        self.cdf = 0.5 * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
        return x * self.cdf

    def backward(self, gy):
        xp = get_array_module(gy)
        x = self.x
        pdf = xp.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
        return gy * (self.cdf + x * pdf)


def gelu(x: Any) -> Tensor:
    """Gaussian error linear unit (exact form, as PyTorch's default)."""
    return apply(GELU(), x)


class Softplus(Function):
    """y = ln(1 + e^x), computed as max(x, 0) + ln(1 + e^-|x|);  dy/dx = sigmoid(x)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-abs(x)))

    def backward(self, gy):
        xp = get_array_module(gy)
        return gy * (0.5 + 0.5 * xp.tanh(0.5 * self.x))


def softplus(x: Any) -> Tensor:
    """A smooth ReLU: ln(1 + e^x)."""
    return apply(Softplus(), x)


class Swish(Function):
    """y = x sigmoid(x);  dy/dx = s + x s (1 - s) with s = sigmoid(x)."""

    def forward(self, x):
        xp = get_array_module(x)
        self.x = x
        self.s = 0.5 + 0.5 * xp.tanh(0.5 * x)
        return x * self.s

    def backward(self, gy):
        s = self.s
        return gy * (s + self.x * s * (1 - s))


def swish(x: Any) -> Tensor:
    """x * sigmoid(x) (also called SiLU)."""
    return apply(Swish(), x)


silu = swish


class Softmax(Function):
    """y_i = e^{x_i} / sum_j e^{x_j} along ``axis``;  gx = y * (gy - sum(gy * y)).

    The maximum is subtracted first, so no exponential overflows.
    """

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        y = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        y /= y.sum(axis=self.axis, keepdims=True)
        self.y = y
        return y

    def backward(self, gy):
        y = self.y
        gx = y * gy
        gx -= y * gx.sum(axis=self.axis, keepdims=True)
        return gx


def softmax(x: Any, axis: int = -1, dim: int | None = None) -> Tensor:
    """Normalised exponentials along ``axis`` (or ``dim``, PyTorch's name): non-negative, summing to 1."""
    fn = Softmax(axis if dim is None else dim)
    return _remember_input(fn, x, apply(fn, x))


class LogSoftmax(Function):
    """y = x - logsumexp(x) along ``axis``;  gx = gy - softmax(x) * sum(gy)."""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        xp = get_array_module(x)
        z = x - x.max(axis=self.axis, keepdims=True)
        y = z - xp.log(xp.exp(z).sum(axis=self.axis, keepdims=True))
        self.y = y
        return y

    def backward(self, gy):
        xp = get_array_module(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


def log_softmax(x: Any, axis: int = -1, dim: int | None = None) -> Tensor:
    """log(softmax(x)) along ``axis`` (or ``dim``, PyTorch's name), computed stably (never log of an underflowed 0)."""
    return apply(LogSoftmax(axis if dim is None else dim), x)


ACTIVATIONS: dict[str, Callable[[Any], Tensor]] = {
    "linear": linear,
    "identity": linear,
    "step": step,
    "heaviside": step,
    "sign": sign,
    "saturated_linear": saturated_linear,
    "satlin": saturated_linear,
    "hard_tanh": hard_tanh,
    "satlins": hard_tanh,
    "sigmoid": sigmoid,
    "logistic": sigmoid,
    "tanh": tanh,
    "gaussian": gaussian,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "softplus": softplus,
    "swish": swish,
    "silu": swish,
    "softmax": softmax,
    "log_softmax": log_softmax,
}


def get_activation(activation: str | Callable | None) -> Callable[[Any], Tensor] | None:
    """Look up an activation by name (None and "linear" mean the identity); callables pass through."""
    if activation is None or callable(activation):
        return activation
    if not isinstance(activation, str) or activation.lower() not in ACTIVATIONS:
        raise ValueError(f"unknown activation. Expected one of {sorted(ACTIVATIONS)}. "
                         f"Received: activation={activation!r}")
    return ACTIVATIONS[activation.lower()]
