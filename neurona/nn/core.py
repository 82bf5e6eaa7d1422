"""Core layers: Dense, Activation, Flatten, Reshape, Dropout, GaussianNoise (``Input`` is in input.py)."""

from __future__ import annotations

from typing import Any

from .. import functional as F
from ..autograd import Tensor
from .initializers import serialize_initializer
from .module import Module
from .regularizers import serialize_regularizer


def _activation_name(activation: Any) -> str | None:
    if activation is None or isinstance(activation, str):
        F.get_activation(activation)  # validates the name now, not at the first call
        return activation
    if callable(activation):
        return activation
    raise TypeError(f"activation must be a name or a callable. Received: {type(activation).__name__}")


def _serial(value: Any, serialize: Any) -> Any:
    return value if value is None or isinstance(value, str) else serialize(value)


def check_input(layer: Module, x: Any, ndim: int | None = None, last: int | None = None, what: str = "") -> None:
    """Raise a clear error when x's shape does not fit the layer (names layer, expected, received)."""
    shape = tuple(x.shape)
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}': expected input with {ndim} dimensions "
                         f"{what}. Received: shape={shape}")
    if last is not None and (not shape or shape[-1] != last):
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}': expected input whose last axis has size "
                         f"{last}{(' ' + what) if what else ''}. Received: shape={shape}")


class Dense(Module):
    """Fully connected layer: y = activation(x @ kernel + bias), kernel (n_in, units).

    n_in is taken from the first input. relu and tanh are fused into one op.

    >>> layer = nn.Dense(100, activation="relu")
    """

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer. Received: units={units!r}")
        self.units = units
        self.activation = _activation_name(activation)
        self.use_bias = use_bias
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.kernel_regularizer = kernel_regularizer
        self.kernel = self.bias = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer, self.kernel_regularizer)
        if self.use_bias:
            self.add_weight("bias", (self.units,), self.bias_initializer)

    def forward(self, x: Any) -> Tensor:
        n_in = self.kernel.shape[0]
        if x.shape[-1] != n_in:
            check_input(self, x, last=n_in)
        return F.linear(x, self.kernel, self.bias, self.activation)

    def get_config(self) -> dict[str, Any]:
        if callable(self.activation):
            raise TypeError(f"Dense '{self.name}': a custom activation function cannot be saved; use a name")
        return {
            "units": self.units, "activation": self.activation, "use_bias": self.use_bias,
            "kernel_initializer": _serial(self.kernel_initializer, serialize_initializer),
            "bias_initializer": _serial(self.bias_initializer, serialize_initializer),
            "kernel_regularizer": _serial(self.kernel_regularizer, serialize_regularizer),
            "name": self.name,
        }

    def extra_repr(self) -> str:
        return f"{self.units}, activation={self.activation!r}"


class Activation(Module):
    """Apply an activation by name: ``nn.Activation("relu")`` (see ``F.ACTIVATIONS``)."""

    def __init__(self, activation: Any, name: str | None = None) -> None:
        super().__init__(name=name)
        self.activation = _activation_name(activation)
        self.fn = F.get_activation(activation) or F.identity

    def forward(self, x: Any) -> Tensor:
        return self.fn(x)

    def get_config(self) -> dict[str, Any]:
        if callable(self.activation):
            raise TypeError(f"Activation '{self.name}': a custom activation function cannot be saved; use a name")
        return {"activation": self.activation, "name": self.name}

    def extra_repr(self) -> str:
        return repr(self.activation)


class Flatten(Module):
    """(N, d1, d2, ...) -> (N, d1 * d2 * ...): keeps the batch axis."""

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        return x.reshape(x.shape[0], -1)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name}


class Reshape(Module):
    """(N, ...) -> (N, *target_shape); one entry may be -1."""

    def __init__(self, target_shape: tuple[int, ...], name: str | None = None) -> None:
        super().__init__(name=name)
        self.target_shape = tuple(int(s) for s in target_shape)

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        try:
            return x.reshape((x.shape[0],) + self.target_shape)
        except ValueError:
            raise ValueError(f"Reshape layer '{self.name}': cannot reshape samples of shape {tuple(x.shape[1:])} "
                             f"to {self.target_shape}") from None

    def get_config(self) -> dict[str, Any]:
        return {"target_shape": list(self.target_shape), "name": self.name}


class Dropout(Module):
    """Inverted dropout with probability ``rate`` in training; the identity in evaluation (see ``F.dropout``).

    PyTorch's spelling works too: ``nn.Dropout(p=0.5)``, and ``nn.Dropout()`` is p=0.5 as in PyTorch
    (``inplace`` is accepted and ignored: neurona never overwrites a layer's input).
    """

    def __init__(self, rate: float | None = None, name: str | None = None, *, p: float | None = None,
                 inplace: bool = False) -> None:
        super().__init__(name=name)
        if rate is not None and p is not None:
            raise ValueError(f"Dropout: pass the rate once, as rate (Keras) or p (PyTorch). "
                             f"Received: rate={rate}, p={p}")
        what, value = ("p", p) if p is not None else ("rate", 0.5 if rate is None else rate)
        try:
            ok = 0.0 <= float(value) < 1.0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"Dropout: {what} must be a number in [0, 1). Received: {what}={value!r}")
        self.rate = float(value)

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.rate, self.training)

    def get_config(self) -> dict[str, Any]:
        return {"rate": self.rate, "name": self.name}

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


class GaussianNoise(Module):
    """Add N(0, stddev^2) noise to the inputs in training (noise injection); identity in evaluation."""

    def __init__(self, stddev: float, name: str | None = None) -> None:
        super().__init__(name=name)
        if stddev < 0:
            raise ValueError(f"GaussianNoise: stddev must be >= 0. Received: stddev={stddev}")
        self.stddev = float(stddev)

    def forward(self, x: Any) -> Tensor:
        return F.gaussian_noise(x, self.stddev, self.training)

    def get_config(self) -> dict[str, Any]:
        return {"stddev": self.stddev, "name": self.name}
