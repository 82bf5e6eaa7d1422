"""Learning-rate schedules: callables of the step count, as Keras's ``LearningRateSchedule``.

Give one as the learning rate of any optimizer; it is evaluated before each step at
the number of steps already taken, so the first step uses ``schedule(0)``:

    opt = optim.SGD(model.parameters(), lr=optim.StepDecay(0.1, step_size=1000, gamma=0.5))

A large learning rate makes fast progress early; a smaller one later lets the weights
settle into a minimum instead of bouncing around it. ``get_config()`` returns the
constructor arguments and ``get_schedule`` rebuilds a schedule from what
``serialize_schedule`` wrote, so schedules can be saved with a model as JSON.
"""

from __future__ import annotations

import bisect
import math
from typing import Any


class LearningRateSchedule:
    """Base class: ``schedule(step) -> lr`` (a float) and ``get_config()`` (JSON types)."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _positive(where: str, **values: float) -> None:
    for name, value in values.items():
        if not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{where}: {name} must be a finite number > 0. Received: {name}={value}")


class StepDecay(LearningRateSchedule):
    """The course's step decay: multiply the rate by ``gamma`` every ``step_size`` steps.

    lr(t) = initial_lr * gamma ** floor(t / step_size)      (torch's StepLR stepped once per step)
    """

    def __init__(self, initial_lr: float, step_size: int, gamma: float = 0.1) -> None:
        _positive("StepDecay", initial_lr=initial_lr, step_size=step_size, gamma=gamma)
        self.initial_lr, self.step_size, self.gamma = float(initial_lr), int(step_size), float(gamma)

    def __call__(self, step: int) -> float:
        return self.initial_lr * self.gamma ** (int(step) // self.step_size)

    def get_config(self) -> dict[str, Any]:
        return {"initial_lr": self.initial_lr, "step_size": self.step_size, "gamma": self.gamma}


class ExponentialDecay(LearningRateSchedule):
    """Smooth exponential decay, as Keras's ExponentialDecay.

    lr(t) = initial_lr * decay_rate ** (t / decay_steps)     (the exponent floored when ``staircase``)
    With decay_steps=1 it is torch's ExponentialLR(gamma=decay_rate).
    """

    def __init__(self, initial_lr: float, decay_steps: int, decay_rate: float, staircase: bool = False) -> None:
        _positive("ExponentialDecay", initial_lr=initial_lr, decay_steps=decay_steps, decay_rate=decay_rate)
        self.initial_lr, self.decay_steps = float(initial_lr), decay_steps
        self.decay_rate, self.staircase = float(decay_rate), bool(staircase)

    def __call__(self, step: int) -> float:
        p = float(step) / self.decay_steps
        return self.initial_lr * self.decay_rate ** (math.floor(p) if self.staircase else p)

    def get_config(self) -> dict[str, Any]:
        return {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase}


class CosineDecay(LearningRateSchedule):
    """Cosine decay with an optional linear warm-up, as Keras 3's CosineDecay.

    Without ``warmup_target`` (``warmup_steps`` is then ignored, as in Keras):
      lr(t) = initial_lr * ((1 - alpha) * (1 + cos(pi * min(t, decay_steps) / decay_steps)) / 2 + alpha)
    With it: a straight line from initial_lr at t=0 to warmup_target at t=warmup_steps, then
    the same cosine from warmup_target over the next ``decay_steps`` steps.
    ``alpha`` is the final rate as a fraction of the starting one (torch's eta_min / lr).
    """

    def __init__(self, initial_lr: float, decay_steps: int, alpha: float = 0.0, warmup_steps: int = 0,
                 warmup_target: float | None = None) -> None:
        _positive("CosineDecay", decay_steps=decay_steps)
        if not (0 <= initial_lr < math.inf) or not 0 <= alpha <= 1 or warmup_steps < 0 or (
                warmup_target is not None and not 0 <= warmup_target < math.inf):
            raise ValueError("CosineDecay: expected finite initial_lr >= 0, alpha in [0, 1], warmup_steps >= 0, "
                             f"finite warmup_target >= 0. Received: initial_lr={initial_lr}, alpha={alpha}, "
                             f"warmup_steps={warmup_steps}, warmup_target={warmup_target}")
        self.initial_lr, self.decay_steps, self.alpha = float(initial_lr), decay_steps, float(alpha)
        self.warmup_steps = warmup_steps
        self.warmup_target = None if warmup_target is None else float(warmup_target)

    def _decay(self, step: float, start_lr: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start_lr * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        step = float(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_lr)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            return (self.warmup_target - self.initial_lr) * step / self.warmup_steps + self.initial_lr
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self) -> dict[str, Any]:
        return {"initial_lr": self.initial_lr, "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_steps": self.warmup_steps, "warmup_target": self.warmup_target}


class PiecewiseConstant(LearningRateSchedule):
    """Constant rates between step boundaries, as Keras's PiecewiseConstantDecay.

    lr(t) = values[0] for t <= boundaries[0], values[i] for boundaries[i-1] < t <= boundaries[i],
    values[-1] after the last boundary. (torch's MultiStepLR with milestones m changes the
    rate at t = m: boundaries = [m - 1 for m in milestones].)
    """

    def __init__(self, boundaries: list[int], values: list[float]) -> None:
        boundaries, values = list(boundaries), [float(v) for v in values]
        if len(values) != len(boundaries) + 1:
            raise ValueError("PiecewiseConstant: expected one more value than boundaries. "
                             f"Received: {len(boundaries)} boundaries and {len(values)} values")
        if not all(0 <= v < math.inf for v in values):
            raise ValueError(f"PiecewiseConstant: values must be finite numbers >= 0. Received: values={values}")
        if any(b >= c for b, c in zip(boundaries, boundaries[1:], strict=False)):
            raise ValueError(f"PiecewiseConstant: boundaries must increase. Received: boundaries={boundaries}")
        self.boundaries, self.values = boundaries, values

    def __call__(self, step: int) -> float:
        return self.values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


SCHEDULES = {cls.__name__: cls for cls in (StepDecay, ExponentialDecay, CosineDecay, PiecewiseConstant)}


def serialize_schedule(schedule: LearningRateSchedule) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}``: what ``get_schedule`` rebuilds the schedule from."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"serialize_schedule: expected a LearningRateSchedule. Received: {type(schedule).__name__} "
                        "(a plain function cannot be saved as JSON)")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def get_schedule(config: dict[str, Any] | LearningRateSchedule,
                 custom_objects: dict[str, type] | None = None) -> LearningRateSchedule:
    """Rebuild a schedule from ``serialize_schedule``'s dict (a schedule is returned as it is).

    ``custom_objects`` maps the class names of your own ``LearningRateSchedule`` subclasses to them.
    """
    if isinstance(config, LearningRateSchedule):
        return config
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("get_schedule: expected a dict {'class_name': ..., 'config': {...}} as written by "
                         f"serialize_schedule. Received: {config!r}")
    known = {**SCHEDULES, **(custom_objects or {})}
    name = config["class_name"]
    if name not in known:
        raise ValueError(f"get_schedule: unknown schedule {name!r}. Expected one of {sorted(known)} "
                         "(pass your own classes with custom_objects=)")
    return known[name].from_config(dict(config.get("config", {})))


__all__ = ["CosineDecay", "ExponentialDecay", "LearningRateSchedule", "PiecewiseConstant", "SCHEDULES", "StepDecay",
           "get_schedule", "serialize_schedule"]
