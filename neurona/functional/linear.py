"""The fully connected layer's op, fused: y = act(x @ W + b) with one backward."""

from __future__ import annotations

from typing import Any

from ..autograd import Function, Tensor, apply
from ..backend import get_array_module
from ..kernels.threads import parallel_matmul
from .activations import get_activation

# Sigmoid is left out on purpose: applied as its own op, it stays visible to binary cross-entropy,
# which then uses the stable logits form (see functional/losses.py).
FUSED_ACTIVATIONS = (None, "linear", "relu", "tanh")
# the size (multiply-adds) from which kernels.parallel_matmul splits a product over threads (its min_work)
THREADED_PRODUCT = 1 << 24


def activation_grad(act: str | None, y: Any, gy: Any) -> Any:
    """The gradient through a fused activation, from its output ``y`` (dense and its specialised twin share it)."""
    if act == "relu":
        return gy * (y > 0)
    if act == "sigmoid":
        return gy * y * (1 - y)
    if act == "tanh":
        return gy * (1 - y * y)
    return gy


class Linear(Function):
    """y = act(x @ W + b) for x (..., n_in), W (n_in, n_out), b (n_out,).

    Backward first takes the activation's derivative from the saved output y
    (relu: y > 0; sigmoid: y (1 - y); tanh: 1 - y^2), giving g = dL/d(xW + b); then
    gW = x^T g, gb = sum of g over the batch, gx = g W^T. Fusing saves the
    intermediate arrays and Python calls of three separate ops. Large products are split
    over neurona's threads (``kernels.parallel_matmul``); the twin composed of autograd
    ops is ``neurona.functional.reference.dense``.
    """

    def __init__(self, activation: str | None):
        self.activation = None if activation == "linear" else activation

    def forward(self, x, W, b=None):
        xp = get_array_module(x)
        self.x, self.W = x, W
        y = parallel_matmul(x, W) if x.ndim == 2 else x @ W
        if b is not None:
            y += b
        act = self.activation
        if act == "relu":
            xp.maximum(y, 0, out=y)
        elif act == "sigmoid":
            xp.tanh(y * 0.5, out=y)
            y *= 0.5
            y += 0.5
        elif act == "tanh":
            xp.tanh(y, out=y)
        self.y = y
        return y

    def backward(self, gy):
        g = activation_grad(self.activation, self.y, gy)
        x, W = self.x, self.W
        need_x, need_W = self.needs_input_grad[:2]
        need_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        if x.ndim > 2:  # (N, ..., n_in): the weight gradient sums over every leading axis
            x2, g2 = x.reshape(-1, x.shape[-1]), g.reshape(-1, g.shape[-1])
        else:
            x2, g2 = x, g
        gx = (parallel_matmul(g, W.T) if g.ndim == 2 else g @ W.T) if need_x else None
        # the engine's inputs (the parameters' Tensors); none when a traced graph replays this backward
        inputs = getattr(self, "inputs", None) or (None, None, None)
        gW = gb = None
        if need_W:
            slot = _grad_slot(inputs[1], W.shape, g2.dtype)
            if slot is not None and x2.shape[0] * W.size < THREADED_PRODUCT:
                gW = get_array_module(g).matmul(x2.T, g2, out=slot)  # parallel_matmul's one BLAS call
            else:
                gW = parallel_matmul(x2.T, g2)
        if need_b:
            gb = g2.sum(axis=0, out=_grad_slot(inputs[2], (g2.shape[1],), g2.dtype))
        return gx, gW, gb


def _grad_slot(t: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """Where backward may write the gradient of parameter ``t`` directly: its slot in the optimizer's
    flat gradient buffer, when ``t`` is a leaf with no gradient yet (the engine would copy the new
    one into that slot; written there, the copy is skipped). Else None (a new array)."""
    if not isinstance(t, Tensor) or t.creator is not None or t.grad is not None:
        return None
    view = t._grad_view
    if view is None or view.shape != shape or view.dtype != dtype:
        return None
    return view


def linear(x: Any, W: Any, b: Any = None, activation: str | None = None) -> Tensor:
    """Fully connected transform act(x @ W + b), W of shape (n_in, n_out) (Keras's kernel layout).

    relu and tanh are fused into the op; any other activation is applied after it.

    >>> y = F.linear(x, W, b, activation="relu")
    """
    x_shape = x.shape
    w_shape = W.shape
    if len(w_shape) != 2 or x_shape[-1] != w_shape[0]:
        raise ValueError(
            f"linear: x's last axis must match W's first. Received: x {tuple(x_shape)}, W {tuple(w_shape)}"
        )
    if activation in FUSED_ACTIVATIONS:
        args = (x, W) if b is None else (x, W, b)
        return apply(Linear(activation), *args)
    y = apply(Linear(None), *((x, W) if b is None else (x, W, b)))
    return get_activation(activation)(y)
