"""What a run reports: per-class tables and the confusion matrix, or regression errors; JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import metrics
from ..files import atomic_write

MAX_PRINTED_CLASSES = 20  # a wider confusion matrix no longer fits a terminal


def classification(y_true: np.ndarray, logits: np.ndarray, names: list[str]) -> dict[str, Any]:
    """Accuracy, confusion matrix and per-class report of logits against labels 0..K-1."""
    y_pred = logits.argmax(axis=-1)
    labels = list(range(len(names)))
    return {
        "accuracy": float(metrics.accuracy(y_true, y_pred)),
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "report": metrics.classification_report(y_true, y_pred, labels=labels, target_names=names, digits=3),
    }


def regression(y_true: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    """MSE, MAE and R^2 of the predictions, in the target's own units."""
    pred = pred.reshape(y_true.shape)
    return {"mse": float(metrics.mse(y_true, pred)), "mae": float(metrics.mae(y_true, pred)),
            "r2": float(metrics.r2_score(y_true, pred))}


def print_classification(summary: dict[str, Any], names: list[str]) -> None:
    matrix = summary["confusion_matrix"]
    if len(names) > MAX_PRINTED_CLASSES:
        print(f"confusion matrix: {len(names)} classes, too many to print (see the JSON or the plot)")
    else:
        width = max(5, max(len(str(v)) for row in matrix for v in row) + 1)
        short = [n[:width - 1] for n in names]
        print("confusion matrix (rows: true class, columns: predicted)")
        print(" " * 12 + "".join(s.rjust(width) for s in short))
        for name, row in zip(short, matrix):
            print(name[:11].ljust(12) + "".join(str(v).rjust(width) for v in row))
    print("\n" + summary["report"])


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2).encode("utf-8"))
