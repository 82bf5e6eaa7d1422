"""Callbacks for ``fit``, with Keras's names and behaviour (``nr.callbacks``).

>>> stop = nr.callbacks.EarlyStopping(monitor="val_accuracy", patience=5, restore_best_weights=True)
>>> model.fit(x, y, epochs=100, validation_split=0.1, callbacks=[stop])

Callbacks whose state matters when training resumes (EarlyStopping's patience
counter, ReduceLROnPlateau's best value...) expose ``get_state``/``set_state``,
which ``BackupAndRestore`` saves and restores.
"""

from __future__ import annotations

import csv
import io
import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..files import atomic_write
from .backup import BackupAndRestore
from .callback import Callback, CallbackList
from .history import History
from .tensorboard import TensorBoard

_MAXIMIZED = ("acc", "auc", "precision", "recall", "f1", "r2", "specificity", "npv")


def monitor_mode(monitor: str, mode: str, who: str) -> str:
    """"min" or "max": ``mode`` itself, or for "auto" max for accuracy-like names and min otherwise."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    return "max" if any(key in name for key in _MAXIMIZED) else "min"


def _monitored(logs: dict | None, monitor: str, who: str) -> float | None:
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{who} is conditioned on {monitor!r}, which is not in the logs. Available: "
                      f"{', '.join(logs or {}) or 'none'}", stacklevel=3)
    return value


def _optimizer(model: Any) -> Any:
    """The optimizer fit is using (``model.optimizer`` may be the user's own attribute on a subclassed model)."""
    trainer = model.__dict__.get("_trainer")
    return trainer.optimizer if trainer is not None else model.optimizer


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch))``."""

    _HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
              "on_train_batch_end")

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if name not in self._HOOKS:
                raise TypeError(f"LambdaCallback: unknown hook {name!r}. Expected one of {self._HOOKS}")
            if fn is not None:
                setattr(self, name, fn)  # an instance attribute: CallbackList calls only the hooks given


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (Keras's rules).

    An improvement beats the best value by more than ``min_delta``. ``baseline``: keep
    counting patience until the monitor beats it. ``restore_best_weights``: at the end
    of training, put back the weights of the best epoch. ``start_from_epoch``: epochs
    of warm-up that are not monitored.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.mode = monitor_mode(monitor, mode, "EarlyStopping")
        self.min_delta = abs(min_delta) * (1 if self.mode == "max" else -1)
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.stopped_epoch = 0
        self.best = -math.inf if self.mode == "max" else math.inf
        self.best_epoch = 0
        self.best_weights: dict[str, np.ndarray] | None = None

    def _is_improvement(self, value: float, reference: float) -> bool:
        value = value - self.min_delta
        return value > reference if self.mode == "max" else value < reference

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "EarlyStopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.state_dict(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.load_state_dict(self.best_weights)

    def get_state(self):
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": self.best,
                "best_epoch": self.best_epoch, "best_weights": self.best_weights}

    def set_state(self, state):
        self.wait, self.stopped_epoch = int(state["wait"]), int(state["stopped_epoch"])
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.best_weights = state.get("best_weights")


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) at the end of each epoch, to a path template.

    ``filepath`` may use ``{epoch}`` (from 1) and any log key: ``"ckpt-{epoch:02d}-{val_loss:.2f}.neurona"``.
    ``save_best_only``: save only when ``monitor`` improves (mode as EarlyStopping's).
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto",
                 initial_value_threshold: float | None = None) -> None:
        super().__init__()
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.mode = monitor_mode(monitor, mode, "ModelCheckpoint")
        default = -math.inf if self.mode == "max" else math.inf
        self.best = default if initial_value_threshold is None else float(initial_value_threshold)

    def on_train_begin(self, logs=None):
        if not self.save_weights_only:
            try:
                self.model.get_config()
            except NotImplementedError:
                raise TypeError(f"ModelCheckpoint: {type(self.model).__name__} is a subclassed Module whose "
                                "architecture is code; use ModelCheckpoint(..., save_weights_only=True)") from None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as exc:
            raise KeyError(f"ModelCheckpoint: cannot fill the path template {self.filepath!r} ({exc!r}); "
                           f"available keys: epoch, {', '.join(logs)}") from None
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if current is None:
                return
            better = current > self.best if self.mode == "max" else current < self.best
            if not better:
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)

    def get_state(self):
        return {"best": self.best}

    def set_state(self, state):
        self.best = float(state["best"])


class ReduceLROnPlateau(Callback):
    """Divide the learning rate by 1/``factor`` when ``monitor`` stalls (the course's rule), as Keras.

    After ``patience`` epochs without an improvement larger than ``min_delta``,
    lr <- max(lr * factor, min_lr); then ``cooldown`` epochs pass before counting again.
    (``neurona.optim.plateau.ReduceLROnPlateau`` is the PyTorch-style twin for hand loops.)
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        super().__init__()
        if not 0.0 < factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1). Received: factor={factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, float(factor), int(patience), verbose
        self.mode = monitor_mode(monitor, mode, "ReduceLROnPlateau")
        self.min_delta, self.cooldown, self.min_lr = float(min_delta), int(cooldown), float(min_lr)
        self._reset()

    def _reset(self) -> None:
        self.best = -math.inf if self.mode == "max" else math.inf
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        if any(callable(g["lr"]) for g in _optimizer(self.model).param_groups):
            raise ValueError("ReduceLROnPlateau cannot change a learning rate given as a schedule; use a number")
        self._reset()

    def _better(self, current: float) -> bool:
        if self.mode == "max":
            return current > self.best + self.min_delta
        return current < self.best - self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        current = _monitored(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                opt = _optimizer(self.model)
                old = float(opt.lr)
                if old > np.float32(self.min_lr):
                    opt.lr = max(old * self.factor, self.min_lr)
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {opt.lr}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0

    def get_state(self):
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def set_state(self, state):
        self.best, self.wait = float(state["best"]), int(state["wait"])
        self.cooldown_counter = int(state["cooldown_counter"])


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (epoch from 0)."""

    def __init__(self, schedule: Callable[[int, float], float], verbose: int = 0) -> None:
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_train_begin(self, logs=None):
        if any(callable(g["lr"]) for g in _optimizer(self.model).param_groups):
            raise ValueError("LearningRateScheduler: the optimizer's learning rate is already a schedule; use one "
                             "or the other")

    def on_epoch_begin(self, epoch, logs=None):
        opt = _optimizer(self.model)
        lr = self.schedule(epoch, float(opt.lr))
        if not isinstance(lr, (int, float, np.floating)) or not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: the schedule must return a finite rate >= 0. "
                             f"Received: {lr!r} at epoch {epoch}")
        opt.lr = float(lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")


class CSVLogger(Callback):
    """Write each epoch's logs to a CSV file (columns: epoch, then the log keys in sorted order).

    ``append=False`` starts a new file at each fit, except when ``BackupAndRestore`` resumes an
    interrupted fit: then the rows of the epochs already done are kept (any row of an epoch
    that is about to be redone is dropped) and the new rows are appended under the same header.
    """

    def __init__(self, filename: str, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._file = self._writer = None
        self._keys: list[str] | None = None
        self._header = True

    def on_train_begin(self, logs=None):
        self._close()
        self._keys = None

    def _open(self) -> None:
        """Open the file at the first epoch, once BackupAndRestore (which runs last) has set the start epoch."""
        trainer = self.model.__dict__.get("_trainer") if self.model is not None else None
        start = int(getattr(trainer, "start_epoch", 0) or 0)
        exists = os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        if start > 0 and exists:
            self._keep_rows_before(start)
        has_rows = (self.append or start > 0) and os.path.exists(self.filename) and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append or start > 0 else "w", newline="")
        self._header = not has_rows

    def _keep_rows_before(self, start: int) -> None:
        """Keep the header and the rows of epochs before ``start``; the columns of the new rows follow the header."""
        with open(self.filename, newline="") as f:
            rows = list(csv.reader(f, delimiter=self.sep))
        if not rows or not rows[0] or rows[0][0] != "epoch":
            return
        kept = [rows[0]] + [r for r in rows[1:] if r and r[0].lstrip("-").isdigit() and int(r[0]) < start]
        self._keys = rows[0][1:]
        if len(kept) != len(rows):
            buf = io.StringIO()
            csv.writer(buf, delimiter=self.sep, lineterminator="\r\n").writerows(kept)
            atomic_write(self.filename, buf.getvalue().encode())

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:
            self._open()
        if self._keys is None:
            self._keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self._keys, delimiter=self.sep,
                                          extrasaction="ignore")
            if self._header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self._keys}})
        self._file.flush()

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None

    def on_train_end(self, logs=None):
        self._close()


class TerminateOnNaN(Callback):
    """Stop training when a batch's loss is NaN or infinite (``fit`` also does this by itself)."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
    "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN",
]
