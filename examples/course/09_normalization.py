"""Experiment 9: normalisation. The same network on raw pixels, on pixels minus 127, z-normalised, min-max scaled,
minus the mean image and ZCA-whitened; then with and without batch normalisation at a high learning rate; and the
outlier that spoils the mean (the slides' 100-year-old in a kindergarten) beside a robust scaler.

The network: 64-64-10, ReLU, softmax output with cross-entropy, plain SGD (lr 0.1, mini-batch 32) on the
digits; every preprocessing is fitted on the training images only (``neurona.data``: ``StandardScaler``,
``MinMaxScaler``, ``MeanImageSubtraction``, ``ZCAWhitening``). Raw pixels go up to 255: the weighted sums are
huge, the first steps throw the weights far away. Batch normalisation (``nn.BatchNorm``) re-centres and
re-scales every hidden layer's sums, so a much larger lr (1.0 here) stays stable.
The robust scaler (median and interquartile range) is written here: neurona has none.

Run: .venv/bin/python examples/course/09_normalization.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.data import MeanImageSubtraction, MinMaxScaler, StandardScaler, ZCAWhitening
from neurona.viz._figure import finish, new_figure


def preprocessings(x_train: np.ndarray) -> dict:
    """name -> function of an array of flattened images, each fitted on x_train only."""
    fitted = {"z-norm (StandardScaler)": StandardScaler().fit(x_train),
              "min-max (MinMaxScaler)": MinMaxScaler().fit(x_train),
              "mean image (MeanImageSubtraction)": MeanImageSubtraction().fit(x_train),
              "ZCA (ZCAWhitening)": ZCAWhitening(epsilon=0.1).fit(x_train / 255.0)}
    return {"raw pixels (0..255)": lambda x: x, "pixels - 127": lambda x: x - 127.0,
            **{name: t.transform for name, t in fitted.items() if not name.startswith("ZCA")},
            "ZCA (ZCAWhitening)": lambda x: fitted["ZCA (ZCAWhitening)"].transform(x / 255.0)}


def train(x, y, x_val, y_val, lr: float, epochs: int, seed: int, batch_norm: bool = False) -> dict:
    nr.manual_seed(seed)
    layers = [nn.Dense(64)] + ([nn.BatchNorm()] if batch_norm else []) + [nn.Activation("relu"), nn.Dense(64)]
    layers += ([nn.BatchNorm()] if batch_norm else []) + [nn.Activation("relu"), nn.Dense(10)]
    model = nn.Sequential(layers)
    model.build((None, 64))
    opt = optim.SGD(model.parameters(), lr=lr)
    order = np.random.default_rng(seed)
    log = {"loss": [], "val_accuracy": []}
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is a result here, reported as nan/inf
        for _ in range(epochs):
            model.train()
            perm, total = order.permutation(len(x)), 0.0
            for i in range(0, len(x), 32):
                idx = perm[i:i + 32]
                opt.zero_grad()
                loss = F.cross_entropy(model(nr.tensor(x[idx])), nr.tensor(y[idx]))
                loss.backward()
                opt.step()
                total += float(loss.item()) * len(idx)
            log["loss"].append(total / len(x))
            model.eval()
            with nr.no_grad():
                log["val_accuracy"].append(float(np.mean(model(nr.tensor(x_val)).numpy().argmax(1) == y_val)))
    return log


def robust_scale(v: np.ndarray) -> np.ndarray:
    """(v - median) / interquartile range: one extreme value barely moves either."""
    q1, median, q3 = np.percentile(v, [25, 50, 75])
    return (v - median) / (q3 - q1)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400 training images, 4 epochs")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 4 if args.quick else 15
    (x, y), _ = nr.data.load_digits()
    x = x.reshape(len(x), -1).astype(np.float32)
    split = int(0.9 * len(x))
    n = 400 if args.quick else split
    x_tr, y_tr, x_val, y_val = x[:n], y[:n], x[split:], y[split:]
    print(f"64-64-10 ReLU network, SGD lr 0.1, mini-batch 32, {n} training and {len(y_val)} validation digits, "
          f"{epochs} epochs")
    runs = {}
    for name, f in preprocessings(x_tr).items():
        runs[name] = train(f(x_tr).astype(np.float32), y_tr, f(x_val).astype(np.float32), y_val, 0.1, epochs,
                           args.seed)
    print(f"{'inputs':36s} {'loss, epoch 1':>13s} {'last loss':>9s} {'val accuracy':>12s}")
    for name, log in runs.items():
        print(f"{name:36s} {log['loss'][0]:13.4g} {log['loss'][-1]:9.4g} {log['val_accuracy'][-1]:12.3f}")

    z = StandardScaler().fit(x_tr)
    bn = {label: train(z.transform(x_tr), y_tr, z.transform(x_val), y_val, 1.0, epochs, args.seed, batch_norm=flag)
          for label, flag in (("without batch norm", False), ("with batch norm", True))}
    print("\nz-normalised inputs, SGD lr 1.0 (10 times larger):")
    for name, log in bn.items():
        print(f"  {name:20s} loss " + " ".join(f"{v:.3g}" for v in log["loss"]) +
              f"; val accuracy {log['val_accuracy'][-1]:.3f}")

    ages = np.array([4, 5, 3, 4, 5, 4, 3, 5, 4, 100], dtype=np.float64)
    zs, rs = (ages - ages.mean()) / ages.std(), robust_scale(ages)
    print(f"\nages in a kindergarten, with its 100-year-old visitor: {ages.astype(int).tolist()}")
    print(f"  mean {ages.mean():.1f}, std {ages.std():.1f}: z-scores of the children " +
          " ".join(f"{v:.2f}" for v in zs[:-1]) + f", of the visitor {zs[-1]:.2f}")
    print(f"  median {np.median(ages):.1f}, IQR {np.subtract(*np.percentile(ages, [75, 25])):.2f}: "
          "robust scores of the children " + " ".join(f"{v:.2f}" for v in rs[:-1]) + f", of the visitor {rs[-1]:.1f}")

    fig = new_figure(15, 4)
    ax_p, ax_bn, ax_age = fig.subplots(1, 3)
    for name, log in runs.items():
        ax_p.plot(range(1, epochs + 1), log["val_accuracy"], marker=".", label=name)
    ax_p.set(title="validation accuracy by input preprocessing (lr 0.1)", xlabel="epoch", ylim=(0, 1))
    ax_p.legend(fontsize=7)
    for name, log in bn.items():
        ax_bn.plot(range(1, epochs + 1), log["val_accuracy"], marker=".", label=name)
    ax_bn.set(title="lr 1.0: validation accuracy", xlabel="epoch", ylim=(0, 1))
    ax_bn.legend(fontsize=8)
    ax_age.scatter(zs[:-1], np.full(9, 1.0), label="children, z-score")
    ax_age.scatter(rs[:-1], np.full(9, 0.0), label="children, robust score")
    ax_age.set(title=f"the children's ages, scaled\n(the visitor: z = {zs[-1]:.1f}, robust = {rs[-1]:.0f})",
               yticks=[0, 1], yticklabels=["robust", "z-score"], ylim=(-0.5, 1.5), xlabel="scaled age")
    path = Path(args.out) / "09_normalization.png"
    finish(fig, path, "09_normalization")
    print(f"figure: {path}")
    return {"runs": runs, "batch_norm": bn, "z_children": zs[:-1], "robust_children": rs[:-1], "figure": str(path)}


if __name__ == "__main__":
    main()
