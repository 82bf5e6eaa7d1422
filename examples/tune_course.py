"""The course's advice on hyperparameters, tested with a search on Fashion-MNIST.

1. "A good dropout rate is in [0.5, 0.8], but a grid search for your network is always
   better": a grid of dropout rates 0.1, 0.2, ..., 0.8 on an MLP (784-512-512-10).
2. A Bayesian search (Optuna's TPE) of the learning rate, the batch size and the width of
   the reference CNN (conv w, pool, conv 2w, pool, dense 4w), with pruning of hopeless
   trials after each epoch.

    python examples/tune_course.py                        # the short version in docs/TUNING.md
    python examples/tune_course.py --subset 60000 --epochs 10 --trials 40     # the whole data
    python examples/tune_course.py --quick                # seconds: a smoke test

Each part writes its study, leaderboard, best model and plots under --out. Validation
samples come from the training set; the best model of each part is then scored on the
test set, which the search never saw.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import nn, tune


def fashion(subset: int, seed: int) -> tuple:
    """(train, validation, test): a seeded 80/20 split of the first ``subset`` training images."""
    (x, y), (x_test, y_test) = nr.data.load_fashion_mnist()
    x, y = x[:subset, ..., None].astype(np.float32) / 255.0, y[:subset]
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = len(x) // 5
    val, train = order[:n_val], order[n_val:]
    return (x[train], y[train]), (x[val], y[val]), (x_test[..., None].astype(np.float32) / 255.0, y_test)


def mlp(p: dict) -> nn.Sequential:
    return nn.Sequential([nn.Flatten(), nn.Dense(512, activation="relu"), nn.Dropout(p["dropout"]),
                          nn.Dense(512, activation="relu"), nn.Dropout(p["dropout"]), nn.Dense(10)])


def cnn(p: dict) -> nn.Sequential:
    w = int(p["width"])
    return nn.Sequential([nn.Conv2D(w, 3, padding="same", activation="relu"), nn.MaxPool2D(2),
                          nn.Conv2D(2 * w, 3, padding="same", activation="relu"), nn.MaxPool2D(2),
                          nn.Flatten(), nn.Dense(4 * w, activation="relu"), nn.Dense(10)])


def test_accuracy(study, test: tuple) -> float:
    model = nr.load_model(tune.best(study)["model_path"])
    return float(nr.metrics.accuracy(test[1], model.predict(test[0], batch_size=512).argmax(axis=1)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subset", type=int, default=12000, help="training images used (of 60000)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--trials", type=int, default=12, help="trials of the Bayesian search")
    parser.add_argument("--out", default="runs/tune-course")
    parser.add_argument("--storage", help="a shared database (postgresql://...) instead of SQLite files")
    parser.add_argument("--quick", action="store_true", help="a few seconds: 1000 images, 1 epoch, 3 trials")
    args = parser.parse_args(argv)
    if args.quick:
        args.subset, args.epochs, args.trials = 1000, 1, 3
    train, val, test = fashion(args.subset, seed=0)
    out = Path(args.out)
    print(f"Fashion-MNIST: {len(train[0])} training, {len(val[0])} validation, {len(test[0])} test images\n")

    start = time.perf_counter()
    print("1. grid search of the dropout rate, MLP 784-512-512-10, Adam lr 1e-3, batch 128")
    grid = tune.search(mlp, {"dropout": tune.uniform(0.1, 0.8, step=0.1)}, (train, val), epochs=args.epochs,
                       metric="val_accuracy", method="grid", fixed={"lr": 1e-3, "batch_size": 128},
                       storage=args.storage, study_name="dropout-grid", out=out / "dropout-grid", pruner="none")
    grid_test = test_accuracy(grid, test)
    print(f"best dropout {grid.best_params['dropout']}: test accuracy {grid_test:.4f} "
          f"({time.perf_counter() - start:.0f} s)\n")

    start = time.perf_counter()
    print("2. Bayesian search (TPE) of learning rate, batch size and width, reference CNN, median pruning")
    space = {"lr": tune.log_uniform(1e-4, 3e-2), "batch_size": tune.choice([32, 64, 128, 256]),
             "width": tune.integer(8, 32, step=8)}
    bayes = tune.search(cnn, space, (train, val), epochs=args.epochs, metric="val_accuracy", method="bayes",
                        trials=args.trials, storage=args.storage, study_name="cnn-bayes", out=out / "cnn-bayes",
                        pruner="median")
    bayes_test = test_accuracy(bayes, test)
    print(f"best {bayes.best_params}: test accuracy {bayes_test:.4f} ({time.perf_counter() - start:.0f} s)")
    return {"best_dropout": float(grid.best_params["dropout"]), "dropout_val_accuracy": float(grid.best_value),
            "dropout_test_accuracy": grid_test, "cnn_val_accuracy": float(bayes.best_value),
            "cnn_test_accuracy": bayes_test}


if __name__ == "__main__":
    main()
