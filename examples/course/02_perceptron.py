"""Experiment 2: the perceptron. Rosenblatt's rule moving the decision line on AND, never settling on XOR;
ADALINE (the delta rule: a linear neuron trained on the squared error) beside it.

Rosenblatt (``neurona.models.Perceptron``):  w <- w + lr (d - y) x,  y = step(w . x + b): it changes the
weights only when the thresholded output is wrong. On a linearly separable set (AND) it stops after a finite
number of epochs; on XOR some sample is wrong in every epoch, so it never stops.
ADALINE / delta rule (a ``neurona`` tensor w, b with ``optim.SGD``, one sample per step, loss 1/2 (d - s)^2
of the linear output s = w . x + b):  w <- w + lr (d - s) x: it learns from how far s is from d even when the
thresholded output is already right, and it settles near the least-squares weights (it moves a little
with every sample), on XOR too (where those weights still classify badly: no line separates XOR).

Run: .venv/bin/python examples/course/02_perceptron.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import optim
from neurona.models import Perceptron
from neurona.viz._figure import finish, new_figure

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
GATES = {"AND": [0, 0, 0, 1], "XOR": [0, 1, 1, 0]}


def rosenblatt(targets: list[int], epochs: int) -> tuple[Perceptron, list[tuple[np.ndarray, float]]]:
    """Train from w = (0.3, -0.2), b = 0 with lr 0.1; the (w, b) at the end of every epoch, or, when it does
    not converge, after each sample of the last epoch (the end-of-epoch weights repeat: the rule cycles)."""
    p = Perceptron(2, lr=0.1, weights=[0.3, -0.2], bias=0.0).fit(X, targets, epochs=epochs)
    if p.converged:
        return p, [(step.weights, step.bias) for step in p.trace if step.sample == len(X) - 1]
    return p, [(step.weights, step.bias) for step in p.trace[-len(X):]]


def adaline(targets: list[int], epochs: int, lr: float = 0.1) -> tuple[list[tuple[np.ndarray, float]], list[float]]:
    """The delta rule sample by sample with neurona's autograd and SGD; (w, b) and the MSE after each epoch."""
    w = nr.tensor(np.array([0.3, -0.2]), requires_grad=True, dtype=np.float64)
    b = nr.tensor(np.zeros(1), requires_grad=True, dtype=np.float64)
    opt = optim.SGD([w, b], lr=lr)
    d = np.asarray(targets, dtype=np.float64)
    ends, mse = [], []
    for _ in range(epochs):
        for x, target in zip(X, d):
            opt.zero_grad()
            s = (nr.tensor(x, dtype=np.float64) * w).sum() + b
            (0.5 * (s - float(target)) ** 2).sum().backward()
            opt.step()
        ends.append((w.numpy().copy(), float(b.numpy()[0])))
        mse.append(float(np.mean((X @ ends[-1][0] + ends[-1][1] - d) ** 2)))
    return ends, mse


def draw_line(ax, w: np.ndarray, b: float, threshold: float, **style) -> None:
    """The line w . x + b = threshold over the unit square."""
    xs = np.linspace(-0.5, 1.5, 2)
    if abs(w[1]) > 1e-12:
        ax.plot(xs, (threshold - b - w[0] * xs) / w[1], **style)
    elif abs(w[0]) > 1e-12:
        ax.axvline((threshold - b) / w[0], **style)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 epochs instead of 100")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    args = parser.parse_args(argv)
    epochs = 30 if args.quick else 100
    results = {}
    fig = new_figure(13, 4.2)
    axes = fig.subplots(1, 3)
    for ax, (gate, targets) in zip(axes, GATES.items()):
        p, lines = rosenblatt(targets, epochs)
        ada, mse = adaline(targets, epochs)
        ada_pred = (X @ ada[-1][0] + ada[-1][1] >= 0.5).astype(int)
        status = f"converged after {len(p.errors_per_epoch)} epochs" if p.converged else \
            f"did NOT converge in {epochs} epochs (errors in the last 8 epochs {p.errors_per_epoch[-8:]})"
        print(f"{gate}: Rosenblatt {status}; w = {np.round(p.weights, 3).tolist()}, b = {p.bias:.3f}, "
              f"outputs {p.predict(X).tolist()}")
        print(f"{gate}: ADALINE after {epochs} epochs w = {np.round(ada[-1][0], 3).tolist()}, b = {ada[-1][1]:.3f}, "
              f"MSE {mse[-1]:.4f} (epoch {epochs // 2}: {mse[epochs // 2 - 1]:.4f}), outputs (s >= 0.5) "
              f"{ada_pred.tolist()}, targets {targets}")
        results[gate] = {"converged": p.converged, "errors_per_epoch": p.errors_per_epoch, "adaline_mse": mse,
                         "adaline_weights": ada[-1], "adaline_correct": int((ada_pred == targets).sum()),
                         "rosenblatt_correct": int((p.predict(X) == targets).sum())}
        shown = lines
        for i, (w, b) in enumerate(shown):
            draw_line(ax, w, b, 0.0, color="tab:blue", alpha=0.3 + 0.7 * (i + 1) / len(shown),
                      label="Rosenblatt" if i == len(shown) - 1 else None)
        draw_line(ax, ada[-1][0], ada[-1][1], 0.5, color="tab:red", ls="--", label="ADALINE (s = 0.5)")
        ax.scatter(X[:, 0], X[:, 1], c=["white" if t == 0 else "black" for t in targets], edgecolors="k", s=120,
                   zorder=3)
        ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), aspect="equal",
               title=f"{gate}: " + ("line after each epoch" if p.converged else "line after each sample, last epoch"))
        ax.legend(loc="upper right", fontsize=8)
    worked = {th: Perceptron(2, lr=0.5, weights=[0.9, 0.9], bias=-0.5, learn_bias=False, threshold=th)
              .fit(X, GATES["AND"]) for th in ("inclusive", "strict")}
    print("the worked AND example (w0 = (0.9, 0.9), b = -0.5 fixed, lr 0.5) with either threshold: " + "; ".join(
        f"{th} (fires at s {'>=' if th == 'inclusive' else '>'} 0): w = {p.weights.tolist()}"
        for th, p in worked.items()))
    ax = axes[2]
    ax.plot(range(1, len(results["XOR"]["errors_per_epoch"]) + 1), results["XOR"]["errors_per_epoch"], ".-",
            label="XOR, Rosenblatt: errors in the epoch")
    ax.plot(range(1, epochs + 1), results["XOR"]["adaline_mse"], label="XOR, ADALINE: mean squared error")
    ax.plot(range(1, len(results["AND"]["errors_per_epoch"]) + 1), results["AND"]["errors_per_epoch"], "s-",
            label="AND, Rosenblatt: errors in the epoch")
    ax.set(title="learning curves", xlabel="epoch", ylim=(0, 4.5))
    ax.legend(fontsize=8)
    path = Path(args.out) / "02_perceptron.png"
    finish(fig, path, "02_perceptron")
    print(f"figure: {path}")
    return {**results, "figure": str(path)}


if __name__ == "__main__":
    main()
