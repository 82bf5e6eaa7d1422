"""The metrics a search ranks trials by, computed with ``nr.metrics`` on the validation set.

Classification (a model with one logit per class): ``val_loss``, ``val_accuracy``, and the
macro averages ``precision``, ``recall``, ``f1`` and ``roc_auc`` (one class against the
rest; for two classes the binary values of class 1). Regression: ``val_loss``, ``mse``,
``mae``, ``r2``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import metrics
from .space import TuneError

DIRECTIONS = {"val_loss": "minimize", "val_accuracy": "maximize", "precision": "maximize",
              "recall": "maximize", "f1": "maximize", "roc_auc": "maximize",
              "mse": "minimize", "mae": "minimize", "r2": "maximize"}
TASK_METRICS = {"classification": ("val_loss", "val_accuracy", "precision", "recall", "f1", "roc_auc"),
                "regression": ("val_loss", "mse", "mae", "r2")}


def check_metric(metric: str, task: str) -> str:
    """The Optuna direction of ``metric`` ("minimize"/"maximize"); an error when the task cannot compute it."""
    if task not in TASK_METRICS:
        raise TuneError(f"task must be one of {', '.join(TASK_METRICS)}. Received: task={task!r}")
    if metric not in DIRECTIONS:
        raise TuneError(f"unknown metric {metric!r}. Expected one of {', '.join(DIRECTIONS)}")
    if metric not in TASK_METRICS[task]:
        raise TuneError(f"metric {metric!r} cannot be computed for {task}; "
                        f"{task} offers {', '.join(TASK_METRICS[task])}")
    return DIRECTIONS[metric]


def score(model: Any, x_val: np.ndarray, y_val: np.ndarray, task: str, batch_size: int = 256) -> dict[str, float]:
    """Every metric of ``task`` on the validation set (val_loss from the compiled loss)."""
    out = {"val_loss": float(model.evaluate(x_val, y_val, batch_size=batch_size, return_dict=True)["loss"])}
    pred = model.predict(x_val, batch_size=batch_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", metrics.UndefinedMetricWarning)  # a class never predicted counts 0
        if task == "regression":
            pred = pred.reshape(np.shape(y_val))
            out.update(mse=float(metrics.mse(y_val, pred)), mae=float(metrics.mae(y_val, pred)),
                       r2=float(metrics.r2_score(y_val, pred)))
            return out
        labels = np.arange(pred.shape[-1])
        y_hat = pred.argmax(axis=-1)
        z = np.exp(pred.astype(np.float64) - pred.max(axis=-1, keepdims=True))
        probs = z / z.sum(axis=-1, keepdims=True)
        average = "binary" if len(labels) == 2 else "macro"
        out["val_accuracy"] = float(metrics.accuracy(y_val, y_hat))
        out["precision"] = float(metrics.precision(y_val, y_hat, labels=labels, average=average))
        out["recall"] = float(metrics.recall(y_val, y_hat, labels=labels, average=average))
        out["f1"] = float(metrics.f1_score(y_val, y_hat, labels=labels, average=average))
        out["roc_auc"] = _roc_auc(y_val, probs, labels)
    return out


def _roc_auc(y: np.ndarray, probs: np.ndarray, labels: np.ndarray) -> float:
    present = np.unique(y)
    if len(present) < 2:  # undefined with a single class in the validation set
        return float("nan")
    if len(labels) == 2:
        return float(metrics.roc_auc(y, probs[:, 1]))
    if len(present) < len(labels):  # classes absent from y: average over the present ones
        cols = probs[:, present] / probs[:, present].sum(axis=1, keepdims=True)
        return float(metrics.roc_auc(y, cols, labels=present))
    return float(metrics.roc_auc(y, probs, labels=labels))
