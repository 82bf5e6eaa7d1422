"""Experiment 14: the optimizers on a real network: SGD, momentum, Nesterov, AdaGrad, RMSprop, Adam and AdamW,
same data, same initial weights, same epochs, one figure.

The network: 64-64-10 with a ReLU hidden layer and a softmax output (cross-entropy) on the digits, mini-batches of
32. Each optimizer gets a usual learning rate for it (SGD-like ones 0.05, the adaptive ones 0.01 or 1e-3);
comparing optimizers at one shared lr would mostly compare how well that lr suits each of them.

Run: .venv/bin/python examples/course/14_optimizers.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.viz._figure import finish, new_figure

OPTIMIZERS = {
    "SGD (lr 0.05)": lambda p: optim.SGD(p, lr=0.05),
    "momentum (lr 0.05, 0.9)": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "Nesterov (lr 0.05, 0.9)": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "AdaGrad (lr 0.01)": lambda p: optim.Adagrad(p, lr=0.01),
    "RMSprop (lr 1e-3)": lambda p: optim.RMSprop(p, lr=1e-3),
    "Adam (lr 1e-3)": lambda p: optim.Adam(p, lr=1e-3),
    "AdamW (lr 1e-3, wd 0.01)": lambda p: optim.AdamW(p, lr=1e-3, weight_decay=0.01),
}


def train(make_optimizer, data: tuple[np.ndarray, ...], epochs: int, seed: int) -> dict:
    x, y, x_val, y_val = data
    nr.manual_seed(seed)
    model = nn.Sequential([nn.Dense(64, activation="relu"), nn.Dense(10)])
    model.build((None, 64))
    opt = make_optimizer(model.parameters())
    order = np.random.default_rng(seed)
    log = {"loss": [], "val_accuracy": []}
    for _ in range(epochs):
        perm, total = order.permutation(len(x)), 0.0
        for i in range(0, len(x), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = F.cross_entropy(model(nr.tensor(x[idx])), nr.tensor(y[idx]))
            loss.backward()
            opt.step()
            total += float(loss.item()) * len(idx)
        log["loss"].append(total / len(x))
        with nr.no_grad():
            log["val_accuracy"].append(float(np.mean(model(nr.tensor(x_val)).numpy().argmax(1) == y_val)))
    return log


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 training images, 4 epochs")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 4 if args.quick else 15
    (x, y), _ = nr.data.load_digits()
    x = (x.reshape(len(x), -1) / 255.0).astype(np.float32)
    split = int(0.9 * len(x))
    n = 300 if args.quick else split
    data = (x[:n], y[:n], x[split:], y[split:])
    print(f"64-64-10 ReLU network, mini-batch 32, {n} training and {len(x) - split} validation digits, {epochs} epochs")
    runs = {name: train(make, data, epochs, args.seed) for name, make in OPTIMIZERS.items()}
    print(f"{'optimizer':26s} {'loss, epoch 1':>13s} {'last loss':>9s} {'val accuracy':>12s}")
    for name, log in runs.items():
        print(f"{name:26s} {log['loss'][0]:13.4f} {log['loss'][-1]:9.4f} {log['val_accuracy'][-1]:12.3f}")

    fig = new_figure(11, 4)
    ax_l, ax_a = fig.subplots(1, 2)
    for name, log in runs.items():
        ax_l.plot(range(1, epochs + 1), log["loss"], marker=".", label=name)
        ax_a.plot(range(1, epochs + 1), log["val_accuracy"], marker=".", label=name)
    ax_l.set(title="training loss", xlabel="epoch", yscale="log")
    ax_a.set(title="validation accuracy", xlabel="epoch")
    ax_l.legend(fontsize=8)
    path = Path(args.out) / "14_optimizers.png"
    finish(fig, path, "14_optimizers")
    print(f"figure: {path}")
    return {"runs": runs, "figure": str(path)}


if __name__ == "__main__":
    main()
