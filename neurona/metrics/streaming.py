"""Streaming metrics: accumulated batch by batch over an epoch, read once at its end.

``model.compile(metrics=["accuracy", "auc"])`` turns each entry into a ``Metric`` with
``get_metric``. The training loop calls ``reset()`` at the start of an epoch, ``update(y_true,
y_pred)`` after every batch (y_pred: the model's outputs as probabilities, softmax or sigmoid
already applied, or raw values for regression; NumPy arrays) and ``result()`` at the end.

Each metric keeps what makes the epoch's value exact: counts for accuracy, precision and
recall, the scores themselves for AUC, sums of errors for mse/mae. So the result is the
metric of the whole epoch, not an average of per-batch values (which differs for precision,
AUC, rmse, or a smaller last batch).

How y_pred is read (``task``; None infers it from the shapes at the first update):
  "binary"      y_pred (N,) or (N, 1): positive when > 0.5
  "multiclass"  y_pred (N, C) with y_true labels (N,) or one-hot (N, C): the argmax is the class
  "multilabel"  y_pred (N, C) with y_true a 0/1 matrix, not one-hot: each entry > 0.5 (Keras's binary accuracy)
  "regression"  raw values (only mae, mse, rmse and functions make sense)
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ._inputs import is_one_hot, sample_weights, to_array
from .ranking import _average_columns, roc_auc

TASKS = (None, "binary", "multiclass", "multilabel", "regression")


def infer_task(y_true: np.ndarray, y_pred: np.ndarray) -> str:
    """The task the shapes of one batch imply (see the module docstring)."""
    if y_pred.ndim == y_true.ndim + 1 or (y_pred.ndim == y_true.ndim and y_true.ndim >= 2 and y_true.shape[-1] == 1
                                          and y_pred.shape[-1] > 1):
        return "multiclass"  # labels next to one score per class
    if y_pred.ndim >= 2 and y_pred.shape[-1] > 1 and y_true.shape == y_pred.shape:
        flat_t, flat_p = y_true.reshape(-1, y_true.shape[-1]), y_pred.reshape(-1, y_pred.shape[-1])
        if is_one_hot(flat_t) and np.allclose(flat_p.sum(axis=1), 1.0, atol=1e-3):
            return "multiclass"
        return "multilabel"
    return "binary"


class Metric:
    """Base class: ``reset()``, ``update(y_true, y_pred, sample_weight=None)``, ``result() -> float``, ``name``."""

    default_name = "metric"

    def __init__(self, name: str | None = None, task: str | None = None) -> None:
        if task not in TASKS:
            raise ValueError(f"{type(self).__name__}: task must be one of {list(TASKS)}. Received: task={task!r}")
        self.name = name or self.default_name
        self.task = task
        self.reset()

    def reset(self) -> None:
        """Forget everything seen (call at the start of each epoch)."""
        self._task = self.task

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        raise NotImplementedError

    def result(self) -> float:
        raise NotImplementedError

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        """Keras's name for ``update``."""
        self.update(*args, **kwargs)

    def reset_state(self) -> None:
        """Keras's name for ``reset``."""
        self.reset()

    def _arrays(self, y_true: Any, y_pred: Any, sample_weight: Any) -> tuple[np.ndarray, np.ndarray, Any]:
        y_true, y_pred = to_array(y_true), to_array(y_pred)
        if len(y_true) != len(y_pred):
            raise ValueError(f"metric {self.name!r}: y_true and y_pred have different numbers of samples: "
                             f"{len(y_true)} and {len(y_pred)}")
        if self._task is None:
            self._task = infer_task(y_true, y_pred)
        return y_true, y_pred, sample_weights(f"metric {self.name!r}", sample_weight, len(y_true))

    def _labels(self, y_true: Any, y_pred: Any, sample_weight: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """Flat true and predicted labels (ints), one weight per label, and the number of classes."""
        y_true, y_pred, w = self._arrays(y_true, y_pred, sample_weight)
        n = len(y_true)
        if self._task == "regression":
            raise ValueError(f"metric {self.name!r} needs a classification task. Received: task='regression'")
        if self._task == "multiclass":
            pred = y_pred.argmax(axis=-1).reshape(-1)
            true = y_true.argmax(axis=-1) if y_true.shape == y_pred.shape else y_true
            true = true.reshape(-1)
        else:  # binary and multilabel: every entry on its own
            if y_true.size != y_pred.size:
                raise ValueError(f"metric {self.name!r} ({self._task}): expected y_pred of y_true's shape "
                                 f"{y_true.shape}. Received: {y_pred.shape}")
            pred, true = (y_pred.reshape(-1) > 0.5), (y_true.reshape(-1) > 0.5)
        if len(true) != len(pred):
            raise ValueError(f"metric {self.name!r}: y_true of shape {y_true.shape} does not match y_pred of shape "
                             f"{y_pred.shape}")
        per_sample = len(true) // n if n else 1
        weights = np.ones(len(true)) if w is None else np.repeat(w, per_sample)
        n_classes = y_pred.shape[-1] if self._task == "multiclass" else 2
        return true.astype(np.int64), pred.astype(np.int64), weights, n_classes

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, task={self.task!r})"


class Accuracy(Metric):
    """Fraction of right predictions (labels for multiclass, entries for binary/multilabel)."""

    default_name = "accuracy"

    def reset(self) -> None:
        super().reset()
        self.correct = self.total = 0.0

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        true, pred, w, _ = self._labels(y_true, y_pred, sample_weight)
        self.correct += float(w @ (true == pred))
        self.total += float(w.sum())

    def result(self) -> float:
        return self.correct / self.total if self.total else 0.0


class _Counts(Metric):
    """Per-class true-positive, predicted and true counts. Binary and multilabel: one class (entries
    > 0.5); two-class softmax: class 1; more classes: every class, macro-averaged over those present."""

    def reset(self) -> None:
        super().reset()
        self.tp = self.pred = self.true = np.zeros(0)

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        true, pred, w, n = self._labels(y_true, y_pred, sample_weight)
        if true.min(initial=0) < 0 or true.max(initial=0) >= n:
            raise ValueError(f"metric {self.name!r}: expected labels in [0, {n}). Received: labels from "
                             f"{true.min()} to {true.max()}")
        n = max(n, len(self.tp))
        counts = [np.bincount(true[true == pred], w[true == pred], n), np.bincount(pred, w, n),
                  np.bincount(true, w, n)]
        for name, c in zip(("tp", "pred", "true"), counts, strict=True):
            old = getattr(self, name)
            setattr(self, name, c + np.pad(old, (0, n - len(old))))

    def _classes(self) -> np.ndarray:
        """The classes to average over: the positive one, or every class seen (macro)."""
        if self._task != "multiclass" or len(self.tp) <= 2:
            return np.array([1])
        return np.flatnonzero((self.pred + self.true) > 0)

    def _score(self, num: np.ndarray, den: np.ndarray) -> float:
        classes = self._classes()
        if len(self.tp) <= classes.max(initial=0):
            return 0.0
        num, den = num[classes], den[classes]
        return float(np.mean(np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0))) if len(classes) else 0.0


class Precision(_Counts):
    """TP / (TP + FP) over the epoch."""

    default_name = "precision"

    def result(self) -> float:
        return self._score(self.tp, self.pred)


class Recall(_Counts):
    """TP / (TP + FN) over the epoch."""

    default_name = "recall"

    def result(self) -> float:
        return self._score(self.tp, self.true)


class F1Score(_Counts):
    """2 TP / (2 TP + FP + FN) over the epoch."""

    default_name = "f1"

    def result(self) -> float:
        return self._score(2 * self.tp, self.pred + self.true)


class _Collect(Metric):
    """Keeps every batch (for metrics that need all scores at once)."""

    def reset(self) -> None:
        super().reset()
        self.trues: list[np.ndarray] = []
        self.preds: list[np.ndarray] = []
        self.weights: list[np.ndarray | None] = []

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred, w = self._arrays(y_true, y_pred, sample_weight)
        self.trues.append(y_true)
        self.preds.append(y_pred)
        self.weights.append(w)

    def _all(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        w = None if all(w is None for w in self.weights) else np.concatenate(
            [np.ones(len(t)) if w is None else w for t, w in zip(self.trues, self.weights, strict=True)])
        return np.concatenate(self.trues), np.concatenate(self.preds), w


class AUC(_Collect):
    """Area under the ROC curve of the epoch's scores (binary; one-vs-rest macro for multiclass and multilabel,
    over the classes that have both positive and negative samples). NaN when no class has both."""

    default_name = "auc"

    def result(self) -> float:
        if not self.trues:
            return 0.0
        y_true, y_score, w = self._all()
        if self._task == "regression":
            raise ValueError(f"metric {self.name!r} needs a classification task. Received: task='regression'")
        if self._task == "binary":
            y_true, y_score = (y_true.reshape(-1) > 0.5).astype(np.float64), y_score.reshape(-1)
            w = None if w is None else np.repeat(w, len(y_true) // len(w))
            if y_true.min() == y_true.max():
                return float("nan")
            return float(roc_auc(y_true, y_score, sample_weight=w))
        c = y_score.shape[-1]
        y_score = y_score.reshape(-1, c).astype(np.float64)
        if y_true.shape[-1:] == (c,) and y_true.ndim == y_score.ndim:
            y_true = y_true.reshape(-1, c) > 0.5
        else:
            y_true = y_true.reshape(-1)[:, None] == np.arange(c)[None, :]
        y_true = y_true.astype(np.float64)
        w = None if w is None else np.repeat(w, len(y_true) // len(w))
        if self._task == "multiclass" and c == 2:
            y_true, y_score = y_true[:, 1:], y_score[:, 1:]
        keep = (y_true.min(axis=0) == 0) & (y_true.max(axis=0) == 1)
        if not keep.any():
            return float("nan")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(_average_columns("auc", y_true[:, keep], y_score[:, keep], "macro", w))


class TopKAccuracy(_Collect):
    """Fraction of samples whose true class is among the k highest scores (multiclass)."""

    def __init__(self, k: int = 5, name: str | None = None, task: str | None = None) -> None:
        if int(k) != k or k < 1:
            raise ValueError(f"TopKAccuracy: k must be an integer >= 1. Received: k={k}")
        self.k = int(k)
        super().__init__(name or f"top_{self.k}_accuracy", task)

    def reset(self) -> None:
        Metric.reset(self)
        self.hits = self.total = 0.0

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred, w = self._arrays(y_true, y_pred, sample_weight)
        if y_pred.ndim < 2:
            raise ValueError(f"metric {self.name!r}: expected scores of shape (N, C). Received: {y_pred.shape}")
        c = y_pred.shape[-1]
        scores = y_pred.reshape(-1, c)
        true = y_true.argmax(axis=-1) if y_true.shape == y_pred.shape else y_true
        true = true.reshape(-1).astype(np.int64)
        if len(true) != len(scores) or true.min(initial=0) < 0 or true.max(initial=0) >= c:
            raise ValueError(f"metric {self.name!r}: expected labels in [0, {c}) of shape {y_pred.shape[:-1]}. "
                             f"Received: shape {y_true.shape}")
        true_score = scores[np.arange(len(true)), true][:, None]
        rank = (scores > true_score).sum(axis=1) + ((scores == true_score) & (np.arange(c) > true[:, None])).sum(axis=1)
        weights = np.ones(len(true)) if w is None else np.repeat(w, len(true) // len(w))
        self.hits += float(weights @ (rank < self.k))
        self.total += float(weights.sum())

    def result(self) -> float:
        return self.hits / self.total if self.total else 0.0


class _Errors(Metric):
    """Weighted sums of an elementwise error over every output of every sample."""

    def reset(self) -> None:
        super().reset()
        self.sum = self.count = 0.0

    def error(self, diff: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = to_array(y_true), to_array(y_pred)
        n = len(y_true)
        if len(y_pred) != n or y_true.size != y_pred.size:
            raise ValueError(f"metric {self.name!r}: y_true and y_pred must have the same shape. Received: "
                             f"{y_true.shape} and {y_pred.shape}")
        w = sample_weights(f"metric {self.name!r}", sample_weight, n)
        diff = y_true.reshape(n, -1).astype(np.float64) - y_pred.reshape(n, -1).astype(np.float64)
        per_sample = self.error(diff).sum(axis=1)
        self.sum += float(per_sample.sum() if w is None else w @ per_sample)
        self.count += float(diff.shape[1] * (n if w is None else w.sum()))


class MeanAbsoluteError(_Errors):
    default_name = "mae"

    def error(self, diff: np.ndarray) -> np.ndarray:
        return np.abs(diff)

    def result(self) -> float:
        return self.sum / self.count if self.count else 0.0


class MeanSquaredError(_Errors):
    default_name = "mse"

    def error(self, diff: np.ndarray) -> np.ndarray:
        return diff * diff

    def result(self) -> float:
        return self.sum / self.count if self.count else 0.0


class RootMeanSquaredError(MeanSquaredError):
    """sqrt of the epoch's mse over all outputs (Keras's; for one output, scikit-learn's rmse)."""

    default_name = "rmse"

    def result(self) -> float:
        return float(np.sqrt(super().result()))


class FunctionMetric(_Collect):
    """Any ``f(y_true, y_pred) -> float``, called once on the whole epoch's arrays."""

    def __init__(self, fn: Callable[..., float], name: str | None = None, task: str | None = None) -> None:
        self.fn = fn
        super().__init__(name or getattr(fn, "__name__", "metric"), task)

    def _arrays(self, y_true: Any, y_pred: Any, sample_weight: Any) -> tuple[np.ndarray, np.ndarray, Any]:
        y_true, y_pred = to_array(y_true), to_array(y_pred)
        if len(y_true) != len(y_pred):
            raise ValueError(f"metric {self.name!r}: y_true and y_pred have different numbers of samples: "
                             f"{len(y_true)} and {len(y_pred)}")
        return y_true, y_pred, sample_weights(f"metric {self.name!r}", sample_weight, len(y_true))

    def result(self) -> float:
        if not self.trues:
            return 0.0
        y_true, y_pred, w = self._all()
        return float(self.fn(y_true, y_pred) if w is None else self.fn(y_true, y_pred, sample_weight=w))


_NAMES: dict[str, Callable[[str, str | None], Metric]] = {
    "accuracy": lambda n, t: Accuracy(n, t),
    "acc": lambda n, t: Accuracy(n, t),
    "binary_accuracy": lambda n, t: Accuracy(n, "binary" if t is None else t),
    "categorical_accuracy": lambda n, t: Accuracy(n, "multiclass"),
    "sparse_categorical_accuracy": lambda n, t: Accuracy(n, "multiclass"),
    "precision": lambda n, t: Precision(n, t),
    "recall": lambda n, t: Recall(n, t),
    "f1": lambda n, t: F1Score(n, t),
    "f1_score": lambda n, t: F1Score(n, t),
    "auc": lambda n, t: AUC(n, t),
    "mae": lambda n, t: MeanAbsoluteError(n, t),
    "mean_absolute_error": lambda n, t: MeanAbsoluteError(n, t),
    "mse": lambda n, t: MeanSquaredError(n, t),
    "mean_squared_error": lambda n, t: MeanSquaredError(n, t),
    "rmse": lambda n, t: RootMeanSquaredError(n, t),
    "root_mean_squared_error": lambda n, t: RootMeanSquaredError(n, t),
    "top_k_accuracy": lambda n, t: TopKAccuracy(5, n, t),
    "top_k_categorical_accuracy": lambda n, t: TopKAccuracy(5, n, t),
    "sparse_top_k_categorical_accuracy": lambda n, t: TopKAccuracy(5, n, t),
}


def get_metric(spec: str | Metric | type | Callable[..., float], task: str | None = None) -> Metric:
    """A Metric from a name ("accuracy", "top_3_accuracy"...), a Metric (returned as is), a Metric
    class, or a function f(y_true, y_pred) -> float. ``task``: see the module docstring.

    >>> m = get_metric("accuracy"); m.update(np.array([0, 2]), np.array([[.9, .1, 0], [.2, .3, .5]])); m.result()
    1.0
    """
    if task not in TASKS:
        raise ValueError(f"get_metric: task must be one of {list(TASKS)}. Received: task={task!r}")
    if isinstance(spec, Metric):
        if spec.task is None and task is not None:
            spec.task = task
            spec.reset()
        return spec
    if isinstance(spec, type) and issubclass(spec, Metric):
        return spec(task=task)
    if isinstance(spec, str):
        key = spec.lower()
        if key in _NAMES:
            return _NAMES[key](spec, task)
        match = re.fullmatch(r"top_(\d+)_(?:categorical_)?accuracy", key)
        if match:
            return TopKAccuracy(int(match.group(1)), spec, task)
        raise ValueError(f"get_metric: unknown metric {spec!r}. Expected one of {sorted(_NAMES)}, "
                         "'top_<k>_accuracy', a Metric or a function f(y_true, y_pred) -> float")
    if callable(spec):
        return FunctionMetric(spec, task=task)
    raise TypeError(f"get_metric: expected a name, a Metric or a function. Received: {type(spec).__name__}")
