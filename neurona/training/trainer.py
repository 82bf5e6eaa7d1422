"""``Trainer``: what ``model.compile`` creates and ``fit``/``evaluate``/``train_step`` run.

One training step is the PyTorch-style loop, nothing more:

    out = model(x); loss = loss_fn(out, y) (+ regularization); zero_grad; loss.backward(); optimizer.step()

so ``fit`` and a hand-written loop with the same seed and order end with the same
weights, bit for bit. Around the steps, ``fit`` checks the data before anything
trains, draws one permutation per epoch from neurona's generator (after building
the model), keeps running means of the loss and streaming metrics, validates, and
calls the callbacks with Keras's hook names.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import numpy as np

from .. import backend, graphs, optim
from .. import losses as L
from ..autograd import Tensor, enable_grad, no_grad
from ..kernels import performance
from ..nn.module import structure_version
from . import data as D
from .callback import CallbackList
from .history import History
from .loop import fit

OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad"}


def get_optimizer(spec: Any) -> optim.Optimizer:
    """An optimizer from a name ("sgd", "adam", "adamw", "rmsprop", "adagrad"; defaults as torch.optim) or an object."""
    if isinstance(spec, optim.Optimizer):
        return spec
    if isinstance(spec, str) and spec.lower() in OPTIMIZERS:
        cls = getattr(optim, OPTIMIZERS[spec.lower()], None)
        if cls is None:
            raise ValueError(f"optimizer {spec!r} is not available in this version of neurona.optim")
        return cls()
    raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)} or an Optimizer object. "
                     f"Received: optimizer={spec!r}")


def _task(loss: L.Loss) -> str | None:
    if isinstance(loss, L.CrossEntropy):
        return D.MULTICLASS
    if isinstance(loss, L.BinaryCrossEntropy):
        return D.BINARY
    if isinstance(loss, (L.MeanSquaredError, L.MeanAbsoluteError, L.Huber)):
        return D.REGRESSION
    return None


def _last_activation(model: Any) -> str | None:
    """The activation name of the last layer of a (nested) Sequential, when it has one."""
    layer = model
    while hasattr(layer, "layers") and layer.layers:
        layer = layer.layers[-1]
    act = getattr(layer, "activation", None)
    return act.lower() if isinstance(act, str) else None


def _holds_all(opt: optim.Optimizer, model: Any) -> bool:
    """Was the optimizer given every parameter the model has now (or the model itself, to collect later)?"""
    if getattr(opt, "_pending_owner", None) is model:
        return True
    have = {id(p) for g in opt.param_groups for p in g["params"]}
    return all(id(p) in have for p in model.parameters())


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 + 0.5 * np.tanh(0.5 * z)


class Trainer:
    """The compiled state of a model: optimizer, loss, metrics; runs fit/evaluate/train_step.

    ``model.compile(...)`` makes one and ``model.fit(...)`` uses it; it can also be used
    directly: ``Trainer(model, "adam", "cross_entropy").fit(x, y)``.
    """

    def __init__(self, model: Any, optimizer: Any = "adam", loss: Any = None, metrics: Any = None,
                 weighted_metrics: Any = None, jit: bool = False) -> None:
        if loss is None:
            raise ValueError("compile: a loss is required, e.g. loss='cross_entropy' (classification) or 'mse'")
        self.model = model
        self.optimizer = get_optimizer(optimizer)
        given = self.optimizer.has_parameters
        if not given:
            self.optimizer.add_params(model.parameters())  # an optimizer made without parameters
        # An optimizer made by compile, or given all of the model's parameters, follows the model: parameters
        # added or built later (a new head, a layer added after compile) join it before the step that needs
        # them. One given only some of them trains only those (and says so once).
        self.follows_model = not given or _holds_all(self.optimizer, model)
        self.params_version = -1
        self.warned_missing = False
        self.loss = L.get_loss(loss)
        self.metric_specs = _as_list(metrics)
        # As Keras: ``metrics`` ignore sample and class weights; ``weighted_metrics`` apply them.
        self.weighted_specs = _as_list(weighted_metrics)
        self.weighted_ids: set[int] = set()
        self.start_epoch = 0  # BackupAndRestore moves it in on_train_begin
        self.ready = False
        self.metrics: list[Any] = []
        self.val_metrics: list[Any] = []
        if not isinstance(jit, bool):
            raise TypeError(f"compile: jit must be True or False. Received: jit={jit!r}")
        # jit=True: each training step (and evaluation batch) runs as a traced graph (neurona.graphs)
        self.jit = jit
        self.jit_step = graphs.jit.train_step(model, lambda out, y: self.loss_value(out, y)[0],
                                              self.optimizer) if jit else None
        self.jit_model = graphs.jit(model) if jit else None

    # ---------------------------------------------------------------- setup
    def setup(self, x_sample: np.ndarray) -> None:
        """Build the model on a sample (in eval mode, so no random draw happens) and fix what its output means."""
        model = self.model
        if not self.ready:
            was = model.training
            model.eval()
            try:
                with enable_grad():  # records the output's creator, which tells a sigmoid from logits
                    out = model(Tensor(x_sample, dtype=self._dtype(), device=self._device()))
            finally:
                model.train(was)
            self.out_shape = tuple(out.shape)
            self.activation = L.output_activation(out) or _last_activation(model)
            self.loss_fn = self.loss.for_output(self.activation)
            self.task = _task(self.loss_fn)
            self.metrics = self._make_metrics()
            self.val_metrics = self._make_metrics()
            self.ready = True
        self.sync_parameters()
        self.dtype, self.device = self._dtype(), self._device()
        self.reg_params = [p for p in model.parameters() if p.regularizer is not None and p.requires_grad]

    def sync_parameters(self) -> None:
        """Give the optimizer the model's parameters it does not have yet (built or added after compile).

        Called at setup and, when the model may have changed (a parameter or layer was made or
        attached since the last look, or the model was unbuilt), before a step."""
        self.params_version = structure_version()
        opt = self.optimizer
        opt.zero_grad()  # attaches a lazy model's parameters to an optimizer made before they existed
        have = {id(p) for g in opt.param_groups for p in g["params"]}
        new = [p for p in self.model.parameters() if id(p) not in have]
        if not new:
            return
        if self.follows_model:
            if opt.iterations == 0 and len(opt.param_groups) == 1:
                group = opt.param_groups[0]
                group["params"] = group["params"] + new  # no state yet: one flat group, as if there from the start
            else:
                opt.add_param_group({"params": new})
            self.reg_params = [p for p in self.model.parameters() if p.regularizer is not None and p.requires_grad]
            return
        missing = [p for p in new if p.requires_grad]
        if missing and not self.warned_missing:
            self.warned_missing = True
            names = {id(p): n for n, p in self.model.named_parameters()}
            shown = ", ".join(names.get(id(p), "?") for p in missing[:6]) + (", ..." if len(missing) > 6 else "")
            warnings.warn(f"model '{self.model.name}': {len(missing)} trainable parameters ({shown}) are not in "
                          "the optimizer given to compile, so they will not be trained; freeze them "
                          "(layer.trainable = False) or give the optimizer model.parameters()", stacklevel=3)

    def _dtype(self) -> np.dtype:
        ps = self.model.parameters()
        return ps[0].dtype if ps else backend.get_default_dtype()

    def _device(self) -> str:
        ps = self.model.parameters()
        return ps[0].device if ps else backend.get_device()

    def _metric_task(self) -> str | None:
        if self.task == D.BINARY and self.out_shape[-1] > 1:
            return "multilabel"
        return self.task

    def _make_metrics(self) -> list[Any]:
        if not self.metric_specs and not self.weighted_specs:
            return []
        from .. import metrics as M

        made = []
        for weighted, specs in ((False, self.metric_specs), (True, self.weighted_specs)):
            for spec in specs:
                if hasattr(spec, "update") and hasattr(spec, "result"):
                    spec = copy.deepcopy(spec)  # one copy for training, one for validation
                    m = spec if not isinstance(spec, M.Metric) else M.get_metric(spec, task=self._metric_task())
                else:
                    m = M.get_metric(spec, task=self._metric_task())
                    if weighted and isinstance(spec, str):
                        m.name = "weighted_" + m.name  # Keras's name for a weighted metric given by name
                if weighted:
                    self.weighted_ids.add(id(m))
                made.append(m)
        names = [m.name for m in made]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"metric names must be distinct and not 'loss'. Received: {names}")
        return made

    def targets(self, y: np.ndarray, what: str = "y") -> np.ndarray:
        return D.prepare_targets(y, (len(y),) + self.out_shape[1:], self.task, self.dtype, what)

    # ---------------------------------------------------------------- one step
    def loss_value(self, out: Tensor, y: Any, w: Any = None, per_sample: bool = False) -> tuple[Tensor, Any]:
        """The batch loss (weighted as Keras: sum(w_i l_i) / N) plus regularization; per-sample losses if asked."""
        per = None
        if w is None and not per_sample:
            loss = self.loss_fn(out, y)
        else:
            per = self.loss_fn.per_sample(out, y)
            if w is None:
                loss = per.mean()
            else:
                loss = (per * w).sum() / per.shape[0]
        if self.reg_params:  # summed first, then added once: the same arithmetic as loss + model.regularization_loss()
            penalty = self.reg_params[0].regularizer(self.reg_params[0])
            for p in self.reg_params[1:]:
                penalty = penalty + p.regularizer(p)
            loss = loss + penalty
        return loss, per

    def train_batch(self, x: Tensor, y: Any, w: Any = None, per_sample: bool = False,
                    before_step: Any = None) -> tuple[float, Tensor, Any]:
        """One optimizer step on a prepared batch; no step when the loss is not finite. Returns (loss, output, per).

        ``before_step()``, when given, runs after a finite loss and before the update (fit keeps
        the weights that gave it there)."""
        was_built = self.model.built
        if self.jit_step is not None and w is None and not per_sample:  # the traced step (same results)
            loss_array, out = self.jit_step.forward(x, y)
            value = float(backend.item(loss_array))
            if math.isfinite(value):
                if not was_built or self.params_version != structure_version():
                    self.sync_parameters()
                if before_step is not None:
                    before_step()
                self.jit_step.update()
            return value, out, None
        out = self.model(x)
        loss, per = self.loss_value(out, y, w, per_sample)
        value = float(backend.item(loss.data))  # the step's one device-to-host transfer
        if math.isfinite(value):
            if not was_built or self.params_version != structure_version():
                self.sync_parameters()  # a head built by this forward, a layer added since the last step
            if before_step is not None:
                before_step()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return value, out, per

    def train_step(self, x_batch: Any, y_batch: Any, sample_weight: Any = None) -> dict[str, float]:
        """One optimizer step on one batch, callable on its own (step-by-step training, playgrounds).

        Returns {"loss": the batch loss, metric: its value since the last ``reset_metrics()``}.
        A non-finite loss is returned without updating the weights.
        """
        x = D.as_array(x_batch, "x_batch")
        y = D.as_array(y_batch, "y_batch")
        D.check_lengths(x, y, None)
        D.check_batch_axis(self.model, x, "x_batch")
        if not self.ready:
            self.setup(x[:2])
        y = self.targets(y, "y_batch")
        w = D.prepare_weights(sample_weight, len(x), self.dtype)
        if not self.model.training:
            self.model.train()
        dev = self.device
        xb = D.batch_tensor(x, slice(None), self.dtype, dev)
        value, out, _ = self.train_batch(xb, D.moved(y, dev), D.moved(w, dev))
        self.update_metrics(self.metrics, y, out, w)
        return {"loss": value, **self.metric_results(self.metrics)}

    # ---------------------------------------------------------------- metrics
    def probabilities(self, out: Any) -> np.ndarray:
        """The outputs as metrics take them: probabilities for classification, raw values otherwise."""
        z = backend.to_numpy(out.data if isinstance(out, Tensor) else out)
        if self.task == D.MULTICLASS and self.activation != "softmax" and self.loss_fn.from_logits:
            return _softmax(z)
        if self.task == D.BINARY and self.loss_fn.from_logits:
            return _sigmoid(z)
        return z

    def update_metrics(self, metrics: list[Any], y: np.ndarray, out: Any, w: np.ndarray | None) -> None:
        if not metrics:
            return
        p = self.probabilities(out)
        t = y
        if self.task == D.MULTICLASS and t.dtype.kind == "f":
            t = t.argmax(axis=-1)  # one-hot rows -> labels
        elif self.task == D.BINARY and p.shape[-1] == 1:
            t, p = t.reshape(-1), p.reshape(-1)
        for m in metrics:
            m.update(t, p, sample_weight=w if id(m) in self.weighted_ids else None)

    @staticmethod
    def metric_results(metrics: list[Any]) -> dict[str, float]:
        return {m.name: float(m.result()) for m in metrics}

    def reset_metrics(self) -> None:
        for m in self.metrics + self.val_metrics:
            m.reset()

    # ---------------------------------------------------------------- evaluate / predict
    def evaluate(self, x: Any, y: Any, batch_size: int = 32, verbose: Any = 0, sample_weight: Any = None,
                 callbacks: Any = None, return_dict: bool = False) -> Any:
        """Loss and metrics over (x, y) in eval mode, batch by batch, as Keras returns them: the loss
        alone without metrics, else ``[loss, *metrics]``; ``return_dict=True``: {"loss": ..., "accuracy": ...}."""
        return keras_result(self.evaluate_logs(x, y, batch_size, verbose, sample_weight, callbacks), return_dict)

    def evaluate_logs(self, x: Any, y: Any, batch_size: int = 32, verbose: Any = 0, sample_weight: Any = None,
                      callbacks: Any = None) -> dict[str, float]:
        """``evaluate``'s results as a dict {"loss": ..., metric name: value}."""
        from .progress import format_logs, resolve_verbose

        batch_size = D.check_batch_size(batch_size)
        with performance():  # the checks too: the finiteness pass runs on neurona's threads, BLAS on one
            x, y = D.checked_pair(x, y, dtype=self._dtype())
            if len(x) == 0:
                raise ValueError("evaluate: x has no samples (a loss or accuracy over zero samples means nothing)")
            D.check_batch_axis(self.model, x)
            self.setup(x[:2])
            check_weights_finite(self.model, "evaluate")
            y = self.targets(y)
            w = D.prepare_weights(sample_weight, len(x), self.dtype)
            cbs = None if not callbacks else CallbackList(list(callbacks), model=self.model)
            logs = self.evaluate_arrays(x, y, w, batch_size, self.val_metrics, cbs)
        if resolve_verbose(verbose):
            print(format_logs(logs), flush=True)
        return logs

    def evaluate_arrays(self, x: np.ndarray, y: np.ndarray, w: np.ndarray | None, batch_size: int,
                        metrics: list[Any], callbacks: Any = None) -> dict[str, float]:
        """The evaluation loop on checked arrays (fit's validation uses it too)."""
        model = self.model
        was = model.training
        model.eval()
        for m in metrics:
            m.reset()
        if callbacks is not None:
            callbacks.on_test_begin()
        total, seen = 0.0, 0
        try:
            with no_grad():
                for b, idx in enumerate(D.batch_indices(len(x), batch_size, None)):
                    if callbacks is not None:
                        callbacks.batch_hook("on_test_batch_begin", b)
                    xb = D.batch_tensor(x, idx, self.dtype, self.device)
                    out = model(xb) if self.jit_model is None else self.jit_model(xb)
                    loss, _ = self.loss_value(out, D.take(y, idx, None, self.device), D.take(w, idx, None, self.device))
                    total += float(backend.item(loss.data)) * len(xb)
                    seen += len(xb)
                    self.update_metrics(metrics, y[idx], out, None if w is None else w[idx])
                    if callbacks is not None:
                        callbacks.batch_hook("on_test_batch_end", b, {"loss": total / seen})
        finally:
            model.train(was)
        logs = {"loss": total / max(len(x), 1), **self.metric_results(metrics)}
        if callbacks is not None:
            callbacks.on_test_end(logs)
        return logs

    def fit(self, x: Any, y: Any = None, **kwargs: Any) -> History:
        """Train for a number of epochs; see ``neurona.training.loop.fit`` for the arguments."""
        with performance():  # neurona's BLAS/flush-to-zero/allocator settings, restored after
            return fit(self, x, y, **kwargs)


def _as_list(specs: Any) -> list[Any]:
    return list(specs) if isinstance(specs, (list, tuple)) else ([] if specs is None else [specs])


def keras_result(logs: dict[str, float], return_dict: bool = False) -> Any:
    """Logs as Keras's evaluate/train_on_batch/test_on_batch return them: the dict when asked,
    else the loss alone (no metrics) or ``[loss, *metrics]`` in the order compile() was given them."""
    if not isinstance(return_dict, bool):
        raise TypeError(f"return_dict must be True or False. Received: return_dict={return_dict!r}")
    if return_dict:
        return dict(logs)
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def check_weights_finite(model: Any, what: str) -> None:
    """ValueError naming the first parameter holding NaN or Inf (a model that diverged)."""
    for name, p in model.named_parameters():
        a = p.data
        if a.size and not (np.isfinite(backend.to_numpy(a.min())) and np.isfinite(backend.to_numpy(a.max()))):
            raise ValueError(f"{what}: the model's weights are not finite ({name} holds NaN or Inf), so its outputs "
                             "mean nothing; training diverged: reload a saved model or train again (lower the "
                             "learning rate, clip gradients)")


def predict(model: Any, x: Any, batch_size: int = 32, verbose: Any = 0) -> np.ndarray:
    """The model's outputs for x, batch by batch in eval mode, as one NumPy array (raw outputs:
    logits for a model that ends without an activation).

    Rows with NaN or Inf, or with values beyond the model's dtype (float64 data above
    float32's 3.4e38), are refused: their outputs would be NaN or Inf, not predictions."""
    batch_size = D.check_batch_size(batch_size)
    x = D.as_array(x, "x")
    ps = model.parameters()
    dtype = ps[0].dtype if ps else backend.get_default_dtype()
    device = ps[0].device if ps else backend.get_device()
    D.check_batch_axis(model, x)
    trainer = model.__dict__.get("_trainer")
    run = model if trainer is None or trainer.jit_model is None else trainer.jit_model  # compile(jit=True)
    was = model.training
    model.eval()
    outs = []
    try:
        with no_grad(), performance():
            for idx in D.batch_indices(len(x), batch_size, None):
                rows = x[idx]
                if not D.is_finite(rows, dtype):  # each batch checked as it is taken (then in cache for the model)
                    D.check_finite(x, "x", dtype)  # names the first bad sample of x
                out = run(D.batch_tensor(rows, slice(None), dtype, device))
                if tuple(out.shape[:1]) != (idx.stop - idx.start,):
                    raise ValueError(f"predict: the model's output for a batch of {idx.stop - idx.start} rows has "
                                     f"shape {tuple(out.shape)}, without that batch axis first. Received: "
                                     f"x of shape {x.shape}")
                outs.append(backend.to_numpy(out.data))
    finally:
        model.train(was)
    if not outs:
        raise ValueError("predict: x has no samples")
    return np.concatenate(outs, axis=0)


def get_trainer(model: Any) -> Trainer:
    trainer = model.__dict__.get("_trainer")
    if trainer is None:
        raise RuntimeError(f"model '{model.name}' is not compiled: call model.compile(optimizer='adam', "
                           "loss=...) before fit/evaluate/train_step")
    return trainer


def compile_model(model: Any, optimizer: Any = "adam", loss: Any = None, metrics: Any = None,
                  weighted_metrics: Any = None, jit: bool = False) -> Trainer:
    """Attach a Trainer to the model (``model.compile`` calls this); also sets ``model.optimizer``, as Keras."""
    trainer = Trainer(model, optimizer, loss, metrics, weighted_metrics, jit)
    model.__dict__["_trainer"] = trainer
    if not hasattr(model, "optimizer") or isinstance(model.optimizer, optim.Optimizer):
        model.__dict__["optimizer"] = trainer.optimizer
    return trainer


__all__ = ["Trainer", "check_weights_finite", "compile_model", "get_optimizer", "get_trainer", "keras_result",
           "predict"]
