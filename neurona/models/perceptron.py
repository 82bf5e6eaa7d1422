"""Rosenblatt's perceptron and its learning rule, as the course presents them.

One neuron: y = step(w . x + b), with step(s) = 1 for s >= 0 and 0 otherwise (or
the bipolar sign, +1/-1). The course's slides fire only when s > 0 ("<= threshold
gives 0"): ``threshold="strict"`` selects that form; the two differ only at s = 0.
It learns sample by sample with the perceptron rule

    w_i <- w_i + lr * (d - y) * x_i        b <- b + lr * (d - y)

which changes the weights only when the output y differs from the desired d. If
the classes are linearly separable the rule stops making mistakes after finitely
many updates (the perceptron convergence theorem); on XOR, which no line
separates, it never does.

>>> p = Perceptron(2, lr=0.5, weights=[0.9, 0.9], bias=-0.5, learn_bias=False)
>>> p.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 0, 0, 1])
>>> p.weights, p.bias
(array([0.4, 0.4]), -0.5)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..nn import Module


@dataclass
class Update:
    """One step of the rule, kept for the readable trace."""

    epoch: int
    sample: int
    x: np.ndarray
    desired: float
    output: float
    weights: np.ndarray
    bias: float

    def __str__(self) -> str:
        x = ", ".join(f"{v:g}" for v in self.x)
        w = ", ".join(f"{v:.4g}" for v in self.weights)
        change = "no change" if self.desired == self.output else f"w <- ({w}), b <- {self.bias:.4g}"
        return f"epoch {self.epoch} sample {self.sample}: x=({x}) d={self.desired:g} y={self.output:g}: {change}"


class Perceptron(Module):
    """A single threshold unit trained with Rosenblatt's rule (no gradients: step has none).

    n_inputs: number of inputs; lr: learning rate; weights: initial weights (zeros when
    None); bias: initial bias; learn_bias: False keeps the bias (the threshold) fixed;
    activation: "step" (outputs 0/1) or "sign" (outputs -1/+1, targets -1/+1);
    threshold: "inclusive" fires when w . x + b >= 0 (the default), "strict" only when
    w . x + b > 0, as the slides write it.
    """

    def __init__(self, n_inputs: int, lr: float = 0.1, weights: Any = None, bias: float = 0.0,
                 learn_bias: bool = True, activation: str = "step", threshold: str = "inclusive",
                 name: str | None = None) -> None:
        super().__init__(name=name)
        if activation not in ("step", "sign"):
            raise ValueError(f"Perceptron: activation must be 'step' or 'sign'. Received: {activation!r}")
        if threshold not in ("inclusive", "strict"):
            raise ValueError(f"Perceptron: threshold must be 'inclusive' (fire at w.x + b >= 0) or 'strict' "
                             f"(fire at w.x + b > 0). Received: threshold={threshold!r}")
        self.threshold = threshold
        w = np.zeros(n_inputs) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.shape != (n_inputs,):
            raise ValueError(f"Perceptron: expected {n_inputs} initial weights. Received: {w.shape[0]}")
        self.n_inputs, self.lr, self.learn_bias, self.activation = n_inputs, float(lr), learn_bias, activation
        self.weights = w.copy()
        self.bias = float(bias)
        self.trace: list[Update] = []
        self.errors_per_epoch: list[int] = []
        self.converged = False
        self.__dict__["built"] = True

    def _fire(self, s: np.ndarray) -> np.ndarray:
        low = 0.0 if self.activation == "step" else -1.0
        fires = s > 0 if self.threshold == "strict" else s >= 0
        return np.where(fires, 1.0, low)

    def forward(self, x: Any) -> np.ndarray:
        return self.predict(x)

    def predict(self, X: Any) -> np.ndarray:
        """Outputs (0/1, or -1/+1 with sign) for each row of X."""
        X = self._check(X)
        return self._fire(X @ self.weights + self.bias).astype(np.int64)

    def _check(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[None, :]
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise ValueError(f"Perceptron '{self.name}': expected inputs of shape (N, {self.n_inputs}). "
                             f"Received: {X.shape}")
        return X

    def fit(self, X: Any, d: Any, epochs: int = 100, verbose: bool = False) -> Perceptron:
        """Apply the rule sample by sample, in order, for up to ``epochs`` passes.

        Stops as soon as a whole epoch makes no error (``converged`` becomes True).
        Every sample's step is recorded in ``trace``; ``verbose`` prints it.
        """
        X = self._check(X)
        d = np.asarray(d, dtype=np.float64).reshape(-1)
        if d.shape[0] != X.shape[0]:
            raise ValueError(f"Perceptron: {X.shape[0]} samples but {d.shape[0]} targets")
        allowed = {0.0, 1.0} if self.activation == "step" else {-1.0, 1.0}
        if not set(np.unique(d)) <= allowed:
            raise ValueError(f"Perceptron: targets must be in {sorted(allowed)} for activation "
                             f"{self.activation!r}. Received: {sorted(set(np.unique(d)))}")
        self.converged = False
        start = len(self.errors_per_epoch)
        for epoch in range(start + 1, start + epochs + 1):
            errors = 0
            # The rule is defined sample by sample: each update changes the next sample's output.
            for i, (x, target) in enumerate(zip(X, d)):
                y = float(self._fire(np.array(x @ self.weights + self.bias)))
                if y != target:
                    errors += 1
                    self.weights = self.weights + self.lr * (target - y) * x
                    if self.learn_bias:
                        self.bias += self.lr * (target - y)
                step = Update(epoch, i, x.copy(), float(target), y, self.weights.copy(), self.bias)
                self.trace.append(step)
                if verbose:
                    print(step)
            self.errors_per_epoch.append(errors)
            if errors == 0:
                self.converged = True
                break
        return self

    def format_trace(self) -> str:
        """The recorded steps, one per line."""
        return "\n".join(str(u) for u in self.trace)

    def get_config(self) -> dict[str, Any]:
        return {"n_inputs": self.n_inputs, "lr": self.lr, "weights": self.weights.tolist(), "bias": self.bias,
                "learn_bias": self.learn_bias, "activation": self.activation, "threshold": self.threshold,
                "name": self.name}

    def extra_repr(self) -> str:
        return f"n_inputs={self.n_inputs}, weights={np.round(self.weights, 4).tolist()}, bias={self.bias:.4g}"
