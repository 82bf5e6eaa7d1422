"""One trial: build the model from the sampled parameters, train it with ``fit``, score it.

``Objective`` is what every worker runs for each trial. Training settings among the
parameters (``lr``, ``batch_size``, ``optimizer``, ``momentum``, ``nesterov``,
``weight_decay``) configure the optimizer and ``fit``; every parameter (these too) is
passed to the model-building function, which uses the ones it knows. ``PruningCallback``
reports the ranking metric after each epoch so that Optuna's pruner can stop a hopeless
trial after one or two epochs instead of all.
"""

from __future__ import annotations

import math
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import optim
from ..backend import manual_seed
from ..training.callback import Callback
from ..training.trainer import OPTIMIZERS
from .scoring import DIRECTIONS, check_metric, score
from .space import Param, TuneError, suggest

TRAINING_KEYS = ("lr", "batch_size", "optimizer", "momentum", "nesterov", "weight_decay")


class PruningCallback(Callback):
    """Reports ``metric`` on the validation set to an Optuna trial after each epoch; when the
    pruner says the trial is hopeless, stops training (``pruned`` is then True)."""

    def __init__(self, trial: Any, metric: str, validation: tuple[np.ndarray, np.ndarray], task: str) -> None:
        super().__init__()
        self.trial, self.metric, self.validation, self.task = trial, metric, validation, task
        self.pruned = False
        self.epochs = 0
        self.last: dict[str, float] = {}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.epochs = epoch + 1
        if self.metric in logs:
            self.last = {k: float(v) for k, v in logs.items() if k.startswith("val_")}
        else:
            self.last = score(self.model, *self.validation, self.task)
        value = self.last.get(self.metric, float("nan"))
        if not math.isfinite(value):
            return  # a diverged trial ends failed, not pruned
        self.trial.report(value, epoch)
        last = self.epochs >= self.params.get("epochs", math.inf)  # stopping at the end saves nothing
        if not last and self.trial.should_prune():
            self.pruned = True
            self.model.stop_training = True


def make_optimizer(settings: dict[str, Any]) -> optim.Optimizer:
    """The optimizer named by ``settings["optimizer"]`` (default Adam) with the settings it takes."""
    name = str(settings.get("optimizer", "adam")).lower()
    if name not in OPTIMIZERS:
        raise TuneError(f"unknown optimizer {name!r}. Expected one of {', '.join(OPTIMIZERS)}")
    kwargs = {k: settings[k] for k in ("lr", "momentum", "nesterov", "weight_decay") if k in settings}
    if name != "sgd":
        kwargs.pop("momentum", None)
        kwargs.pop("nesterov", None)
    return getattr(optim, OPTIMIZERS[name])(**kwargs)


@dataclass
class Objective:
    """What a trial trains. ``build(settings) -> model`` (logits for classification); ``train``
    and ``validation`` are (x, y) arrays; ``metric`` ranks the trials (see ``scoring``);
    ``fixed`` holds settings that are not searched (``batch_size``, ``lr``...); the best
    models so far are saved under ``models_dir``."""

    build: Callable[[dict[str, Any]], Any]
    space: dict[str, Param]
    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    epochs: int = 5
    metric: str = "val_loss"
    task: str = "classification"
    fixed: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    models_dir: Path | None = None

    def __post_init__(self) -> None:
        check_metric(self.metric, self.task)
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise TuneError(f"epochs must be a positive integer. Received: epochs={self.epochs!r}")

    @property
    def direction(self) -> str:
        return DIRECTIONS[self.metric]

    def __call__(self, trial: Any) -> float:
        import optuna

        settings = {**self.fixed, **suggest(trial, self.space)}
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        manual_seed(self.seed + trial.number)
        model = self.build(settings)
        loss = "cross_entropy" if self.task == "classification" else "mse"
        model.compile(optimizer=make_optimizer(settings), loss=loss,
                      metrics=["accuracy"] if self.task == "classification" else None)
        pruning = PruningCallback(trial, self.metric, self.validation, self.task)
        start = time.perf_counter()
        model.fit(*self.train, epochs=self.epochs, batch_size=int(settings.get("batch_size", 32)),
                  validation_data=self.validation, callbacks=[pruning], verbose=0)
        trial.set_user_attr("epochs", pruning.epochs)
        trial.set_user_attr("seconds", round(time.perf_counter() - start, 3))
        scores = score(model, *self.validation, self.task)  # every metric, also where the pruner stopped it
        trial.set_user_attr("metrics", _finite(scores))
        if pruning.pruned:
            raise optuna.TrialPruned(f"{self.metric} after epoch {pruning.epochs}")
        value = scores[self.metric]
        if math.isfinite(value) and self.models_dir is not None and self._is_best(trial, value):
            path = Path(self.models_dir).resolve() / f"trial-{trial.number}.neurona"
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save(str(path), metadata={"params": settings, "metric": self.metric, "value": value})
            trial.set_user_attr("model_path", str(path))
        return value

    def _is_best(self, trial: Any, value: float) -> bool:
        from optuna.trial import TrialState

        done = [t.value for t in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
        if not done:
            return True
        return value < min(done) if self.direction == "minimize" else value > max(done)


def _finite(scores: dict[str, float]) -> dict[str, float | None]:
    """JSON-safe metrics: NaN (undefined, or a diverged trial) as None."""
    return {k: (v if math.isfinite(v) else None) for k, v in scores.items()}
