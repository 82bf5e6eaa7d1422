"""``RepeatVector``: a vector repeated along a new time axis, (N, F) -> (N, n, F) (Keras's seq2seq glue)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor, stack
from .core import check_input
from .module import Module


class RepeatVector(Module):
    """Repeat each input vector ``n`` times: (N, F) -> (N, n, F); the gradient sums over the copies.

    >>> nn.RepeatVector(4)   # an encoder's (N, 128) state fed to a decoder LSTM for 4 steps
    """

    def __init__(self, n: int, name: str | None = None, input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"RepeatVector layer '{self.name}': n must be a positive integer. Received: n={n!r}")
        self.n = n

    def forward(self, x: Any) -> Tensor:
        if len(x.shape) != 2:
            check_input(self, x, ndim=2, what="(N, F): one vector per sample")
        x = x if isinstance(x, Tensor) else Tensor(x)
        return stack([x] * self.n, axis=1)

    def get_config(self) -> dict[str, Any]:
        return {"n": self.n, "name": self.name}


__all__ = ["RepeatVector"]
