"""``fit``: the epoch loop around ``Trainer.train_batch``.

Per epoch: draw one permutation of the training samples (``neurona.backend.rng()``,
so ``nr.manual_seed`` fixes it; or the hard-example sampler's draw), take each
batch by slicing it (a gather of batch_size rows, converted to the model's float
dtype and moved to its device), step, and keep a running mean of the loss and the
streaming metrics. Then validate, log "lr", and call the callbacks.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..losses import FunctionLoss
from . import data as D
from .callback import Callback, CallbackList
from .history import History
from .progress import make_loggers, resolve_verbose
from .sampling import get_sampler


class TrainingWarning(UserWarning):
    """Training stopped early for a reason the user should see (a loss that turned NaN)."""


def _loader_arrays(loader: Any) -> tuple[Any, ...]:
    """A data loader's (x_batch, y_batch[, w_batch]) batches joined into arrays: validation_data=val_loader."""
    batches = [batch for batch in loader]
    if not batches or not all(isinstance(b, (tuple, list)) and len(b) == len(batches[0]) for b in batches):
        raise ValueError("validation_data: a data loader must give (x_batch, y_batch[, weights]) batches. "
                         f"Received: {len(batches)} batches")
    def host(part: Any) -> Any:  # device batches (a loader on the GPU) come to the host explicitly
        part = part.data if isinstance(part, Tensor) else part
        return backend.to_numpy(part) if hasattr(part, "shape") else part

    return tuple(np.concatenate([D.as_array(host(b[i]), "validation_data batch") for b in batches])
                 for i in range(len(batches[0])))


def _validation(trainer: Any, validation_data: Any) -> tuple[Any, Any, Any]:
    if not isinstance(validation_data, (tuple, list, np.ndarray, Tensor)) and isinstance(validation_data, Iterable):
        validation_data = _loader_arrays(validation_data)
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight_val). "
                         f"Received: {type(validation_data).__name__}")
    xv, yv = D.checked_pair(validation_data[0], validation_data[1], prefix="validation_data ",
                            dtype=trainer.dtype)
    if len(xv) == 0:
        raise ValueError("validation_data has no samples (a validation loss over zero samples means nothing)")
    D.check_batch_axis(trainer.model, xv, "validation_data x")
    wv = validation_data[2] if len(validation_data) == 3 else None
    return xv, yv, wv


def _check_epochs(epochs: Any, initial_epoch: Any) -> None:
    for name, v in (("epochs", epochs), ("initial_epoch", initial_epoch)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer. Received: {name}={v!r}")


def fit(trainer: Any, x: Any, y: Any = None, epochs: int = 1, batch_size: int = 32, validation_split: float = 0.0,
        validation_data: Any = None, shuffle: bool = True, class_weight: dict | None = None,
        sample_weight: Any = None, callbacks: list[Callback] | None = None, initial_epoch: int = 0,
        verbose: Any = "auto", hard_examples: Any = 0.0, validation_batch_size: int | None = None) -> History:
    """Train ``trainer.model`` on (x, y) for ``epochs`` epochs; returns a History.

    x, y: arrays with one row per sample (y: int labels or one-hot rows for cross-entropy,
    targets of the output's shape otherwise). Alternatively x is an iterable of
    (x_batch, y_batch[, weights]) re-read every epoch (a data loader) and y is None.
    validation_split: the last fraction of the samples (before shuffling) for validation;
    validation_data: (x_val, y_val[, w_val]) instead. class_weight {label: weight} and
    sample_weight (N,) weight each sample's loss (weighted mean as Keras: sum(w l) / N).
    hard_examples: an emphasis in [0, 1] or a HardExampleSampler (see ``sampling``).
    verbose: 0 silent, 1 progress bar, 2 one line per epoch, "auto".
    Everything is checked before the first step. A non-finite loss stops training with a
    TrainingWarning naming the epoch and batch, and the model is put back to the last
    weights that gave a finite loss (the weights before the last update; see ``LastFinite``).
    """
    model = trainer.model
    batch_size = D.check_batch_size(batch_size)
    _check_epochs(epochs, initial_epoch)
    verbose = resolve_verbose(verbose)
    if y is None and not isinstance(x, (np.ndarray, Tensor)) and isinstance(x, Iterable):
        source = _LoaderSource(trainer, x)
        if validation_split or sample_weight is not None or class_weight is not None or hard_examples:
            raise ValueError("with a data loader, put validation data in validation_data, weights in the loader's "
                             "batches; validation_split, sample_weight, class_weight and hard_examples need arrays")
    else:
        if y is None:
            raise ValueError("fit needs targets: fit(x, y), or x as an iterable of (x_batch, y_batch) batches")
        source = _ArraySource(trainer, x, y, sample_weight, class_weight, validation_split, shuffle, hard_examples,
                              batch_size)
    val = source.validation
    if validation_data is not None:
        if val is not None:
            raise ValueError("pass either validation_split or validation_data, not both")
        xv, yv, wv = _validation(trainer, validation_data)
        val = (xv, trainer.targets(yv, "validation_data y"),
               D.prepare_weights(wv, len(xv), trainer.dtype, "validation sample_weight"))

    history = History()
    running = [0.0, 0]  # sum of loss * batch size, samples seen: the running mean the progress bar shows
    params = {"epochs": epochs, "steps": source.steps, "samples": source.samples, "batch_size": batch_size,
              "verbose": verbose, "do_validation": val is not None,
              "live_logs": lambda: {"loss": running[0] / max(running[1], 1), **trainer.metric_results(
                  trainer.metrics)}}
    user = sorted(callbacks or [], key=lambda cb: bool(getattr(cb, "order_last", False)))  # stable: backups last
    # History after the user's callbacks, as Keras: values they add to logs in on_epoch_end reach it
    last = [cb for cb in user if getattr(cb, "order_last", False)]
    params["callbacks"] = every = [*make_loggers(verbose), *[cb for cb in user if cb not in last], history, *last]
    cbs = CallbackList(every, model=model, params=params)
    batch_hooks = cbs.has_batch_hooks("train")
    model.__dict__["stop_training"] = False
    trainer.start_epoch = initial_epoch
    trainer.sampler = source.sampler
    was_training = model.training
    model.train()
    try:
        _epochs(trainer, source, val, cbs, history, running, epochs, batch_hooks,
                validation_batch_size or batch_size)
    finally:
        model.train(was_training)
    return history


class LastFinite:
    """The weights (and buffers: running statistics) as they were before the latest update.

    ``save`` runs once per step, after a finite loss and before the update: one copy of
    each parameter into a buffer allocated once (the optimizer's update reads and writes
    every parameter several times, so this adds little). When the next loss is not
    finite, ``restore`` puts back the weights that gave the last finite loss. The optimizer's
    state (moments, step counts) stays as it is.
    """

    def __init__(self, model: Any) -> None:
        self.model = model
        self.params = list(model.parameters())
        self.has_buffers = any(v is not None for _, v in model.named_buffers())
        self.saved: list[Any] | None = None
        self.buffers: dict[str, Any] = {}
        self.where: tuple[int, int] | None = None  # (epoch, batch) whose finite loss these weights gave

    def save(self, epoch: int, batch: int) -> None:
        if self.saved is None:
            self.saved = [p.data.copy() for p in self.params]
        else:
            for buf, p in zip(self.saved, self.params):
                buf[...] = p.data
        if self.has_buffers:
            self.buffers = {k: v.copy() for k, v in self.model.named_buffers() if v is not None}
        self.where = (epoch, batch)

    def restore(self) -> str:
        """Put the saved weights back; says which weights the model now has."""
        if self.saved is None:
            return "no update was applied in this fit, so the model keeps the weights it started with"
        for buf, p in zip(self.saved, self.params):
            p.data[...] = buf
        if self.buffers:
            self.model.load_state_dict({k: backend.to_numpy(v) for k, v in self.buffers.items()}, strict=False)
        epoch, batch = self.where
        return (f"the model was put back to the last weights that gave a finite loss (those of epoch {epoch + 1}, "
                f"batch {batch + 1}, before its update; the optimizer's state was not rolled back, so compile again "
                "before training on)")


def _epochs(trainer, source, val, cbs, history, running, epochs, batch_hooks, val_batch_size) -> None:
    model = trainer.model
    logs: dict[str, Any] = {}
    last = LastFinite(model)
    cbs.on_train_begin()
    for epoch in range(trainer.start_epoch, epochs):
        for m in trainer.metrics:
            m.reset()
        running[0], running[1] = 0.0, 0
        cbs.on_epoch_begin(epoch)
        for b, (idx, xb, yb, wb, y_host, w_host) in enumerate(source.batches()):
            if batch_hooks:
                cbs.batch_hook("on_train_batch_begin", b, {"batch": b, "size": len(xb)})
            value, out, per = trainer.train_batch(xb, yb, wb, per_sample=source.sampler is not None,
                                                  before_step=lambda e=epoch, i=b: last.save(e, i))
            if not math.isfinite(value):
                history.stop_reason = (f"the loss became {value} at epoch {epoch + 1}, batch {b + 1}: training "
                                       f"stopped; {last.restore()}. Lower the learning rate or clip gradients "
                                       "(clipnorm=...)")
                warnings.warn(history.stop_reason, TrainingWarning, stacklevel=3)
                model.__dict__["stop_training"] = True
                break
            n = len(xb)
            running[0] += value * n
            running[1] += n
            if source.sampler is not None:
                source.sampler.record(idx, backend.to_numpy(per.data))
            trainer.update_metrics(trainer.metrics, y_host, out, w_host)
            if batch_hooks:
                cbs.batch_hook("on_train_batch_end", b, {"batch": b, "size": n, "loss": running[0] / running[1]})
            if model.stop_training:
                break
        if history.stop_reason:
            break
        logs = {"loss": running[0] / max(running[1], 1), **trainer.metric_results(trainer.metrics)}
        if val is not None:
            vlogs = trainer.evaluate_arrays(*val, val_batch_size, trainer.val_metrics)
            logs.update({f"val_{k}": v for k, v in vlogs.items()})
        logs["lr"] = float(trainer.optimizer.lr)
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)


class _ArraySource:
    """Checked arrays and the batches of one epoch."""

    def __init__(self, trainer, x, y, sample_weight, class_weight, validation_split, shuffle, hard_examples,
                 batch_size):
        w = None if sample_weight is None else D.as_array(sample_weight, "sample_weight")
        x, y = D.checked_pair(x, y, w, dtype=trainer._dtype())
        if len(x) == 0:
            raise ValueError("fit: x has no samples")
        D.check_batch_axis(trainer.model, x)
        self.validation = None
        if validation_split:
            (x, y, w), (xv, yv, wv) = D.split_validation([x, y, w], validation_split)
        trainer.setup(x[:2])
        y = trainer.targets(y)
        w = D.prepare_weights(w, len(x), trainer.dtype)
        if class_weight is not None:
            cw = D.class_weights_to_samples(class_weight, y, trainer.task, trainer.dtype)
            w = cw if w is None else w * cw
        if validation_split:
            self.validation = (xv, trainer.targets(yv, "y (validation part)"),
                               D.prepare_weights(wv, len(xv), trainer.dtype, "sample_weight (validation part)"))
        self.sampler = get_sampler(hard_examples)
        if self.sampler is not None and isinstance(trainer.loss_fn, FunctionLoss):
            raise ValueError("hard_examples needs per-sample losses: use a neurona.losses.Loss, not a plain function")
        if w is not None and isinstance(trainer.loss_fn, FunctionLoss):
            raise ValueError("sample and class weights need per-sample losses: use a neurona.losses.Loss, not a "
                             "plain function")
        self.trainer, self.x, self.y, self.w = trainer, x, y, w
        self.shuffle, self.batch_size = shuffle, batch_size
        self.samples = len(x)
        self.steps = -(-len(x) // batch_size)

    def batches(self):
        t = self.trainer
        x, y, w, n = self.x, self.y, self.w, self.samples
        if self.sampler is not None:
            order = self.sampler.order(n, backend.rng())
        else:
            order = backend.rng().permutation(n) if self.shuffle else None
        dtype, device = t.dtype, t.device
        for idx in D.batch_indices(n, self.batch_size, order):
            yh = y[idx]
            wh = None if w is None else w[idx]
            yield idx, D.batch_tensor(x, idx, dtype, device), D.moved(yh, device), D.moved(wh, device), yh, wh


class _LoaderSource:
    """An iterable of (x_batch, y_batch[, w_batch]) batches, checked one batch at a time."""

    def __init__(self, trainer, loader):
        if iter(loader) is loader:
            raise TypeError("fit: a one-shot iterator (a generator) cannot be read again every epoch; pass a data "
                            "loader or a list of (x_batch, y_batch) batches")
        first = next(iter(loader), None)
        if first is None:
            raise ValueError("fit: the data loader gave no batches")
        if not isinstance(first, (tuple, list)) or len(first) not in (2, 3):
            raise ValueError("fit: a data loader must yield (x_batch, y_batch) or (x_batch, y_batch, weights). "
                             f"Received: {type(first).__name__}")
        x0 = D.as_array(first[0], "x_batch")
        D.check_batch_axis(trainer.model, x0, "x_batch")
        trainer.setup(x0[:2])
        self.trainer, self.loader = trainer, loader
        self.validation, self.sampler = None, None
        self.steps = len(loader) if hasattr(loader, "__len__") else None
        dataset = getattr(loader, "dataset", None)
        self.samples = len(dataset) if hasattr(dataset, "__len__") else None

    def batches(self):
        t = self.trainer
        for batch in self.loader:
            x = D.as_array(batch[0], "x_batch")
            y = D.as_array(batch[1], "y_batch")
            w = D.prepare_weights(batch[2], len(x), t.dtype) if len(batch) == 3 else None
            D.check_lengths(x, y, w)
            D.check_finite(x, "x_batch", t.dtype)
            y = t.targets(y, "y_batch")
            dev = t.device
            yield None, D.batch_tensor(x, slice(None), t.dtype, dev), D.moved(y, dev), D.moved(w, dev), y, w
