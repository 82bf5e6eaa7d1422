"""Experiment 5: the learning rate. Too small, too large and right on one network; the learning-rate range test
(``nr.lr_find``) picking one; step, exponential and plateau schedules compared.

The network: 64-32-10 with a ReLU hidden layer and a softmax output (cross-entropy) on the digits, plain SGD
with mini-batches of 32; the same seed, so every run starts from the same weights.
  lr too small: each step barely moves the weights, the loss creeps down;
  lr too large: the steps overshoot the valley, the loss jumps up and stays high;
  the range test: train a few hundred steps while the lr grows exponentially from 1e-4 to 10, record the loss,
  suggest the lr where the loss falls fastest (neurona/training/lr_finder.py);
  schedules (neurona/optim/lr_scheduler.py, neurona/optim/plateau.py): StepLR halves the lr every 5 epochs,
  ExponentialLR multiplies it by 0.85 every epoch, ReduceLROnPlateau halves it when the validation loss has not
  improved for 2 epochs.

Run: .venv/bin/python examples/course/05_learning_rate.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.viz._figure import BAD, finish, new_figure


def digits(n_train: int) -> tuple[np.ndarray, ...]:
    (x, y), _ = nr.data.load_digits()
    x = (x.reshape(len(x), -1) / 255.0).astype(np.float32)
    split = int(0.9 * len(x))
    return x[:min(n_train, split)], y[:min(n_train, split)], x[split:], y[split:]


def make_model(seed: int) -> nn.Sequential:
    nr.manual_seed(seed)
    model = nn.Sequential([nn.Dense(32, activation="relu"), nn.Dense(10)])
    model.build((None, 64))
    return model


def train(data: tuple[np.ndarray, ...], lr: float, epochs: int, seed: int, schedule: str = "constant") -> dict:
    """Training loss, validation loss and lr of each epoch."""
    x, y, x_val, y_val = data
    model = make_model(seed)
    opt = optim.SGD(model.parameters(), lr=lr)
    scheduler = {"constant": None, "step": lambda: optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5),
                 "exponential": lambda: optim.lr_scheduler.ExponentialLR(opt, gamma=0.85),
                 "plateau": lambda: optim.ReduceLROnPlateau(opt, factor=0.5, patience=2)}[schedule]
    scheduler = scheduler() if scheduler else None
    order = np.random.default_rng(seed)
    log = {"loss": [], "val_loss": [], "lr": []}
    for _ in range(epochs):
        log["lr"].append(opt.param_groups[0]["lr"])
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
            log["val_loss"].append(float(F.cross_entropy(model(nr.tensor(x_val)), nr.tensor(y_val)).item()))
        if schedule == "plateau":
            scheduler.step(log["val_loss"][-1])
        elif scheduler is not None:
            scheduler.step()
    return log


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="300 training images, 6 epochs")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 6 if args.quick else 20
    data = digits(300 if args.quick else 10**6)
    print(f"64-32-10 ReLU network, SGD, mini-batch 32, {len(data[0])} training and {len(data[2])} validation "
          f"digits, {epochs} epochs")

    model = make_model(args.seed)
    found = nr.lr_find(model, data[0], data[1], start_lr=1e-4, end_lr=10.0, num_steps=200 if not args.quick else 100,
                       optimizer=optim.SGD(model.parameters(), lr=0.1), loss="cross_entropy")
    print(f"\nrange test: {len(found.lrs)} steps from {found.lrs[0]:.0e} to {found.lrs[-1]:.2g}; lowest smoothed loss "
          f"at lr {found.min_loss_lr:.3g}, steepest descent (the suggestion) at lr {found.suggestion:.3g}")

    rates = {"too small": 1e-3, "suggested": found.suggestion, "too large": 3.0}
    runs = {f"{name} (lr {lr:.3g})": train(data, lr, epochs, args.seed) for name, lr in rates.items()}
    print("\nconstant lr: training loss after each epoch")
    for name, log in runs.items():
        print(f"  {name:26s}" + " ".join(f"{v:6.3f}" for v in log["loss"]))

    base = 0.5
    schedules = {s: train(data, base, epochs, args.seed, s) for s in ("constant", "step", "exponential", "plateau")}
    print(f"\nschedules from lr {base}: validation loss after each epoch, and the lr used in the last epoch")
    for name, log in schedules.items():
        print(f"  {name:12s}" + " ".join(f"{v:6.3f}" for v in log["val_loss"]) + f"   last lr {log['lr'][-1]:.3g}")

    fig = new_figure(15, 4)
    ax_find, ax_const, ax_sched, ax_lr = fig.subplots(1, 4)
    ax_find.semilogx(found.lrs, found.losses)
    ax_find.axvline(found.suggestion, color=BAD, ls="--", label=f"suggestion {found.suggestion:.3g}")
    ax_find.set(title="range test (smoothed loss)", xlabel="lr", ylabel="loss")
    ax_find.legend(fontsize=8)
    for name, log in runs.items():
        ax_const.plot(range(1, epochs + 1), log["loss"], marker=".", label=name)
    ax_const.set(title="constant lr: training loss", xlabel="epoch", yscale="log")
    ax_const.legend(fontsize=8)
    for name, log in schedules.items():
        ax_sched.plot(range(1, epochs + 1), log["val_loss"], marker=".", label=name)
        ax_lr.plot(range(1, epochs + 1), log["lr"], marker=".", label=name)
    ax_sched.set(title=f"schedules from lr {base}: validation loss", xlabel="epoch")
    ax_lr.set(title="lr in each epoch", xlabel="epoch", yscale="log")
    ax_sched.legend(fontsize=8)
    path = Path(args.out) / "05_learning_rate.png"
    finish(fig, path, "05_learning_rate")
    print(f"figure: {path}")
    return {"suggestion": found.suggestion, "rates": rates, "runs": runs, "schedules": schedules, "figure": str(path)}


if __name__ == "__main__":
    main()
