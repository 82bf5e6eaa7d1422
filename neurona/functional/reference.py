"""Reference twins of the fast ops: the same maths, written the way a textbook writes it.

Every function here is built only from autograd primitives (Tensor arithmetic, ``@``,
reshape, indexing, stack/concat, sum/mean/max, exp/log, tanh/sigmoid/relu): the
backward pass comes for free from the engine, and each function reads as its formula.
They are slow (many small ops, big intermediate arrays) and exist to be read and to
hold the fast ops honest: ``tests/test_reference_twins.py`` checks that each fast op
gives the same outputs and the same gradients as its twin here.

    fast op (what models run)           reference twin (what students read)
    F.conv2d                            conv2d: im2col with strided slices, then one matmul
    F.conv2d_transpose                  conv2d_transpose: zeros between pixels, then conv2d with the kernel flipped
    F.conv2d_relu_max_pool2d            conv2d_relu_max_pool2d: the three ops in a row
    F.max_pool2d / F.avg_pool2d         max_pool2d / avg_pool2d: the window's pixels stacked, then max / mean
    F.batch_norm                        batch_norm: mean, variance, normalise, scale and shift
    F.linear                            dense: act(x W + b)
    F.softmax / F.log_softmax           softmax / log_softmax
    F.cross_entropy                     cross_entropy: -mean(sum(t * log_softmax(x)))
    F.simple_rnn / F.lstm / F.gru       simple_rnn / lstm (lstm_step) / gru: one step at a time
    optim.Adam                          adam_step: the update on plain arrays

Layouts as everywhere in neurona: images channels-last (N, H, W, C), convolution
kernels (kh, kw, C_in, C_out), dense kernels (n_in, n_out), sequences (N, T, F).

>>> y = reference.conv2d(x, w, b, stride=2, padding="same")   # same numbers as F.conv2d, just slower
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Tensor, concat, stack
from ..backend import get_array_module


def _t(x: Any) -> Tensor:
    """A Tensor of the same dtype (constants are not upcast or downcast)."""
    return x if isinstance(x, Tensor) else Tensor(x, dtype=x.dtype)


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _act(y: Tensor, activation: str | None) -> Tensor:
    """The activations the fast ops fuse, as the primitive ops of the same name."""
    if activation in (None, "linear"):
        return y
    return {"relu": y.relu, "tanh": y.tanh, "sigmoid": y.sigmoid}[activation]()


# ---------------------------------------------------------------- padding and windows
def pads(padding: Any, size: tuple[int, int], k: tuple[int, int], stride: tuple[int, int]) -> tuple[int, ...]:
    """(top, bottom, left, right). "same" is TensorFlow's: output ceil(size / stride), odd pixel at the end."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        out = []
        for n, kk, s in zip(size, k, stride):
            total = max((-(-n // s) - 1) * s + kk - n, 0)
            out += [total // 2, total - total // 2]
        return tuple(out)
    ph, pw = _pair(padding)
    return ph, ph, pw, pw


def pad(x: Tensor, top: int, bottom: int, left: int, right: int, value: float = 0.0) -> Tensor:
    """x (N, H, W, C) with rows and columns of ``value`` around it (constant blocks joined by concat)."""
    xp = get_array_module(x.data)
    N, H, W, C = x.shape
    if top or bottom:
        x = concat([xp.full((N, top, W, C), value, x.dtype), x, xp.full((N, bottom, W, C), value, x.dtype)], axis=1)
    if left or right:
        H = x.shape[1]
        x = concat([xp.full((N, H, left, C), value, x.dtype), x, xp.full((N, H, right, C), value, x.dtype)], axis=2)
    return x


def windows(x: Tensor, k: tuple[int, int], stride: tuple[int, int], out_hw: tuple[int, int],
            dilation: tuple[int, int] = (1, 1)) -> Tensor:
    """The kh*kw pixels each output pixel sees: (N, Ho, Wo, kh*kw, C), tap (i, j) at index i*kw + j.

    Tap (i, j) of every window at once is one strided slice of the (padded) image:
    x[:, i*dh : i*dh + sh*Ho : sh, j*dw : j*dw + sw*Wo : sw, :].
    """
    (sh, sw), (dh, dw), (Ho, Wo) = stride, dilation, out_hw
    taps = [x[:, i * dh:i * dh + sh * (Ho - 1) + 1:sh, j * dw:j * dw + sw * (Wo - 1) + 1:sw, :]
            for i in range(k[0]) for j in range(k[1])]
    return stack(taps, axis=3)


# ---------------------------------------------------------------- convolution
def conv2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
           activation: str | None = None) -> Tensor:
    """y = act(im2col(x) @ W + b): the twin of ``F.conv2d`` (see functional/conv.py).

    y[n, p, q, o] = b[o] + sum_{i, j, c} x_pad[n, p*sh + i*dh, q*sw + j*dw, c] * w[i, j, c, o]

    im2col lays every output pixel's window out as one row of a patch matrix
    (N*Ho*Wo, kh*kw*C_in); the kernel flattened to (kh*kw*C_in, C_out) in the same order
    makes the whole convolution one matrix product.
    """
    x, w = _t(x), _t(w)
    N, H, W, C = x.shape
    kh, kw, _, O = w.shape
    stride, dilation = _pair(stride), _pair(dilation)
    k = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)  # the dilated kernel's extent
    top, bottom, left, right = pads(padding, (H, W), k, stride)
    x = pad(x, top, bottom, left, right)
    Ho = (H + top + bottom - k[0]) // stride[0] + 1
    Wo = (W + left + right - k[1]) // stride[1] + 1
    cols = windows(x, (kh, kw), stride, (Ho, Wo), dilation).reshape(N * Ho * Wo, kh * kw * C)
    y = cols @ w.reshape(kh * kw * C, O)
    if b is not None:
        y = y + b
    return _act(y.reshape(N, Ho, Wo, O), activation)


def conv2d_transpose(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0, output_padding: Any = None,
                     dilation: Any = 1, activation: str | None = None) -> Tensor:
    """The twin of ``F.conv2d_transpose``: the gradient of conv2d with respect to its input, as a convolution.

    Input pixel (i, j) adds x[n, i, j, :] @ w[a, b] to output pixel (i*s + a*d - top, j*s + b*d - left).
    The same sums as a plain convolution: put s - 1 zeros between the input's pixels,
    pad by the dilated kernel's extent minus one, and convolve with the kernel flipped
    in space (w[::-1, ::-1]); then crop ``top`` rows (``left`` columns)
    and keep the output size (padding int p as PyTorch, "same"/"valid" as Keras).
    """
    x, w = _t(x), _t(w)
    N, H, W, C = x.shape
    kh, kw, _, O = w.shape
    stride, dilation = _pair(stride), _pair(dilation)
    k = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    out_pad = (None, None) if output_padding is None else _pair(output_padding)
    pads_ = (padding, padding) if isinstance(padding, str) else _pair(padding)
    size, crop = zip(*(_transpose_size((H, W)[a], k[a], stride[a], pads_[a], out_pad[a]) for a in (0, 1)))
    xp = get_array_module(x.data)
    for axis, s, n in ((1, stride[0], H), (2, stride[1], W)):  # s - 1 zeros after every pixel but the last
        if s > 1:
            zeros = xp.zeros(x.shape, x.dtype)
            x = stack([x] + [zeros] * (s - 1), axis=axis + 1)               # (..., n, s, ...)
            x = x.reshape(*x.shape[:axis], n * s, *x.shape[axis + 2:])     # (..., n*s, ...)
            keep = [slice(None)] * 4
            keep[axis] = slice(0, (n - 1) * s + 1)
            x = x[tuple(keep)]
    full = conv2d(x, w[::-1, ::-1], None, 1, (k[0] - 1, k[1] - 1), dilation)  # every tap of every pixel
    extra = [max(crop[a] + size[a] - full.shape[1 + a], 0) for a in (0, 1)]  # output_padding beyond the last tap
    full = pad(full, 0, extra[0], 0, extra[1])
    y = full[:, crop[0]:crop[0] + size[0], crop[1]:crop[1] + size[1], :]
    if b is not None:
        y = y + b
    return _act(y, activation)


def _transpose_size(n: int, k: int, s: int, padding: Any, output_padding: int | None) -> tuple[int, int]:
    """(output size, rows cropped at the start) along one axis; k is the dilated kernel's extent."""
    if isinstance(padding, int):
        return (n - 1) * s + k - 2 * padding + (output_padding or 0), padding
    if output_padding is None:
        out = n * s + max(k - s, 0) if padding == "valid" else n * s
    else:
        out = (n - 1) * s + k - 2 * (k // 2 if padding == "same" else 0) + output_padding
    return out, (max((n - 1) * s + k - out, 0) // 2 if padding == "same" else 0)


# ---------------------------------------------------------------- pooling
def _pool(x: Any, pool_size: Any, stride: Any, padding: str, value: float) -> tuple[Tensor, tuple]:
    x = _t(x)
    k = _pair(pool_size)
    s = k if stride is None else _pair(stride)
    top, bottom, left, right = pads(padding, x.shape[1:3], k, s)
    Ho = (x.shape[1] + top + bottom - k[0]) // s[0] + 1
    Wo = (x.shape[2] + left + right - k[1]) // s[1] + 1
    return windows(pad(x, top, bottom, left, right, value), k, s, (Ho, Wo)), (k, s, (top, bottom, left, right))


def max_pool2d(x: Any, pool_size: Any, stride: Any = None, padding: str = "valid") -> Tensor:
    """y[n, p, q, c] = max over the window of x: the twin of ``F.max_pool2d`` (functional/pooling.py).

    The gradient goes to the window's maximum. "same" padding pads with -inf, which never wins.
    """
    win, _ = _pool(x, pool_size, stride, padding, -math.inf)
    return win.max(axis=3)


def avg_pool2d(x: Any, pool_size: Any, stride: Any = None, padding: str = "valid") -> Tensor:
    """y[n, p, q, c] = mean of x over the window's real pixels: the twin of ``F.avg_pool2d``.

    With "same" padding the divisor counts only the pixels inside the image (Keras's rule):
    the counts are the same window sums taken over an image of ones.
    """
    x = _t(x)
    win, (k, s, p) = _pool(x, pool_size, stride, padding, 0.0)
    xp = get_array_module(x.data)
    ones = Tensor(xp.ones((1,) + x.shape[1:3] + (1,), x.dtype), dtype=x.dtype)
    counts = windows(pad(ones, *p), k, s, win.shape[1:3]).sum(axis=3)
    return win.sum(axis=3) / counts.data


def conv2d_relu_max_pool2d(x: Any, w: Any, b: Any = None, stride: Any = 1, padding: Any = 0,
                           dilation: Any = 1) -> Tensor:
    """relu(max_pool2d(conv2d(x, w, b), 2)): the three ops in a row, twin of ``F.conv2d_relu_max_pool2d``.

    ReLU commutes with the maximum, so this equals max_pool2d(relu(conv2d(...)), 2), the
    layers Conv2D(activation="relu") + MaxPool2D(2) that a Sequential fuses (nn/fusion.py).
    """
    return max_pool2d(conv2d(x, w, b, stride, padding, dilation), 2).relu()


# ---------------------------------------------------------------- dense, normalisation, softmax
def dense(x: Any, W: Any, b: Any = None, activation: str | None = None) -> Tensor:
    """y = act(x W + b), W (n_in, n_out): the twin of ``F.linear``."""
    y = _t(x) @ W
    return _act(y if b is None else y + b, activation)


def batch_norm(x: Any, gamma: Any = None, beta: Any = None, running_mean: Any = None, running_var: Any = None,
               training: bool = True, momentum: float = 0.99, eps: float = 1e-3) -> Tensor:
    """y = gamma (x - mean) / sqrt(var + eps) + beta, per channel (the last axis): twin of ``F.batch_norm``.

    training: mean and (biased) var of the batch over every axis but the last; the running
    statistics (arrays) move towards them, running = momentum running + (1 - momentum) stat,
    with the unbiased variance (times M / (M - 1)). Inference: the running statistics.
    """
    x = _t(x)
    if training:
        axes = tuple(range(x.ndim - 1))
        mean = x.mean(axis=axes)
        var = ((x - mean) ** 2).mean(axis=axes)
        if running_mean is not None and running_var is not None:
            M = x.size // x.shape[-1]
            running_mean[...] = momentum * running_mean + (1 - momentum) * mean.data
            running_var[...] = momentum * running_var + (1 - momentum) * var.data * (M / max(M - 1, 1))
    else:
        mean, var = running_mean, running_var
    y = (x - mean) / (var + eps) ** 0.5
    if gamma is not None:
        y = y * gamma
    return y if beta is None else y + beta


def softmax(x: Any, axis: int = -1) -> Tensor:
    """softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m), m = max(x) (a shift that changes nothing but overflow)."""
    x = _t(x)
    e = (x - x.data.max(axis=axis, keepdims=True)).exp()
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """log_softmax(x)_i = (x_i - m) - log sum_j exp(x_j - m)."""
    x = _t(x)
    z = x - x.data.max(axis=axis, keepdims=True)
    return z - z.exp().sum(axis=axis, keepdims=True).log()


def cross_entropy(logits: Any, target: Any) -> Tensor:
    """L = -mean_n sum_c t[n, c] log_softmax(logits)[n, c]: the twin of ``F.cross_entropy``.

    target: int labels (N,) (made one-hot rows) or probabilities (N, C).
    """
    logits = _t(logits)
    xp = get_array_module(logits.data)
    t = xp.asarray(target.data if isinstance(target, Tensor) else target)
    if t.ndim == logits.ndim - 1:
        t = xp.eye(logits.shape[-1], dtype=logits.dtype)[t]
    return -(log_softmax(logits) * t.astype(logits.dtype)).sum(axis=-1).mean()


# ---------------------------------------------------------------- recurrent networks
def simple_rnn(x: Any, W: Any, U: Any, b: Any = None, h0: Any = None) -> tuple[Tensor, Tensor]:
    """h_t = tanh(x_t W + h_{t-1} U + b) for t = 1..T: the twin of ``F.simple_rnn``. Returns (all h (N, T, u), h_T)."""
    x = _t(x)
    h, hs = h0, []
    for t in range(x.shape[1]):
        z = x[:, t] @ W + (0 if h is None else h @ U)
        h = (z if b is None else z + b).tanh()
        hs.append(h)
    return stack(hs, axis=1), h


def lstm_step(x_t: Tensor, h: Any, c: Any, W: Any, U: Any, b: Any = None) -> tuple[Tensor, Tensor]:
    """One LSTM step, gates in Keras's order i, f, c, o, z = x_t W + h U + b split in four:

      i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);  g = tanh(z_c)
      c_t = f c_{t-1} + i g;   h_t = o tanh(c_t)
    """
    u = W.shape[1] // 4
    z = x_t @ W
    if h is not None:
        z = z + h @ U
    if b is not None:
        z = z + b
    i, f, g, o = z[:, :u].sigmoid(), z[:, u:2 * u].sigmoid(), z[:, 2 * u:3 * u].tanh(), z[:, 3 * u:].sigmoid()
    c = i * g if c is None else f * c + i * g
    return o * c.tanh(), c


def lstm(x: Any, W: Any, U: Any, b: Any = None, h0: Any = None, c0: Any = None) -> tuple[Tensor, Tensor, Tensor]:
    """``lstm_step`` over x (N, T, F): the twin of ``F.lstm``. Returns (all h (N, T, u), h_T, c_T)."""
    x = _t(x)
    h, c, hs = h0, c0, []
    for t in range(x.shape[1]):
        h, c = lstm_step(x[:, t], h, c, W, U, b)
        hs.append(h)
    return stack(hs, axis=1), h, c


def gru(x: Any, W: Any, U: Any, b: Any = None, h0: Any = None) -> tuple[Tensor, Tensor]:
    """GRU with the reset gate after the recurrent product (Keras's default, PyTorch's form), b = [b_x; b_h] (2, 3u):

      [a_z, a_r, a_h] = h_{t-1} U + b_h;   [x_z, x_r, x_h] = x_t W + b_x
      z = sigmoid(x_z + a_z);  r = sigmoid(x_r + a_r);  h~ = tanh(x_h + r a_h);  h_t = z h_{t-1} + (1 - z) h~
    The twin of ``F.gru``. Returns (all h (N, T, u), h_T).
    """
    x = _t(x)
    u = W.shape[1] // 3
    xp = get_array_module(x.data)
    h = h0 if h0 is not None else Tensor(xp.zeros((x.shape[0], u), x.dtype), dtype=x.dtype)
    hs = []
    for t in range(x.shape[1]):
        xz = x[:, t] @ W
        a = h @ U
        if b is not None:
            xz, a = xz + b[0], a + b[1]
        z = (xz[:, :u] + a[:, :u]).sigmoid()
        r = (xz[:, u:2 * u] + a[:, u:2 * u]).sigmoid()
        candidate = (xz[:, 2 * u:] + r * a[:, 2 * u:]).tanh()
        h = z * h + (1 - z) * candidate
        hs.append(h)
    return stack(hs, axis=1), h


# ---------------------------------------------------------------- Adam
def adam_step(p: Any, g: Any, m: Any, v: Any, t: int, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
              eps: float = 1e-8, weight_decay: float = 0.0) -> tuple[Any, Any, Any]:
    """One Adam update (Kingma & Ba, 2015) on plain arrays, step t = 1, 2, ...: the twin of ``optim.Adam``.

      g <- g + weight_decay p                   (L2, as torch.optim.Adam)
      m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
      m^ = m / (1 - b1^t);      v^ = v / (1 - b2^t)        (undo the bias of starting at zero)
      p <- p - lr m^ / (sqrt(v^) + eps)
    Returns the new (p, m, v); optim.Adam computes the same in place, rearranged to save passes.
    """
    b1, b2 = betas
    g = g + weight_decay * p
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    return p - lr * m_hat / (v_hat**0.5 + eps), m, v
