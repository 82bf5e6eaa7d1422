"""``TimeDistributed``: one layer applied to every time step of a sequence, (N, T, ...) -> (N, T, ...)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from .core import check_input
from .module import Module, deserialize_layer, serialize_layer


class TimeDistributed(Module):
    """Apply ``layer`` to each of the T slices of x (N, T, *rest), sharing its weights across steps.

    The steps are folded into the batch, (N*T, *rest), run through the layer at once, and unfolded:
    (N, T, *layer_output_rest). ``Dense`` alone already acts on the last axis of (N, T, F).

    >>> nn.TimeDistributed(nn.Conv2D(8, 3))   # (N, T, 28, 28, 1) -> (N, T, 26, 26, 8): a clip's frames
    """

    def __init__(self, layer: Module | dict[str, Any], name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(layer, dict):  # from get_config (loading a saved model)
            layer = deserialize_layer(layer)
        if not isinstance(layer, Module):
            raise TypeError(f"TimeDistributed layer '{self.name}': expected a layer to wrap. "
                            f"Received: {type(layer).__name__}")
        self.layer = layer

    def forward(self, x: Any) -> Tensor:
        if len(x.shape) < 3:
            check_input(self, x, ndim=3, what="(N, T, ...): at least a batch and a time axis")
        x = x if isinstance(x, Tensor) else Tensor(x)
        n, t = x.shape[:2]
        y = self.layer(x.reshape(n * t, *x.shape[2:]))
        return y.reshape(n, t, *y.shape[1:])

    def get_config(self) -> dict[str, Any]:
        return {"layer": serialize_layer(self.layer), "name": self.name}


__all__ = ["TimeDistributed"]
