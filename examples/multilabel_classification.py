"""Multi-label classification: several yes/no questions about each digit at once.

For every 8x8 digit image the network answers three independent questions: is the
digit even? is it greater than 4? is it prime? Each answer is its own sigmoid output
trained with binary cross-entropy, so any combination can be true (7 is odd, > 4
and prime; 0 is even and neither). Reports per-label accuracy and F1, and the share
of images with all three answers right.

    python examples/multilabel_classification.py [--quick]
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import neurona as nr
from neurona import metrics, nn

QUESTIONS = ("even", "greater than 4", "prime")


def labels(digit: np.ndarray) -> np.ndarray:
    """(N,) digits -> (N, 3) answers in {0, 1}."""
    prime = np.isin(digit, [2, 3, 5, 7])
    return np.stack([digit % 2 == 0, digit > 4, prime], axis=1).astype(np.float32)


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
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, d_train, d_test = train_test_split(x, digits.target, test_size=0.25, random_state=args.seed)
    y_train, y_test = labels(d_train), labels(d_test)

    model = nn.Sequential([nn.Dense(64, activation="relu"), nn.Dense(len(QUESTIONS))])  # one logit per question
    model.compile(optimizer="adam", loss="binary_cross_entropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=8 if args.quick else args.epochs, batch_size=32,
              validation_split=0.1, verbose=0 if args.quick else 2)

    y_hat = (model.predict(x_test) > 0).astype(np.float32)  # logit > 0  <=>  probability > 0.5
    results = {}
    for j, question in enumerate(QUESTIONS):
        results[f"{question} accuracy"] = metrics.accuracy(y_test[:, j], y_hat[:, j])
        results[f"{question} f1"] = metrics.f1_score(y_test[:, j], y_hat[:, j])
    results["all three right"] = float((y_hat == y_test).all(axis=1).mean())
    print(f"test ({len(x_test)} images):")
    for k, v in results.items():
        print(f"{k:>24s}: {v:.3f}")
    return results


if __name__ == "__main__":
    main()
