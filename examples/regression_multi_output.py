"""Multiple-output regression: scikit-learn's linnerud data, three targets from one network.

Three exercise counts (chin-ups, sit-ups, jumps) -> three physiological measurements
(weight, waist, pulse) of 20 men. One network with three linear outputs and the
quadratic cost learns all three at once. With only 20 samples the test estimate comes
from 5-fold cross-validation (every prediction is made by a model that never saw that
man), next to the baseline that predicts the training mean. The honest finding: the
network fits its training folds, but the exercises say little about the measurements of
a new man, which R^2 near or below zero reports (a linear model does no better).

    python examples/regression_multi_output.py [--quick]
"""

import argparse

import numpy as np
from sklearn.datasets import load_linnerud
from sklearn.model_selection import KFold

import neurona as nr
from neurona import metrics, nn

TARGETS = ("weight", "waist", "pulse")


def fit_fold(x_train, y_train, epochs):
    x_mean, x_std, y_mean, y_std = x_train.mean(0), x_train.std(0), y_train.mean(0), y_train.std(0)
    model = nn.Sequential([nn.Dense(8, activation="tanh", kernel_regularizer=nn.regularizers.L2(1e-2)),
                           nn.Dense(len(TARGETS))])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit((x_train - x_mean) / x_std, (y_train - y_mean) / y_std, epochs=epochs, batch_size=4, verbose=0)
    return lambda x: model.predict((x - x_mean) / x_std) * y_std + y_mean


def parse_args(argv: list[str] | None, epochs: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer epochs) for a first look")
    parser.add_argument("--epochs", type=int, default=epochs, help=f"epochs of the full run (default {epochs})")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv, epochs=150)
    nr.manual_seed(args.seed)
    x, y = (a.astype(np.float32) for a in load_linnerud(return_X_y=True))
    cv, fitted, baseline = np.zeros_like(y), np.zeros_like(y), np.zeros_like(y)
    for train, test in KFold(5, shuffle=True, random_state=args.seed).split(x):
        predict = fit_fold(x[train], y[train], 40 if args.quick else args.epochs)
        cv[test] = predict(x[test])
        fitted[train] += predict(x[train]) / 4  # each sample is in 4 training folds
        baseline[test] = y[train].mean(axis=0)
    results = {
        "cv_mse": metrics.mse(y, cv), "cv_mae": metrics.mae(y, cv), "baseline_mse": metrics.mse(y, baseline),
        "cv_r2": metrics.r2_score(y, cv), "train_r2": metrics.r2_score(y, fitted),
    }
    per_output = {name: metrics.r2_score(y[:, j], cv[:, j]) for j, name in enumerate(TARGETS)}
    print("cross-validated R^2 per output: " + "  ".join(f"{k} {v:.3f}" for k, v in per_output.items()))
    print("  ".join(f"{k} {v:.3f}" for k, v in results.items()))
    return {**results, **{f"cv_r2_{k}": v for k, v in per_output.items()}}


if __name__ == "__main__":
    main()
