"""Normalisation layers: BatchNorm (alias BatchNormalization) and LayerNorm (alias LayerNormalization)."""

from __future__ import annotations

from typing import Any

from ..autograd import Tensor
from ..functional.normalization import batch_norm, layer_norm
from .core import _serial
from .initializers import get_initializer, serialize_initializer
from .module import Module
from .regularizers import serialize_regularizer


def _feature_axis(layer: Module, axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim or ndim < 2:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}': axis={axis} is out of range for inputs "
                         f"with {ndim} dimensions (expected at least 2 dimensions and -{ndim} <= axis < {ndim})")
    return axis % ndim


def _to_last(x: Any, axis: int) -> tuple[Any, tuple[int, ...] | None]:
    """Move ``axis`` to the end (the ops normalise per last-axis feature); returns the permutation to undo."""
    if axis == x.ndim - 1:
        return x, None
    x = x if isinstance(x, Tensor) else Tensor(x)
    perm = tuple(a for a in range(x.ndim) if a != axis) + (axis,)
    inverse = tuple(perm.index(a) for a in range(x.ndim))
    return x.transpose(perm), inverse


class _Norm(Module):
    """Shared constructor, weights and config of the two normalisation layers."""

    def __init__(self, axis: int, epsilon: float, center: bool, scale: bool, beta_initializer: Any,
                 gamma_initializer: Any, beta_regularizer: Any, gamma_regularizer: Any, name: str | None,
                 input_shape: tuple[int, ...] | None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if not isinstance(axis, int):
            raise TypeError(f"{type(self).__name__}: axis must be an integer. Received: axis={axis!r}")
        if epsilon <= 0:
            raise ValueError(f"{type(self).__name__}: epsilon must be positive. Received: epsilon={epsilon}")
        self.axis, self.epsilon = axis, float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.beta_regularizer, self.gamma_regularizer = beta_regularizer, gamma_regularizer
        self.gamma = self.beta = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        self.features = int(input_shape[_feature_axis(self, self.axis, len(input_shape))])
        if self.scale:
            self.add_weight("gamma", (self.features,), self.gamma_initializer, self.gamma_regularizer)
        if self.center:
            self.add_weight("beta", (self.features,), self.beta_initializer, self.beta_regularizer)

    def _prepare(self, x: Any) -> tuple[Any, tuple[int, ...] | None]:
        axis = _feature_axis(self, self.axis, x.ndim)
        if x.shape[axis] != self.features:
            raise ValueError(f"{type(self).__name__} layer '{self.name}': expected input with {self.features} "
                             f"features on axis {self.axis}. Received: shape={tuple(x.shape)}")
        return _to_last(x, axis)

    def get_config(self) -> dict[str, Any]:
        return {
            "axis": self.axis, "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            "beta_initializer": _serial(self.beta_initializer, serialize_initializer),
            "gamma_initializer": _serial(self.gamma_initializer, serialize_initializer),
            "beta_regularizer": _serial(self.beta_regularizer, serialize_regularizer),
            "gamma_regularizer": _serial(self.gamma_regularizer, serialize_regularizer),
            "name": self.name,
        }


class BatchNorm(_Norm):
    """Batch normalisation (Ioffe & Szegedy, 2015), Keras's layer: y = gamma * (x - mean) / sqrt(var + epsilon) + beta.

    One mean and variance per feature on ``axis`` (the last: channels-last images (N, H, W, C)
    and Dense outputs (N, C)), pooled over every other axis.

    * Training mode: the batch's own statistics, and the running ones (buffers
      ``moving_mean``, ``moving_variance``) move towards them:
      ``moving = momentum * moving + (1 - momentum) * batch statistic``.
      This is Keras's ``momentum`` (default 0.99); PyTorch's BatchNorm weights the new
      value instead, so ``torch_momentum = 1 - momentum`` (Keras's 0.99 is torch's 0.01;
      torch's default 0.1 is ``momentum=0.9`` here).
    * The running variance is updated with the *unbiased* batch variance (times M / (M - 1),
      M values per feature), as PyTorch does; Keras uses the biased one. Chosen because the
      running variance is what inference divides by, an estimate of the population variance,
      and with small batches (a Dense layer after batch size 8: M = 8) the biased one is
      too small by the factor (M - 1) / M. Normalisation inside a batch uses the biased
      variance, as both do; a batch with M = 1 updates with its (zero) variance uncorrected.
    * Evaluation mode (``model.eval()``), and a frozen layer (``layer.trainable = False``,
      as in Keras, for transfer learning): the running statistics; nothing is updated.

    Parameters: gamma and beta (C,); the two buffers are saved but not trained. Keras
    counts 4C parameters of which 2C non-trainable. epsilon defaults to Keras's 1e-3
    (PyTorch's eps is 1e-5).

    >>> model = nn.Sequential([nn.Conv2D(32, 3), nn.BatchNorm(), nn.Activation("relu")])
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, name, input_shape)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm: momentum must be in [0, 1] (Keras's meaning: the weight of the old "
                             f"running value). Received: momentum={momentum}")
        self.momentum = float(momentum)
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer

    def build(self, input_shape: tuple[int, ...]) -> None:
        super().build(input_shape)
        shape = (self.features,)
        self.register_buffer("moving_mean", get_initializer(self.moving_mean_initializer)(shape))
        self.register_buffer("moving_variance", get_initializer(self.moving_variance_initializer)(shape))

    def forward(self, x: Any, training: bool | None = None) -> Tensor:
        """``training`` overrides the module's mode for this call (Keras's ``layer(x, training=...)``)."""
        training = self.training if training is None else bool(training)
        x, inverse = self._prepare(x)
        y = batch_norm(x, self.gamma, self.beta, self.moving_mean, self.moving_variance,
                       training=training and self.trainable, momentum=self.momentum, eps=self.epsilon)
        return y if inverse is None else y.transpose(inverse)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(), "momentum": self.momentum,
            "moving_mean_initializer": _serial(self.moving_mean_initializer, serialize_initializer),
            "moving_variance_initializer": _serial(self.moving_variance_initializer, serialize_initializer),
        }

    def extra_repr(self) -> str:
        return f"axis={self.axis}, momentum={self.momentum}, epsilon={self.epsilon}"


BatchNormalization = BatchNorm


class LayerNorm(_Norm):
    """Layer normalisation (Ba et al., 2016): each sample's features on ``axis`` (the last by default)
    get mean 0 and variance 1, then y = gamma * x_hat + beta. No batch statistics, so it behaves
    the same in training and evaluation and with any batch size. Parameters: gamma, beta (D,).

    >>> nn.LayerNorm()(x)          # x (N, T, D): normalised over D for every (n, t)
    """

    def __init__(self, axis: int = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(axis, epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, name, input_shape)

    def forward(self, x: Any) -> Tensor:
        x, inverse = self._prepare(x)
        y = layer_norm(x, self.gamma, self.beta, eps=self.epsilon)
        return y if inverse is None else y.transpose(inverse)

    def extra_repr(self) -> str:
        return f"axis={self.axis}, epsilon={self.epsilon}"


LayerNormalization = LayerNorm
