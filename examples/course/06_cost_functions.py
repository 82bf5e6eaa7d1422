"""Experiment 6: quadratic cost against cross-entropy; the learning slowdown of a saturated neuron.

One sigmoid neuron, input x = 1, target y = 0, started at w = b = 2 (as in Nielsen's book, chapter 3):
its output a = sigmoid(4) = 0.98 is badly wrong, and the neuron is saturated. With the quadratic cost
C = (a - y)^2 / 2 the gradient is dC/dw = (a - y) sigmoid'(z) x: the factor sigmoid'(z) = 0.018 makes the
start crawl. With the cross-entropy C = -[y ln a + (1 - y) ln(1 - a)] the sigmoid' cancels out,
dC/dw = (a - y) x: the worse the output, the faster it learns. Same lr (0.15), same epochs.

Then the same comparison on a 64-30-10 sigmoid network on the digits (sigmoid outputs, one-hot targets):
quadratic cost (1/2 sum over the 10 outputs) against the cross-entropy of each output, same SGD, same epochs.

Run: .venv/bin/python examples/course/06_cost_functions.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.viz._figure import finish, new_figure


def quadratic(a: nr.Tensor, t: nr.Tensor) -> nr.Tensor:
    """C = 1/2 sum_j (a_j - t_j)^2, averaged over the batch (the slides' form, with the 1/2)."""
    return 0.5 * F.mse_loss(a, t) * a.shape[-1]


def cross_entropy(a: nr.Tensor, t: nr.Tensor) -> nr.Tensor:
    """C = -sum_j [t_j ln a_j + (1 - t_j) ln(1 - a_j)], averaged over the batch."""
    return F.binary_cross_entropy(a, t) * a.shape[-1]


COSTS = {"quadratic": quadratic, "cross-entropy": cross_entropy}


def one_neuron(cost: str, epochs: int, lr: float = 0.15) -> list[float]:
    """The neuron's output a after each epoch (one example, so one gradient step per epoch)."""
    w = nr.tensor([[2.0]], requires_grad=True)
    b = nr.tensor([2.0], requires_grad=True)
    x, y = nr.tensor([[1.0]]), nr.tensor([[0.0]])
    opt = optim.SGD([w, b], lr=lr)
    outputs = [float(F.sigmoid(x @ w + b).item())]
    for _ in range(epochs):
        opt.zero_grad()
        COSTS[cost](F.sigmoid(x @ w + b), y).backward()
        opt.step()
        outputs.append(float(F.sigmoid(x @ w + b).item()))
    return outputs


def network(cost: str, n_train: int, epochs: int, seed: int) -> list[float]:
    """Validation accuracy after each epoch of a 64-30-10 sigmoid network trained with ``cost``."""
    (x, y), _ = nr.data.load_digits()
    x = (x.reshape(len(x), -1) / 255.0).astype(np.float32)
    split = int(0.9 * len(x))
    x_tr, y_tr, x_val, y_val = x[:min(n_train, split)], y[:min(n_train, split)], x[split:], y[split:]
    t_tr = np.eye(10, dtype=np.float32)[y_tr]
    nr.manual_seed(seed)
    model = nn.Sequential([nn.Dense(30, activation="sigmoid"), nn.Dense(10, activation="sigmoid")])
    opt = optim.SGD(model.parameters(), lr=0.5)
    order = np.random.default_rng(seed)
    accuracies = []
    for _ in range(epochs):
        perm = order.permutation(len(x_tr))
        for i in range(0, len(x_tr), 10):
            idx = perm[i:i + 10]
            opt.zero_grad()
            COSTS[cost](model(nr.tensor(x_tr[idx])), nr.tensor(t_tr[idx])).backward()
            opt.step()
        with nr.no_grad():
            accuracies.append(float(np.mean(model(nr.tensor(x_val)).numpy().argmax(1) == y_val)))
    return accuracies


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the network on 300 digits for 3 epochs")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    neuron_epochs = 300
    neuron = {cost: one_neuron(cost, neuron_epochs) for cost in COSTS}
    print("one sigmoid neuron, x = 1, y = 0, w = b = 2 at the start, SGD lr 0.15: its output a after each epoch")
    print("epoch       " + " ".join(f"{e:>6d}" for e in (0, 10, 30, 50, 100, 200, 300)))
    for cost, a in neuron.items():
        print(f"{cost:14s}" + " ".join(f"{a[e]:6.3f}" for e in (0, 10, 30, 50, 100, 200, 300)))

    epochs, n_train = (3, 300) if args.quick else (30, 10**6)
    net = {cost: network(cost, n_train, epochs, args.seed) for cost in COSTS}
    print(f"\n64-30-10 sigmoid network on the digits, SGD lr 0.5, mini-batch 10, {epochs} epochs: validation accuracy")
    print("epoch         " + " ".join(f"{e:>5d}" for e in range(1, epochs + 1)))
    for cost, acc in net.items():
        print(f"{cost:14s}" + " ".join(f"{v:5.3f}" for v in acc))

    fig = new_figure(11, 4)
    ax_n, ax_net = fig.subplots(1, 2)
    for cost in COSTS:
        ax_n.plot(neuron[cost], label=cost)
        ax_net.plot(range(1, epochs + 1), net[cost], marker=".", label=cost)
    ax_n.set(title="one saturated neuron (w = b = 2, x = 1, y = 0)", xlabel="epoch", ylabel="output a", ylim=(0, 1))
    ax_net.set(title="64-30-10 sigmoid network on the digits", xlabel="epoch", ylabel="validation accuracy",
               ylim=(0, 1))
    ax_n.legend()
    ax_net.legend()
    path = Path(args.out) / "06_cost_functions.png"
    finish(fig, path, "06_cost_functions")
    print(f"figure: {path}")
    return {"neuron": neuron, "network": net, "figure": str(path)}


if __name__ == "__main__":
    main()
