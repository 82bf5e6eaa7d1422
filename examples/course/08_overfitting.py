"""Experiment 8: over- and under-fitting. Training and validation curves of one network with no regularisation,
L2, L1, dropout, input noise, data augmentation, early stopping, and with more data.

A 64-256-10 ReLU network (softmax output, cross-entropy, Adam lr 1e-3, mini-batch 32) trained on only 200 digits
has far more weights (19,210) than examples: it learns the training set by heart (training loss near 0) while
the validation loss, after a minimum, grows: overfitting. Each remedy changes one thing:
  L2 / L1: ``kernel_regularizer=nn.regularizers.L2(1e-3)`` / ``L1(1e-4)`` adds lambda sum w^2 / lambda sum |w|;
  dropout: ``nn.Dropout(0.5)`` after the hidden layer; noise: ``nn.GaussianNoise(0.1)`` on the inputs;
  augmentation: the 200 images plus their copies shifted by one pixel left, right, up and down (1,000 images);
  early stopping: ``callbacks.EarlyStopping(patience=5, restore_best_weights=True)`` on the validation loss;
  more data: all 1,294 training images.
Under-fitting is shown by a network too small for the task: 64-2-10.

Run: .venv/bin/python examples/course/08_overfitting.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.training import callbacks
from neurona.viz._figure import finish, new_figure


def shifted_copies(images: np.ndarray) -> np.ndarray:
    """Each 8x8 image and its four one-pixel shifts (the pixel leaving one side is dropped, zeros enter)."""
    out = [images]
    for axis, step in ((1, 1), (1, -1), (2, 1), (2, -1)):
        moved = np.roll(images, step, axis=axis)
        edge = [slice(None)] * 3
        edge[axis] = 0 if step == 1 else -1
        moved[tuple(edge)] = 0
        out.append(moved)
    return np.concatenate(out)


def network(hidden: int = 256, regularizer=None, dropout: bool = False, noise: bool = False) -> nn.Sequential:
    layers = [nn.GaussianNoise(0.1)] if noise else []
    layers.append(nn.Dense(hidden, activation="relu", kernel_regularizer=regularizer))
    if dropout:
        layers.append(nn.Dropout(0.5))
    layers.append(nn.Dense(10, kernel_regularizer=regularizer))
    return nn.Sequential(layers)


def cross_entropy_and_accuracy(model: nn.Sequential, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The data term alone (no L1/L2 penalty, unlike the loss ``fit`` and ``evaluate`` report), and the accuracy."""
    logits = model.predict(x)
    return float(F.cross_entropy(nr.tensor(logits), nr.tensor(y)).item()), float(np.mean(logits.argmax(1) == y))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="25 epochs instead of 80")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 25 if args.quick else 80
    (x, y), _ = nr.data.load_digits()
    x = (x / 255.0).astype(np.float32)
    split = int(0.9 * len(x))
    x_all, y_all, x_val, y_val = x[:split], y[:split], x[split:].reshape(-1, 64), y[split:]
    x_small, y_small = x_all[:200], y_all[:200]
    flat = lambda images: images.reshape(len(images), -1)  # noqa: E731
    setups = {
        "none": (network(), flat(x_small), y_small, []),
        "L2 (1e-3)": (network(regularizer=nn.regularizers.L2(1e-3)), flat(x_small), y_small, []),
        "L1 (1e-4)": (network(regularizer=nn.regularizers.L1(1e-4)), flat(x_small), y_small, []),
        "dropout (0.5)": (network(dropout=True), flat(x_small), y_small, []),
        "input noise (0.1)": (network(noise=True), flat(x_small), y_small, []),
        "augmentation (shifts)": (network(), flat(shifted_copies(x_small)), np.tile(y_small, 5), []),
        "early stopping": (network(), flat(x_small), y_small,
                           [callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)]),
        "more data (1294)": (network(), flat(x_all), y_all, []),
        "under-fitting (2 hidden)": (network(hidden=2), flat(x_small), y_small, []),
    }
    print(f"64-256-10 ReLU network, Adam lr 1e-3, mini-batch 32, up to {epochs} epochs; 200 training digits unless "
          f"said, {len(y_val)} validation digits")
    print(f"{'setup':26s} {'epochs':>6s} {'train loss':>10s} {'val loss':>8s} {'min val loss':>12s} "
          f"{'train acc':>9s} {'val acc':>7s}")
    results = {}
    for name, (model, xs, ys, cbs) in setups.items():
        nr.manual_seed(args.seed)
        model.build((None, 64))
        model.compile(optimizer=optim.Adam(lr=1e-3), loss="cross_entropy", metrics=["accuracy"])
        h = model.fit(xs, ys, epochs=epochs, batch_size=32, validation_data=(x_val, y_val), callbacks=cbs,
                      verbose=0).history
        train_loss, train_acc = cross_entropy_and_accuracy(model, flat(x_small), y_small)  # the same 200 images
        val_loss, val_acc = cross_entropy_and_accuracy(model, x_val, y_val)
        results[name] = {"history": h, "train_loss": float(train_loss), "val_loss": float(val_loss),
                         "train_accuracy": float(train_acc), "val_accuracy": float(val_acc)}
        print(f"{name:26s} {len(h['loss']):6d} {train_loss:10.4f} {val_loss:8.4f} {min(h['val_loss']):12.4f} "
              f"{train_acc:9.3f} {val_acc:7.3f}")
    print("(train and val loss: the cross-entropy alone, after training, in evaluation mode; the train columns on the "
          "same 200 images for every setup. min val loss: from fit's history, which for L2 and L1 includes the "
          "penalty. Early stopping restores the weights of its best epoch)")

    fig = new_figure(15, 6.5)
    axes = fig.subplots(2, 5, sharey=True)
    for ax, (name, r) in zip(axes.flat, results.items()):
        h = r["history"]
        ax.plot(range(1, len(h["loss"]) + 1), h["loss"], label="training")
        ax.plot(range(1, len(h["val_loss"]) + 1), h["val_loss"], label="validation")
        ax.set(title=name, xlabel="epoch", yscale="log")
    axes.flat[0].legend()
    axes.flat[-1].axis("off")
    path = Path(args.out) / "08_overfitting.png"
    finish(fig, path, "08_overfitting")
    print(f"figure: {path}")
    return {"results": results, "figure": str(path)}


if __name__ == "__main__":
    main()
