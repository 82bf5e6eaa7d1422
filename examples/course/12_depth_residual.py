"""Experiment 12: depth. A plain deep CNN against the same depth with residual connections: the gradient norm
of each layer at the start of training (vanishing gradients), and the accuracy after the same epochs.

Both networks: a 3x3 convolution from the 8x8 digit to 16 channels, then ``depth`` 3x3 convolutions of 16
channels with the course's sigmoid, then a dense softmax layer over the flattened maps; the same initial weights
(``glorot_uniform``, neurona's default), no batch normalisation. The plain network computes h <- sigmoid(conv(h))
at each layer, the residual one h <- h + sigmoid(conv(h)) (a skip connection around each convolution, as in
ResNet). In the plain stack the gradient reaching a layer has been multiplied by sigmoid' <= 1/4 (and a weight
matrix) at every layer above it and vanishes on the way down; the skip connection gives it a path with
derivative 1 through every block.

Run: .venv/bin/python examples/course/12_depth_residual.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import backend, nn, optim
from neurona import functional as F
from neurona.viz._figure import finish, new_figure


class DeepCNN(nn.Module):
    def __init__(self, depth: int, residual: bool):
        super().__init__()
        self.residual = residual
        self.stem = nn.Conv2D(16, 3, padding="same", activation="relu")
        self.convs = nn.Sequential([nn.Conv2D(16, 3, padding="same") for _ in range(depth)])
        self.flat = nn.Flatten()
        self.head = nn.Dense(10)

    def forward(self, x):
        h = self.stem(x)
        for conv in self.convs.layers:
            h = h + F.sigmoid(conv(h)) if self.residual else F.sigmoid(conv(h))
        return self.head(self.flat(h))


def digits(n_train: int) -> tuple[np.ndarray, ...]:
    (x, y), _ = nr.data.load_digits()
    x = (x[..., None] / 255.0).astype(np.float32)  # channels-last (N, 8, 8, 1)
    split = int(0.9 * len(x))
    return x[:min(n_train, split)], y[:min(n_train, split)], x[split:], y[split:]


def layer_gradients(model: DeepCNN, x: np.ndarray, y: np.ndarray) -> list[float]:
    """Norm of the loss gradient with respect to each hidden convolution's kernel, first layer first."""
    model.zero_grad()
    F.cross_entropy(model(nr.tensor(x)), nr.tensor(y)).backward()
    return [float(np.linalg.norm(backend.to_numpy(conv.kernel.grad))) for conv in model.convs.layers]


def train(model: DeepCNN, data: tuple[np.ndarray, ...], epochs: int, seed: int) -> list[float]:
    """Adam (lr 1e-3), mini-batches of 32; validation accuracy after each epoch."""
    x, y, x_val, y_val = data
    opt = optim.Adam(model.parameters(), lr=1e-3)
    order = np.random.default_rng(seed)
    accuracies = []
    for _ in range(epochs):
        perm = order.permutation(len(x))
        for i in range(0, len(x), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            F.cross_entropy(model(nr.tensor(x[idx])), nr.tensor(y[idx])).backward()
            opt.step()
        with nr.no_grad():
            accuracies.append(float(np.mean(model(nr.tensor(x_val)).numpy().argmax(1) == y_val)))
    return accuracies


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 training images, 2 epochs")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--depth", type=int, default=20, help="hidden convolutions (default 20)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else 8
    data = digits(200 if args.quick else 10**6)
    print(f"{args.depth} hidden 3x3 convolutions of 16 channels, sigmoid, on the 8x8 digits; "
          f"Adam lr 1e-3, mini-batch 32, {len(data[0])} training and {len(data[2])} validation images, {epochs} epochs")
    results = {}
    for residual in (False, True):
        name = "residual" if residual else "plain"
        nr.manual_seed(args.seed)  # the same initial weights for both
        model = DeepCNN(args.depth, residual)
        grads = layer_gradients(model, data[0][:128], data[1][:128])
        accuracy = train(model, data, epochs, args.seed)
        results[name] = {"grad_norms": grads, "val_accuracy": accuracy}
        print(f"\n{name}: gradient norm of each layer's kernel at the start, first layer (nearest the input) first")
        print("  " + " ".join(f"{g:.1e}" for g in grads))
        print(f"  first / last layer: {grads[0] / grads[-1]:.2e}")
        print("  validation accuracy after each epoch: " + " ".join(f"{a:.3f}" for a in accuracy))

    fig = new_figure(11, 4)
    ax_g, ax_a = fig.subplots(1, 2)
    for name, r in results.items():
        ax_g.semilogy(range(1, args.depth + 1), r["grad_norms"], marker=".", label=name)
        ax_a.plot(range(1, epochs + 1), r["val_accuracy"], marker=".", label=name)
    ax_g.set(title="gradient norm per layer at the start", xlabel="layer (1 = nearest the input)")
    ax_a.set(title="validation accuracy", xlabel="epoch", ylim=(0, 1))
    ax_g.legend()
    ax_a.legend()
    path = Path(args.out) / "12_depth_residual.png"
    finish(fig, path, "12_depth_residual")
    print(f"figure: {path}")
    return {**results, "figure": str(path)}


if __name__ == "__main__":
    main()
