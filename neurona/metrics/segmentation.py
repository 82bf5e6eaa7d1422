"""Per-pixel classification metrics: pixel accuracy and intersection over union (IoU).

A segmentation model labels every pixel: ``y_true`` holds one class per pixel (N, H, W), and
``y_pred`` either the predicted classes (same shape) or the scores per class (N, H, W, C),
from which the highest-scoring class is taken.

    pixel accuracy = pixels with the right class / all pixels
    IoU_k          = |truth_k AND predicted_k| / |truth_k OR predicted_k|   (per class k)
    mean IoU       = the mean of IoU_k over the classes present in the truth or the prediction

Pixel accuracy flatters a model that labels everything as the background when most pixels are
background; mean IoU weighs every class equally, so it does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._inputs import to_array


def _labels(y_true: Any, y_pred: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    t, p = to_array(y_true), to_array(y_pred)
    if p.ndim == t.ndim + 1:
        p = p.argmax(axis=-1)  # scores per class -> the predicted class
    if t.shape != p.shape:
        raise ValueError(f"{where}: y_pred must be classes of y_true's shape {t.shape} or scores of shape "
                         f"{t.shape + ('C',)}. Received: y_pred of shape {to_array(y_pred).shape}")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.dtype.kind == "f" and not np.all(a == np.round(a)):
            raise ValueError(f"{where}: {name} must hold whole class numbers. Received: {a.dtype} values such as "
                             f"{a[a != np.round(a)].ravel()[0]}")
    return t.astype(np.int64, copy=False), p.astype(np.int64, copy=False)


def pixel_accuracy(y_true: Any, y_pred: Any, ignore_index: int | None = None) -> float:
    """The fraction of pixels whose predicted class is the true one (pixels labelled ``ignore_index`` skipped)."""
    t, p = _labels(y_true, y_pred, "pixel_accuracy")
    keep = np.ones(t.shape, bool) if ignore_index is None else t != ignore_index
    n = int(keep.sum())
    if n == 0:
        raise ValueError("pixel_accuracy: no pixels to score (every one is empty or ignored)")
    return float(((t == p) & keep).sum() / n)


def iou_per_class(y_true: Any, y_pred: Any, num_classes: int | None = None,
                  ignore_index: int | None = None) -> np.ndarray:
    """IoU_k = |truth_k AND predicted_k| / |truth_k OR predicted_k| for k = 0..num_classes-1 (NaN: both empty)."""
    t, p = _labels(y_true, y_pred, "iou_per_class")
    if ignore_index is not None:
        keep = t != ignore_index
        t, p = t[keep], p[keep]
    t, p = t.ravel(), p.ravel()
    seen = int(max(t.max(initial=-1), p.max(initial=-1))) + 1
    k = seen if num_classes is None else int(num_classes)
    if min(t.min(initial=0), p.min(initial=0)) < 0 or seen > k:
        raise ValueError(f"iou_per_class: classes must be in [0, {k - 1}]. Received: classes from "
                         f"{int(min(t.min(initial=0), p.min(initial=0)))} to {seen - 1}")
    confusion = np.bincount(t * k + p, minlength=k * k).reshape(k, k)  # rows: truth, columns: prediction
    intersection = np.diag(confusion).astype(np.float64)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / np.maximum(union, 1), np.nan)


def mean_iou(y_true: Any, y_pred: Any, num_classes: int | None = None, ignore_index: int | None = None) -> float:
    """The mean of the per-class IoU over the classes present in the truth or the prediction."""
    iou = iou_per_class(y_true, y_pred, num_classes, ignore_index)
    present = iou[~np.isnan(iou)]
    if present.size == 0:
        raise ValueError("mean_iou: no pixels to score (every one is empty or ignored)")
    return float(present.mean())
