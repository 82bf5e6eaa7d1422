"""``Optimizer``: the base of every update rule, with parameters packed in flat buffers.

Why flat buffers: an update rule is a handful of elementwise operations. Done per
parameter, a small network pays Python and NumPy call overhead for every
parameter and every operation; done once over one buffer holding all parameters
of a group, it pays that overhead once. So each parameter group keeps

* ``data``: one array holding every parameter's values; each ``param.data`` is a view into it,
* ``grad``: one array into which backward writes each parameter's gradient (``param._grad_view``),
* one array per state variable of the rule (Adam's moments, momentum buffers...).

A subclass overrides one method, ``update(p, g, state, step, group)``, written for
arrays: it is called once with the flat buffers when every parameter of the group
has a gradient and the same step count (the usual case), and once per parameter,
on views into the same buffers, otherwise (frozen or unused parameters are skipped,
as in torch.optim). Hyperparameter names, defaults and rules follow torch.optim.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor, no_grad
from ..kernels import flush_denormals, parallel_for
from ..kernels.platform import flushes_denormals
from .schedules import LearningRateSchedule


class _FlatGroup:
    """The flat buffers of one parameter group and the views that bind parameters to them."""

    def __init__(self, params: list[Tensor], state_names: tuple[str, ...]) -> None:
        self.params = params
        self.dtype = params[0].data.dtype
        self.device = params[0].device
        xp = backend.get_array_module(params[0].data)
        sizes = [p.data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        total = int(self.offsets[-1])
        self.data = xp.empty(total, dtype=self.dtype)
        self.grad = xp.zeros(total, dtype=self.dtype)
        self.state = {name: xp.zeros(total, dtype=self.dtype) for name in state_names}
        self.scratch = xp.empty(total, dtype=self.dtype)
        self.steps = np.zeros(len(params), dtype=np.int64)
        self.data_views, self.grad_views = [], []
        for i, p in enumerate(params):
            self.data_views.append(self._view(self.data, i, p.shape))
            self.grad_views.append(self._view(self.grad, i, p.shape))
            self.bind(i)

    def _view(self, flat: Any, i: int, shape: tuple[int, ...]) -> Any:
        return flat[self.offsets[i]:self.offsets[i + 1]].reshape(shape)

    def bind(self, i: int) -> None:
        """Copy parameter i's current values into the buffer and point it at its views."""
        p = self.params[i]
        view = self.data_views[i]
        view[...] = p.data
        p.data = view
        g = self.grad_views[i]
        if p.grad is not None and p.grad is not g:
            g[...] = p.grad
            p.grad = g
        p._grad_view = g

    def state_views(self, i: int) -> dict[str, Any]:
        shape = self.params[i].shape
        views = {name: self._view(buf, i, shape) for name, buf in self.state.items()}
        views["scratch"] = self._view(self.scratch, i, shape)
        return views

    def fits(self) -> bool:
        """Do the parameters still live on this group's device with this dtype and shapes?"""
        return all(p.device == self.device and p.data.dtype == self.dtype and p.shape == v.shape
                   for p, v in zip(self.params, self.data_views))


def _is_learning_rate(params: Any) -> bool:
    """Is the first argument a learning rate (a number or a schedule), as in Keras's ``Adam(1e-3)``?"""
    if isinstance(params, bool):
        return False
    return isinstance(params, (int, float, np.integer, np.floating)) or isinstance(params, LearningRateSchedule)


# keyword arguments every optimizer accepts besides its own hyperparameters (see Optimizer._clip)
CLIP_OPTIONS = ("clipvalue", "clipnorm", "global_clipnorm")


class Optimizer:
    """Base class. ``params``: an iterable of parameters or of dicts ``{"params": [...], "lr": ...}``
    (parameter groups with their own hyperparameters), or None to attach them later
    (``compile`` does). Subclasses pass their hyperparameters as ``defaults`` and any extra
    keyword arguments as ``options`` (``learning_rate=`` and the clipping options; anything
    else is a misspelling and rejected), and implement ``update``.
    """

    state_names: tuple[str, ...] = ()

    def __init__(self, params: Any, defaults: dict[str, Any], options: dict[str, Any] | None = None) -> None:
        options = dict(options or {})
        if _is_learning_rate(params):  # Keras's Adam(1e-3): the learning rate first, no parameters yet
            if "learning_rate" in options:
                raise TypeError(f"{type(self).__name__} got the learning rate twice: first argument {params!r} and "
                                f"learning_rate={options['learning_rate']!r}. Expected one of them")
            lr_param = inspect.signature(type(self).__init__).parameters.get("lr")
            if lr_param is not None and defaults.get("lr") is not lr_param.default:
                # Keras's SGD(0.01, 0.9) would put 0.9 into lr here and lose the momentum silently
                raise TypeError(f"{type(self).__name__}: after a learning rate given first ({params!r}), pass the "
                                f"other hyperparameters by keyword (e.g. momentum=0.9). Received a second "
                                f"positional value {defaults.get('lr')!r}")
            options["learning_rate"], params = params, None
        if "learning_rate" in options:  # Keras's spelling
            defaults = {**defaults, "lr": options.pop("learning_rate")}
        name = type(self).__name__
        unknown = sorted(set(options) - set(CLIP_OPTIONS))
        if unknown:
            raise TypeError(f"{name} got unexpected keyword arguments {unknown}. "
                            f"Expected its hyperparameters, learning_rate= or one of {list(CLIP_OPTIONS)}")
        for key, value in options.items():
            if value is not None and not value > 0:
                raise ValueError(f"{name}: {key} must be > 0. Received: {key}={value}")
        self.defaults = {**defaults, **options}
        check_group(name, self.defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.iterations = 0
        self._flat: list[_FlatGroup | None] = []
        self._pending_owner = None
        if params is not None:
            self.add_params(params)

    # ---------------------------------------------------------------- parameters
    def add_params(self, params: Any) -> None:
        """Attach parameters (a list, a module's ``parameters()``, or a list of group dicts)."""
        owner = getattr(params, "owner", None)
        params = list(params)
        if not params:
            if owner is not None:  # a lazy model not called yet: collect its parameters at the first step
                self._pending_owner = owner
                return
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with optional hyperparameters overriding the defaults."""
        ps = group["params"]
        ps = [ps] if isinstance(ps, Tensor) else list(ps)
        for p in ps:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} optimizes Tensors. Received: {type(p).__name__}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in ps):
            raise ValueError("some parameters appear in more than one parameter group")
        check_group(type(self).__name__, group)
        full = {**self.defaults, **group, "params": ps}
        self.param_groups.append(full)
        self._flat.append(None)

    def _resolve_pending(self) -> None:
        owner = self._pending_owner
        if owner is not None:
            params = owner.parameters()
            if params:
                self._pending_owner = None
                self.add_params(params)

    def _flat_group(self, k: int) -> _FlatGroup:
        """The flat buffers of group k, (re)built when parameters were replaced or moved."""
        flat = self._flat[k]
        params = self.param_groups[k]["params"]
        if flat is not None and flat.params is params and all(p.data is v for p, v in zip(params, flat.data_views)):
            return flat  # the usual case: every parameter still lives in its view of the buffer
        if flat is None or flat.params is not params or not flat.fits():
            old = flat
            flat = _FlatGroup(params, self.group_state_names(self.param_groups[k]))
            if old is not None and old.params is params and old.state:
                for name, buf in old.state.items():  # keep the state across a device move
                    flat.state[name][...] = backend.to_device(buf, flat.device)
                flat.steps[:] = old.steps
            self._flat[k] = flat
        else:
            for i, (p, view) in enumerate(zip(params, flat.data_views)):
                if p.data is not view:  # replaced by the user: take its values back into the buffer
                    flat.bind(i)
        return flat

    # ---------------------------------------------------------------- the step
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (before the next backward)."""
        self._resolve_pending()
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    @no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()``'s loss if given."""
        loss = closure() if closure is not None else None
        self._resolve_pending()
        if not self.param_groups:
            if self._pending_owner is not None:
                raise RuntimeError(f"{type(self).__name__}.step(): the model has no parameters yet; run a batch "
                                   "through it (or model.build(input_shape)) before the first step")
            return loss
        if flushes_denormals():  # already on (inside nr.performance(), as fit runs): one check, not a switch
            self._step_groups()
        else:
            with flush_denormals():
                self._step_groups()
        self.iterations += 1  # after the update: the first step uses a schedule's lr(0)
        return loss

    @property
    def has_parameters(self) -> bool:
        """True once parameters are attached (or a lazy model's will be collected at the first step)."""
        return bool(self.param_groups) or self._pending_owner is not None

    def _step_groups(self) -> None:
        for k, group in enumerate(self.param_groups):
            flat = self._flat_group(k)
            grads = flat.grad_views
            params = group["params"]
            have = [p.grad is not None for p in params]
            if not any(have):
                continue
            for p, g, has in zip(params, grads, have):  # gradients set outside backward: copy them into the buffer
                if has and p.grad is not g:
                    g[...] = p.grad
                    p.grad = g
            self._clip(group, flat, have)
            lr = self.current_lr(group)
            if all(have) and (flat.steps == flat.steps[0]).all():
                flat.steps += 1
                self._update_flat(flat, int(flat.steps[0]), {**group, "lr": lr})
            else:
                for i in range(len(params)):
                    if have[i]:
                        flat.steps[i] += 1
                        self.update(flat.data_views[i], grads[i], flat.state_views(i), int(flat.steps[i]),
                                    {**group, "lr": lr})

    def _update_flat(self, flat: _FlatGroup, step: int, group: dict[str, Any]) -> None:
        """One update of the whole flat buffer, in slices spread over neurona's threads: every rule
        is elementwise, so each slice of (p, g, state) is updated on its own."""
        state = dict(flat.state, scratch=flat.scratch)

        def update_slice(s: slice) -> None:
            # subnormals are flushed here too: step() sets it for this thread, workers always have it
            self.update(flat.data[s], flat.grad[s], {name: buf[s] for name, buf in state.items()}, step, group)

        parallel_for(update_slice, flat.data.size, min_chunk=1 << 17,
                     xp=backend.get_array_module(flat.data))

    def group_state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        """The state buffers a group needs (a rule whose state depends on options overrides this)."""
        return self.state_names

    def update(self, p: Any, g: Any, state: dict[str, Any], step: int, group: dict[str, Any]) -> None:
        """Apply one step of the rule in place: p -= ... (arrays; ``state`` holds this rule's buffers
        and a ``scratch`` array of p's shape; ``step`` counts from 1)."""
        raise NotImplementedError

    # ---------------------------------------------------------------- learning rate, clipping
    def current_lr(self, group: dict[str, Any] | None = None) -> float:
        """The learning rate used by the next step (a schedule is evaluated at the step count)."""
        lr = (group or (self.param_groups[0] if self.param_groups else self.defaults))["lr"]
        if not callable(lr):
            return float(lr)
        try:
            value = float(lr(self.iterations))
        except OverflowError:  # float ** float past 1.8e308
            value = math.inf
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{type(self).__name__}: the learning-rate schedule {lr!r} gave lr={value} at step "
                             f"{self.iterations}; expected a finite number >= 0")
        return value

    @property
    def lr(self) -> float:
        return self.current_lr()

    @lr.setter
    def lr(self, value: float) -> None:
        """Set the learning rate of every group (what ReduceLROnPlateau does)."""
        if not callable(value):
            check_hyper(lr=value)
        self.defaults["lr"] = value
        for group in self.param_groups:
            group["lr"] = value

    def _clip(self, group: dict[str, Any], flat: _FlatGroup, have: list[bool]) -> None:
        clipvalue, clipnorm, global_clipnorm = (group.get(k) for k in ("clipvalue", "clipnorm", "global_clipnorm"))
        xp = backend.get_array_module(flat.grad)
        if clipvalue is not None:
            for i, g in enumerate(flat.grad_views):
                if have[i]:
                    xp.clip(g, -clipvalue, clipvalue, out=g)
        if clipnorm is not None:
            for i, g in enumerate(flat.grad_views):
                if have[i]:
                    norm = float(backend.item(xp.sqrt((g * g).sum())))
                    if norm > clipnorm:
                        g *= clipnorm / norm
        if global_clipnorm is not None:
            norm = math.sqrt(sum(float(backend.item((g * g).sum())) for i, g in enumerate(flat.grad_views) if have[i]))
            if norm > global_clipnorm:
                for i, g in enumerate(flat.grad_views):
                    if have[i]:
                        g *= global_clipnorm / norm

    # ---------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Per-parameter state (NumPy arrays) and the groups' hyperparameters, as torch.optim lays them out."""
        state: dict[int, dict[str, Any]] = {}
        groups = []
        index = 0
        for k, group in enumerate(self.param_groups):
            flat = self._flat[k]
            ids = []
            for i in range(len(group["params"])):
                if flat is not None and flat.steps[i] > 0:
                    entry = {name: backend.to_numpy(v).copy() for name, v in flat.state_views(i).items()
                             if name != "scratch"}
                    entry["step"] = int(flat.steps[i])
                    state[index] = entry
                ids.append(index)
                index += 1
            hyper = {key: value for key, value in group.items() if key != "params" and not callable(value)}
            groups.append({**hyper, "params": ids})
        return {"state": state, "param_groups": groups, "iterations": self.iterations}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (same parameter layout required)."""
        self._resolve_pending()
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(mine["params"]) for g, mine in zip(groups, self.param_groups)):
            raise ValueError("load_state_dict: the saved optimizer has a different number of parameter groups "
                             "or parameters than this one")
        self.iterations = int(state_dict.get("iterations", 0))
        saved = {int(k): v for k, v in state_dict["state"].items()}
        for k, (g, mine) in enumerate(zip(groups, self.param_groups)):
            for key, value in g.items():
                if key != "params" and not callable(mine.get(key)):
                    mine[key] = value
            flat = self._flat_group(k)
            for i, index in enumerate(g["params"]):
                entry = saved.get(int(index))
                views = flat.state_views(i)
                if entry is None:
                    flat.steps[i] = 0
                    for name in flat.state:
                        views[name][...] = 0
                    continue
                flat.steps[i] = int(entry["step"])
                for name in flat.state:
                    value = np.asarray(entry[name]) if name in entry else None
                    if value is None or value.shape != views[name].shape:
                        raise ValueError(f"load_state_dict: state {name!r} of parameter {index} is missing or has "
                                         f"the wrong shape")
                    views[name][...] = backend.to_device(value, flat.device) if flat.device != "cpu" else value

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in self.defaults.items() if v is not None)
        return f"{type(self).__name__}({hyper})"


def _check(name: str, value: float, low: float = 0.0, high: float | None = None, closed_high: bool = False) -> None:
    if not math.isfinite(value) or value < low or (high is not None and (value > high if closed_high
                                                                       else value >= high)):
        bound = f"in [{low}, {high}{']' if closed_high else ')'}" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be a finite number {bound}. Received: {name}={value}")


def check_group(optimizer: str, hyper: dict[str, Any]) -> None:
    """Validate the hyperparameters of an optimizer or of a parameter group."""
    values = {k: v for k, v in hyper.items() if k not in ("params", *CLIP_OPTIONS)}
    if callable(values.get("lr")):
        values.pop("lr")
    betas = values.pop("betas", None)
    if betas is not None:
        values["beta1"], values["beta2"] = betas
    try:
        check_hyper(**{k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
    except ValueError as exc:
        raise ValueError(f"{optimizer}: {exc}") from None


def check_hyper(**values: Any) -> None:
    """Validate common hyperparameters with errors in Keras's style."""
    for name, value in values.items():
        if value is None:
            continue
        if name in ("momentum", "dampening", "alpha"):
            _check(name, value, 0.0, 1.0, closed_high=True)
        elif name in ("beta1", "beta2"):
            _check(name, value, 0.0, 1.0)
        else:
            _check(name, value)
