"""Search spaces: named hyperparameters, their ranges, and which ones depend on others.

A space is a dict from parameter name to a ``Param``, written in Python with the helpers
or, in a config file, as plain tables::

    space = {
        "optimizer": tune.choice(["sgd", "adam"]),
        "lr": tune.log_uniform(1e-4, 1e-1),
        "momentum": tune.uniform(0.0, 0.95, when={"optimizer": "sgd"}),   # only for SGD
        "units": tune.integer(32, 256, step=32),
        "dropout": tune.uniform(0.1, 0.8, step=0.1),
    }

    [space.lr]                       # the same in TOML
    type = "log_uniform"
    low = 1e-4
    high = 1e-1

Optuna samples the values (``suggest``); ``grid_points`` lists every point of a grid.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

TYPES = ("choice", "int", "uniform", "log_uniform")
_KEYS = {"type", "values", "low", "high", "step", "when"}


class TuneError(ValueError):
    """A mistake in a search's inputs (space, metric, storage, study): reported in one line."""


@dataclass(frozen=True)
class Param:
    """One hyperparameter: ``kind`` is one of TYPES; ``when`` maps earlier parameters to the value
    (or list of values) they must have for this one to exist."""

    kind: str
    values: tuple = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    when: dict[str, Any] = field(default_factory=dict)

    def active(self, chosen: dict[str, Any]) -> bool:
        """Whether the conditions in ``when`` hold for the values chosen so far."""
        for name, wanted in self.when.items():
            allowed = wanted if isinstance(wanted, list | tuple) else [wanted]
            if name not in chosen or chosen[name] not in allowed:
                return False
        return True

    def grid(self, name: str) -> list[Any]:
        """Every value of this parameter on a grid: the choices, or low..high by step."""
        if self.kind == "choice":
            return list(self.values)
        if self.step is None:
            raise TuneError(f"grid search needs a step (or a choice of values) for {name!r}. "
                            f"Received: {self.kind}({self.low}, {self.high}) with no step")
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step)))
        n = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return [round(self.low + i * self.step, 12) for i in range(n)]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind}
        if self.kind == "choice":
            out["values"] = list(self.values)
        else:
            out.update(low=self.low, high=self.high)
            if self.step is not None:
                out["step"] = self.step
        if self.when:
            out["when"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.when.items()}
        return out


def choice(values: list[Any], when: dict[str, Any] | None = None) -> Param:
    """One of ``values`` (str, int, float, bool or None)."""
    return _checked("choice", "choice", values=values, when=when)


def integer(low: int, high: int, step: int = 1, when: dict[str, Any] | None = None) -> Param:
    """An integer in [low, high] (both included) on multiples of ``step`` from ``low``."""
    return _checked("int", "int", low=low, high=high, step=step, when=when)


def uniform(low: float, high: float, step: float | None = None, when: dict[str, Any] | None = None) -> Param:
    """A float in [low, high]; with ``step``, on the points low, low + step, ... (as a grid needs)."""
    return _checked("uniform", "uniform", low=low, high=high, step=step, when=when)


def log_uniform(low: float, high: float, when: dict[str, Any] | None = None) -> Param:
    """A float in [low, high] (low > 0) drawn uniformly in log scale: learning rates, weight decay."""
    return _checked("log_uniform", "log_uniform", low=low, high=high, when=when)


def _number(name: str, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, float | int):
        raise TuneError(f"space: {key} of {name!r} must be a number. Received: {key}={value!r}")
    return value


def _checked(name: str, kind: str, values: Any = None, low: Any = None, high: Any = None, step: Any = None,
             when: Any = None) -> Param:
    if kind not in TYPES:
        raise TuneError(f"space: unknown parameter type {kind!r} for {name!r}. Expected one of {', '.join(TYPES)}")
    when = dict(when or {})
    if kind == "choice":
        if not isinstance(values, list | tuple) or not values:
            raise TuneError(f"space: {name!r} needs a non-empty list of values. Received: values={values!r}")
        for v in values:
            if v is not None and not isinstance(v, str | float | bool | int):
                raise TuneError(f"space: the values of {name!r} must be str, int, float, bool or null. "
                                f"Received: {v!r}")
        if len(set(map(json.dumps, values))) != len(values):
            raise TuneError(f"space: the values of {name!r} repeat. Received: values={list(values)!r}")
        return Param(kind, values=tuple(values), when=when)
    low, high = _number(name, "low", low), _number(name, "high", high)
    if not low < high:
        raise TuneError(f"space: {name!r} needs low < high. Received: low={low}, high={high}")
    if kind == "log_uniform" and low <= 0:
        raise TuneError(f"space: log_uniform {name!r} needs low > 0. Received: low={low}")
    if kind == "int":
        step = 1 if step is None else step
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high, step)):
            raise TuneError(f"space: int {name!r} needs integer low, high and step. "
                            f"Received: low={low!r}, high={high!r}, step={step!r}")
    if step is not None and (_number(name, "step", step) <= 0 or kind == "log_uniform"):
        raise TuneError(f"space: step of {name!r} must be positive (and log_uniform takes none). Received: {step!r}")
    return Param(kind, low=low, high=high, step=step, when=when)


def parse_space(raw: dict[str, Any]) -> dict[str, Param]:
    """A space from ``{name: Param or {"type": ..., ...}}``, checked: types, ranges, and that each
    ``when`` names an earlier parameter and one of its values."""
    if not isinstance(raw, dict) or not raw:
        raise TuneError(f"space: expected a non-empty table of parameters. Received: {raw!r}")
    space: dict[str, Param] = {}
    for name, spec in raw.items():
        if isinstance(spec, Param):
            param = _checked(name, spec.kind, list(spec.values) or None, spec.low, spec.high, spec.step, spec.when)
        elif isinstance(spec, dict):
            unknown = set(spec) - _KEYS
            if unknown:
                raise TuneError(f"space: unknown key {sorted(unknown)[0]!r} in {name!r}. "
                                f"Expected some of {', '.join(sorted(_KEYS))}")
            if "type" not in spec:
                raise TuneError(f"space: {name!r} needs a type (one of {', '.join(TYPES)})")
            param = _checked(name, spec["type"], spec.get("values"), spec.get("low"), spec.get("high"),
                             spec.get("step"), spec.get("when"))
        else:
            raise TuneError(f"space: {name!r} must be a table with a type. Received: {spec!r}")
        for other, wanted in param.when.items():
            if other not in space:
                raise TuneError(f"space: {name!r} depends on {other!r}, which must be an earlier parameter")
            if space[other].kind == "choice":
                for w in wanted if isinstance(wanted, list | tuple) else [wanted]:
                    if w not in space[other].values:
                        raise TuneError(f"space: {name!r} depends on {other}={w!r}, which is not one of "
                                        f"{list(space[other].values)}")
        space[name] = param
    return space


def space_json(space: dict[str, Param]) -> str:
    """A canonical JSON text of the space: two studies have the same space when these are equal."""
    return json.dumps({name: p.to_json() for name, p in space.items()}, sort_keys=True)


def suggest(trial: Any, space: dict[str, Param]) -> dict[str, Any]:
    """The parameters of one Optuna trial: each active parameter suggested in order."""
    chosen: dict[str, Any] = {}
    for name, p in space.items():
        if not p.active(chosen):
            continue
        if p.kind == "choice":
            chosen[name] = trial.suggest_categorical(name, list(p.values))
        elif p.kind == "int":
            chosen[name] = trial.suggest_int(name, p.low, p.high, step=p.step)
        else:
            chosen[name] = trial.suggest_float(name, p.low, p.high, step=p.step, log=p.kind == "log_uniform")
    return chosen


def grid_points(space: dict[str, Param]) -> list[dict[str, Any]]:
    """Every point of the grid, each exactly once; a conditional parameter varies only where it exists."""
    points: list[dict[str, Any]] = [{}]
    for name, p in space.items():
        values = p.grid(name)
        points = [dict(point, **{name: v}) if p.active(point) else point
                  for point in points for v in (values if p.active(point) else [None])]
    unique = {json.dumps(pt, sort_keys=True): pt for pt in points}
    if not unique or unique == {"{}": {}}:
        raise TuneError("grid search: the grid is empty")
    return list(unique.values())


def check_points(space: dict[str, Param], points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The configurations of a manual search, checked against the space (names and ranges)."""
    if not isinstance(points, list) or not points:
        raise TuneError(f"manual search: expected a non-empty list of configurations. Received: {points!r}")
    for i, point in enumerate(points):
        if not isinstance(point, dict):
            raise TuneError(f"manual search: configuration {i} must be a table. Received: {point!r}")
        for name, value in point.items():
            if name not in space:
                raise TuneError(f"manual search: configuration {i} sets {name!r}, which is not in the space "
                                f"({', '.join(space)})")
            p = space[name]
            ok = value in p.values if p.kind == "choice" else (
                isinstance(value, float | int) and p.low <= value <= p.high)
            if not ok:
                where = list(p.values) if p.kind == "choice" else f"[{p.low}, {p.high}]"
                raise TuneError(f"manual search: configuration {i} has {name}={value!r}, outside {where}")
    return points
