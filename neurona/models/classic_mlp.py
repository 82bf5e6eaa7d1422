"""The classic multilayer network, trained by backpropagation written out by hand.

This is the network of the course (and of Nielsen's ``network.py``): sigmoid units,
a quadratic or cross-entropy cost, and the four equations of backpropagation,
vectorised over a mini-batch of m samples (rows). With a^0 = x, z^l = a^{l-1} W^l + b^l
and a^l = f(z^l):

    (BP1)  delta^L = dC/da^L * f'(z^L)                      the output error
    (BP2)  delta^l = (delta^{l+1} W^{l+1 T}) * f'(z^l)      the error sent back through the transposed weights
    (BP3)  dC/db^l = delta^l                                (summed over the batch)
    (BP4)  dC/dW^l = a^{l-1 T} delta^l                      (input activation times output error)

For the quadratic cost C = 1/2 ||a^L - y||^2, dC/da^L = a^L - y; for the cross-entropy
cost with sigmoid outputs the f'(z^L) factor cancels and delta^L = a^L - y, which is why
that cost learns faster when the output units saturate. Gradients are averaged over
the mini-batch. The same numbers come out of the autograd engine (see the tests):
this class is the readable reference for what ``backward()`` computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import backend
from ..nn import Dense, Module, Sequential

_ACTIVATIONS = {
    "sigmoid": (lambda z: 0.5 + 0.5 * np.tanh(0.5 * z), lambda a: a * (1 - a)),
    "tanh": (np.tanh, lambda a: 1 - a * a),
    "relu": (lambda z: np.maximum(z, 0), lambda a: (a > 0).astype(a.dtype)),
}


class ClassicMLP(Module):
    """A fully connected network with hand-written backpropagation and mini-batch SGD.

    sizes: units per layer, inputs first (e.g. [64, 30, 10]); activation: "sigmoid",
    "tanh" or "relu" for every layer (the output layer is sigmoid for the
    cross-entropy cost); cost: "quadratic" or "cross_entropy"; l2: the L2 factor
    lambda of the cost lambda/(2n) sum w^2 (n: training-set size), as in Nielsen's book.
    Weights start as N(0, 1/n_in), biases as N(0, 1), drawn from neurona's seeded generator.
    """

    def __init__(self, sizes: Sequence[int], activation: str = "sigmoid", cost: str = "quadratic",
                 l2: float = 0.0, name: str | None = None) -> None:
        super().__init__(name=name)
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(f"ClassicMLP: sizes must list at least 2 positive layer sizes. Received: {sizes}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"ClassicMLP: activation must be one of {sorted(_ACTIVATIONS)}. Received: {activation!r}")
        if cost not in ("quadratic", "cross_entropy"):
            raise ValueError(f"ClassicMLP: cost must be 'quadratic' or 'cross_entropy'. Received: {cost!r}")
        self.sizes, self.activation, self.cost, self.l2 = [int(s) for s in sizes], activation, cost, float(l2)
        gen = backend.rng(np)
        self.weights = [gen.standard_normal((n_in, n_out)) / np.sqrt(n_in)
                        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]
        self.biases = [gen.standard_normal(n_out) for n_out in self.sizes[1:]]
        self.history: dict[str, list[float]] = {"accuracy": [], "val_accuracy": []}
        self.__dict__["built"] = True

    def _f(self, layer: int) -> tuple[Any, Any]:
        last = layer == len(self.weights) - 1
        return _ACTIVATIONS["sigmoid" if last and self.cost == "cross_entropy" else self.activation]

    def feedforward(self, x: Any) -> list[np.ndarray]:
        """The activations of every layer, a^0 = x first."""
        a = [self._check(x)]
        for layer, (W, b) in enumerate(zip(self.weights, self.biases)):
            a.append(self._f(layer)[0](a[-1] @ W + b))
        return a

    def forward(self, x: Any) -> np.ndarray:
        return self.feedforward(x)[-1]

    def _check(self, x: Any) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise ValueError(f"ClassicMLP '{self.name}': expected inputs of shape (N, {self.sizes[0]}). "
                             f"Received: {x.shape}")
        return x

    def _targets(self, y: Any, n: int) -> np.ndarray:
        """Integer labels become one-hot rows; rows of targets pass through."""
        y = np.asarray(y)
        n_out = self.sizes[-1]
        if y.ndim == 1:
            if y.shape[0] != n or y.min() < 0 or y.max() >= n_out:
                raise ValueError(f"ClassicMLP: expected {n} labels in [0, {n_out - 1}]. Received: {y.shape[0]} "
                                 f"labels from {y.min()} to {y.max()}")
            return np.eye(n_out)[y]
        if y.shape != (n, n_out):
            raise ValueError(f"ClassicMLP: expected targets of shape ({n}, {n_out}). Received: {y.shape}")
        return y.astype(np.float64)

    def gradients(self, x: Any, y: Any, n_train: int | None = None) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """dC/dW and dC/db of the mini-batch mean cost, by the four equations (BP1-BP4).

        With l2 > 0 the penalty's gradient (lambda / n_train) W is included (n_train
        defaults to the batch size).
        """
        a = self.feedforward(x)
        m = a[0].shape[0]
        y = self._targets(y, m)
        L = len(self.weights)
        grads_W: list[np.ndarray] = [None] * L
        grads_b: list[np.ndarray] = [None] * L
        if self.cost == "quadratic":
            delta = (a[-1] - y) * self._f(L - 1)[1](a[-1])  # BP1
        else:
            delta = a[-1] - y  # BP1 with the sigmoid's derivative cancelled by the cross-entropy
        for layer in range(L - 1, -1, -1):
            grads_b[layer] = delta.sum(axis=0) / m  # BP3
            grads_W[layer] = a[layer].T @ delta / m  # BP4
            if self.l2:
                grads_W[layer] += self.l2 / (n_train or m) * self.weights[layer]
            if layer > 0:
                delta = (delta @ self.weights[layer].T) * self._f(layer - 1)[1](a[layer])  # BP2
        return grads_W, grads_b

    def cost_value(self, x: Any, y: Any) -> float:
        """The mean cost over the samples (without the L2 term)."""
        a = self.forward(x)
        y = self._targets(y, a.shape[0])
        if self.cost == "quadratic":
            return float(0.5 * ((a - y) ** 2).sum(axis=1).mean())
        a = np.clip(a, 1e-12, 1 - 1e-12)
        return float(-(y * np.log(a) + (1 - y) * np.log(1 - a)).sum(axis=1).mean())

    def fit(self, x: Any, y: Any, epochs: int = 30, batch_size: int = 10, lr: float = 3.0,
            validation_data: tuple[Any, Any] | None = None, verbose: bool = True) -> dict[str, list[float]]:
        """Mini-batch SGD: shuffle, split into batches, W <- W - lr * dC/dW for each batch."""
        x = self._check(x)
        labels = np.asarray(y)
        n = x.shape[0]
        if labels.shape[0] != n:
            raise ValueError(f"ClassicMLP: {n} samples but {labels.shape[0]} targets")
        gen = backend.rng(np)
        for epoch in range(epochs):
            order = gen.permutation(n)
            for start in range(0, n, batch_size):
                batch = order[start:start + batch_size]
                gW, gb = self.gradients(x[batch], labels[batch], n_train=n)
                for layer in range(len(self.weights)):
                    self.weights[layer] -= lr * gW[layer]
                    self.biases[layer] -= lr * gb[layer]
            if labels.ndim == 1:
                self.history["accuracy"].append(self.accuracy(x, labels))
            if validation_data is not None:
                self.history["val_accuracy"].append(self.accuracy(*validation_data))
            if verbose:
                val = f", val_accuracy {self.history['val_accuracy'][-1]:.4f}" if validation_data is not None else ""
                train = f"accuracy {self.history['accuracy'][-1]:.4f}" if labels.ndim == 1 else ""
                print(f"epoch {epoch + 1}/{epochs}: {train}{val}")
        return self.history

    def predict(self, x: Any) -> np.ndarray:
        """The most active output unit for each row: the predicted class."""
        return self.forward(x).argmax(axis=1)

    def accuracy(self, x: Any, y: Any) -> float:
        return float((self.predict(x) == np.asarray(y)).mean())

    def to_sequential(self) -> Sequential:
        """The same network as Dense layers with these weights (float64), for the autograd engine."""
        layers = []
        for layer in range(len(self.weights)):
            last = layer == len(self.weights) - 1
            act = "sigmoid" if last and self.cost == "cross_entropy" else self.activation
            layers.append(Dense(self.sizes[layer + 1], activation=act))
        model = Sequential(layers)
        model.build((None, self.sizes[0]))
        for dense, W, b in zip(layers, self.weights, self.biases):
            dense.kernel.data = backend.to_device(W.copy(), dense.kernel.device)  # where the model was built
            dense.bias.data = backend.to_device(b.copy(), dense.bias.device)
        return model

    def get_config(self) -> dict[str, Any]:
        return {"sizes": self.sizes, "activation": self.activation, "cost": self.cost, "l2": self.l2,
                "name": self.name}
