"""Draw the example images of this folder with neurona's own models and nr.viz.

    .venv/bin/python docs/images/make_images.py

Everything is seeded; it takes about a minute on a laptop.
"""

from pathlib import Path

import numpy as np

import neurona as nr
from neurona import data, nn, optim, viz
from neurona import functional as F

HERE = Path(__file__).parent


def moons(n, noise, rng):
    """Two interleaved half circles, n points each (the classic non-linearly separable toy set)."""
    a = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(a), np.sin(a)], axis=1)
    lower = np.stack([1 - np.cos(a), 0.5 - np.sin(a)], axis=1)
    x = np.concatenate([upper, lower]) + rng.normal(0, noise, (2 * n, 2))
    return x.astype(np.float32), np.repeat([0, 1], n)


def train(model, x, y, xv, yv, epochs, lr, batch_size, rng):
    """A PyTorch-style loop recording a Keras-style history dict."""
    opt = optim.Adam(model.parameters(), lr=lr)
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            opt.zero_grad()
            F.cross_entropy(model(nr.tensor(x[idx])), y[idx]).backward()
            opt.step()
        model.eval()
        with nr.no_grad():
            for prefix, (a, b) in (("", (x, y)), ("val_", (xv, yv))):
                out = model(nr.tensor(a))
                history[prefix + "loss"].append(F.cross_entropy(out, b).item())
                history[prefix + "accuracy"].append(float((out.numpy().argmax(axis=1) == b).mean()))
    return history


def main():
    nr.manual_seed(0)
    rng = np.random.default_rng(0)

    # The course's neuron, y = sigmoid(x * w + b), with a squared error on top.
    x = nr.tensor([[0.5, -1.0]], requires_grad=False)
    x.name = "x"
    w = nn.Parameter(np.array([[0.3], [0.8]]), name="w")
    b = nn.Parameter(np.array([0.1]), name="b")
    y = F.sigmoid(x @ w + b)
    y.name = "y"
    loss = ((y - 1.0) ** 2).mean()
    loss.name = "loss"
    viz.render(viz.graph(loss, show_values=True), HERE / "graph_neuron.png")

    # A two-layer MLP with its loss, parameters named by their path in the model.
    mlp = nn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(3)])
    loss = F.cross_entropy(mlp(nr.tensor(np.ones((8, 5)))), np.arange(8) % 3)
    viz.render(loss, HERE / "graph_mlp.png", params=mlp, rankdir="LR")

    # An MLP on the moons: its learning curves and its decision boundary.
    xm, ym = moons(150, 0.15, rng)
    xmv, ymv = moons(100, 0.15, rng)
    net = nn.Sequential([nn.Dense(16, activation="relu"), nn.Dense(16, activation="relu"), nn.Dense(2)])
    history = train(net, xm, ym, xmv, ymv, epochs=40, lr=0.01, batch_size=32, rng=rng)
    viz.plot_history(history, path=HERE / "training_curves.png")
    viz.plot_decision_boundary(net, xm, ym, class_names=["upper", "lower"],
                               title=f"MLP 2-16-16-2 on the moons (val. accuracy {history['val_accuracy'][-1]:.2f})",
                               path=HERE / "decision_boundary.png")

    # A small CNN on the digits: confusion matrix, mistakes, first-layer filters, feature maps.
    (xd, yd), (xt, yt) = data.load_digits()
    scale = float(xd.max())
    xd, xt = (xd[..., None] / scale).astype(np.float32), (xt[..., None] / scale).astype(np.float32)
    cnn = nn.Sequential([nn.Conv2D(8, 3, padding="same", activation="relu"), nn.Conv2D(16, 3, activation="relu"),
                         nn.Flatten(), nn.Dense(10)])
    train(cnn, xd, yd, xt, yt, epochs=12, lr=3e-3, batch_size=64, rng=rng)
    cnn.eval()
    with nr.no_grad():
        scores = cnn(nr.tensor(xt)).numpy()
    viz.plot_confusion_matrix(yt, scores, path=HERE / "confusion_matrix.png")
    viz.plot_predictions(xt, scores, yt, n=16, errors_only=True, path=HERE / "predictions.png")
    viz.plot_filters(cnn, path=HERE / "filters.png")
    viz.plot_feature_maps(cnn, xt[0], max_maps=8, path=HERE / "feature_maps.png")


if __name__ == "__main__":
    main()
