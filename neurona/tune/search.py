"""``nr.tune.search``: one call that runs a hyperparameter search and writes its results.

    from neurona import nn, tune
    def build(p):
        return nn.Sequential([nn.Dense(p["units"], activation="relu"), nn.Dropout(p["dropout"]), nn.Dense(10)])
    study = tune.search(build, {"units": tune.integer(32, 256, step=32), "lr": tune.log_uniform(1e-4, 1e-1),
                                "dropout": tune.uniform(0.1, 0.8)},
                        data=((x_train, y_train), (x_val, y_val)), epochs=5, metric="f1",
                        method="bayes", trials=30, out="runs/tune-mlp")
    print(tune.format_table(study))

Every check runs before anything is written. The study lives in ``out/study.db`` (SQLite)
unless ``storage`` names another (a PostgreSQL URL shared by many machines: each one runs
the same script as a worker). The run directory receives the best models
(``models/trial-N.neurona``), ``leaderboard.csv``, ``best.json`` and the plots.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .leaderboard import format_table, write_best, write_csv
from .plots import save_plots
from .space import Param, TuneError, check_points, parse_space
from .storage import HEARTBEAT_S, check_url, open_storage
from .study import METHODS, make_pruner, make_sampler, open_study
from .trial import Objective
from .worker import finished_count, run_worker


def _pair(name: str, pair: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(pair, tuple | list) or len(pair) != 2:
        raise TuneError(f"{name} must be an (x, y) pair of arrays. Received: {type(pair).__name__}")
    x, y = np.asarray(pair[0]), np.asarray(pair[1])
    if len(x) != len(y) or len(x) == 0:
        raise TuneError(f"{name}: x and y need the same, non-zero number of samples. Received: {len(x)} and {len(y)}")
    return x, y


def progress_line(study: Any, trial: Any, metric: str) -> str:
    """One line per finished trial: its state, metric, parameters, epochs and time, and the best so far."""
    from optuna.trial import TrialState

    value = f"{metric} {trial.value:.4f}" if trial.value is not None else trial.state.name.lower()
    params = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
    line = (f"trial {trial.number:3d} {trial.state.name.lower():8s} {value:22s} {params}  "
            f"({trial.user_attrs.get('epochs', 0)} epochs, {trial.user_attrs.get('seconds', 0):.1f} s)")
    if study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        line += f"  best: trial {study.best_trial.number} {study.best_value:.4f}"
    return line


def prepare(space: dict[str, Param | dict], method: str, trials: int | None, configs: Any,
            storage: str | None, workers: int = 1) -> dict[str, Param]:
    """The checks every search makes before it writes anything; returns the parsed space."""
    if method not in METHODS:
        raise TuneError(f"unknown method {method!r}. Expected one of {', '.join(METHODS)}")
    if method == "grid" and not space:
        raise TuneError("grid search: the grid is empty (no parameters in the space)")
    parsed = parse_space(space)
    if method == "manual":
        check_points(parsed, configs)
    elif configs is not None:
        raise TuneError(f"configs are for method 'manual'; this search's method is {method!r}")
    if trials is None and method in ("random", "bayes", "gp"):
        raise TuneError(f"a {method} search needs a number of trials. Received: trials=None")
    if trials is not None and (isinstance(trials, bool) or not isinstance(trials, int) or trials < 1):
        raise TuneError(f"trials must be a positive integer. Received: trials={trials!r}")
    make_sampler(method, 0)  # a missing optional dependency (gp) is reported now
    if storage is not None:
        check_url(storage, workers)
    return parsed


def search(build: Callable[[dict[str, Any]], Any], space: dict[str, Param | dict], data: Any, *,
           epochs: int = 5, metric: str = "val_loss", task: str = "classification", method: str = "bayes",
           trials: int | None = None, configs: list[dict[str, Any]] | None = None, fixed: dict | None = None,
           storage: str | None = None, study_name: str = "search", out: str | Path = "runs/tune",
           seed: int = 0, pruner: str = "median", timeout_s: float | None = None,
           heartbeat_s: int = HEARTBEAT_S, plots: bool = True, verbose: bool = True) -> Any:
    """Run (or join, or resume) a search and return the Optuna study.

    build: settings -> a model (uncompiled; logits for classification). space: name -> Param
    (``choice``, ``integer``, ``uniform``, ``log_uniform``) or the same as a dict. data:
    ((x_train, y_train), (x_val, y_val)). metric: see ``scoring``. method: manual (the list
    ``configs``), grid (every point once), random, bayes (TPE) or gp. trials: finished trials
    (completed or pruned) the study should reach; for grid and manual, at most the queue.
    """
    parsed = prepare(space, method, trials, configs, storage)
    objective = Objective(build, parsed, _pair("data[0] (training)", data[0]), _pair("data[1] (validation)", data[1]),
                          epochs=epochs, metric=metric, task=task, fixed=dict(fixed or {}), seed=seed,
                          models_dir=Path(out) / "models")
    make_pruner(pruner)
    out = Path(out)
    if storage is None:
        out.mkdir(parents=True, exist_ok=True)
        storage = f"sqlite:///{out.resolve() / 'study.db'}"
    study = open_study(open_storage(storage, 1, heartbeat_s), study_name, parsed, metric, objective.direction,
                       method, seed=seed, pruner=pruner, configs=configs)
    run_worker(study, objective, total=trials, timeout_s=timeout_s, queued_only=method in ("grid", "manual"),
               on_trial=(lambda s, t: print(progress_line(s, t, metric), flush=True)) if verbose else None)
    finish(study, out, metric, plots, verbose)
    return study


def finish(study: Any, out: Path, metric: str, plots: bool = True, verbose: bool = True) -> list[Path]:
    """Write leaderboard.csv, best.json and (with ``plots``) the PNGs into ``out``; print the leaderboard."""
    written = [write_csv(study, out / "leaderboard.csv")]
    if any(t.state.name == "COMPLETE" for t in study.get_trials(deepcopy=False)):
        written.append(write_best(study, out / "best.json"))
    if plots:
        written += save_plots(study, out, metric)
    if verbose:
        print("\n" + format_table(study))
        print(f"\n{finished_count(study)} finished trials; written to {out}/: " + ", ".join(p.name for p in written))
    return written
