"""The learning-rate range test (Smith, 2017): the course's "optimal learning-rate range" plot.

Train on mini-batches while the learning rate grows exponentially from ``start_lr``
to ``end_lr``, one step each, and record the loss. At first the rate is too small to
move anything, then the loss falls faster and faster, then the rate is too large and
the loss shoots up. A good rate lies where the loss falls fastest: the suggestion is
the rate at the steepest descent of the smoothed loss (against log lr). The model's
weights, the optimizer's state and the random generator are restored afterwards, so
the test changes nothing. ``neurona.viz`` plots the result.

>>> result = nr.training.lr_find(model, x, y)          # model compiled, or pass optimizer= and loss=
>>> result.suggestion, result.lrs, result.losses
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from . import data as D
from .trainer import Trainer


@dataclass
class LRFinderResult:
    """lrs (one per step), losses (smoothed: a bias-corrected moving average), raw_losses, and
    suggestion (steepest descent); min_loss_lr: the rate at the lowest smoothed loss."""

    lrs: np.ndarray
    losses: np.ndarray
    raw_losses: np.ndarray
    suggestion: float
    min_loss_lr: float

    def __repr__(self) -> str:
        return (f"LRFinderResult({len(self.lrs)} steps from {self.lrs[0]:.2e} to {self.lrs[-1]:.2e}, "
                f"suggestion={self.suggestion:.2e}, min_loss_lr={self.min_loss_lr:.2e})")


def steepest_descent(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The rate where the smoothed loss falls fastest, before its minimum.

    The slope at point i is taken across a window, (L[i+k] - L[i-k]) / (log lr[i+k] - log lr[i-k])
    with k about 5% of the points, and the first 10% are skipped: point-to-point slopes of a
    few noisy mini-batch losses would otherwise win over the real descent.
    """
    n = len(losses)
    stop = int(np.argmin(losses))
    k = max(1, n // 20)
    centres = np.arange(max(k, n // 10), stop - k + 1)
    if len(centres) == 0:
        return float(lrs[stop]) / 10
    log_lr = np.log10(lrs)
    slopes = (losses[centres + k] - losses[centres - k]) / (log_lr[centres + k] - log_lr[centres - k])
    return float(lrs[centres[int(np.argmin(slopes))]])


def lr_find(model: Any, x: Any, y: Any, start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100,
            batch_size: int = 32, smoothing: float = 0.98, diverge_threshold: float = 4.0, optimizer: Any = None,
            loss: Any = None) -> LRFinderResult:
    """Run the range test on (x, y) and return the rates, losses and a suggested rate.

    Uses the model's compiled optimizer and loss, or ``optimizer``/``loss`` when given.
    Stops early when the smoothed loss exceeds ``diverge_threshold`` times its best value.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find: need 0 < start_lr < end_lr. Received: start_lr={start_lr}, end_lr={end_lr}")
    if num_steps < 2:
        raise ValueError(f"lr_find: num_steps must be at least 2. Received: num_steps={num_steps}")
    if not 0 <= smoothing < 1:
        raise ValueError(f"lr_find: smoothing must be in [0, 1). Received: smoothing={smoothing}")
    compiled = model.__dict__.get("_trainer")
    if optimizer is None and loss is None and compiled is not None:
        trainer = compiled
    else:
        trainer = Trainer(model, optimizer or (compiled.optimizer if compiled else "adam"),
                          loss or (compiled.loss if compiled else None))
    batch_size = D.check_batch_size(batch_size)
    x, y = D.checked_pair(x, y)
    trainer.setup(x[:2])
    y = trainer.targets(y)

    opt = trainer.optimizer
    saved_weights, saved_opt = model.state_dict(), opt.state_dict()
    saved_lrs = [g["lr"] for g in opt.param_groups]
    saved_rng, was_training = backend.get_rng_state(), model.training
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))
    raw, smooth = [], []
    avg, best = 0.0, math.inf
    model.train()
    try:
        order = np.empty(0, dtype=np.int64)
        for i, lr in enumerate(lrs):
            if len(order) < batch_size:  # cycle through shuffled epochs as long as needed
                order = np.concatenate([order, backend.rng().permutation(len(x))])
            idx, order = order[:batch_size], order[batch_size:]
            for g in opt.param_groups:
                g["lr"] = float(lr)
            xb = D.take(x, idx, trainer.dtype, trainer.device)
            value, _, _ = trainer.train_batch(Tensor(xb), D.moved(y[idx], trainer.device))
            raw.append(value)
            if not math.isfinite(value):
                smooth.append(math.inf)
                break
            avg = smoothing * avg + (1 - smoothing) * value
            smooth.append(avg / (1 - smoothing ** (i + 1)))
            best = min(best, smooth[-1])
            if smooth[-1] > diverge_threshold * best:
                break
    finally:
        model.load_state_dict(saved_weights)
        opt.load_state_dict(saved_opt)
        for g, lr in zip(opt.param_groups, saved_lrs, strict=True):
            g["lr"] = lr
        backend.set_rng_state(saved_rng)
        model.train(was_training)
    n = len(raw)
    lrs, losses = lrs[:n], np.array(smooth)
    finite = np.isfinite(losses)
    min_loss_lr = float(lrs[finite][np.argmin(losses[finite])]) if finite.any() else float(lrs[0])
    suggestion = steepest_descent(lrs[finite], losses[finite]) if finite.sum() >= 2 else min_loss_lr / 10
    return LRFinderResult(lrs=lrs, losses=losses, raw_losses=np.array(raw), suggestion=suggestion,
                          min_loss_lr=min_loss_lr)
