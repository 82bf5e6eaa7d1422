"""The course's classic network on the digits: 64-30-10, sigmoid units, quadratic cost,
mini-batch SGD (lr 3.0, mini-batch 10, 30 epochs), backpropagation written out by hand.

Run: .venv/bin/python examples/classic_mlp_digits.py [--epochs N]
"""

import argparse

import neurona as nr
from neurona.models import ClassicMLP


def main(epochs: int = 30, seed: int = 0, verbose: bool = True) -> float:
    (x_train, y_train), (x_test, y_test) = nr.data.load_digits()
    # images are uint8 (N, 8, 8); the network takes 64 inputs scaled to [0, 1]
    x_train = x_train.reshape(len(x_train), -1) / 255.0
    x_test = x_test.reshape(len(x_test), -1) / 255.0
    nr.manual_seed(seed)
    net = ClassicMLP([64, 30, 10], activation="sigmoid", cost="quadratic")
    net.fit(x_train, y_train, epochs=epochs, batch_size=10, lr=3.0, validation_data=(x_test, y_test), verbose=verbose)
    accuracy = net.accuracy(x_test, y_test)
    print(f"test accuracy: {accuracy:.4f} ({len(x_train)} training and {len(x_test)} test images)")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.epochs, args.seed)
