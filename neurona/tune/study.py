"""Creating or joining an Optuna study, and checking that a joined study is the same search.

The first worker creates the study (an atomic insert: only one can), records what it
searches (space, metric, method) in the study's attributes and, for grid and manual
searches, queues every configuration once. Every other worker loads the study, refuses it
when its search differs, and waits until the queue is filled.
"""

from __future__ import annotations

import json
import time
from typing import Any

from .space import Param, TuneError, grid_points, space_json

METHODS = ("manual", "grid", "random", "bayes", "gp")
PRUNERS = ("median", "halving", "none")
_ATTR = "neurona_search"
_READY = "neurona_ready"


def make_sampler(method: str, seed: int | None) -> Any:
    """Optuna's sampler for ``method``: random, TPE (bayes) or the Gaussian-process sampler (gp)."""
    import optuna

    if method not in METHODS:
        raise TuneError(f"unknown method {method!r}. Expected one of {', '.join(METHODS)}")
    if method == "gp":
        try:
            import scipy  # noqa: F401
            import torch  # noqa: F401
        except ImportError as exc:
            raise TuneError(f"method 'gp' (Optuna's GPSampler) needs {exc.name}; pip install {exc.name}, "
                            f"or use --method bayes (TPE)") from None
        return optuna.samplers.GPSampler(seed=seed)
    if method == "bayes":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)  # grid and manual trials are queued, never sampled


def make_pruner(name: str) -> Any:
    """median: stop a trial below the median of earlier ones at the same epoch; halving: successive halving."""
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise TuneError(f"unknown pruner {name!r}. Expected one of {', '.join(PRUNERS)}")


def search_record(space: dict[str, Param], metric: str, method: str) -> dict[str, Any]:
    """What identifies a search: two workers may share a study only when these agree."""
    return {"space": json.loads(space_json(space)), "metric": metric, "method": method}


def queued_points(space: dict[str, Param], method: str, configs: list[dict[str, Any]] | None) -> list[dict]:
    """The configurations queued at creation: the whole grid, or the manual list."""
    if method == "grid":
        return grid_points(space)
    if method == "manual":
        return list(configs or [])
    return []


def open_study(storage: Any, name: str, space: dict[str, Param], metric: str, direction: str, method: str,
               seed: int | None = 0, pruner: str = "median", configs: list[dict[str, Any]] | None = None,
               wait_s: float = 60.0) -> Any:
    """Create the study ``name`` in ``storage`` or join it; raises TuneError when it exists with a
    different search (space, metric or method)."""
    import optuna

    record = search_record(space, metric, method)
    points = queued_points(space, method, configs)
    kwargs = dict(storage=storage, sampler=make_sampler(method, seed), pruner=make_pruner(pruner),
                  study_name=name)
    try:
        study = optuna.create_study(direction=direction, **kwargs)
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(**kwargs)
        check_same_search(study, record)
        _wait_ready(study, wait_s)
        check_same_search(study, record)
        return study
    for point in points:
        study.enqueue_trial(point, skip_if_exists=False)
    study.set_user_attr(_ATTR, record)
    study.set_user_attr(_READY, True)
    return study


def check_same_search(study: Any, record: dict[str, Any]) -> None:
    """Refuse to join a study that searches something else."""
    found = study.user_attrs.get(_ATTR)
    if found is None:
        # created a moment ago by another worker, which has not recorded its search yet
        return
    for key in ("space", "metric", "method"):
        if found[key] != record[key]:
            raise TuneError(f"study {study.study_name!r} exists with a different {'search ' if key == 'space' else ''}"
                            f"{key}: it has {json.dumps(found[key], sort_keys=True)}, this search "
                            f"{json.dumps(record[key], sort_keys=True)}; use another --study name")


def _wait_ready(study: Any, wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    while not study.user_attrs.get(_READY):
        if time.monotonic() > deadline:
            raise TuneError(f"study {study.study_name!r} exists but was never set up by neurona (no search "
                            f"recorded after {wait_s:.0f} s); use another --study name")
        time.sleep(0.2)


def load(storage: Any, name: str) -> Any:
    """An existing study, for showing its leaderboard; a clear error when there is none."""
    import optuna

    names = optuna.get_all_study_names(storage)
    if name not in names:
        raise TuneError(f"no study named {name!r} in this storage. Studies there: {', '.join(names) or 'none'}")
    return optuna.load_study(study_name=name, storage=storage)


def record_of(study: Any) -> dict[str, Any] | None:
    """The search a study was created for (space, metric, method), or None for a foreign study."""
    return study.user_attrs.get(_ATTR)
