"""Layer wrappers: ``TimeDistributed`` (one layer on every time step) and ``Bidirectional`` (a recurrent
layer run forwards and backwards, its two outputs merged)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor, concat
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


MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Module):
    """Run a recurrent ``layer`` over the sequence forwards and a copy of it backwards, and merge.

    The backward copy (``backward_layer``, or ``layer``'s configuration with ``go_backwards``
    flipped and its own weights) reads the steps last to first; with ``return_sequences`` its
    outputs are put back in the input's time order before merging, as Keras (and PyTorch's
    ``bidirectional=True``) do. merge_mode: "concat" (last axis: 2 * units), "sum", "mul", "ave",
    or None (a list [forward, backward]).

    >>> nn.Bidirectional(nn.LSTM(64, return_sequences=True))   # (N, T, F) -> (N, T, 128)
    """

    def __init__(self, layer: Module | dict[str, Any], merge_mode: str | None = "concat",
                 backward_layer: Module | dict[str, Any] | None = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        where = f"Bidirectional layer '{self.name}'"
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"{where}: merge_mode must be one of {list(MERGE_MODES)}. Received: "
                             f"merge_mode={merge_mode!r}")
        layer = deserialize_layer(layer) if isinstance(layer, dict) else layer
        if isinstance(backward_layer, dict):
            backward_layer = deserialize_layer(backward_layer)
        for what, part in (("layer", layer), ("backward_layer", backward_layer)):
            if part is not None and not hasattr(part, "go_backwards"):
                raise TypeError(f"{where}: {what} must be a recurrent layer (SimpleRNN, LSTM, GRU). "
                                f"Received: {type(part).__name__}")
            if part is not None and part.return_state:
                raise ValueError(f"{where}: return_state=True is not supported inside Bidirectional")
        if backward_layer is None:
            config = {**layer.get_config(), "go_backwards": not layer.go_backwards, "name": f"backward_{layer.name}"}
            backward_layer = type(layer).from_config(config)
        if backward_layer.return_sequences != layer.return_sequences:
            raise ValueError(f"{where}: layer and backward_layer must agree on return_sequences. Received: "
                             f"{layer.return_sequences} and {backward_layer.return_sequences}")
        self.merge_mode = merge_mode
        self.forward_layer, self.backward_layer = layer, backward_layer

    def forward(self, x: Any) -> Any:
        a, b = self.forward_layer(x), self.backward_layer(x)
        if self.backward_layer.return_sequences:
            b = b[:, ::-1]  # back to the input's time order
        if self.merge_mode == "concat":
            return concat([a, b], axis=-1)
        if self.merge_mode == "sum":
            return a + b
        if self.merge_mode == "mul":
            return a * b
        if self.merge_mode == "ave":
            return (a + b) * 0.5
        return [a, b]

    def get_config(self) -> dict[str, Any]:
        return {"layer": serialize_layer(self.forward_layer), "merge_mode": self.merge_mode,
                "backward_layer": serialize_layer(self.backward_layer), "name": self.name}


__all__ = ["Bidirectional", "TimeDistributed"]
