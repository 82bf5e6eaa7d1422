"""Experiment 4: the gradient per example, per mini-batch and over the whole set (the slides' "instantáneo",
"por lotes" and "global"): training loss against epochs and against seconds.

The same 64-30-10 network (ReLU hidden layer, softmax output with cross-entropy) on the digits, from the same
initial weights, trained with plain SGD three ways:
  per example (batch 1, lr 0.05): one step per training image, many noisy steps per epoch;
  mini-batch (batch 32, lr 0.5): the average gradient of 32 images per step;
  whole set (all images in one batch, lr 1.0): one exact gradient step per epoch.
Each mode gets its own lr (one lr for all would be too large for batch 1 or far too small for the whole set).
Per epoch the per-example gradient makes the most progress; per second of computation the mini-batch usually
wins, because 32 images in one matrix product cost far less than 32 products of one image.

Run: .venv/bin/python examples/course/04_batch_size.py [--quick] [--out runs/course]
"""

import argparse
import time
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.viz._figure import finish, new_figure

MODES = {"per example (batch 1, lr 0.05)": (1, 0.05), "mini-batch (batch 32, lr 0.5)": (32, 0.5),
         "whole set (lr 1.0)": (None, 1.0)}


def train(x: np.ndarray, y: np.ndarray, batch_size: int | None, lr: float, epochs: int, seed: int) -> dict:
    """Training loss over the whole set after each epoch, and the seconds spent training until then."""
    nr.manual_seed(seed)
    model = nn.Sequential([nn.Dense(30, activation="relu"), nn.Dense(10)])
    model.build((None, 64))
    opt = optim.SGD(model.parameters(), lr=lr)
    batch_size = batch_size or len(x)
    order = np.random.default_rng(seed)
    log, seconds = {"loss": [], "seconds": []}, 0.0
    for _ in range(epochs):
        start = time.perf_counter()
        perm = order.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            F.cross_entropy(model(nr.tensor(x[idx])), nr.tensor(y[idx])).backward()
            opt.step()
        seconds += time.perf_counter() - start
        with nr.no_grad():
            log["loss"].append(float(F.cross_entropy(model(nr.tensor(x)), nr.tensor(y)).item()))
        log["seconds"].append(seconds)
    return log


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 training images, 3 epochs")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 3 if args.quick else 10
    (x, y), _ = nr.data.load_digits()
    x = (x.reshape(len(x), -1) / 255.0).astype(np.float32)
    x, y = x[:int(0.9 * len(x))], y[:int(0.9 * len(x))]  # the training split of the other experiments
    if args.quick:
        x, y = x[:300], y[:300]
    print(f"64-30-10 ReLU network, plain SGD, {len(x)} training digits, {epochs} epochs; "
          "training loss over the whole set after each epoch")
    runs = {name: train(x, y, batch, lr, epochs, args.seed) for name, (batch, lr) in MODES.items()}
    for name, log in runs.items():
        print(f"  {name:32s}" + " ".join(f"{v:6.3f}" for v in log["loss"]))
    print("seconds of training for all the epochs (depends on the machine and its load):")
    for name, log in runs.items():
        print(f"  {name:32s}{log['seconds'][-1]:6.2f} s, {len(x) // (MODES[name][0] or len(x))} steps per epoch")

    fig = new_figure(11, 4)
    ax_e, ax_s = fig.subplots(1, 2)
    for name, log in runs.items():
        ax_e.plot(range(1, epochs + 1), log["loss"], marker=".", label=name)
        ax_s.plot(log["seconds"], log["loss"], marker=".", label=name)
    ax_e.set(title="training loss against epochs", xlabel="epoch", yscale="log")
    ax_s.set(title="training loss against seconds", xlabel="seconds of training", xscale="log", yscale="log")
    ax_e.legend(fontsize=8)
    path = Path(args.out) / "04_batch_size.png"
    finish(fig, path, "04_batch_size")
    print(f"figure: {path}")
    return {"runs": runs, "figure": str(path)}


if __name__ == "__main__":
    main()
