"""Binary classification: medical diagnosis support on scikit-learn's breast-cancer data.

30 measurements of a cell nucleus image -> malignant (1) or benign (0). One sigmoid
output trained with binary cross-entropy; the report is the course's table of
TP/FP/FN/TN with its rates, and the ROC AUC (how well the score ranks patients,
whatever threshold a clinician picks).

    python examples/binary_classification.py [--quick]
"""

import sys

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import neurona as nr
from neurona import metrics, nn


def main(epochs: int = 60, quick: bool = False, seed: int = 0) -> dict:
    nr.manual_seed(seed)
    data = load_breast_cancer()
    x, y = data.data.astype(np.float32), 1 - data.target  # 1 = malignant: the class we must not miss
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)  # statistics of the training set only
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    model = nn.Sequential([nn.Dense(16, activation="relu"), nn.Dropout(0.2), nn.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "auc"])
    model.fit(x_train, y_train, epochs=10 if quick else epochs, batch_size=32, validation_split=0.15,
              verbose=0 if quick else 2)

    p = model.predict(x_test)[:, 0]  # probability of malignancy
    y_hat = (p >= 0.5).astype(int)
    table = metrics.binary_confusion(y_test, y_hat)
    results = {"accuracy": table.accuracy, "precision": table.precision, "recall": table.recall,
               "specificity": table.specificity, "npv": table.npv, "roc_auc": metrics.roc_auc(y_test, p)}
    print(table)
    print("test: " + "  ".join(f"{k} {v:.3f}" for k, v in results.items()))
    return results


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
