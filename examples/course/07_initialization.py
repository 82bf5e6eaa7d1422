"""Experiment 7: initialisation. All-zero weights keep the hidden units identical (symmetry), too large
weights saturate the sigmoids, weights scaled by the fan-in train.

One 64-30-10 network (sigmoid hidden layer, softmax output with cross-entropy, SGD) on the digits, three
times, changing only ``kernel_initializer`` on ``nn.Dense``:
  zeros        every weight 0: each hidden unit gets the same input, the same error and the same update,
               so after any number of epochs the 30 units are still one unit copied 30 times;
  large        normal with standard deviation 5: the weighted sums are large, most sigmoids sit on their
               flat ends (output < 0.01 or > 0.99) where the derivative is about 0, so learning is slow;
  fan-in       ``VarianceScaling(1, "fan_in")`` (LeCun: variance 1/n_in): sums of order 1, sigmoids in
               their steep middle, training proceeds.

Run: .venv/bin/python examples/course/07_initialization.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.viz._figure import finish, new_figure

INITIALIZERS = {
    "zeros": lambda: "zeros",
    "large (normal, std 5)": lambda: nn.initializers.RandomNormal(stddev=5.0),
    "fan-in (LeCun, var 1/n_in)": lambda: nn.initializers.VarianceScaling(1.0, "fan_in", "truncated_normal"),
}


def digits(n_train: int) -> tuple[np.ndarray, ...]:
    """Flattened digits in [0, 1]: n_train training images and the last 10% of the training set for validation."""
    (x, y), _ = nr.data.load_digits()
    x = (x.reshape(len(x), -1) / 255.0).astype(np.float32)
    split = int(0.9 * len(x))
    return x[:min(n_train, split)], y[:min(n_train, split)], x[split:], y[split:]


def saturation(hidden: nn.Dense, x: np.ndarray) -> float:
    """Fraction of hidden sigmoids outside (0.01, 0.99), where their slope is below 0.01."""
    with nr.no_grad():
        h = hidden(nr.tensor(x)).numpy()
    return float(np.mean((h < 0.01) | (h > 0.99)))


def train(init_name: str, data: tuple[np.ndarray, ...], epochs: int, seed: int) -> dict:
    x, y, x_val, y_val = data
    nr.manual_seed(seed)
    hidden = nn.Dense(30, activation="sigmoid", kernel_initializer=INITIALIZERS[init_name]())
    out = nn.Dense(10, kernel_initializer=INITIALIZERS[init_name]())
    model = nn.Sequential([hidden, out])
    model.build((None, 64))
    opt = optim.SGD(model.parameters(), lr=0.5)
    start_saturation = saturation(hidden, x)
    order = np.random.default_rng(seed)
    losses, accuracies, spreads = [], [], []
    for _ in range(epochs):
        perm = order.permutation(len(x))
        total = 0.0
        for i in range(0, len(x), 16):
            idx = perm[i:i + 16]
            opt.zero_grad()
            loss = F.cross_entropy(model(nr.tensor(x[idx])), nr.tensor(y[idx]))
            loss.backward()
            opt.step()
            total += float(loss.item()) * len(idx)
        losses.append(total / len(x))
        with nr.no_grad():
            accuracies.append(float(np.mean(model(nr.tensor(x_val)).numpy().argmax(1) == y_val)))
        W = hidden.kernel.numpy()  # (64, 30): column j holds hidden unit j's incoming weights
        spreads.append(float(np.max(np.abs(W - W[:, :1]))))  # 0 when all 30 columns are equal
    return {"loss": losses, "val_accuracy": accuracies, "start_saturation": start_saturation,
            "unit_spread": spreads, "weight_change": float(np.abs(W).max())}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 training images, 4 epochs")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 4 if args.quick else 30
    data = digits(300 if args.quick else 10**6)
    print(f"64-30-10 sigmoid network, SGD lr 0.5, mini-batch 16, {len(data[0])} training and "
          f"{len(data[2])} validation digits, {epochs} epochs")
    runs = {name: train(name, data, epochs, args.seed) for name in INITIALIZERS}
    print(f"\n{'initialisation':28s} {'saturated at start':>18s} {'first loss':>10s} {'last loss':>9s} "
          f"{'val acc':>7s}  {'max |w_j - w_1|':>15s}")
    for name, r in runs.items():
        print(f"{name:28s} {r['start_saturation']:18.1%} {r['loss'][0]:10.4f} {r['loss'][-1]:9.4f} "
              f"{r['val_accuracy'][-1]:7.3f}  {r['unit_spread'][-1]:15.2e}")
    z = runs["zeros"]
    print(f"\nzeros: the hidden weights moved (largest |w| = {z['weight_change']:.3f}); largest difference between "
          f"two hidden units' weights, epoch by epoch:\n  " + " ".join(f"{v:.0e}" for v in z["unit_spread"]))
    print("In exact arithmetic it stays 0; float32 rounding (~1e-8) seeds a difference that the unstable "
          "symmetric state amplifies epoch after epoch: the units only become different by accident, late.")

    fig = new_figure(12, 3.8)
    ax_loss, ax_acc, ax_w = fig.subplots(1, 3)
    for name, r in runs.items():
        ax_loss.plot(range(1, epochs + 1), r["loss"], marker=".", label=name)
        ax_acc.plot(range(1, epochs + 1), r["val_accuracy"], marker=".", label=name)
    ax_loss.set(title="training loss (cross-entropy)", xlabel="epoch")
    ax_acc.set(title="validation accuracy", xlabel="epoch", ylim=(0, 1))
    ax_loss.legend(fontsize=8)
    for name, r in runs.items():
        ax_w.semilogy(range(1, epochs + 1), r["unit_spread"], marker=".", label=name)
    ax_w.set(title="largest difference between hidden units'\nweights: max |w_j - w_1|", xlabel="epoch")
    path = Path(args.out) / "07_initialization.png"
    finish(fig, path, "07_initialization")
    print(f"figure: {path}")
    return {"runs": runs, "figure": str(path)}


if __name__ == "__main__":
    main()
