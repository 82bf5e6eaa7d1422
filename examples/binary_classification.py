"""Binary classification: medical diagnosis support on scikit-learn's breast-cancer data.

30 measurements of a cell nucleus image -> malignant (1) or benign (0). One sigmoid
output trained with binary cross-entropy; the report is the course's table of
TP/FP/FN/TN with its rates, and the ROC AUC (how well the score ranks patients,
whatever threshold a clinician picks).

    python examples/binary_classification.py [--quick]
"""

import argparse

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import neurona as nr
from neurona import metrics, nn


def parse_args(argv: list[str] | None, epochs: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer epochs) for a first look")
    parser.add_argument("--epochs", type=int, default=epochs, help=f"epochs of the full run (default {epochs})")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv, epochs=60)
    nr.manual_seed(args.seed)
    data = load_breast_cancer()
    x, y = data.data.astype(np.float32), 1 - data.target  # 1 = malignant: the class we must not miss
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=args.seed)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)  # statistics of the training set only
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    model = nn.Sequential([nn.Dense(16, activation="relu"), nn.Dropout(0.2), nn.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "auc"])
    model.fit(x_train, y_train, epochs=10 if args.quick else args.epochs, batch_size=32,
              validation_split=0.15, verbose=0 if args.quick else 2)

    p = model.predict(x_test)[:, 0]  # probability of malignancy
    y_hat = (p >= 0.5).astype(int)
    table = metrics.binary_confusion(y_test, y_hat)
    results = {"accuracy": table.accuracy, "precision": table.precision, "recall": table.recall,
               "specificity": table.specificity, "npv": table.npv, "roc_auc": metrics.roc_auc(y_test, p)}
    print(table)
    print("test: " + "  ".join(f"{k} {v:.3f}" for k, v in results.items()))
    return results


if __name__ == "__main__":
    main()
