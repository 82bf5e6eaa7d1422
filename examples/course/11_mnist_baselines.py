"""Experiment 11: the MNIST baselines and networks side by side: random guessing, "darkness", a linear SVM, an MLP,
LeNet-5 and a small modern CNN, on the same images.

MNIST's files are used when present (``nr.data.load_mnist``); otherwise Fashion-MNIST (same size and format:
28x28 grey images, 10 classes), and the script says which. To fit a shared laptop CPU it trains on the first
10,000 training images and reports on the first 2,000 test images, once, at the end (nothing is chosen on them).
  random: a class drawn at random for each image;
  darkness: the class whose mean training image darkness (average pixel) is nearest to the image's;
  linear SVM: one linear score per class trained on the multi-class hinge loss
              sum_{j != y} max(0, 1 - (s_y - s_j)) (written here; neurona has no SVM), plus 1e-4 sum w^2;
  MLP: 784-128-10, ReLU; LeNet-5: ``nr.models.lenet5`` (tanh, average pooling, as in 1998);
  CNN: two 3x3 convolutions with ReLU and max pooling (32 and 64 filters), dense 128, dense 10.
All the networks: Adam lr 1e-3, mini-batch 64, the same epochs.

Run: .venv/bin/python examples/course/11_mnist_baselines.py [--quick] [--out runs/course]
"""

import argparse
import time
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.viz._figure import finish, new_figure


def load() -> tuple[str, tuple[np.ndarray, ...]]:
    try:
        return "MNIST", nr.data.load_mnist()
    except Exception as error:  # noqa: BLE001 (any reason the files are missing)
        print(f"MNIST not available here ({type(error).__name__}); using Fashion-MNIST")
        return "Fashion-MNIST", nr.data.load_fashion_mnist()


def multiclass_hinge(scores: nr.Tensor, y: np.ndarray) -> nr.Tensor:
    """Mean over the batch of sum_{j != y} max(0, 1 - (s_y - s_j))."""
    onehot = nr.tensor(np.eye(10, dtype=np.float32)[y])
    true_score = (scores * onehot).sum(axis=1, keepdims=True)
    margins = F.relu(scores - true_score + 1.0) * (1.0 - onehot)
    return margins.sum(axis=1).mean()


def train_svm(x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> nn.Dense:
    nr.manual_seed(seed)
    svm = nn.Dense(10)
    svm.build((None, x.shape[1]))
    opt = optim.Adam(svm.parameters(), lr=1e-3)
    order = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = order.permutation(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            (multiclass_hinge(svm(nr.tensor(x[idx])), y[idx]) + 1e-4 * (svm.kernel ** 2).sum()).backward()
            opt.step()
    return svm


def networks() -> dict:
    return {
        "MLP 784-128-10": lambda: nn.Sequential([nn.Flatten(), nn.Dense(128, activation="relu"), nn.Dense(10)]),
        "LeNet-5": lambda: nr.models.lenet5(input_shape=(28, 28, 1)),
        "CNN (2 conv + 2 dense)": lambda: nn.Sequential([
            nn.Conv2D(32, 3, activation="relu"), nn.MaxPool2D(2), nn.Conv2D(64, 3, activation="relu"),
            nn.MaxPool2D(2), nn.Flatten(), nn.Dense(128, activation="relu"), nn.Dense(10)]),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 training and 500 test images, 1 epoch")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n_train, n_test, epochs = (1000, 500, 1) if args.quick else (10000, 2000, 3)
    name, ((x_tr, y_tr), (x_te, y_te)) = load()
    x_tr, y_tr = (x_tr[:n_train, ..., None] / 255.0).astype(np.float32), y_tr[:n_train]
    x_te, y_te = (x_te[:n_test, ..., None] / 255.0).astype(np.float32), y_te[:n_test]
    print(f"{name}: {n_train} training images, {n_test} test images, {epochs} epoch(s) for the trained models")
    results = {}
    rng = np.random.default_rng(args.seed)
    results["random guess"] = (float(np.mean(rng.integers(0, 10, n_test) == y_te)), 0.0)

    darkness = x_tr.mean(axis=(1, 2, 3))
    class_darkness = np.array([darkness[y_tr == c].mean() for c in range(10)])
    guess = np.abs(x_te.mean(axis=(1, 2, 3))[:, None] - class_darkness[None, :]).argmin(1)
    results["darkness"] = (float(np.mean(guess == y_te)), 0.0)

    start = time.perf_counter()
    svm = train_svm(x_tr.reshape(n_train, -1), y_tr, epochs, args.seed)
    with nr.no_grad():
        scores = svm(nr.tensor(x_te.reshape(n_test, -1))).numpy()
    results["linear SVM (hinge)"] = (float(np.mean(scores.argmax(1) == y_te)), time.perf_counter() - start)

    for label, make in networks().items():
        nr.manual_seed(args.seed)
        model = make()
        model.compile(optimizer=optim.Adam(lr=1e-3), loss="cross_entropy", metrics=["accuracy"])
        start = time.perf_counter()
        model.fit(x_tr, y_tr, epochs=epochs, batch_size=64, verbose=0)
        seconds = time.perf_counter() - start
        results[label] = (float(np.mean(model.predict(x_te).argmax(1) == y_te)), seconds)

    print(f"{'model':24s} {'test accuracy':>13s} {'training seconds':>16s}")
    for label, (acc, seconds) in results.items():
        print(f"{label:24s} {acc:13.3f} {seconds:16.1f}")

    fig = new_figure(8, 4)
    ax = fig.subplots()
    labels = list(results)
    ax.barh(labels, [results[k][0] for k in labels], color="tab:blue")
    for i, k in enumerate(labels):
        ax.text(results[k][0] + 0.01, i, f"{results[k][0]:.3f}", va="center")
    ax.set(xlim=(0, 1.1), xlabel="test accuracy", title=f"{name}: {n_train} training images, {epochs} epoch(s)")
    ax.invert_yaxis()
    path = Path(args.out) / "11_mnist_baselines.png"
    finish(fig, path, "11_mnist_baselines")
    print(f"figure: {path}")
    return {"dataset": name, "accuracy": {k: v[0] for k, v in results.items()}, "figure": str(path)}


if __name__ == "__main__":
    main()
