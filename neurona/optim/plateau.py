"""ReduceLROnPlateau: cut the learning rate when a monitored metric stops improving.

The course's rule: when the validation loss stalls for ``patience`` epochs, divide
the learning rate by a factor (multiply by ``factor`` < 1), down to ``min_lr``. A smaller
step lets training settle into the minimum it was bouncing around. Same semantics
as torch.optim.lr_scheduler.ReduceLROnPlateau; call ``step(metric)`` once per epoch:

    plateau = optim.ReduceLROnPlateau(opt, factor=0.5, patience=3)
    for epoch in range(epochs):
        train_one_epoch(); plateau.step(val_loss)
"""

from __future__ import annotations

import math
from typing import Any

from .optimizer import Optimizer


class ReduceLROnPlateau:
    """Multiply each parameter group's lr by ``factor`` after more than ``patience`` epochs without improvement.

    mode: "min" (a loss) or "max" (an accuracy). An epoch improves on the best value seen when
      rel: metric < best * (1 - threshold)  ("min")  or  metric > best * (1 + threshold)  ("max")
      abs: metric < best - threshold        ("min")  or  metric > best + threshold        ("max")
    After a reduction, ``cooldown`` epochs pass before bad epochs are counted again.
    The new rate is max(lr * factor, min_lr) (``min_lr`` may be a list, one per group); a
    change smaller than ``eps`` is skipped. ``step`` returns True when it reduced a rate.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0.0, eps: float = 1e-8) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: expected a neurona Optimizer. Received: {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max'. Received: mode={mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError("ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs'. "
                             f"Received: threshold_mode={threshold_mode!r}")
        if not 0 <= factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1). Received: factor={factor}")
        if patience < 0 or cooldown < 0 or threshold < 0 or eps < 0:
            raise ValueError("ReduceLROnPlateau: patience, cooldown, threshold and eps must be >= 0. Received: "
                             f"patience={patience}, cooldown={cooldown}, threshold={threshold}, eps={eps}")
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"ReduceLROnPlateau: expected {len(optimizer.param_groups)} values of min_lr (one "
                                 f"per parameter group). Received: {len(min_lr)}")
            self.min_lrs: list[float] | None = [float(v) for v in min_lr]
            self.default_min_lr = None
        else:
            self.min_lrs, self.default_min_lr = None, float(min_lr)
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.eps = int(cooldown), float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_better(self, current: float, best: float) -> bool:
        """Does ``current`` improve on ``best`` by more than the threshold?"""
        if self.mode == "min":
            return current < (best * (1.0 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return current > (best * (self.threshold + 1.0) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metric: float) -> bool:
        """Record one epoch's ``metric``; reduce the rates when it has stalled. True if a rate was reduced."""
        current = float(metric)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
            return self._reduce()
        return False

    def _reduce(self) -> bool:
        opt = self.optimizer
        groups = opt.param_groups
        if any(callable(g["lr"]) for g in groups) or (not groups and callable(opt.defaults.get("lr"))):
            raise TypeError("ReduceLROnPlateau: the optimizer's learning rate is a schedule; reduce-on-plateau "
                            "needs a plain number (use one or the other)")
        if not groups:  # nothing attached yet: change the rate new parameters will get
            old = float(opt.defaults["lr"])
            new = max(old * self.factor, self.default_min_lr or 0.0)
            if old - new > self.eps:
                opt.lr = new
                return True
            return False
        min_lrs = self.min_lrs
        if min_lrs is None or len(min_lrs) != len(groups):
            if self.default_min_lr is None:
                raise RuntimeError(f"ReduceLROnPlateau: the optimizer now has {len(groups)} parameter groups but "
                                   f"min_lr has {len(min_lrs)} values; set .min_lrs to match")
            min_lrs = [self.default_min_lr] * len(groups)
        uniform = all(g["lr"] == opt.defaults["lr"] for g in groups)
        reduced = False
        for group, min_lr in zip(groups, min_lrs, strict=True):
            old = float(group["lr"])
            new = max(old * self.factor, min_lr)
            if old - new > self.eps:
                group["lr"] = new
                reduced = True
        if uniform and len(set(g["lr"] for g in groups)) == 1:
            opt.defaults["lr"] = groups[0]["lr"]  # keep opt.lr and groups added later in step
        return reduced

    def get_last_lr(self) -> list[float]:
        """The current learning rate of each parameter group."""
        groups = self.optimizer.param_groups or [self.optimizer.defaults]
        return [float(g["lr"]) for g in groups]

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (as torch's)."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        for key, value in state_dict.items():
            if key != "optimizer":
                setattr(self, key, list(value) if isinstance(value, list) else value)

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(mode={self.mode!r}, factor={self.factor}, patience={self.patience}, "
                f"best={self.best}, num_bad_epochs={self.num_bad_epochs})")
