"""Hyperparameter search with Optuna: by hand, by grid, at random or Bayesian, on one machine or many.

    from neurona import tune
    space = {"lr": tune.log_uniform(1e-4, 1e-1), "units": tune.integer(32, 256, step=32)}
    study = tune.search(build, space, data=((x, y), (x_val, y_val)), metric="f1", method="bayes", trials=20)

Optuna does the searching (samplers, pruners) and the coordination (a SQLite, journal or
PostgreSQL storage shared by the workers); neurona trains each trial with ``fit`` and a
pruning callback and scores it with ``nr.metrics``. Needs the ``tune`` extra:
``pip install 'neurona[tune]'`` (Optuna is imported when a search starts). See docs/TUNING.md.
"""

from .leaderboard import best, format_table, rows, write_csv
from .plots import save_plots
from .scoring import DIRECTIONS, check_metric, score
from .search import search
from .space import Param, TuneError, choice, grid_points, integer, log_uniform, parse_space, uniform
from .storage import open_storage
from .study import load, open_study
from .trial import Objective, PruningCallback
from .worker import run_worker

__all__ = [
    "DIRECTIONS", "Objective", "Param", "PruningCallback", "TuneError", "best", "check_metric", "choice",
    "format_table", "grid_points", "integer", "load", "log_uniform", "open_storage", "open_study", "parse_space",
    "rows", "run_worker", "save_plots", "score", "search", "uniform", "write_csv",
]
