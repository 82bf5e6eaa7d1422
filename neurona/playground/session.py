"""One tab's run: the data, the network, its optimizer, and one epoch of training at a time.

The training loop is the plain PyTorch-style loop the export writes (shuffle, batches,
loss + penalty, backward, step), so the page shows what the exported script does.
A session is used by one thread at a time (the server runs every session's work on one
worker thread: neurona's no_grad switch and random generator are process-wide).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import numpy as np

from .. import backend, nn, optim
from .. import functional as F
from ..autograd import Tensor, no_grad
from ..models import Perceptron
from . import data
from .export import python_code
from .settings import Settings, SettingsError, parse_settings

GRID = 48  # pixels per side of the output heat map
UNIT_GRID = 24  # of each hidden unit's and input's small map
MAX_MESSAGE = 65536  # bytes; settings are a few hundred
CPU_PER_FRAME = 0.08  # seconds of this thread's CPU a frame of training may use (then one batch more)
HISTORY = 400  # loss-curve points sent (the history is thinned to this many)


def make_optimizer(s: Settings, params: Any) -> optim.Optimizer:
    """The optimizer the settings name, with the learning rate they give."""
    if s.optimizer == "sgd":
        return optim.SGD(params, lr=s.lr)
    if s.optimizer == "momentum":
        return optim.SGD(params, lr=s.lr, momentum=0.9)
    if s.optimizer == "adagrad":
        return optim.Adagrad(params, lr=s.lr)
    if s.optimizer == "rmsprop":
        return optim.RMSprop(params, lr=s.lr)
    return optim.Adam(params, lr=s.lr)


def make_network(s: Settings) -> nn.Sequential:
    """Hidden Dense layers (each followed by Dropout when asked) and one linear output unit."""
    reg = {"l1": nn.regularizers.L1, "l2": nn.regularizers.L2}.get(s.regularization)
    layers: list[nn.Module] = []
    for units in s.hidden:
        layers.append(nn.Dense(units, activation=s.activation,
                               kernel_regularizer=reg(s.reg_rate) if reg and s.reg_rate else None))
        if s.dropout:
            layers.append(nn.Dropout(s.dropout))
    layers.append(nn.Dense(1))
    return nn.Sequential(layers)


def _encode(v: np.ndarray) -> str:
    """Values in [-1, 1] as base64 bytes 0..255 (a heat map in a few kilobytes)."""
    q = np.round((np.clip(np.nan_to_num(v), -1, 1) + 1) * 127.5).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def _grid(extent: float, size: int) -> np.ndarray:
    """(size*size, 2) points, row by row from the top (x2 = +extent) to the bottom."""
    xs = np.linspace(-extent, extent, size)
    g1, g2 = np.meshgrid(xs, xs[::-1])
    return np.stack([g1.ravel(), g2.ravel()], axis=1).astype(np.float32)


def _finite(values: list[float]) -> list[float | None]:
    """None for NaN and infinities: JSON has no such numbers and the page's parser refuses them."""
    return [v if np.isfinite(v) else None for v in values]


def _scaled(v: np.ndarray) -> np.ndarray:
    """Columns divided by their largest magnitude when it passes 1 (ReLU units), else kept."""
    return v / np.maximum(np.abs(v).max(axis=0, keepdims=True), 1.0)


class Session:
    """The state of one tab: settings, data, model, epoch and loss history."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.running = False
        self.configure(settings or Settings())

    # --- setting up -------------------------------------------------------------------
    def configure(self, settings: Settings) -> None:
        """Take new settings and start again from epoch 0."""
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        """New data and freshly initialised weights (seeded: the same settings give the same run)."""
        s = self.settings
        X, y = data.points(s)
        k = data.n_train(s)
        self.X_train, self.X_test = X[:k], X[k:]
        self.F_train, self.F_test = data.features(self.X_train, s.features), data.features(self.X_test, s.features)
        self.y_train, self.y_test = y[:k], y[k:]
        self.extent = float(min(max(np.ceil(np.abs(X).max() * 1.1 * 2) / 2, 1.5), 4.0))
        self.rng = np.random.default_rng(s.seed)  # batch order, as in the exported script
        backend.manual_seed(s.seed)
        self.epoch, self.train_loss, self.test_loss, self.curve_epochs = 0, [], [], []
        self.diverged = False
        self._order: np.ndarray | None = None  # the batch order of the epoch under way
        self._done = 0  # how many of its points have trained
        if s.model == "perceptron":
            self.perceptron = Perceptron(len(s.features), lr=s.lr)
            self.model = self.optimizer = None
        else:
            self.perceptron = None
            self.model = make_network(s)
            self.model.build((None, len(s.features)))
            self.optimizer = make_optimizer(s, self.model.parameters())
        self._record()

    def targets(self, y: np.ndarray) -> np.ndarray:
        """What the network learns: the label 0/1 (its logit, cross-entropy) or -1/+1 (regression, MSE)."""
        t = y.astype(np.float32)[:, None]
        return t if self.settings.problem == "classification" else 2 * t - 1

    # --- training -----------------------------------------------------------------------
    def loss(self, out: Tensor, t: np.ndarray) -> Tensor:
        if self.settings.problem == "classification":
            return F.binary_cross_entropy_with_logits(out, Tensor(t))
        return F.mse_loss(out, Tensor(t))

    def train_epoch(self) -> None:
        """Finish the pass over the training points under way (a whole pass when none is)."""
        self._train(deadline=None)

    def _train(self, deadline: float | None) -> bool:
        """Train batch after batch until the epoch ends (True) or this thread's CPU clock passes
        ``deadline`` (False: the epoch goes on in the next frame, so one frame stays short
        whatever the batch size)."""
        s = self.settings
        with np.errstate(all="ignore"):  # a too-high learning rate overflows: shown, not raised
            if self.perceptron is not None:
                self.perceptron.fit(self.F_train, self.y_train, epochs=1)
                self.perceptron.trace.clear()  # the step-by-step trace would grow without end
            else:
                if self._order is None:  # a new epoch: the batches' order, as in the exported script
                    self._order, self._done = self.rng.permutation(len(self.F_train)), 0
                self.model.train()
                t = self.targets(self.y_train)
                while self._done < len(self._order):
                    idx = self._order[self._done:self._done + s.batch_size]
                    self._done += s.batch_size
                    loss = self.loss(self.model(Tensor(self.F_train[idx])), t[idx])
                    penalty = self.model.regularization_loss()
                    if penalty is not None:
                        loss = loss + penalty
                    self.optimizer.zero_grad()
                    loss.backward()
                    self.optimizer.step()
                    if deadline is not None and time.thread_time() > deadline and self._done < len(self._order):
                        return False
                self._order = None
        self.epoch += 1
        self._record()
        return True

    def frame(self) -> None:
        """Train the epochs of one animation frame, stopping when the frame's CPU time is spent."""
        deadline = time.thread_time() + CPU_PER_FRAME
        for _ in range(self.settings.epochs_per_frame):
            if not self._train(deadline) or self.diverged or self.converged or time.thread_time() > deadline:
                break
        if self.converged:
            self.running = False  # the perceptron rule changes nothing more

    @property
    def converged(self) -> bool:
        """The perceptron made no mistake in its last epoch (the rule stops changing the weights)."""
        return self.perceptron is not None and self.perceptron.converged

    def _loss_on(self, Fx: np.ndarray, y: np.ndarray) -> float:
        if self.perceptron is not None:  # the perceptron's cost: the fraction misclassified
            return float(np.mean(self.perceptron.predict(Fx) != y)) if len(y) else 0.0
        self.model.eval()
        with no_grad(), np.errstate(all="ignore"):
            return float(self.loss(self.model(Tensor(Fx)), self.targets(y)).item())

    def _record(self) -> None:
        self.train_loss.append(self._loss_on(self.F_train, self.y_train))
        self.test_loss.append(self._loss_on(self.F_test, self.y_test))
        self.curve_epochs.append(self.epoch)
        if len(self.curve_epochs) > 4 * HISTORY:  # a tab left playing for hours: keep every other epoch
            for values in (self.train_loss, self.test_loss, self.curve_epochs):
                values[:] = values[:-1:2] + values[-1:]
        if not (np.isfinite(self.train_loss[-1]) and np.isfinite(self.test_loss[-1])):
            self.diverged, self.running = True, False

    # --- what the page draws ----------------------------------------------------------------
    def _output(self, Fx: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The output in [-1, 1] (2p - 1, or the regression value) and each hidden layer's activations."""
        if self.perceptron is not None:
            return 2.0 * self.perceptron.predict(Fx) - 1.0, []
        self.model.eval()
        hidden, h = [], Tensor(Fx)
        with no_grad(), np.errstate(all="ignore"):
            for layer in self.model.layers:
                h = layer(h)
                if isinstance(layer, nn.Dense) and len(hidden) < len(self.settings.hidden):
                    hidden.append(h.numpy())
        out = h.numpy()[:, 0]
        return (np.tanh(out / 2) if self.settings.problem == "classification" else out), hidden  # 2 sigmoid - 1

    def _weights(self) -> list[dict[str, list]]:
        if self.perceptron is not None:
            return [{"kernel": [[float(w)] for w in self.perceptron.weights], "bias": [self.perceptron.bias]}]
        return [{"kernel": np.round(np.nan_to_num(layer.kernel.numpy().astype(np.float64)), 4).tolist(),
                 "bias": np.round(np.nan_to_num(layer.bias.numpy().astype(np.float64)), 4).tolist()}
                for layer in self.model.layers if isinstance(layer, nn.Dense)]

    def accuracy(self, Fx: np.ndarray, y: np.ndarray) -> float:
        out, _ = self._output(Fx)
        return float(np.mean((out >= 0) == (y == 1))) if len(y) else 0.0

    def state(self, full: bool = False) -> dict[str, Any]:
        """What the page draws now; ``full`` adds the points and the input features' maps (fixed per run)."""
        s = self.settings
        out, _ = self._output(data.features(_grid(self.extent, GRID), s.features))
        _, hidden = self._output(data.features(_grid(self.extent, UNIT_GRID), s.features))
        stride = max(1, -(-len(self.train_loss) // HISTORY))
        keep = list(range(0, len(self.train_loss), stride))
        if keep[-1] != len(self.train_loss) - 1:
            keep.append(len(self.train_loss) - 1)
        state: dict[str, Any] = {
            "type": "state", "settings": s.to_dict(), "epoch": self.epoch, "running": self.running,
            "diverged": self.diverged, "converged": self.converged,
            "train_loss": _finite(self.train_loss[-1:])[0], "test_loss": _finite(self.test_loss[-1:])[0],
            "train_accuracy": self.accuracy(self.F_train, self.y_train),
            "test_accuracy": self.accuracy(self.F_test, self.y_test),
            "curve": {"epoch": [self.curve_epochs[i] for i in keep],
                      "train": _finite([self.train_loss[i] for i in keep]),
                      "test": _finite([self.test_loss[i] for i in keep])},
            "output": _encode(out), "grid": GRID, "unit_grid": UNIT_GRID,
            "units": [[_encode(col) for col in _scaled(h).T] for h in hidden],
            "weights": self._weights(),
        }
        if full:
            grid = data.features(_grid(self.extent, UNIT_GRID), s.features)
            state.update({
                "extent": self.extent,
                "train_points": np.round(self.X_train.astype(np.float64), 4).tolist(),
                "test_points": np.round(self.X_test.astype(np.float64), 4).tolist(),
                "train_labels": self.y_train.tolist(), "test_labels": self.y_test.tolist(),
                "inputs": [_encode(col) for col in _scaled(grid).T],
            })
        return state

    def _retune(self, new: Settings) -> bool:
        """Take a new learning rate or speed without starting again (to watch a rate that is too high);
        False when anything else changed."""
        live = {"lr", "epochs_per_frame"}
        old, changed = self.settings.to_dict(), new.to_dict()
        if any(old[k] != changed[k] for k in old if k not in live):
            return False
        self.settings = new
        if self.perceptron is not None:
            self.perceptron.lr = new.lr
        else:
            for group in self.optimizer.param_groups:
                group["lr"] = new.lr
        return True

    # --- the page's messages ------------------------------------------------------------------
    def handle(self, text: str) -> list[dict[str, Any]]:
        """Act on one message from the page; return the replies. Bad input gives an error reply."""
        try:
            return self._handle(text)
        except SettingsError as exc:
            return [{"type": "error", "message": str(exc)}]

    def _handle(self, text: str) -> list[dict[str, Any]]:
        if len(text) > MAX_MESSAGE:
            raise SettingsError(f"message too long: expected at most {MAX_MESSAGE} bytes. Received: {len(text)}")
        try:
            msg = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise SettingsError(f'malformed message: expected JSON like {{"action": "play"}}. '
                                f"Received: {text[:80]!r}") from None
        actions = ("configure", "play", "pause", "step", "reset", "export", "state")
        action = msg.get("action") if isinstance(msg, dict) else None
        if action not in actions:
            raise SettingsError(f"unknown action: expected one of {', '.join(actions)}. "
                                f"Received: {action if isinstance(msg, dict) else msg!r}")
        if action == "configure":
            new = parse_settings(msg.get("settings"), self.settings)
            if self._retune(new):
                return [self.state()]
            self.running = False
            self.configure(new)
            return [self.state(full=True)]
        if action == "reset":
            self.running = False
            self.reset()
            return [self.state(full=True)]
        if action == "play":
            if self.diverged:
                raise SettingsError("the loss is not a finite number any more (the learning rate is probably "
                                    "too high): lower it and press reset")
            self.running = True
        elif action == "pause":
            self.running = False
        elif action == "step":
            self.running = False
            if not self.diverged:
                self.train_epoch()
        elif action == "export":
            return [{"type": "code", "code": python_code(self.settings, self.epoch)}]
        return [self.state(full=action == "state")]
