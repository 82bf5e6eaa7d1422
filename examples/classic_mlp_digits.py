"""The course's classic network on the digits: 64-30-10, sigmoid units, quadratic cost,
mini-batch SGD (lr 3.0, mini-batch 10, 30 epochs), backpropagation written out by hand.

The last 10% of the training images are held out for validation (the accuracy printed
after each epoch); the test images are used once, at the end.

Run: .venv/bin/python examples/classic_mlp_digits.py [--quick] [--epochs N]
"""

import argparse

import neurona as nr
from neurona.models import ClassicMLP


def parse_args(argv: list[str] | None, epochs: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer epochs) for a first look")
    parser.add_argument("--epochs", type=int, default=epochs, help=f"epochs of the full run (default {epochs})")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv, epochs=30)
    (x_train, y_train), (x_test, y_test) = nr.data.load_digits()
    # images are uint8 (N, 8, 8); the network takes 64 inputs scaled to [0, 1]
    x_train = x_train.reshape(len(x_train), -1) / 255.0
    x_test = x_test.reshape(len(x_test), -1) / 255.0
    split = int(0.9 * len(x_train))
    x_train, x_val, y_train, y_val = x_train[:split], x_train[split:], y_train[:split], y_train[split:]
    nr.manual_seed(args.seed)
    net = ClassicMLP([64, 30, 10], activation="sigmoid", cost="quadratic")
    net.fit(x_train, y_train, epochs=5 if args.quick else args.epochs, batch_size=10, lr=3.0,
            validation_data=(x_val, y_val), verbose=True)
    results = {"validation_accuracy": net.accuracy(x_val, y_val), "test_accuracy": net.accuracy(x_test, y_test)}
    print(f"test accuracy: {results['test_accuracy']:.4f} ({len(x_train)} training, {len(x_val)} validation and "
          f"{len(x_test)} test images)")
    return results


if __name__ == "__main__":
    main()
