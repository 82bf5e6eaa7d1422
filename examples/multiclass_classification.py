"""Multi-class classification: handwritten digits (scikit-learn's 8x8 digits, 10 classes).

One output per class (logits), softmax cross-entropy; the prediction is the class
with the largest output. Reports accuracy, macro F1 and the per-class report.

    python examples/multiclass_classification.py [--quick]
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
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
    args = parse_args(argv, epochs=30)
    nr.manual_seed(args.seed)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)  # pixel intensities 0..16 -> 0..1
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.25, stratify=digits.target,
                                                        random_state=args.seed)
    model = nn.Sequential([nn.Dense(64, activation="relu"), nn.Dense(10)])
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=8 if args.quick else args.epochs, batch_size=32,
              validation_split=0.1, verbose=0 if args.quick else 2)

    y_hat = model.predict(x_test).argmax(axis=1)
    results = {"accuracy": metrics.accuracy(y_test, y_hat), "macro_f1": metrics.f1_score(y_test, y_hat,
                                                                                         average="macro")}
    print(metrics.classification_report(y_test, y_hat))
    print("test: " + "  ".join(f"{k} {v:.3f}" for k, v in results.items()))
    return results


if __name__ == "__main__":
    main()
