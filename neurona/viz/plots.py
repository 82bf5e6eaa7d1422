"""Plots of training and evaluation: learning curves, confusion matrix, ROC curve, the
learning-rate range test, and the decision boundary of a 2-D classifier.

Every function returns a matplotlib ``Figure`` (drawn headless by Agg, never shown)
and also saves it when ``path`` is given (PNG, SVG, PDF or JPEG, from the extension).
Inputs are plain data (lists, NumPy arrays, Tensors) or neurona objects (a History,
a Module), so they work with any training loop.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, ListedColormap
from matplotlib.figure import Figure

from .. import backend
from ..metrics import auc, confusion_matrix, roc_curve
from ..nn import Module
from ..training.lr_finder import steepest_descent
from ._common import as_labels, as_numpy, predict_function
from ._figure import BAD, SavePath, finish, new_figure

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")  # matplotlib's tab10: class k has colour k in every plot
LOWER_IS_BETTER = ("loss", "error", "mse", "mae", "rmse", "entropy")


# ---------------------------------------------------------------- training curves
def plot_history(history: Any, metrics: Sequence[str] | None = None, path: SavePath = None) -> Figure:
    """Learning curves: one panel per quantity (loss, each metric), training vs validation, per epoch.

    history: a History (its ``.history`` dict) or a dict {"loss": [...], "val_loss": [...], "accuracy": [...], ...}.
    metrics: which quantities to draw (default: all, loss first). The best validation epoch is marked,
    the point early stopping would keep.

    >>> nr.viz.plot_history(model.fit(x, y, validation_split=0.1, epochs=20), path="curves.png")
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, Mapping) or not logs:
        raise TypeError("plot_history: expected a History or a non-empty dict of lists per epoch. "
                        f"Received: {type(history).__name__}")
    names = list(metrics) if metrics is not None else _base_names(logs)
    missing = [m for m in names if m not in logs and "val_" + m not in logs]
    if missing:
        raise ValueError(f"plot_history: no values for {', '.join(missing)}. Available: {', '.join(logs)}")
    ncols = min(len(names), 3)
    nrows = math.ceil(len(names) / ncols)
    fig = new_figure(4.6 * ncols, 3.4 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):  # a 3-column grid may have spare panels
        for key, label, style in ((name, "training", "-"), ("val_" + name, "validation", "--")):
            if key in logs:
                values = np.asarray(logs[key], dtype=np.float64)
                ax.plot(np.arange(1, len(values) + 1), values, style, marker="o", markersize=3, label=label)
        val = np.asarray(logs.get("val_" + name, []), dtype=np.float64)
        if np.isfinite(val).any():
            lower = any(word in name for word in LOWER_IS_BETTER)
            best = int(np.nanargmin(val) if lower else np.nanargmax(val))
            ax.plot(best + 1, val[best], "*", color=BAD, markersize=11, label=f"best: epoch {best + 1}")
        if name in ("lr", "learning_rate"):
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    return finish(fig, path, "plot_history")


def _base_names(logs: Mapping[str, Any]) -> list[str]:
    names = []
    for key in logs:
        base = key[4:] if key.startswith("val_") else key
        if base not in names:
            names.append(base)
    return sorted(names, key=lambda n: n != "loss")  # loss first, the rest in the order they came


# ---------------------------------------------------------------- confusion matrix
MAX_MATRIX_INCHES = 14.0
MAX_TICK_LABELS = 50


def plot_confusion_matrix(y_true: Any = None, y_pred: Any = None, *, matrix: Any = None,
                          class_names: Sequence[str] | None = None, normalize: str | None = None,
                          cmap: str = "Blues", title: str | None = None, path: SavePath = None) -> Figure:
    """Confusion matrix as a heat map with the value in each cell: rows true class, columns predicted.

    Give labels ``y_true`` (N,) and ``y_pred`` (N,) (or scores (N, C): the argmax is taken), or a
    ready ``matrix`` (n, n). normalize: None (counts), "true" (each row sums to 1: recall per class),
    "pred" (each column sums to 1: precision), "all" (fractions of all samples).

    >>> nr.viz.plot_confusion_matrix(y_test, model.predict(x_test), class_names=names, normalize="true")
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"plot_confusion_matrix: normalize must be None, 'true', 'pred' or 'all'. "
                         f"Received: normalize={normalize!r}")
    if matrix is not None:
        counts = as_numpy(matrix)
        if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
            raise ValueError(f"plot_confusion_matrix: matrix must be square (n, n). Received: shape={counts.shape}")
        labels = np.arange(counts.shape[0])
    elif y_true is None or y_pred is None:
        raise ValueError("plot_confusion_matrix: give y_true and y_pred, or matrix=")
    else:
        counts, labels = _confusion(y_true, y_pred, class_names)
    n = counts.shape[0]
    if class_names is not None and len(class_names) != n:
        raise ValueError(f"plot_confusion_matrix: {len(class_names)} class names for {n} classes")
    names = [str(c) for c in (class_names if class_names is not None else labels)]
    values = counts.astype(np.float64)
    if normalize is not None:
        total = {"true": values.sum(axis=1, keepdims=True), "pred": values.sum(axis=0, keepdims=True),
                 "all": values.sum()}[normalize]
        values = np.divide(values, total, out=np.zeros_like(values), where=total > 0)
    side = min(max(4.0, 0.55 * n + 2.5), MAX_MATRIX_INCHES)  # bounded: 1000 classes must not make a 550-inch figure
    fig = new_figure(side + 1.0, side)
    ax = fig.subplots()
    image = ax.imshow(values, cmap=cmap, vmin=0, vmax=values.max() if values.max() > 0 else 1)
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction" if normalize else "count")
    if n <= 30:  # beyond that the numbers no longer fit in the cells
        dark = values > 0.5 * values.max()
        size = 10 if n <= 10 else 7
        for i in range(n):
            for j in range(n):
                text = f"{values[i, j]:.2f}" if normalize else f"{int(counts[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=size, color="white" if dark[i, j] else "black")
    long_names = max(map(len, names)) > 5
    step = math.ceil(n / MAX_TICK_LABELS)  # with many classes, label every step-th so the names stay legible
    ticks = list(range(0, n, step))
    shown = [names[i][:20] for i in ticks]
    small = {"fontsize": 7} if len(ticks) > 30 else {}
    ax.set_xticks(ticks, shown, rotation=45 if long_names or len(ticks) > 30 else 0,
                  ha="right" if long_names or len(ticks) > 30 else "center", **small)
    ax.set_yticks(ticks, shown, **small)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    total = counts.sum()
    accuracy = np.trace(counts) / total if total else float("nan")
    ax.set_title(title or f"accuracy {accuracy:.3f} ({int(total)} samples)")
    return finish(fig, path, "plot_confusion_matrix")


def _confusion(y_true: Any, y_pred: Any, class_names: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """The counts (by ``neurona.metrics.confusion_matrix``) and the label of each row."""
    t = as_labels(y_true, "plot_confusion_matrix", "y_true")
    p = as_labels(y_pred, "plot_confusion_matrix", "y_pred")
    if len(t) != len(p):
        raise ValueError(f"plot_confusion_matrix: y_true and y_pred must have the same length. "
                         f"Received: {len(t)} and {len(p)}")
    if class_names is not None and t.dtype.kind in "iu" and p.dtype.kind in "iu":
        labels = np.arange(len(class_names))  # names for classes 0..n-1, whether the data holds them all or not
        largest = max(t.max(initial=0), p.max(initial=0))
        if largest >= len(class_names) or min(t.min(initial=0), p.min(initial=0)) < 0:
            raise ValueError(f"plot_confusion_matrix: {len(class_names)} class names, for labels 0.."
                             f"{len(class_names) - 1}. Received: a label {largest}")
    else:  # scikit-learn's rule: the sorted labels present in either input ("cat" < "dog", 0 < 3)
        labels = np.unique(np.concatenate([t, p]))
    return confusion_matrix(t, p, labels=labels), labels


# ---------------------------------------------------------------- ROC curve
def plot_roc_curve(y_true: Any, scores: Any, class_names: Sequence[str] | None = None,
                   path: SavePath = None) -> Figure:
    """ROC curve (true positive rate against false positive rate), with the AUC in the legend.

    Binary: y_true in {0, 1} (N,), scores (N,) (a probability or a logit of class 1; or (N, 2), column 1 is used).
    Multi-class: y_true labels (N,), scores (N, C): one curve per class, that class against the rest.
    """
    y = as_numpy(y_true).reshape(-1)
    s = as_numpy(scores)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    curves = []  # (legend label, colour, is positive (N,), score (N,))
    if s.ndim == 1 or (s.ndim == 2 and s.shape[1] == 2):
        s1 = s if s.ndim == 1 else s[:, 1]
        label = class_names[1] if class_names is not None and len(class_names) == 2 else "ROC"
        curves.append((label, PALETTE[0], y == 1, s1))
    elif s.ndim == 2:
        names = class_names if class_names is not None else [str(k) for k in range(s.shape[1])]
        if len(names) != s.shape[1]:
            raise ValueError(f"plot_roc_curve: {len(names)} class names for {s.shape[1]} score columns")
        curves.extend((str(names[k]), PALETTE[k % len(PALETTE)], y == k, s[:, k])
                      for k in range(s.shape[1]) if (y == k).any())
    else:
        raise ValueError(f"plot_roc_curve: expected scores (N,) or (N, C). Received: shape={s.shape}")
    if s.shape[0] != y.shape[0]:
        raise ValueError(f"plot_roc_curve: y_true and scores must have the same length. "
                         f"Received: {y.shape[0]} and {s.shape[0]}")
    fig = new_figure(5.2, 4.8)
    ax = fig.subplots()
    for label, colour, positive, score in curves:
        n_pos = int(positive.sum())
        if n_pos in (0, len(positive)):
            raise ValueError(f"plot_roc_curve: y_true must hold both classes to draw a ROC curve. "
                             f"Received: {n_pos} positives of {len(positive)}")
        fpr, tpr, _ = roc_curve(positive, score)
        ax.plot(fpr, tpr, color=colour, lw=1.8,
                label=f"{label} (AUC = {auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], ":", color="gray", label="chance (AUC = 0.5)")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return finish(fig, path, "plot_roc_curve")


# ---------------------------------------------------------------- learning-rate range test
def suggest_lr(lrs: Any, losses: Any) -> float:
    """The learning rate where the loss falls fastest against log lr, before its minimum.

    The rule is the range test's own (``neurona.training.lr_finder.steepest_descent``), applied
    to the finite losses, so a plot of plain arrays marks the rate ``lr_find`` would suggest.
    """
    return steepest_descent(*_finite_curve(lrs, losses, "suggest_lr"))


def plot_lr_finder(lrs: Any, losses: Any = None, suggestion: float | bool | None = None,
                   path: SavePath = None) -> Figure:
    """Learning-rate range test: loss against learning rate (log axis), the suggested rate marked.

    lrs, losses: the rates tried and the loss after each (equal lengths); or one object holding both:
    a dict / History with "lr" and "loss", or an object with ``.lrs`` and ``.losses`` (the result of
    ``nr.training.lr_find``, whose ``.suggestion`` is marked).
    suggestion: the rate to mark; None computes it with ``suggest_lr``; False marks none.
    """
    if losses is None:
        if suggestion is None:
            suggestion = getattr(lrs, "suggestion", None)  # lr_find's result carries its own
        logs = getattr(lrs, "history", lrs)
        if isinstance(logs, Mapping) and "lr" in logs and "loss" in logs:
            lrs, losses = logs["lr"], logs["loss"]
        elif hasattr(lrs, "lrs") and hasattr(lrs, "losses"):
            lrs, losses = lrs.lrs, lrs.losses
        else:
            raise TypeError("plot_lr_finder: give lrs and losses, or one object with 'lr' and 'loss' "
                            f"(or .lrs and .losses). Received: {type(lrs).__name__}")
    x, y = _finite_curve(lrs, losses, "plot_lr_finder")
    fig = new_figure(6.0, 4.2)
    ax = fig.subplots()
    ax.plot(x, y, lw=1.6, label="loss")
    ax.set_xscale("log")
    low, high = float(y.min()), float(y.max())
    cap = y[0] + 0.5 * (y[0] - low)  # a diverging tail would squash the useful part of the curve
    if high > cap > low:
        ax.set_ylim(low - 0.05 * (cap - low), cap)
    if suggestion is None:
        suggestion = suggest_lr(x, y)
    if suggestion is not False:
        lr = float(suggestion)
        at = float(np.interp(np.log10(lr), np.log10(x), y))
        ax.axvline(lr, color=BAD, ls="--", lw=1)
        ax.plot(lr, at, "o", color=BAD, markersize=8, label=f"suggested lr = {lr:.2g}")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    ax.set_title("learning-rate range test")
    ax.grid(alpha=0.3)
    ax.legend()
    return finish(fig, path, "plot_lr_finder")


def _finite_curve(lrs: Any, losses: Any, who: str) -> tuple[np.ndarray, np.ndarray]:
    x = as_numpy(lrs).astype(np.float64).reshape(-1)
    y = as_numpy(losses).astype(np.float64).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(f"{who}: lrs and losses must have the same length. Received: {x.size} and {y.size}")
    keep = np.isfinite(y) & (x > 0)  # a diverged run ends in inf/NaN losses
    if keep.sum() < 2:
        raise ValueError(f"{who}: need at least 2 positive learning rates with finite losses. Received: {keep.sum()}")
    return x[keep], y[keep]


# ---------------------------------------------------------------- decision boundary
def plot_decision_boundary(model: Any, x: Any, y: Any = None, class_names: Sequence[str] | None = None,
                           resolution: int = 200, output: str = "auto", title: str | None = None,
                           path: SavePath = None) -> Figure:
    """Regions where a 2-D classifier predicts each class, with the training points on top.

    model: an nn.Module (outputs logits; run under no_grad in eval mode), a Keras-style model with
    ``.predict``, or any function (M, 2) array -> outputs. Outputs may be labels (M,), one score per
    point (M,) / (M, 1) for two classes, or scores per class (M, C).
    output: how to read one score per point: "logits" (class 1 where > 0), "probabilities"
    (where > 0.5) or "auto" (logits for a Module; else probabilities when all lie in [0, 1]).
    x: points (N, 2); y: their labels (N,), optional.
    """
    if output not in ("auto", "logits", "probabilities"):
        raise ValueError(f"plot_decision_boundary: output must be 'auto', 'logits' or 'probabilities'. "
                         f"Received: output={output!r}")
    points = as_numpy(x)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError("plot_decision_boundary: expected 2-D points x of shape (N, 2). "
                         f"Received: shape={points.shape}")
    labels = None if y is None else as_labels(y, "plot_decision_boundary", "y")
    predict = predict_function(model, "plot_decision_boundary")
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-6)
    g0 = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    g1 = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    mesh0, mesh1 = np.meshgrid(g0, g1)
    grid = np.stack([mesh0.ravel(), mesh1.ravel()], axis=1).astype(backend.get_default_dtype())
    outputs = np.concatenate([_as_2d_output(predict(grid[i:i + 8192])) for i in range(0, len(grid), 8192)])
    if len(outputs) != len(grid):
        raise ValueError(f"plot_decision_boundary: the model gave {len(outputs)} outputs for {len(grid)} points")
    prob, classes = _read_outputs(outputs, output, logits_by_default=isinstance(model, Module))
    n_classes = int(max(classes.max(), -1 if labels is None else labels.max())) + 1
    if class_names is not None and len(class_names) < n_classes:
        raise ValueError(f"plot_decision_boundary: {len(class_names)} class names for {n_classes} classes")
    n_classes = max(n_classes, 2, 0 if class_names is None else len(class_names))
    colours = [PALETTE[k % len(PALETTE)] for k in range(n_classes)]
    fig = new_figure(5.6, 4.8)
    ax = fig.subplots()
    if prob is not None:  # two classes: shade by the probability of class 1, the boundary where it is 0.5
        cmap = LinearSegmentedColormap.from_list("two", [colours[0], "#ffffff", colours[1]])
        filled = ax.contourf(mesh0, mesh1, prob.reshape(mesh0.shape), levels=np.linspace(0, 1, 11), cmap=cmap,
                             alpha=0.75)
        fig.colorbar(filled, ax=ax, shrink=0.8, label=f"P(class {class_names[1] if class_names else 1})")
        ax.contour(mesh0, mesh1, prob.reshape(mesh0.shape), levels=[0.5], colors="k", linewidths=1.2)
    else:
        regions = classes.reshape(mesh0.shape)
        ax.contourf(mesh0, mesh1, regions, levels=np.arange(n_classes + 1) - 0.5, cmap=ListedColormap(colours),
                    alpha=0.35)
        ax.contour(mesh0, mesh1, regions, levels=np.arange(n_classes) + 0.5, colors="k", linewidths=0.8)
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=14, c="k")
    else:
        for k in np.unique(labels).astype(int):
            name = class_names[k] if class_names is not None else f"class {k}"
            on = labels == k
            ax.scatter(points[on, 0], points[on, 1], s=16, color=colours[k], edgecolors="k", linewidths=0.5,
                       label=name)
        ax.legend(fontsize=8, loc="best")
    ax.set_xlim(g0[0], g0[-1])
    ax.set_ylim(g1[0], g1[-1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title or "decision boundary")
    return finish(fig, path, "plot_decision_boundary")


def _as_2d_output(out: np.ndarray) -> np.ndarray:
    return out.reshape(-1, 1) if out.ndim == 1 else out.reshape(out.shape[0], -1)


def _read_outputs(out: np.ndarray, output: str, logits_by_default: bool) -> tuple[np.ndarray | None, np.ndarray]:
    """(probability of class 1 when there are two classes, else None; predicted class per point)."""
    if out.shape[1] == 1:
        s = out[:, 0]
        if s.dtype.kind in "iub":
            return None, s.astype(np.int64)
        s = s.astype(np.float64)
        logits = output == "logits" or (output == "auto" and (logits_by_default or s.min() < 0 or s.max() > 1))
        prob = 0.5 * (1.0 + np.tanh(0.5 * s)) if logits else s  # the sigmoid, without overflow for large |s|
        return prob, (prob > 0.5).astype(np.int64)
    out = out.astype(np.float64)
    classes = out.argmax(axis=1)
    if out.shape[1] != 2:
        return None, classes
    probs = output == "probabilities" or (output == "auto" and not logits_by_default and out.min() >= 0
                                          and np.allclose(out.sum(axis=1), 1, atol=1e-3))
    prob = out[:, 1] if probs else 0.5 * (1.0 + np.tanh(0.5 * (out[:, 1] - out[:, 0])))  # softmax of 2 = sigmoid
    return prob, classes
