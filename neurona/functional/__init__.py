"""Differentiable ops as functions: ``from neurona import functional as F``.

Images are channels-last ``(N, H, W, C)`` and convolution kernels ``(kh, kw, C_in, C_out)``.
"""

from . import reference  # noqa: F401 (the plain twins of the fast ops: F.reference.conv2d, ...)
from .activations import (
    ACTIVATIONS,
    elu,
    gaussian,
    gelu,
    get_activation,
    hard_tanh,
    heaviside,
    leaky_relu,
    log_softmax,
    logistic,
    relu,
    saturated_linear,
    selu,
    sigmoid,
    sign,
    silu,
    softmax,
    softplus,
    step,
    swish,
    tanh,
)
from .activations import (
    linear as identity,
)
from .conv import conv2d, conv2d_transpose
from .conv_pool import conv2d_relu_max_pool2d
from .dropout import dropout, gaussian_noise
from .linear import linear
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mae_loss,
    mse_loss,
    nll_loss,
)
from .math import (
    abs,
    add,
    broadcast_to,
    clip,
    concat,
    div,
    exp,
    flatten,
    log,
    logsumexp,
    matmul,
    max,
    maximum,
    mean,
    min,
    mul,
    neg,
    pow,
    reshape,
    sqrt,
    stack,
    sub,
    sum,
    transpose,
)
from .normalization import batch_norm, layer_norm
from .pooling import avg_pool2d, global_avg_pool2d, global_max_pool2d, max_pool2d, upsample2d
from .recurrent import gru, lstm, simple_rnn

__all__ = [
    "ACTIVATIONS", "abs", "add", "avg_pool2d", "batch_norm", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "broadcast_to", "clip", "concat", "conv2d", "conv2d_relu_max_pool2d",
    "conv2d_transpose", "cross_entropy", "div", "dropout", "elu", "exp", "flatten", "gaussian", "gaussian_noise",
    "gelu", "get_activation", "global_avg_pool2d", "global_max_pool2d", "gru", "hard_tanh", "heaviside",
    "huber_loss", "identity", "l1_loss", "layer_norm", "leaky_relu", "linear", "log", "log_softmax", "logistic",
    "logsumexp", "lstm", "mae_loss", "matmul", "max", "max_pool2d", "maximum", "mean", "min", "mse_loss", "mul",
    "nll_loss",
    "neg", "pow", "relu", "reshape", "saturated_linear", "selu", "sigmoid", "sign", "silu", "simple_rnn", "softmax",
    "softplus", "sqrt", "stack", "step", "sub", "sum", "swish", "tanh", "transpose", "upsample2d",
]
