"""Classification metrics from counts: the confusion table and the rates derived from it.

For one class c (the "positive" one) every sample falls in one cell:

                     predicted c     predicted not c
    actually c          TP               FN           sensitivity = recall = TPR = TP / (TP + FN)
    actually not c      FP               TN           specificity = TNR = TN / (TN + FP)
    precision = PPV = TP / (TP + FP)    NPV = TN / (TN + FN)
    accuracy = (TP + TN) / N            F1 = 2 TP / (2 TP + FP + FN)  (harmonic mean of precision and recall)

Binary problems report the rates of ``pos_label``. Multi-class problems compute the table
of each class against the rest and average the rates: ``average="macro"`` (plain mean over
classes), ``"weighted"`` (weighted by each class's support, the number of true samples),
``"micro"`` (sum the tables first; micro precision = micro recall = accuracy for single-label
data), or ``None`` (one rate per class). Definitions and argument order are scikit-learn's.

zero_division: a rate whose denominator is 0 (no predicted positives for precision...) is
``zero_division`` (0 by default, as scikit-learn's default "warn" gives, but without a warning).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._inputs import check_targets, encode, sample_weights, to_array, union, unique

AVERAGES = (None, "binary", "micro", "macro", "weighted", "samples")


def accuracy(y_true: Any, y_pred: Any, normalize: bool = True, sample_weight: Any = None) -> float:
    """Fraction (or with normalize=False, number) of samples whose predicted label is right.

    y_true, y_pred: labels (N,) or 0/1 indicator matrices (N, C) (then a row counts only when all
    its labels are right: subset accuracy); one-hot rows may be compared with labels.

    >>> accuracy([0, 1, 2, 2], [0, 2, 2, 2])
    0.75
    """
    kind, y_true, y_pred = check_targets("accuracy", y_true, y_pred)
    hits = (y_true == y_pred).all(axis=1) if kind == "multilabel-indicator" else y_true == y_pred
    w = sample_weights("accuracy", sample_weight, len(hits))
    if normalize:
        return float(np.average(hits, weights=w)) if len(hits) else 0.0
    return float(hits.sum() if w is None else hits @ w)


def _labels(y_true: np.ndarray, y_pred: np.ndarray, labels: Any) -> tuple[np.ndarray, bool]:
    if labels is None:
        return union(y_true, y_pred), False
    labels = to_array(labels).reshape(-1)
    if len(labels) == 0:
        raise ValueError("labels: expected at least one label. Received: an empty list")
    if len(unique(labels)) != len(labels):
        raise ValueError(f"labels must be unique. Received: {list(labels)}")
    return labels, True


def confusion_matrix(y_true: Any, y_pred: Any, labels: Any = None, sample_weight: Any = None,
                     normalize: str | None = None) -> np.ndarray:
    """C[i, j]: the number of samples of true class labels[i] predicted as labels[j].

    labels: the classes, in the order of the rows (default: the sorted labels present in
    either input; for one-hot inputs, 0..C-1). Samples whose labels are not in ``labels``
    are left out. normalize: "true" (rows sum to 1), "pred" (columns), "all", or None (counts).
    """
    y_true_raw = to_array(y_true)
    kind, y_true, y_pred = check_targets("confusion_matrix", y_true, y_pred)
    if kind == "multilabel-indicator":
        if not (np.asarray(y_true.sum(axis=1) == 1).all() and (y_pred.sum(axis=1) == 1).all()):
            raise ValueError("confusion_matrix: multilabel indicator matrices are not supported (rows with several "
                             "1s); use multilabel_counts")
        y_true, y_pred = y_true.argmax(axis=1), y_pred.argmax(axis=1)
    if labels is None and y_true_raw.ndim == 2 and y_true_raw.shape[1] > 1:
        labels = np.arange(y_true_raw.shape[1])
    labels, _ = _labels(y_true, y_pred, labels)
    w = sample_weights("confusion_matrix", sample_weight, len(y_true))
    t, p = encode(y_true, labels), encode(y_pred, labels)
    keep = (t >= 0) & (p >= 0)
    n = len(labels)
    cm = np.bincount(t[keep] * n + p[keep], weights=None if w is None else w[keep], minlength=n * n).reshape(n, n)
    if w is None:
        cm = cm.astype(np.int64)
    if normalize is None:
        return cm
    axis = {"true": 1, "pred": 0, "all": None}
    if normalize not in axis:
        raise ValueError(f"confusion_matrix: normalize must be 'true', 'pred', 'all' or None. Received: {normalize!r}")
    total = cm.sum(axis=axis[normalize], keepdims=True)
    return np.nan_to_num(cm / np.where(total == 0, 1, total))


def multilabel_counts(y_true: Any, y_pred: Any, labels: Any = None, sample_weight: Any = None,
                      where: str = "multilabel_counts") -> dict[str, np.ndarray]:
    """One-vs-rest tables: arrays tp, fp, fn, tn (one entry per label), and the labels.

    For labels (N,), every class against the rest (computed on all labels present, so that
    ``labels`` may select a subset); for indicator matrices (N, C), each column, and
    ``labels`` are column indices.
    """
    kind, y_true, y_pred = check_targets(where, y_true, y_pred)
    w = sample_weights(where, sample_weight, len(y_true))
    if kind == "multilabel-indicator":
        cols = np.arange(y_true.shape[1]) if labels is None else to_array(labels).astype(np.int64).reshape(-1)
        yt, yp = y_true[:, cols], y_pred[:, cols]
        ww = np.ones(len(yt)) if w is None else w
        tp, pred, true = ww @ (yt & yp), ww @ yp, ww @ yt
        total = ww.sum()
        if w is None:
            tp, pred, true, total = (np.rint(a).astype(np.int64) for a in (tp, pred, true, total))
        fp, fn = pred - tp, true - tp
        return dict(tp=tp, fp=fp, fn=fn, tn=total - tp - fp - fn, labels=cols, kind=kind)
    labels, given = _labels(y_true, y_pred, labels)
    everything = union(union(y_true, y_pred), labels) if given else labels
    t, p = encode(y_true, everything), encode(y_pred, everything)
    n = len(everything)
    hit = t == p
    # bincounts in scikit-learn's order, so that weighted sums agree to the last bit
    tp = np.bincount(t[hit], None if w is None else w[hit], minlength=n)
    pred, true = np.bincount(p, w, minlength=n), np.bincount(t, w, minlength=n)
    total = len(t) if w is None else w.sum()
    fp, fn = pred - tp, true - tp
    tn = total - tp - fp - fn
    idx = encode(labels, everything)
    return dict(tp=tp[idx], fp=fp[idx], fn=fn[idx], tn=tn[idx], labels=labels, kind=kind)


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.where(den == 0, float(zero_division), num / np.where(den == 0, 1.0, den))


def _reduce(scores: np.ndarray, average: str | None, support: np.ndarray) -> Any:
    if average is None:
        return scores
    keep = ~np.isnan(scores)  # zero_division=nan: left out of the average, as scikit-learn's
    if not keep.any():
        return float("nan")
    if average == "weighted" and support[keep].sum() > 0:
        return float(np.average(scores[keep], weights=support[keep]))
    return float(scores[keep].mean())


def _check_average(where: str, average: Any, kind: str, pos_label: Any, labels: np.ndarray) -> None:
    if average not in AVERAGES:
        raise ValueError(f"{where}: average must be one of {list(AVERAGES)}. Received: average={average!r}")
    if average == "samples" and kind != "multilabel-indicator":
        raise ValueError(f"{where}: average='samples' is for multilabel indicator targets. Received: {kind} targets")
    if average == "binary":
        if kind != "binary":
            raise ValueError(f"{where}: target is {kind} but average='binary'. Choose one of "
                             "[None, 'micro', 'macro', 'weighted']")
        if pos_label not in labels and len(labels) >= 2:
            raise ValueError(f"{where}: pos_label={pos_label!r} is not a valid label. Expected one of {list(labels)}")


Counts = dict  # "tp", "fp", "fn", "tn": arrays with one entry per label (or per sample)


def _rates(where: str, y_true: Any, y_pred: Any, fraction: Any, labels: Any, pos_label: Any,
           average: str | None, sample_weight: Any, zero_division: float) -> Any:
    """fraction(counts) -> (numerator, denominator), per label, then averaged as ``average`` says."""
    kind, yt, yp = check_targets(where, y_true, y_pred)
    _check_average(where, average, kind, pos_label, union(yt, yp) if kind != "multilabel-indicator" else None)
    if average == "samples":  # one table per sample (its row of labels), then the weighted mean
        cols = slice(None) if labels is None else to_array(labels).astype(np.int64).reshape(-1)
        yt, yp = yt[:, cols], yp[:, cols]
        counts = dict(tp=(yt & yp).sum(1), fp=((1 - yt) & yp).sum(1), fn=(yt & (1 - yp)).sum(1),
                      tn=((1 - yt) & (1 - yp)).sum(1))
        scores = _divide(*fraction(counts), zero_division)
        return float(np.average(scores, weights=sample_weights(where, sample_weight, len(yt))))
    counts = multilabel_counts(yt, yp, [pos_label] if average == "binary" else labels, sample_weight, where)
    return rates_from_counts(counts, fraction, average, zero_division)


def rates_from_counts(counts: Counts, fraction: Any, average: str | None, zero_division: float = 0.0) -> Any:
    """The averaged rate from per-label counts (``multilabel_counts``'s): what every rate above ends with."""
    if average == "micro":
        counts = {k: np.array([counts[k].sum()]) for k in ("tp", "fp", "fn", "tn")}
    scores = _divide(*fraction(counts), zero_division)
    if average in ("binary", "micro"):
        return float(scores[0])
    return _reduce(scores, average, counts["tp"] + counts["fn"])


def precision_fraction(c: Counts) -> tuple[Any, Any]:
    return c["tp"], c["tp"] + c["fp"]


def recall_fraction(c: Counts) -> tuple[Any, Any]:
    return c["tp"], c["tp"] + c["fn"]


def f1_fraction(c: Counts) -> tuple[Any, Any]:
    return 2 * c["tp"], 2 * c["tp"] + c["fp"] + c["fn"]


def precision(y_true: Any, y_pred: Any, labels: Any = None, pos_label: Any = 1, average: str | None = "binary",
              sample_weight: Any = None, zero_division: float = 0.0) -> Any:
    """Precision, positive predictive value: TP / (TP + FP), the fraction of predicted positives that are right.

    average: "binary" (of ``pos_label``; the default, for two-class problems), "macro",
    "weighted", "micro", None (an array, one per label), "samples" (multilabel).

    >>> precision([0, 1, 1, 0], [1, 1, 1, 0])
    0.6666666666666666
    """
    return _rates("precision", y_true, y_pred, precision_fraction, labels, pos_label, average,
                  sample_weight, zero_division)


def recall(y_true: Any, y_pred: Any, labels: Any = None, pos_label: Any = 1, average: str | None = "binary",
           sample_weight: Any = None, zero_division: float = 0.0) -> Any:
    """Recall, sensitivity, true positive rate: TP / (TP + FN), the fraction of positives that are found."""
    return _rates("recall", y_true, y_pred, recall_fraction, labels, pos_label, average,
                  sample_weight, zero_division)


def specificity(y_true: Any, y_pred: Any, labels: Any = None, pos_label: Any = 1, average: str | None = "binary",
                sample_weight: Any = None, zero_division: float = 0.0) -> Any:
    """Specificity, true negative rate: TN / (TN + FP), the fraction of negatives recognised as negative."""
    return _rates("specificity", y_true, y_pred, lambda c: (c["tn"], c["tn"] + c["fp"]), labels, pos_label, average,
                  sample_weight, zero_division)


def npv(y_true: Any, y_pred: Any, labels: Any = None, pos_label: Any = 1, average: str | None = "binary",
        sample_weight: Any = None, zero_division: float = 0.0) -> Any:
    """Negative predictive value: TN / (TN + FN), the fraction of predicted negatives that are right."""
    return _rates("npv", y_true, y_pred, lambda c: (c["tn"], c["tn"] + c["fn"]), labels, pos_label, average,
                  sample_weight, zero_division)


def fbeta_score(y_true: Any, y_pred: Any, beta: float, labels: Any = None, pos_label: Any = 1,
                average: str | None = "binary", sample_weight: Any = None, zero_division: float = 0.0) -> Any:
    """F-beta = (1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP): beta > 1 weighs recall more, beta < 1 precision."""
    if not beta >= 0:
        raise ValueError(f"fbeta_score: beta must be >= 0. Received: beta={beta}")
    if np.isinf(beta):
        return recall(y_true, y_pred, labels, pos_label, average, sample_weight, zero_division)
    b2 = float(beta) ** 2

    def fraction(c: Counts) -> tuple[Any, Any]:
        return (1 + b2) * c["tp"], (1 + b2) * c["tp"] + b2 * c["fn"] + c["fp"]

    return _rates("fbeta_score", y_true, y_pred, fraction, labels, pos_label, average, sample_weight, zero_division)


def f1_score(y_true: Any, y_pred: Any, labels: Any = None, pos_label: Any = 1, average: str | None = "binary",
             sample_weight: Any = None, zero_division: float = 0.0) -> Any:
    """F1 = 2 TP / (2 TP + FP + FN), the harmonic mean of precision and recall.

    >>> f1_score([0, 1, 2, 2], [0, 2, 2, 1], average="macro")
    0.5
    """
    return _rates("f1_score", y_true, y_pred, f1_fraction, labels, pos_label, average, sample_weight,
                  zero_division)


@dataclass(frozen=True)
class BinaryConfusion:
    """The course's 2x2 table for one positive class, with every rate derived from it.

    Counts are ints (floats with sample weights). ``str()`` prints the table.
    """

    tp: float
    fp: float
    fn: float
    tn: float

    def _rate(self, num: float, den: float) -> float:
        return float(num / den) if den else 0.0

    @property
    def sensitivity(self) -> float:
        """TP / (TP + FN): recall, true positive rate."""
        return self._rate(self.tp, self.tp + self.fn)

    recall = tpr = sensitivity

    @property
    def specificity(self) -> float:
        """TN / (TN + FP): true negative rate."""
        return self._rate(self.tn, self.tn + self.fp)

    tnr = specificity

    @property
    def precision(self) -> float:
        """TP / (TP + FP): positive predictive value."""
        return self._rate(self.tp, self.tp + self.fp)

    ppv = precision

    @property
    def npv(self) -> float:
        """TN / (TN + FN): negative predictive value."""
        return self._rate(self.tn, self.tn + self.fn)

    @property
    def fpr(self) -> float:
        """FP / (FP + TN) = 1 - specificity: false positive rate (the x axis of a ROC curve)."""
        return self._rate(self.fp, self.fp + self.tn)

    @property
    def fnr(self) -> float:
        """FN / (FN + TP) = 1 - sensitivity: false negative rate."""
        return self._rate(self.fn, self.fn + self.tp)

    @property
    def accuracy(self) -> float:
        return self._rate(self.tp + self.tn, self.tp + self.tn + self.fp + self.fn)

    @property
    def f1(self) -> float:
        return self._rate(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def as_dict(self) -> dict[str, float]:
        names = ("tp", "fp", "fn", "tn", "sensitivity", "specificity", "precision", "npv", "fpr", "fnr",
                 "accuracy", "f1")
        return {k: getattr(self, k) for k in names}

    def __str__(self) -> str:
        cells = [["", "predicted +", "predicted -", ""],
                 ["actual +", f"TP = {self.tp:g}", f"FN = {self.fn:g}", f"sensitivity (TPR) = {self.sensitivity:.4f}"],
                 ["actual -", f"FP = {self.fp:g}", f"TN = {self.tn:g}", f"specificity (TNR) = {self.specificity:.4f}"],
                 ["", f"PPV = {self.precision:.4f}", f"NPV = {self.npv:.4f}", ""]]
        widths = [max(len(row[j]) for row in cells) + 3 for j in range(3)]
        lines = ["".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + row[3] for row in cells]
        lines.append(f"accuracy = {self.accuracy:.4f}   F1 = {self.f1:.4f}   (PPV: precision, TPR: recall)")
        return "\n".join(line.rstrip() for line in lines)


def binary_confusion(y_true: Any, y_pred: Any, pos_label: Any = 1, sample_weight: Any = None) -> BinaryConfusion:
    """TP, FP, FN, TN of a two-class problem (``pos_label`` is the positive class) and their rates.

    >>> t = binary_confusion([1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    >>> t.tp, t.fp, t.fn, t.tn, t.sensitivity, t.specificity
    (2, 1, 1, 1, 0.6666666666666666, 0.5)
    """
    kind, yt, yp = check_targets("binary_confusion", y_true, y_pred)
    if kind != "binary":
        raise ValueError(f"binary_confusion: expected two classes. Received: {kind} targets "
                         f"(labels {list(union(yt, yp)) if yt.ndim == 1 else yt.shape})")
    counts = multilabel_counts(yt, yp, [pos_label], sample_weight, "binary_confusion")
    cast = int if sample_weight is None else float
    return BinaryConfusion(*(cast(counts[k][0]) for k in ("tp", "fp", "fn", "tn")))
