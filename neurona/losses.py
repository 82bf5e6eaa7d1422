"""Loss objects and their names, for ``model.compile(loss=...)``.

Each loss wraps one function of ``neurona.functional`` and is called like it,
prediction first: ``loss(y_pred, y_true, sample_weight=None)``. ``per_sample``
gives one value per sample (shape (N,)), which the training loop uses for sample
and class weights (Keras's weighted mean: sum(w_i l_i) / N) and for hard-example
sampling.

Logits or probabilities? neurona's classification models output logits, and a
model may also end in ``activation="softmax"`` or ``"sigmoid"``. Both work with
the same loss name:

* cross-entropy (``"cross_entropy"``, ``"categorical_crossentropy"``,
  ``"sparse_categorical_crossentropy"``): the output is taken as logits, unless it
  is the recorded output of a softmax, in which case F.cross_entropy reaches back
  to the softmax's input and uses the stable fused form. Never softmaxed twice.
* binary cross-entropy (``"binary_cross_entropy"``, ``"binary_crossentropy"``):
  ``from_logits=None`` (the default) decides from the model's output: the output
  of a sigmoid (``nn.Dense(1, activation="sigmoid")``, ``nn.Activation("sigmoid")``,
  ``F.sigmoid``) is taken as probabilities, anything else as logits. ``compile``
  looks once at the model's output (``output_activation``) and fixes the choice
  with ``for_output``, so training and evaluation agree.

Pass ``from_logits=False`` explicitly for probabilities produced some other way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import functional as F
from .autograd import Tensor
from .autograd.elementwise import Sigmoid
from .backend import get_array_module
from .functional.activations import Softmax
from .functional.linear import Linear

_REDUCTIONS = ("mean", "sum", "none")
# Keras's reduction names -> neurona's
_KERAS_REDUCTIONS = {"sum_over_batch_size": "mean", "mean": "mean", "sum": "sum", "none": "none", None: "none"}


def output_activation(y: Any) -> str | None:
    """"softmax" or "sigmoid" when y is the recorded output of that activation (a Dense
    layer's fused sigmoid included), else None (logits or raw values)."""
    fn = y.creator if isinstance(y, Tensor) else None
    if isinstance(fn, Softmax):
        return "softmax"
    if isinstance(fn, Sigmoid) or (isinstance(fn, Linear) and fn.activation == "sigmoid"):
        return "sigmoid"
    return None


def _per_sample(losses: Tensor) -> Tensor:
    """(N, ...) elementwise losses -> (N,) by averaging everything but the batch axis."""
    if losses.ndim <= 1:
        return losses
    return losses.reshape(losses.shape[0], -1).mean(axis=1)


class Loss:
    """Base class: subclasses write ``compute(y_pred, y_true, reduction)`` with a functional op."""

    name = "loss"

    def __init__(self, reduction: str = "mean") -> None:
        reduction = _KERAS_REDUCTIONS.get(reduction, reduction)  # Keras's names (MeanSquaredError serves Keras too)
        if reduction not in _REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}. "
                             f"Received: reduction={reduction!r}")
        self.reduction = reduction

    def compute(self, y_pred: Any, y_true: Any, reduction: str) -> Tensor:
        raise NotImplementedError

    def __call__(self, y_pred: Any, y_true: Any, sample_weight: Any = None) -> Tensor:
        """The loss of a batch; with ``sample_weight`` (N,), sum(w_i l_i) / N as Keras does."""
        if sample_weight is None:
            return self.compute(y_pred, y_true, self.reduction)
        losses = self.per_sample(y_pred, y_true)
        weighted = losses * _weights_like(sample_weight, losses)
        if self.reduction == "none":
            return weighted
        total = weighted.sum()
        return total / losses.shape[0] if self.reduction == "mean" else total

    def per_sample(self, y_pred: Any, y_true: Any) -> Tensor:
        """One loss value per sample, shape (N,) (other axes averaged)."""
        return _per_sample(self.compute(y_pred, y_true, "none"))

    def for_output(self, activation: str | None) -> Loss:
        """This loss, made definite for a model whose output comes from ``activation``."""
        return self

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _weights_like(w: Any, losses: Tensor) -> Any:
    """Sample weights as an array of the losses' dtype and device (never a float64 upcast)."""
    w = w.data if isinstance(w, Tensor) else w
    w = get_array_module(losses.data).asarray(w, dtype=losses.dtype)
    if w.shape != (losses.shape[0],):
        raise ValueError(f"sample_weight must have shape ({losses.shape[0]},) (one weight per sample). "
                         f"Received: shape={w.shape}")
    return w


class CrossEntropy(Loss):
    """Softmax cross-entropy on logits (N, C) with int labels (N,) or one-hot/probability rows (N, C).

    A recorded softmax output is fused back to its logits (see the module docstring).
    ``weight``: per-class weights (C,); ``label_smoothing`` as PyTorch.
    """

    name = "cross_entropy"

    def __init__(self, label_smoothing: float = 0.0, weight: Any = None, from_logits: bool = True,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropy: label_smoothing must be in [0, 1]. Received: {label_smoothing}")
        self.label_smoothing = float(label_smoothing)
        self.weight = None if weight is None else [float(v) for v in weight]
        self.from_logits = bool(from_logits)

    def compute(self, y_pred, y_true, reduction):
        return F.cross_entropy(y_pred, y_true, weight=self.weight, label_smoothing=self.label_smoothing,
                               reduction=reduction, from_logits=self.from_logits)

    def get_config(self):
        return {"label_smoothing": self.label_smoothing, "weight": self.weight, "from_logits": self.from_logits,
                "reduction": self.reduction}


class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy for one output (binary) or several independent ones (multi-label).

    Targets in [0, 1] with the output's shape. ``from_logits``: True (logits), False
    (probabilities), None (decide from the model's output; see the module docstring).
    ``pos_weight`` (one per output) scales the positive term, as PyTorch's.
    """

    name = "binary_cross_entropy"

    def __init__(self, from_logits: bool | None = None, pos_weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.from_logits = from_logits
        self.pos_weight = None if pos_weight is None else [float(v) for v in pos_weight]

    def for_output(self, activation):
        if self.from_logits is not None:
            return self
        return type(self)(from_logits=activation != "sigmoid", pos_weight=self.pos_weight,
                          reduction=self.reduction)

    def compute(self, y_pred, y_true, reduction):
        from_logits = self.from_logits
        if from_logits is None:
            from_logits = output_activation(y_pred) != "sigmoid"
        if from_logits:
            return F.binary_cross_entropy_with_logits(y_pred, y_true, pos_weight=self.pos_weight,
                                                      reduction=reduction)
        if self.pos_weight is not None:
            raise ValueError("BinaryCrossEntropy: pos_weight needs logits (from_logits=True)")
        return F.binary_cross_entropy(y_pred, y_true, reduction=reduction)

    def get_config(self):
        return {"from_logits": self.from_logits, "pos_weight": self.pos_weight, "reduction": self.reduction}


def _tensor_first(a: Any, b: Any) -> tuple[Any, Any]:
    """The Tensor first, so that an array follows its dtype: a symmetric loss called target first
    (Keras's order, ``mse(y_true, y_pred)``) computes as when called prediction first."""
    return (b, a) if isinstance(b, Tensor) and not isinstance(a, Tensor) else (a, b)


class MeanSquaredError(Loss):
    """The quadratic cost: mean of (y_pred - y_true)^2 (shapes must match).

    Symmetric, so it is also Keras's ``keras.losses.MeanSquaredError()(y_true, y_pred)``.
    """

    name = "mse"

    def compute(self, y_pred, y_true, reduction):
        return F.mse_loss(*_tensor_first(y_pred, y_true), reduction=reduction)


class QuadraticCost(Loss):
    """The quadratic cost as the course's slides write it, with the 1/2 factor:
    C = 1/2 mean((y_pred - y_true)^2), so that dC/dy_pred = (y_pred - y_true) / n.

    Half of ``MeanSquaredError`` ("mse"); the same minimum, half the gradient. (Nielsen's
    C = 1/(2n) sum_x ||y(x) - a(x)||^2 sums over the K outputs: K times this value.)
    """

    name = "quadratic_cost"

    def compute(self, y_pred, y_true, reduction):
        return F.mse_loss(y_pred, y_true, reduction=reduction) * 0.5


class MeanAbsoluteError(Loss):
    """Mean of |y_pred - y_true|: less swayed by outliers than the quadratic cost.

    Symmetric, so it is also Keras's ``keras.losses.MeanAbsoluteError()(y_true, y_pred)``.
    """

    name = "mae"

    def compute(self, y_pred, y_true, reduction):
        return F.l1_loss(*_tensor_first(y_pred, y_true), reduction=reduction)


class Huber(Loss):
    """Quadratic for errors up to ``delta``, linear beyond: 0.5 d^2 or delta (|d| - delta / 2)."""

    name = "huber"

    def __init__(self, delta: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        if delta <= 0:
            raise ValueError(f"Huber: delta must be positive. Received: delta={delta}")
        self.delta = float(delta)

    def compute(self, y_pred, y_true, reduction):
        return F.huber_loss(y_pred, y_true, delta=self.delta, reduction=reduction)

    def get_config(self):
        return {"delta": self.delta, "reduction": self.reduction}


class CrossEntropyLoss(CrossEntropy):
    """PyTorch's ``nn.CrossEntropyLoss(weight=None, reduction="mean", label_smoothing=0.0)`` on logits.

    >>> loss_fn = nn.CrossEntropyLoss(); loss = loss_fn(model(X), y)
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__(label_smoothing=label_smoothing, weight=weight, from_logits=True, reduction=reduction)

    def get_config(self):
        return {"weight": self.weight, "reduction": self.reduction, "label_smoothing": self.label_smoothing}


class MSELoss(MeanSquaredError):
    """PyTorch's ``nn.MSELoss(reduction="mean")``: ``MeanSquaredError``."""


class L1Loss(MeanAbsoluteError):
    """PyTorch's ``nn.L1Loss(reduction="mean")``: ``MeanAbsoluteError``."""


class BCEWithLogitsLoss(BinaryCrossEntropy):
    """PyTorch's ``nn.BCEWithLogitsLoss(weight=None, reduction="mean", pos_weight=None)`` on logits.

    ``weight`` rescales each element's loss (broadcast to the output's shape), as PyTorch's.
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(from_logits=True, pos_weight=pos_weight, reduction=reduction)
        self.weight = None if weight is None else np.asarray(weight, dtype=np.float64).tolist()

    def compute(self, y_pred, y_true, reduction):
        return F.binary_cross_entropy_with_logits(y_pred, y_true, weight=self.weight, pos_weight=self.pos_weight,
                                                  reduction=reduction)

    def get_config(self):
        return {"weight": self.weight, "reduction": self.reduction, "pos_weight": self.pos_weight}


class BCELoss(BinaryCrossEntropy):
    """PyTorch's ``nn.BCELoss(reduction="mean")`` on probabilities (after a sigmoid)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__(from_logits=False, reduction=reduction)

    def get_config(self):
        return {"reduction": self.reduction}


class NLLLoss(Loss):
    """PyTorch's ``nn.NLLLoss(weight=None, ignore_index=-100, reduction="mean")`` on log-probabilities."""

    name = "nll_loss"

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = None if weight is None else [float(v) for v in np.asarray(weight).ravel()]
        self.ignore_index = int(ignore_index)

    def compute(self, y_pred, y_true, reduction):
        return F.nll_loss(y_pred, y_true, weight=self.weight, ignore_index=self.ignore_index, reduction=reduction)

    def get_config(self):
        return {"weight": self.weight, "ignore_index": self.ignore_index, "reduction": self.reduction}


# ---------------------------------------------------------------- Keras's loss classes
# Keras calls a loss target first, ``loss(y_true, y_pred)``; neurona's losses (and PyTorch's) take the
# prediction first. The Keras classes below are neurona's cross-entropies with only the call order
# and Keras's argument names changed; ``compile`` trains with the neurona loss ``for_output`` gives.
# ``MeanSquaredError`` and ``MeanAbsoluteError`` are symmetric in their two arguments, so neurona's
# own classes serve both orders and take Keras's reduction names.


def _keras_reduction(reduction: Any, where: str) -> str:
    if reduction not in _KERAS_REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of 'sum_over_batch_size', 'sum' or None. "
                         f"Received: reduction={reduction!r}")
    return _KERAS_REDUCTIONS[reduction]


def _as_arrays(y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """Lists (Keras takes them) as arrays; Tensors and arrays as they are."""
    return tuple(v if hasattr(v, "shape") else np.asarray(v) for v in (y_true, y_pred))


def _check_targets(where: str, y_true: Any, y_pred: Any, sparse: bool) -> None:
    """Keras's sparse losses take labels (N,) or (N, 1); the categorical ones rows of y_pred's shape."""
    t, p = tuple(y_true.shape), tuple(y_pred.shape)
    ok = (t == p[:-1] or t == p[:-1] + (1,)) if sparse else t == p
    if not ok:
        expected = f"integer labels of shape {p[:-1]}" if sparse else f"one-hot rows of y_pred's shape {p}"
        hint = " (one-hot targets: use CategoricalCrossentropy)" if sparse and t == p else \
            " (integer labels: use SparseCategoricalCrossentropy)" if not sparse and t == p[:-1] else ""
        raise ValueError(f"{where}: expected y_true as {expected}{hint}. Received: y_true {t}, y_pred {p}")


class _KerasCrossEntropy(CrossEntropy):
    """What the two Keras cross-entropies share: target-first calls, Keras's arguments."""

    sparse = True

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction: Any = "sum_over_batch_size", name: str | None = None) -> None:
        super().__init__(label_smoothing=label_smoothing, from_logits=from_logits,
                         reduction=_keras_reduction(reduction, type(self).__name__))

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The loss of a batch, target first as in Keras (``sample_weight`` (N,) as neurona's losses)."""
        y_true, y_pred = _as_arrays(y_true, y_pred)
        _check_targets(type(self).__name__, y_true, y_pred, self.sparse)
        if self.sparse and len(y_true.shape) == len(y_pred.shape):
            y_true = y_true.reshape(y_true.shape[:-1])
        return super().__call__(y_pred, y_true, sample_weight)

    def for_output(self, activation: str | None) -> Loss:
        return CrossEntropy(label_smoothing=self.label_smoothing, from_logits=self.from_logits,
                            reduction=self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "reduction": "sum_over_batch_size" if self.reduction == "mean" else self.reduction}


class SparseCategoricalCrossentropy(_KerasCrossEntropy):
    """Keras's ``keras.losses.SparseCategoricalCrossentropy(from_logits=False)``: ``loss(y_true, y_pred)``
    with integer labels (N,); neurona's ``CrossEntropy``. ``from_logits=False`` (Keras's default) takes
    softmax outputs (``Dense(n, activation="softmax")``, fused to the stable form as neurona's own).

    >>> model.compile("adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, reduction: Any = "sum_over_batch_size",
                 name: str | None = None) -> None:
        super().__init__(from_logits=from_logits, reduction=reduction, name=name)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["label_smoothing"]
        return config


class CategoricalCrossentropy(_KerasCrossEntropy):
    """Keras's ``keras.losses.CategoricalCrossentropy(from_logits=False, label_smoothing=0.0)``:
    ``loss(y_true, y_pred)`` with one-hot rows (N, C); neurona's ``CrossEntropy``."""

    name = "categorical_crossentropy"
    sparse = False


class BinaryCrossentropy(BinaryCrossEntropy):
    """Keras's ``keras.losses.BinaryCrossentropy(from_logits=False, label_smoothing=0.0)``:
    ``loss(y_true, y_pred)`` with 0/1 targets of y_pred's shape; neurona's ``BinaryCrossEntropy``.
    ``label_smoothing`` moves the targets towards 0.5: t (1 - s) + s / 2, as Keras does.
    """

    name = "binary_crossentropy"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 reduction: Any = "sum_over_batch_size", name: str | None = None) -> None:
        super().__init__(from_logits=bool(from_logits), reduction=_keras_reduction(reduction, "BinaryCrossentropy"))
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"BinaryCrossentropy: label_smoothing must be in [0, 1]. "
                             f"Received: label_smoothing={label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        """The loss of a batch, target first as in Keras."""
        y_true, y_pred = _as_arrays(y_true, y_pred)
        if len(y_true.shape) == len(y_pred.shape) - 1 and y_pred.shape[-1] == 1:
            y_true = y_true.reshape(*y_true.shape, 1)  # Keras expands (N,) labels for an (N, 1) output
        _check_targets("BinaryCrossentropy", y_true, y_pred, sparse=False)
        return super().__call__(y_pred, y_true, sample_weight)

    def compute(self, y_pred, y_true, reduction):
        if self.label_smoothing:
            y_true = (y_true if isinstance(y_true, Tensor) else Tensor(y_true, dtype=y_pred.dtype))
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return super().compute(y_pred, y_true, reduction)

    def for_output(self, activation: str | None) -> Loss:
        if not self.label_smoothing:
            return BinaryCrossEntropy(from_logits=self.from_logits, reduction=self.reduction)
        return _SmoothedBinary(self)

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits, "label_smoothing": self.label_smoothing,
                "reduction": "sum_over_batch_size" if self.reduction == "mean" else self.reduction}


class _SmoothedBinary(BinaryCrossEntropy):
    """A label-smoothed BinaryCrossentropy called prediction first, as ``compile`` calls its loss."""

    def __init__(self, keras_loss: BinaryCrossentropy) -> None:
        super().__init__(from_logits=keras_loss.from_logits, reduction=keras_loss.reduction)
        self.keras_loss = keras_loss

    def compute(self, y_pred, y_true, reduction):
        return self.keras_loss.compute(y_pred, y_true, reduction)


class FunctionLoss(Loss):
    """A plain function ``fn(y_pred, y_true) -> scalar Tensor`` (e.g. ``F.mse_loss``) used as a loss.

    Its per-sample values are unknown, so sample weights and hard-example sampling need a Loss object.
    """

    def __init__(self, fn: Callable[..., Tensor]) -> None:
        super().__init__("mean")
        self.fn = fn
        self.name = getattr(fn, "__name__", "loss")

    def compute(self, y_pred, y_true, reduction):
        if reduction != "mean":
            raise ValueError(f"loss function {self.name!r} gives one value per batch: sample weights, class "
                             "weights and hard-example sampling need a neurona.losses.Loss object")
        return self.fn(y_pred, y_true)

    def get_config(self):
        return {"function": self.name}  # loading needs custom_objects={name: the function}


LOSSES: dict[str, Callable[[], Loss]] = {
    "cross_entropy": CrossEntropy,
    "categorical_crossentropy": CrossEntropy,
    "sparse_categorical_crossentropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
    "binary_crossentropy": BinaryCrossEntropy,
    "mse": MeanSquaredError,
    "quadratic": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "quadratic_cost": QuadraticCost,
    "half_mse": QuadraticCost,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "huber": Huber,
}
LOSS_CLASSES = {cls.__name__: cls for cls in (CrossEntropy, BinaryCrossEntropy, MeanSquaredError, QuadraticCost,
                                              MeanAbsoluteError, Huber, CrossEntropyLoss, MSELoss, L1Loss,
                                              BCEWithLogitsLoss, BCELoss, NLLLoss, SparseCategoricalCrossentropy,
                                              CategoricalCrossentropy, BinaryCrossentropy)}


def get_loss(spec: str | Loss | Callable[..., Tensor]) -> Loss:
    """A Loss from a name (see ``LOSSES``), a Loss object (returned as is) or a function ``fn(y_pred, y_true)``.

    >>> get_loss("categorical_crossentropy")
    CrossEntropy(label_smoothing=0.0, weight=None, from_logits=True, reduction='mean')
    """
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key not in LOSSES:
            raise ValueError(f"unknown loss. Expected one of {sorted(LOSSES)}, a Loss object or a function. "
                             f"Received: loss={spec!r}")
        return LOSSES[key]()
    if callable(spec):
        return FunctionLoss(spec)
    raise TypeError(f"loss must be a name, a Loss object or a function. Received: {type(spec).__name__}")


def serialize_loss(loss: Loss) -> dict[str, Any]:
    """{"class": ..., "config": ...} for saving a compiled model."""
    return {"class": type(loss).__name__, "config": loss.get_config()}


def deserialize_loss(spec: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Loss:
    """Rebuild a loss saved by ``serialize_loss`` (custom classes via ``custom_objects``)."""
    name = spec.get("class") if isinstance(spec, dict) else None
    config = dict(spec.get("config") or {}) if isinstance(spec, dict) else {}
    if name == "FunctionLoss":
        fn = (custom_objects or {}).get(config.get("function"))
        if fn is None:
            raise ValueError(f"the loss is the function {config.get('function')!r}: pass "
                             f"custom_objects={{{config.get('function')!r}: the_function}}")
        return FunctionLoss(fn)
    cls = (custom_objects or {}).get(name) or LOSS_CLASSES.get(name)
    if cls is None:
        raise ValueError(f"unknown loss class {name!r}: pass custom_objects={{{name!r}: ...}}")
    if isinstance(cls, type) and issubclass(cls, Loss):
        return cls.from_config(config)
    return get_loss(cls)


__all__ = ["BCELoss", "BCEWithLogitsLoss", "BinaryCrossEntropy", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "CrossEntropy", "CrossEntropyLoss", "FunctionLoss",
           "L1Loss", "MSELoss", "NLLLoss", "Huber", "LOSSES", "LOSS_CLASSES", "Loss",
           "MeanAbsoluteError", "MeanSquaredError", "QuadraticCost", "deserialize_loss", "get_loss",
           "output_activation", "serialize_loss"]
