"""Recurrent layers on sequences (N, T, features), Keras's layers and weight layout: SimpleRNN, LSTM, GRU.

Each layer owns ``kernel`` (features, k*units), ``recurrent_kernel`` (units, k*units) and
``bias``, with the k gates side by side in Keras's order, and runs one fused op over the
whole sequence (``neurona.functional.recurrent``).

``dropout`` and ``recurrent_dropout`` are Keras's: while training, one mask per sequence
for the inputs (N, features) and one for the recurrent state (N, units), drawn at each
call and reused at every time step (Gal & Ghahramani, 2016), scaled by 1/(1 - rate):
x_t -> x_t * m_x, and h_{t-1} -> h_{t-1} * m_h where it enters the recurrent product.
Evaluation uses no masks.
"""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..backend import get_array_module, rng
from ..functional.recurrent import cell_activation, gru, lstm, simple_rnn
from .core import _serial, check_input
from .initializers import get_initializer, serialize_initializer
from .module import Module
from .regularizers import serialize_regularizer


class _RNN(Module):
    """Shared constructor, weights, state handling and outputs. Subclasses set ``gates`` and ``_run``."""

    gates = 1
    n_states = 1

    def __init__(self, units: int, activation: Any, recurrent_activation: Any, use_bias: bool,
                 return_sequences: bool, return_state: bool, go_backwards: bool, kernel_initializer: Any,
                 recurrent_initializer: Any, bias_initializer: Any, kernel_regularizer: Any,
                 recurrent_regularizer: Any, bias_regularizer: Any, name: str | None,
                 input_shape: tuple[int, ...] | None, dropout: float = 0.0, recurrent_dropout: float = 0.0) -> None:
        super().__init__(name=name, input_shape=input_shape)
        for what, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
                raise ValueError(f"{type(self).__name__}: {what} must be a number in [0, 1). "
                                 f"Received: {what}={rate!r}")
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.last_masks: tuple[Any, Any] = (None, None)  # the (input, recurrent) masks of the last training call
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(f"{type(self).__name__}: units must be a positive integer. Received: units={units!r}")
        self.units = units
        self.activation = cell_activation(activation)
        self.recurrent_activation = cell_activation(recurrent_activation, "recurrent_activation")
        self.use_bias = bool(use_bias)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.kernel_initializer, self.recurrent_initializer = kernel_initializer, recurrent_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer, self.recurrent_regularizer = kernel_regularizer, recurrent_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel = self.recurrent_kernel = self.bias = None

    def _bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} layer '{self.name}': expected input with 3 dimensions "
                             f"(batch, time steps, features). Received: shape={tuple(input_shape)}")
        k, u = self.gates, self.units
        self.add_weight("kernel", (input_shape[-1], k * u), self.kernel_initializer, self.kernel_regularizer)
        self.add_weight("recurrent_kernel", (u, k * u), self.recurrent_initializer, self.recurrent_regularizer)
        if self.use_bias:
            self.add_weight("bias", self._bias_shape(), self.bias_initializer, self.bias_regularizer)

    def _states(self, initial_state: Any, batch: int) -> list[Any]:
        """The initial state(s) as a list of n_states (N, units) tensors or arrays (None: zeros)."""
        if initial_state is None:
            return [None] * self.n_states
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        where = f"{type(self).__name__} layer '{self.name}'"
        if len(states) != self.n_states:
            raise ValueError(f"{where}: expected {self.n_states} initial state tensor(s)"
                             f"{' [h, c]' if self.n_states == 2 else ''}. Received: {len(states)}")
        for s in states:
            if tuple(s.shape) != (batch, self.units):
                raise ValueError(f"{where}: expected initial states of shape (batch, units) = "
                                 f"{(batch, self.units)}. Received: shape={tuple(s.shape)}")
        return states

    def forward(self, x: Any, initial_state: Any = None) -> Any:
        """x (N, T, features) -> (N, T, units) with return_sequences, else the last output (N, units);
        with return_state, a tuple (output, *final states) as Keras returns."""
        check_input(self, x, ndim=3, what="(batch, time steps, features)")
        check_input(self, x, last=self.kernel.shape[0], what="(features)")
        x = x if isinstance(x, Tensor) else Tensor(x)
        x_mask, h_mask = self._dropout_masks(x)
        if x_mask is not None:
            x = x * x_mask[:, None, :]
        seq, *states = self._run(x, self._states(initial_state, x.shape[0]), h_mask)
        out = seq if self.return_sequences else states[0]
        return (out, *states) if self.return_state else out

    def _dropout_masks(self, x: Tensor) -> tuple[Any, Any]:
        """In training, (input mask (N, F), recurrent mask (N, units)), each 0 or 1/(1 - rate); None when off."""
        if not self.training:
            return None, None
        xp = get_array_module(x.data)
        gen = rng(xp)
        masks = []
        n = x.shape[0]
        for rate, shape in ((self.dropout, (n, x.shape[2])), (self.recurrent_dropout, (n, self.units))):
            if rate == 0.0:
                masks.append(None)
                continue
            keep = gen.random(shape, dtype=x.dtype) >= rate
            masks.append(keep * x.dtype.type(1.0 / (1.0 - rate)))
        self.last_masks = (masks[0], masks[1])
        return masks[0], masks[1]

    def _run(self, x: Any, states: list[Any], recurrent_mask: Any = None) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {
            "units": self.units, "activation": self.activation, "use_bias": self.use_bias,
            "return_sequences": self.return_sequences, "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "kernel_initializer": _serial(self.kernel_initializer, serialize_initializer),
            "recurrent_initializer": _serial(self.recurrent_initializer, serialize_initializer),
            "bias_initializer": _serial(self.bias_initializer, serialize_initializer),
            "kernel_regularizer": _serial(self.kernel_regularizer, serialize_regularizer),
            "recurrent_regularizer": _serial(self.recurrent_regularizer, serialize_regularizer),
            "bias_regularizer": _serial(self.bias_regularizer, serialize_regularizer),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
            "name": self.name,
        }

    def extra_repr(self) -> str:
        rates = "".join(f", {k}={v}" for k, v in (("dropout", self.dropout), ("recurrent_dropout",
                                                                              self.recurrent_dropout)) if v)
        return f"{self.units}, return_sequences={self.return_sequences}{rates}"


class SimpleRNN(_RNN):
    """Fully connected recurrent layer (Elman network): h_t = activation(x_t W + h_{t-1} U + b).

    Weights: kernel (F, units), recurrent_kernel (units, units), bias (units,);
    units * (F + units) + units parameters, as Keras counts them.

    >>> nn.SimpleRNN(32, return_sequences=True)(x)      # x (N, T, F) -> (N, T, 32)
    """

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0) -> None:
        super().__init__(units, activation, "linear", use_bias, return_sequences, return_state, go_backwards,
                         kernel_initializer, recurrent_initializer, bias_initializer, kernel_regularizer,
                         recurrent_regularizer, bias_regularizer, name, input_shape, dropout, recurrent_dropout)

    def _run(self, x, states, recurrent_mask=None):
        return simple_rnn(x, self.kernel, self.recurrent_kernel, self.bias, states[0], self.activation,
                          self.go_backwards, recurrent_mask)


class LSTM(_RNN):
    """Long short-term memory (Hochreiter & Schmidhuber, 1997), Keras's layer.

    Gates i, f, c, o side by side: kernel (F, 4 units), recurrent_kernel (units, 4 units),
    bias (4 units,): 4 * (units * (F + units) + units) parameters. unit_forget_bias starts
    the forget gate's bias at 1 (Jozefowicz et al., 2015), so the cell remembers by default.
    State: [h, c]; ``layer(x, initial_state=[h0, c0])``; return_state gives (output, h, c).
    PyTorch's nn.LSTM has the same gate order: kernel = weight_ih.T, bias = b_ih + b_hh.

    >>> out, h, c = nn.LSTM(64, return_state=True)(x)
    """

    gates = 4
    n_states = 2

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, return_sequences, return_state,
                         go_backwards, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, name, input_shape,
                         dropout, recurrent_dropout)
        self.unit_forget_bias = bool(unit_forget_bias)

    def build(self, input_shape: tuple[int, ...]) -> None:
        super().build(input_shape)
        if self.use_bias and self.unit_forget_bias:
            u = self.units
            self.bias.data[u:2 * u] = get_initializer("ones")((u,), dtype=self.bias.dtype)

    def _run(self, x, states, recurrent_mask=None):
        return lstm(x, self.kernel, self.recurrent_kernel, self.bias, states[0], states[1], self.activation,
                    self.recurrent_activation, self.go_backwards, recurrent_mask)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "unit_forget_bias": self.unit_forget_bias}


class GRU(_RNN):
    """Gated recurrent unit (Cho et al., 2014), Keras's layer: gates z (update), r (reset), h (candidate).

    reset_after=True (default, as Keras, cuDNN and PyTorch) applies the reset gate after the
    recurrent product and has two biases, bias (2, 3 units): 3 * (units * (F + units) + 2 units)
    parameters; reset_after=False is the original form with bias (3 units,).
    PyTorch's nn.GRU orders its gates r, z, n: swap the first two blocks to copy weights.

    >>> nn.GRU(32, return_sequences=True)(x)
    """

    gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 reset_after: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0) -> None:
        super().__init__(units, activation, recurrent_activation, use_bias, return_sequences, return_state,
                         go_backwards, kernel_initializer, recurrent_initializer, bias_initializer,
                         kernel_regularizer, recurrent_regularizer, bias_regularizer, name, input_shape,
                         dropout, recurrent_dropout)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _run(self, x, states, recurrent_mask=None):
        return gru(x, self.kernel, self.recurrent_kernel, self.bias, states[0], self.activation,
                   self.recurrent_activation, self.reset_after, self.go_backwards, recurrent_mask)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "recurrent_activation": self.recurrent_activation,
                "reset_after": self.reset_after}
