"""Single-output regression: disease progression on scikit-learn's diabetes data.

10 measurements (age, BMI, blood pressure, six blood serum values...) -> a measure of
disease progression one year later. One linear output trained with the quadratic
cost (MSE). Inputs and target are standardised with the training set's statistics
(a target of ~150 +- 77 would make the first gradients huge); predictions are mapped
back to the original units before measuring MSE, MAE and R^2.

    python examples/regression_single_output.py [--quick]
"""

import argparse

import numpy as np
from sklearn.datasets import load_diabetes
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
    args = parse_args(argv, epochs=200)
    nr.manual_seed(args.seed)
    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x.astype(np.float32), y.astype(np.float32), test_size=0.25,
                                                        random_state=args.seed)
    x_mean, x_std = x_train.mean(axis=0), x_train.std(axis=0)
    y_mean, y_std = y_train.mean(), y_train.std()
    x_train, x_test = (x_train - x_mean) / x_std, (x_test - x_mean) / x_std

    model = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    # 330 training samples: stop when the validation loss stops improving, keep the best weights
    stop = nr.training.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    model.fit(x_train, (y_train - y_mean) / y_std, epochs=40 if args.quick else args.epochs,
              batch_size=16, validation_split=0.15, callbacks=[stop], verbose=0 if args.quick else 2)

    y_hat = model.predict(x_test)[:, 0] * y_std + y_mean
    results = {"mse": metrics.mse(y_test, y_hat), "mae": metrics.mae(y_test, y_hat),
               "r2": metrics.r2_score(y_test, y_hat), "baseline_mse": metrics.mse(y_test, np.full_like(y_test,
                                                                                                      y_mean))}
    print("test: " + "  ".join(f"{k} {v:.3f}" for k, v in results.items()))
    return results


if __name__ == "__main__":
    main()
