"""Metrics: scikit-learn's definitions and argument order (y_true, y_pred), on host arrays.

    from neurona import metrics
    metrics.accuracy(y_test, model.predict(x_test).argmax(axis=1))
    metrics.binary_confusion(y, y_hat)        # the course's TP/FP/FN/TN table and its rates
    print(metrics.classification_report(y, y_hat, target_names=names))

Inputs may be lists, NumPy arrays or Tensors. ``Metric`` objects (``get_metric("auc")``)
accumulate over the batches of an epoch for ``model.compile(metrics=[...])``.
"""

from ._inputs import UndefinedMetricWarning
from .classification import (
    AVERAGES,
    BinaryConfusion,
    accuracy,
    binary_confusion,
    confusion_matrix,
    f1_score,
    fbeta_score,
    multilabel_counts,
    npv,
    precision,
    recall,
    specificity,
)
from .confusion_counts import FalseNegatives, FalsePositives, Mean, TrueNegatives, TruePositives
from .ranking import auc, roc_auc, roc_curve, top_k_accuracy
from .regression import mae, mse, r2_score, rmse
from .report import classification_report
from .segmentation import iou_per_class, mean_iou, pixel_accuracy
from .streaming import (
    AUC,
    Accuracy,
    F1Score,
    FunctionMetric,
    MeanAbsoluteError,
    MeanSquaredError,
    Metric,
    Precision,
    Recall,
    RootMeanSquaredError,
    TopKAccuracy,
    get_metric,
    infer_task,
)

# scikit-learn's names, for code ported from it
accuracy_score = accuracy
precision_score = precision
recall_score = recall
roc_auc_score = roc_auc
top_k_accuracy_score = top_k_accuracy
mean_squared_error = mse
mean_absolute_error = mae
root_mean_squared_error = rmse

__all__ = [
    "FalseNegatives", "FalsePositives", "Mean", "TrueNegatives", "TruePositives",
    "AUC", "AVERAGES", "Accuracy", "BinaryConfusion", "F1Score", "FunctionMetric", "MeanAbsoluteError",
    "MeanSquaredError", "Metric", "Precision", "Recall", "RootMeanSquaredError", "TopKAccuracy",
    "UndefinedMetricWarning", "accuracy", "accuracy_score", "auc", "binary_confusion", "classification_report",
    "confusion_matrix", "f1_score", "fbeta_score", "get_metric", "infer_task", "mae", "mean_absolute_error",
    "iou_per_class", "mean_iou", "pixel_accuracy",
    "mean_squared_error", "mse", "multilabel_counts", "npv", "precision", "precision_score", "r2_score", "recall",
    "recall_score", "rmse", "roc_auc", "roc_auc_score", "roc_curve", "root_mean_squared_error", "specificity",
    "top_k_accuracy", "top_k_accuracy_score",
]
