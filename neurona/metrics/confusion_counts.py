"""Keras's counting metrics: ``TruePositives``, ``FalsePositives``, ``TrueNegatives``, ``FalseNegatives``,
and ``Mean`` (the running weighted mean of values, for hand-written loops and callbacks).

The counts follow Keras: every entry of y_pred is one decision, positive when it is above the
threshold (0.5), compared with the matching entry of y_true (integer labels of a multiclass
output are one-hot first). With ``sample_weight`` each decision counts its sample's weight; the
model's ``metrics=[...]`` are updated without weights, ``weighted_metrics=[...]`` with them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._inputs import to_array
from .streaming import Metric


class _ConfusionCount(Metric):
    """Count of the decisions whose truth is ``truth`` and whose prediction is ``predicted``."""

    truth = predicted = True

    def __init__(self, thresholds: float | None = None, name: str | None = None, task: str | None = None) -> None:
        if thresholds is None:
            thresholds = 0.5
        if isinstance(thresholds, (list, tuple)) or not 0.0 <= float(thresholds) <= 1.0:
            raise ValueError(f"{type(self).__name__}: thresholds must be one number in [0, 1]. "
                             f"Received: thresholds={thresholds!r}")
        self.threshold = float(thresholds)
        super().__init__(name, task)

    def reset(self) -> None:
        super().reset()
        self.count = 0.0

    def update(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred, w = self._arrays(y_true, y_pred, sample_weight)
        if self._task == "regression":
            raise ValueError(f"metric {self.name!r} needs a classification task. Received: task='regression'")
        n = len(y_true)
        if self._task == "multiclass" and y_true.shape != y_pred.shape:
            y_true = np.eye(y_pred.shape[-1])[y_true.reshape(-1).astype(np.int64)]
        if y_true.size != y_pred.size:
            raise ValueError(f"metric {self.name!r}: expected y_pred of y_true's shape {y_true.shape}. "
                             f"Received: {y_pred.shape}")
        t = y_true.reshape(n, -1) > 0.5
        p = y_pred.reshape(n, -1) > self.threshold
        hits = ((t == self.truth) & (p == self.predicted)).sum(axis=1)
        self.count += float(hits.sum() if w is None else hits @ w)

    def result(self) -> float:
        return self.count


class TruePositives(_ConfusionCount):
    """How many positive entries were predicted positive (above the threshold)."""

    default_name = "true_positives"


class FalsePositives(_ConfusionCount):
    """How many negative entries were predicted positive."""

    default_name = "false_positives"
    truth = False


class TrueNegatives(_ConfusionCount):
    """How many negative entries were predicted negative."""

    default_name = "true_negatives"
    truth = predicted = False


class FalseNegatives(_ConfusionCount):
    """How many positive entries were predicted negative."""

    default_name = "false_negatives"
    predicted = False


class Mean(Metric):
    """The weighted mean of every value given so far: ``m.update(values, sample_weight=None)``.

    >>> m = Mean("jaccard"); m.update([1.0, 2.0]); m.update(6.0); m.result()
    3.0
    """

    default_name = "mean"

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name, None)

    def reset(self) -> None:
        super().reset()
        self.total = self.weight = 0.0

    def update(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        v = to_array(values).astype(np.float64).reshape(-1)
        if sample_weight is None:
            w = np.ones_like(v)
        else:
            w = np.broadcast_to(to_array(sample_weight).astype(np.float64).reshape(-1), v.shape) \
                if np.size(sample_weight) in (1, v.size) else None
            if w is None:
                raise ValueError(f"metric {self.name!r}: expected one sample_weight per value ({v.size}) or one "
                                 f"for all. Received: {np.size(sample_weight)}")
        self.total += float(v @ w)
        self.weight += float(w.sum())

    def result(self) -> float:
        return self.total / self.weight if self.weight else 0.0


__all__ = ["FalseNegatives", "FalsePositives", "Mean", "TrueNegatives", "TruePositives"]
