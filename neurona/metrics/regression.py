"""Regression metrics: mean squared / absolute error and the coefficient of determination R^2.

Inputs are (N,) or (N, outputs). With several outputs each is scored on its own, then
averaged (``multioutput="uniform_average"``), or returned per output ("raw_values"), or
weighted by an array of your own; R^2 also takes "variance_weighted". Computed in float64,
returned as Python floats. Definitions are scikit-learn's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._inputs import check_lengths, sample_weights, to_array


def _targets(where: str, y_true: Any, y_pred: Any, sample_weight: Any) -> tuple[np.ndarray, ...]:
    y_true = to_array(y_true).astype(np.float64, copy=False)
    y_pred = to_array(y_pred).astype(np.float64, copy=False)
    y_true = y_true.reshape(-1, 1) if y_true.ndim == 1 else y_true
    y_pred = y_pred.reshape(-1, 1) if y_pred.ndim == 1 else y_pred
    check_lengths(where, y_true=y_true, y_pred=y_pred)
    if y_true.ndim != 2 or y_true.shape != y_pred.shape:
        raise ValueError(f"{where}: expected y_true and y_pred of the same shape (N,) or (N, outputs). "
                         f"Received: {to_array(y_true).shape} and {to_array(y_pred).shape}")
    if len(y_true) == 0:
        raise ValueError(f"{where}: expected at least one sample. Received: 0")
    return y_true, y_pred, sample_weights(where, sample_weight, len(y_true))


def _combine(where: str, per_output: np.ndarray, multioutput: Any) -> Any:
    if isinstance(multioutput, str):
        if multioutput == "raw_values":
            return per_output
        if multioutput == "uniform_average":
            return float(per_output.mean())
        raise ValueError(f"{where}: multioutput must be 'raw_values', 'uniform_average' or an array of weights. "
                         f"Received: {multioutput!r}")
    weights = to_array(multioutput).astype(np.float64).reshape(-1)
    if weights.shape != per_output.shape:
        raise ValueError(f"{where}: expected {len(per_output)} multioutput weights. Received: {len(weights)}")
    return float(np.average(per_output, weights=weights))


def mse(y_true: Any, y_pred: Any, sample_weight: Any = None, multioutput: Any = "uniform_average") -> Any:
    """Mean squared error: mean((y_true - y_pred)^2).

    >>> mse([3.0, -0.5, 2.0], [2.5, 0.0, 2.0])
    0.16666666666666666
    """
    y_true, y_pred, w = _targets("mse", y_true, y_pred, sample_weight)
    return _combine("mse", np.average((y_true - y_pred) ** 2, axis=0, weights=w), multioutput)


def rmse(y_true: Any, y_pred: Any, sample_weight: Any = None, multioutput: Any = "uniform_average") -> Any:
    """Root mean squared error: sqrt(mse) of each output (in the units of y), then averaged."""
    y_true, y_pred, w = _targets("rmse", y_true, y_pred, sample_weight)
    return _combine("rmse", np.sqrt(np.average((y_true - y_pred) ** 2, axis=0, weights=w)), multioutput)


def mae(y_true: Any, y_pred: Any, sample_weight: Any = None, multioutput: Any = "uniform_average") -> Any:
    """Mean absolute error: mean(|y_true - y_pred|), less sensitive to outliers than mse."""
    y_true, y_pred, w = _targets("mae", y_true, y_pred, sample_weight)
    return _combine("mae", np.average(np.abs(y_true - y_pred), axis=0, weights=w), multioutput)


def r2_score(y_true: Any, y_pred: Any, sample_weight: Any = None, multioutput: Any = "uniform_average",
             force_finite: bool = True) -> Any:
    """Coefficient of determination: R^2 = 1 - sum((y - y_pred)^2) / sum((y - mean(y))^2).

    1 is a perfect fit, 0 predicts as well as the mean, negative is worse than the mean. A
    constant y_true makes the denominator 0: with ``force_finite`` the score is then 1 for a
    perfect prediction and 0 otherwise (scikit-learn's default); NaN / -inf without it.
    """
    y_true, y_pred, w = _targets("r2_score", y_true, y_pred, sample_weight)
    if len(y_true) < 2:
        return float("nan") if not isinstance(multioutput, str) or multioutput != "raw_values" else np.full(
            y_true.shape[1], np.nan)
    ww = 1.0 if w is None else w[:, None]
    numerator = (ww * (y_true - y_pred) ** 2).sum(axis=0)
    denominator = (ww * (y_true - np.average(y_true, axis=0, weights=w)) ** 2).sum(axis=0)
    nonzero_num, nonzero_den = numerator != 0, denominator != 0
    scores = np.ones(y_true.shape[1])
    valid = nonzero_num & nonzero_den
    scores[valid] = 1 - numerator[valid] / denominator[valid]
    if force_finite:
        scores[nonzero_num & ~nonzero_den] = 0.0
    else:
        scores[nonzero_num & ~nonzero_den] = -np.inf
        scores[~nonzero_num & ~nonzero_den] = np.nan
    if isinstance(multioutput, str) and multioutput == "variance_weighted":
        # every output constant: no variance to weigh by, so a plain mean (as scikit-learn)
        with np.errstate(invalid="ignore"):  # -inf * weight 0 (force_finite=False) is NaN, as in scikit-learn
            return float(np.average(scores, weights=denominator if nonzero_den.any() else None))
    return _combine("r2_score", scores, multioutput)
