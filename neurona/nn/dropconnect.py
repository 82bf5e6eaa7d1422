"""DropConnect: dropout of connections (weights) instead of units (Wan et al., 2013).

The dropout lecture's picture: each training step removes some of the *connections*
of a fully connected layer, not whole units. With a mask M of the kernel's shape,
M_ij ~ Bernoulli(1 - rate), drawn anew at every training step,

    y = activation(x @ (W * M / (1 - rate)) + b)

The 1/(1 - rate) scaling is that of inverted dropout: each weight's expected value is
unchanged, so evaluation uses the full weights W as they are. The bias is not dropped.
Gradients: gW = (x^T @ gz) * M / (1 - rate), gx = gz @ (W * M / (1 - rate))^T, where gz is
the gradient at the pre-activation; only the kept connections learn in a step.
"""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..autograd import Tensor
from ..backend import get_array_module, rng
from .core import Dense, check_input


def drop_connect(x: Any, kernel: Tensor, bias: Tensor | None, mask: Any, rate: float,
                 activation: Any = None) -> Tensor:
    """activation(x @ (kernel * mask / (1 - rate)) + bias) for a given 0/1 ``mask`` of the kernel's shape.

    The gradient reaches x, kernel and bias through the product (autograd composes it).
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"drop_connect: rate must be in [0, 1). Received: rate={rate}")
    kernel = kernel if isinstance(kernel, Tensor) else Tensor(kernel)
    m = mask.data if isinstance(mask, Tensor) else mask
    xp = get_array_module(kernel.data)
    m = xp.asarray(m)
    if m.shape != kernel.shape:
        raise ValueError(f"drop_connect: the mask must have the kernel's shape {kernel.shape}. Received: {m.shape}")
    scaled = m.astype(kernel.dtype) * kernel.dtype.type(1.0 / (1.0 - rate))
    return F.linear(x, kernel * scaled, bias, activation)


class DropConnect(Dense):
    """A Dense layer that drops each connection with probability ``rate`` while training.

    training: y = activation(x @ (W * M / (1 - rate)) + b), a new mask M ~ Bernoulli(1 - rate)
    of W's shape at every call (one mask for the whole batch); evaluation: the full W.
    The last training mask is kept in ``last_mask`` (for inspection and tests).

    >>> layer = nn.DropConnect(64, rate=0.5, activation="relu")
    """

    def __init__(self, units: int, rate: float = 0.5, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer, name=name,
                         input_shape=input_shape)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            raise ValueError(f"DropConnect: rate must be a number in [0, 1). Received: rate={rate!r}")
        self.rate = float(rate)
        self.last_mask = None

    def forward(self, x: Any) -> Tensor:
        if not self.training or self.rate == 0.0:
            return super().forward(x)
        n_in = self.kernel.shape[0]
        if x.shape[-1] != n_in:
            check_input(self, x, last=n_in)
        xp = get_array_module(self.kernel.data)
        mask = rng(xp).random(self.kernel.shape, dtype=self.kernel.dtype) >= self.rate
        self.last_mask = mask
        return drop_connect(x, self.kernel, self.bias, mask, self.rate, self.activation)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}

    def extra_repr(self) -> str:
        return f"{self.units}, rate={self.rate}, activation={self.activation!r}"
