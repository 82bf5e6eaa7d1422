"""``classification_report``: precision, recall, F1 and support of every class, as a table (scikit-learn's text)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._inputs import check_targets, to_array, union
from .classification import (
    f1_fraction,
    f1_score,
    multilabel_counts,
    precision,
    precision_fraction,
    rates_from_counts,
    recall,
    recall_fraction,
)


def classification_report(y_true: Any, y_pred: Any, labels: Any = None, target_names: list[str] | None = None,
                          sample_weight: Any = None, digits: int = 2, output_dict: bool = False,
                          zero_division: float = 0.0) -> str | dict[str, Any]:
    """One line per class (precision, recall, F1, support = number of true samples), then the averages.

    The "accuracy" line stands for the micro average when every sample has one label (they
    are equal then). Same layout and numbers as scikit-learn's classification_report;
    ``output_dict=True`` returns the numbers as a dict instead.

    classification_report([0, 1, 2, 2], [0, 2, 2, 1], target_names=["cat", "dog", "fish"]) reads

                      precision    recall  f1-score   support
                 cat       1.00      1.00      1.00         1
                 dog       0.00      0.00      0.00         1
                fish       0.50      0.50      0.50         2

            accuracy                           0.50         4
           macro avg       0.50      0.50      0.50         4
        weighted avg       0.50      0.50      0.50         4
    """
    kind, y_true, y_pred = check_targets("classification_report", y_true, y_pred)
    present = np.arange(y_true.shape[1]) if kind == "multilabel-indicator" else union(y_true, y_pred)
    labels_given = labels is not None
    labels = to_array(labels).reshape(-1) if labels_given else present
    micro_is_accuracy = kind != "multilabel-indicator" and (not labels_given or set(labels) >= set(present))
    if target_names is not None and len(target_names) != len(labels):
        raise ValueError(f"classification_report: {len(labels)} classes but {len(target_names)} target_names. "
                         "Pass labels= to choose the classes")
    names = [str(n) for n in (target_names if target_names is not None else labels)]
    counts = multilabel_counts(y_true, y_pred, labels, sample_weight, "classification_report")
    fractions = (precision_fraction, recall_fraction, f1_fraction)
    per_class = [rates_from_counts(counts, f, None, zero_division) for f in fractions]
    support = counts["tp"] + counts["fn"]
    headers = ["precision", "recall", "f1-score", "support"]
    lines = []
    for average in ["micro", "macro", "weighted"]:
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        lines.append((heading, *(rates_from_counts(counts, f, average, zero_division) for f in fractions),
                      support.sum()))
    if kind == "multilabel-indicator":  # per-sample tables: computed from the rows
        args = dict(labels=labels, sample_weight=sample_weight, zero_division=zero_division)
        lines.append(("samples avg", *(fn(y_true, y_pred, average="samples", **args)
                                       for fn in (precision, recall, f1_score)), support.sum()))

    if output_dict:
        report: dict[str, Any] = {
            name: dict(zip(headers, (float(p), float(r), float(f), float(s)), strict=True))
            for name, p, r, f, s in zip(names, *per_class, support, strict=True)
        }
        for heading, *values in lines:
            values = [float(v) for v in values]
            report[heading] = values[2] if heading == "accuracy" else dict(zip(headers, values, strict=True))
        return report

    width = max(max(len(n) for n in names), len("weighted avg"), digits)
    text = f"{'':>{width}s} " + "".join(f" {h:>9}" for h in headers) + "\n\n"
    row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for name, p, r, f, s in zip(names, *per_class, support, strict=True):
        text += row.format(name, p, r, f, _support(s), width=width, digits=digits)
    text += "\n"
    for heading, p, r, f, s in lines:
        if heading == "accuracy":
            text += f"{heading:>{width}s} " + f" {'':>9}" * 2 + f" {f:>9.{digits}f} {_support(s):>9}\n"
        else:
            text += row.format(heading, p, r, f, _support(s), width=width, digits=digits)
    return text


def _support(s: Any) -> Any:
    """Counts print as integers, weighted sums as floats (as scikit-learn shows them)."""
    return int(s) if np.issubdtype(np.asarray(s).dtype, np.integer) else float(s)
