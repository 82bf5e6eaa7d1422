"""Metrics of scores rather than labels: the ROC curve, the area under it, top-k accuracy.

A classifier's score (a probability, a logit) becomes a label only once a threshold is
chosen. The ROC curve shows every choice at once: for each threshold, the true positive
rate (sensitivity) against the false positive rate (1 - specificity). Its area (AUC) is
the probability that a random positive scores higher than a random negative: 0.5 is
chance, 1 is perfect ranking. Definitions are scikit-learn's.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ._inputs import UndefinedMetricWarning, check_lengths, is_one_hot, sample_weights, target_type, to_array, unique


def _binary_pos_label(where: str, y_true: np.ndarray, pos_label: Any) -> Any:
    if pos_label is not None:
        return pos_label
    classes = unique(y_true)
    if classes.dtype.kind in "OUS" or not any(np.array_equal(classes, c) for c in ([0, 1], [-1, 1], [0], [-1], [1])):
        raise ValueError(f"{where}: y_true takes values {list(classes)}; with labels other than {{0, 1}} or "
                         "{-1, 1}, say which is the positive class with pos_label=")
    return 1


def _clf_curve(where: str, y_true: Any, y_score: Any, pos_label: Any, sample_weight: Any) -> tuple[np.ndarray, ...]:
    """(fps, tps, thresholds): weighted counts of false and true positives at each distinct score, highest first."""
    y_true, y_score = to_array(y_true), to_array(y_score)
    if y_score.ndim == 2 and y_score.shape[1] == 1:
        y_score = y_score.reshape(-1)
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true.reshape(-1)
    if y_true.ndim != 1 or y_score.ndim != 1:
        raise ValueError(f"{where}: expected y_true and y_score of shape (N,) for a binary problem. "
                         f"Received: y_true {y_true.shape}, y_score {y_score.shape}")
    check_lengths(where, y_true=y_true, y_score=y_score)
    kind = target_type(y_true)
    if kind != "binary" and not (kind == "multiclass" and pos_label is not None):
        raise ValueError(f"{where}: y_true must hold two classes. Received: {kind} targets")
    if not np.isfinite(y_score).all():
        raise ValueError(f"{where}: y_score contains NaN or infinity")
    pos = _binary_pos_label(where, y_true, pos_label)
    y_true = (y_true == pos).astype(np.float64)
    w = sample_weights(where, sample_weight, len(y_true))
    if w is not None:
        keep = w != 0
        y_true, y_score, w = y_true[keep], y_score[keep], w[keep]
    order = np.argsort(-y_score.astype(np.float64), kind="stable")
    y_score, y_true = y_score[order], y_true[order]
    ends = np.r_[np.flatnonzero(np.diff(y_score)), len(y_true) - 1]  # last index of each run of equal scores
    if w is None:
        tps = np.cumsum(y_true)[ends]
        fps = 1 + ends - tps
    else:
        w = w[order]
        tps = np.cumsum(y_true * w)[ends]
        fps = np.cumsum((1 - y_true) * w)[ends]
    return fps, tps, y_score[ends]


def roc_curve(y_true: Any, y_score: Any, pos_label: Any = None, sample_weight: Any = None,
              drop_intermediate: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds) of a binary problem, exactly as scikit-learn's roc_curve.

    y_true: labels (N,) in {0, 1} or {-1, 1} (or any two, with ``pos_label``); y_score: (N,)
    scores, higher for the positive class. A sample is predicted positive when its score is
    >= thresholds[i]; thresholds[0] is inf (nothing positive: the point (0, 0)).
    drop_intermediate leaves out points on straight segments of the curve.
    """
    fps, tps, thresholds = _clf_curve("roc_curve", y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and len(fps) > 2:
        corners = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thresholds = fps[corners], tps[corners], thresholds[corners]
    fps, tps = np.r_[0.0, fps].astype(np.float64), np.r_[0.0, tps].astype(np.float64)
    thresholds = np.r_[np.inf, thresholds.astype(np.float64)]
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return fpr, tpr, thresholds


def auc(x: Any, y: Any) -> float:
    """Area under a curve through the points (x, y), x monotonic, by the trapezoidal rule."""
    x, y = to_array(x).astype(np.float64), to_array(y).astype(np.float64)
    if x.ndim != 1 or x.shape != y.shape or len(x) < 2:
        raise ValueError(f"auc: expected x and y of the same shape (N,), N >= 2. Received: {x.shape}, {y.shape}")
    dx = np.diff(x)
    direction = 1.0
    if (dx < 0).any():
        if not (dx <= 0).all():
            raise ValueError("auc: x is neither increasing nor decreasing")
        direction = -1.0
    return float(direction * np.trapezoid(y, x))


def _binary_auc(y_true: np.ndarray, y_score: np.ndarray, sample_weight: Any, pos_label: Any = None) -> float:
    if len(unique(y_true)) != 2:
        warnings.warn("Only one class is present in y_true: ROC AUC is not defined, NaN returned",
                      UndefinedMetricWarning, stacklevel=3)
        return float("nan")
    fpr, tpr, _ = roc_curve(y_true, y_score, pos_label=pos_label, sample_weight=sample_weight)
    return auc(fpr, tpr)


def _average_columns(where: str, y_true: np.ndarray, y_score: np.ndarray, average: str | None,
                     sample_weight: Any) -> Any:
    """One-vs-rest: the binary AUC of each column, then averaged."""
    if average == "micro":
        w = None if sample_weight is None else np.repeat(sample_weights(where, sample_weight, len(y_true)),
                                                         y_true.shape[1])
        return _binary_auc(y_true.ravel(), y_score.ravel(), w)
    scores = np.array([_binary_auc(y_true[:, c], y_score[:, c], sample_weight) for c in range(y_true.shape[1])])
    if average is None:
        return scores
    if average == "weighted":
        w = sample_weights(where, sample_weight, len(y_true))
        support = (y_true * (1.0 if w is None else w[:, None])).sum(axis=0)
        return float(np.average(scores, weights=support)) if support.sum() > 0 else 0.0
    return float(scores.mean())


def roc_auc(y_true: Any, y_score: Any, average: str | None = "macro", multi_class: str = "ovr", labels: Any = None,
            sample_weight: Any = None) -> Any:
    """Area under the ROC curve (scikit-learn's roc_auc_score).

    Binary: y_true (N,) and y_score (N,), the positive class's score ((N, 2) probabilities:
    the second column is used). Multi-class: y_true labels (N,) and y_score (N, C), one column
    per class in sorted label order (or ``labels``' order); the AUC of each class against the
    rest, averaged ("macro", or "weighted" by prevalence). Multilabel: indicator y_true (N, C),
    per column, average "macro", "weighted", "micro" or None.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    where = "roc_auc"
    if average not in (None, "macro", "weighted", "micro"):
        raise ValueError(f"{where}: average must be 'macro', 'weighted', 'micro' or None. Received: {average!r}")
    y_true, y_score = to_array(y_true), to_array(y_score)
    check_lengths(where, y_true=y_true, y_score=y_score)
    kind = target_type(y_true)
    if kind == "multilabel-indicator":
        if y_score.shape != y_true.shape:
            raise ValueError(f"{where}: y_score must have y_true's shape {y_true.shape}. Received: {y_score.shape}")
        return _average_columns(where, y_true.astype(np.float64), y_score.astype(np.float64), average, sample_weight)
    if kind == "binary" and labels is None:
        if y_score.ndim == 2 and y_score.shape[1] == 2:
            y_score = y_score[:, 1]
        return _binary_auc(y_true.reshape(-1), y_score, sample_weight)
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"{where}: y_true must be class labels. Received: {kind} values")
    if multi_class != "ovr":
        raise ValueError(f"{where}: only multi_class='ovr' (one class against the rest) is supported. "
                         f"Received: {multi_class!r}")
    if average == "micro":
        raise ValueError(f"{where}: average='micro' is for multilabel targets; use 'macro' or 'weighted'")
    y_true = y_true.reshape(-1)
    classes = unique(y_true) if labels is None else to_array(labels).reshape(-1)
    if y_score.ndim != 2 or y_score.shape[1] != len(classes):
        raise ValueError(f"{where}: y_true has {len(classes)} classes, so y_score must have shape (N, "
                         f"{len(classes)}). Received: {y_score.shape} (pass labels= to name all classes)")
    onehot = (y_true[:, None] == classes[None, :]).astype(np.float64)
    return _average_columns(where, onehot, y_score.astype(np.float64), average, sample_weight)


def top_k_accuracy(y_true: Any, y_score: Any, k: int = 5, normalize: bool = True, sample_weight: Any = None,
                   labels: Any = None) -> float:
    """Fraction of samples whose true class is among the k highest scores (scikit-learn's top_k_accuracy_score).

    y_true: labels (N,) or one-hot (N, C); y_score: (N, C) scores. Classes are the columns in
    sorted label order; integer labels 0..C-1 index the columns directly (so a batch need not
    contain every class). Ties rank the higher column first, as scikit-learn. Binary y_score (N,)
    with k=1: score > 0.5 for probabilities, > 0 otherwise.
    """
    where = "top_k_accuracy"
    y_true, y_score = to_array(y_true), to_array(y_score)
    if is_one_hot(y_true):
        y_true = y_true.argmax(axis=1)
    y_true = y_true.reshape(-1) if y_true.ndim == 2 and y_true.shape[1] == 1 else y_true
    check_lengths(where, y_true=y_true, y_score=y_score)
    if int(k) != k or k < 1:
        raise ValueError(f"{where}: k must be an integer >= 1. Received: k={k}")
    w = sample_weights(where, sample_weight, len(y_true))
    if y_score.ndim == 1 or (y_score.ndim == 2 and y_score.shape[1] == 1):
        y_score = y_score.reshape(-1)
        classes = unique(y_true) if labels is None else to_array(labels).reshape(-1)
        if len(classes) > 2:
            raise ValueError(f"{where}: y_score of shape (N,) is for two classes; y_true has {len(classes)}")
        if k == 1:
            threshold = 0.5 if y_score.min() >= 0 and y_score.max() <= 1 else 0.0
            hits = (y_score > threshold) == (y_true == classes[-1])
        else:
            hits = np.ones(len(y_true), dtype=bool)
    else:
        n_classes = y_score.shape[1]
        if labels is not None:
            classes = to_array(labels).reshape(-1)
        elif y_true.dtype.kind in "iub" and len(y_true) and y_true.min() >= 0 and y_true.max() < n_classes:
            classes = np.arange(n_classes)
        else:
            classes = unique(y_true)
        if len(classes) != n_classes:
            raise ValueError(f"{where}: y_true has {len(classes)} classes but y_score has {n_classes} columns "
                             "(pass labels= to name all classes)")
        idx = np.searchsorted(classes, y_true)
        if (idx >= n_classes).any() or (classes[np.minimum(idx, n_classes - 1)] != y_true).any():
            raise ValueError(f"{where}: y_true contains labels that are not among the classes {list(classes)}")
        true_score = y_score[np.arange(len(idx)), idx][:, None]
        # rank of the true class: the classes scoring higher, and the tied ones in later columns
        above = (y_score > true_score).sum(axis=1)
        tied_after = ((y_score == true_score) & (np.arange(n_classes) > idx[:, None])).sum(axis=1)
        hits = above + tied_after < k
    if normalize:
        return float(np.average(hits, weights=w)) if len(hits) else 0.0
    return float(hits.sum() if w is None else hits @ w)
