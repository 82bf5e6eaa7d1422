"""Search config files (TOML or YAML) for ``neurona tune``: a zoo model, data, and the space.

    # dropout.toml
    model = "mlp"                # a zoo model: mlp, cnn, lenet5, resnet20
    data = "fashion-mnist"       # digits, mnist, fashion-mnist, spirals (2-D, 3 classes), diabetes (regression)
    subset = 10000               # optional: the first N training samples
    val_split = 0.2              # validation share of the training samples (seeded random split)
    epochs = 5
    metric = "val_accuracy"      # val_loss, val_accuracy, precision, recall, f1, roc_auc (mse, mae, r2)
    method = "grid"              # manual, grid, random, bayes, gp
    trials = 8                   # optional for grid (the whole grid) and manual (every configuration)
    [fixed]                      # settings not searched: training ones and the model builder's arguments
    batch_size = 64
    hidden = [256]
    [space.dropout]
    type = "uniform"
    low = 0.1
    high = 0.8
    step = 0.1

A manual search lists its configurations: ``configs = [{lr = 0.1}, {lr = 0.01}]``. The
test set is never used for the search: validation samples come from the training set.
"""

from __future__ import annotations

import inspect
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import data as datasets
from .. import models
from .scoring import check_metric
from .space import Param, TuneError, check_points, parse_space
from .study import METHODS, PRUNERS

KEYS = {"study", "model", "data", "subset", "val_split", "epochs", "metric", "method", "trials", "seed", "pruner",
        "fixed", "space", "configs"}
DATA = ("digits", "mnist", "fashion-mnist", "spirals", "diabetes")


@dataclass
class SearchConfig:
    """A config file, read and checked."""

    path: Path
    model: str
    data: str
    space: dict[str, Param]
    epochs: int = 5
    metric: str = "val_loss"
    method: str = "bayes"
    trials: int | None = None
    seed: int = 0
    pruner: str = "median"
    subset: int | None = None
    val_split: float = 0.2
    study: str | None = None
    fixed: dict[str, Any] = field(default_factory=dict)
    configs: list[dict[str, Any]] | None = None

    @property
    def task(self) -> str:
        return "regression" if self.data == "diabetes" else "classification"


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise TuneError(f"no such config file: {path}")
    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            raw = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text)
        else:
            raise TuneError(f"config {path}: expected a .toml, .yaml or .yml file")
    except tomllib.TOMLDecodeError as exc:
        raise TuneError(f"config {path}: not valid TOML ({exc})") from None
    except ImportError:
        raise TuneError("YAML configs need PyYAML: pip install 'neurona[tune]'") from None
    except Exception as exc:  # yaml.YAMLError, without importing yaml for TOML files
        if type(exc).__module__.startswith("yaml"):
            raise TuneError(f"config {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        raise
    if not isinstance(raw, dict):
        raise TuneError(f"config {path}: expected a table of settings at the top level")
    return raw


def read_config(path: str | Path, **overrides: Any) -> SearchConfig:
    """Read and check a config; ``overrides`` (the command line's --metric, --method, --trials...) win."""
    path = Path(path)
    raw = _read(path)
    unknown = set(raw) - KEYS
    if unknown:
        raise TuneError(f"config {path}: unknown setting {sorted(unknown)[0]!r}. Expected some of "
                        f"{', '.join(sorted(KEYS))}")
    raw.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("model", "data"):
        if key not in raw:
            raise TuneError(f"config {path}: missing {key!r}")
    if raw["model"] not in models.available():
        raise TuneError(f"config {path}: unknown model {raw['model']!r}. Available: {', '.join(models.available())}")
    if raw["data"] not in DATA:
        raise TuneError(f"config {path}: unknown data {raw['data']!r}. Available: {', '.join(DATA)}")
    method = raw.get("method", "bayes")
    if method not in METHODS:
        raise TuneError(f"unknown method {method!r}. Expected one of {', '.join(METHODS)}")
    if raw.get("pruner", "median") not in PRUNERS:
        raise TuneError(f"unknown pruner {raw['pruner']!r}. Expected one of {', '.join(PRUNERS)}")
    if method == "grid" and not raw.get("space"):
        raise TuneError(f"grid search: the grid is empty (config {path} has no parameters in [space])")
    space = parse_space(raw.get("space"))
    cfg = SearchConfig(path=path, model=raw["model"], data=raw["data"], space=space,
                       **{k: raw[k] for k in ("epochs", "metric", "method", "trials", "seed", "pruner", "subset",
                                              "val_split", "study", "fixed", "configs") if k in raw})
    check_metric(cfg.metric, cfg.task)
    _positive(cfg.epochs, "epochs")
    if cfg.trials is not None:
        _positive(cfg.trials, "trials")
    elif method in ("random", "bayes", "gp"):
        raise TuneError(f"a {method} search needs a number of trials (--trials N or trials = N)")
    if cfg.subset is not None:
        _positive(cfg.subset, "subset")
    if not isinstance(cfg.val_split, float) or not 0 < cfg.val_split < 1:
        raise TuneError(f"val_split must be a fraction in (0, 1). Received: val_split={cfg.val_split!r}")
    if method == "manual":
        cfg.configs = check_points(space, cfg.configs)
    elif cfg.configs is not None:
        raise TuneError(f"configs are for method 'manual'; this search's method is {method!r}")
    if not isinstance(cfg.fixed, dict):
        raise TuneError(f"fixed must be a table of settings. Received: fixed={cfg.fixed!r}")
    return cfg


def _positive(value: Any, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TuneError(f"{name} must be a positive integer. Received: {name}={value!r}")


def load_data(cfg: SearchConfig) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """(train, validation) arrays: images scaled to [0, 1] with a channel axis, tables standardised;
    the validation share drawn from the training samples with the config's seed."""
    if cfg.data == "diabetes":
        from sklearn.datasets import load_diabetes

        x, y = load_diabetes(return_X_y=True)
        y = y[:, None]
    elif cfg.data == "spirals":  # the course's teaching set: 3 interleaved arms, 600 points (or subset)
        x, y = datasets.make_spirals(n_samples=cfg.subset or 600, n_classes=3, noise=0.05, seed=cfg.seed)
    else:
        loader = {"digits": datasets.load_digits, "mnist": datasets.load_mnist,
                  "fashion-mnist": datasets.load_fashion_mnist}[cfg.data]
        (x, y), _ = loader()
        x = x[..., None] if x.ndim == 3 else x
    if cfg.subset:
        x, y = x[:cfg.subset], y[:cfg.subset]
    order = np.random.default_rng(cfg.seed).permutation(len(x))
    n_val = max(1, int(round(len(x) * cfg.val_split)))
    val, train = order[:n_val], order[n_val:]
    x = x.astype(np.float32)
    if cfg.data == "spirals":
        pass  # already in [-1, 1]
    elif cfg.task == "regression":
        mean, std = x[train].mean(axis=0), x[train].std(axis=0) + 1e-8
        y_mean, y_std = y[train].mean(), y[train].std()
        x, y = (x - mean) / std, ((y - y_mean) / y_std).astype(np.float32)
    else:
        x = x / 255.0
    return (x[train], y[train]), (x[val], y[val])


def model_builder(cfg: SearchConfig, input_shape: tuple[int, ...], outputs: int) -> Any:
    """``build(settings) -> model`` for the config's zoo model: settings named like the builder's
    arguments are passed on (for the MLP, ``units`` and ``layers`` make ``hidden``)."""
    builder = models.MODELS[cfg.model]
    accepted = set(inspect.signature(builder).parameters) - {"input_shape", "num_classes"}

    def build(settings: dict[str, Any]) -> Any:
        kwargs = {k: v for k, v in settings.items() if k in accepted}
        if cfg.model == "mlp" and ("units" in settings or "layers" in settings):
            kwargs["hidden"] = (int(settings.get("units", 100)),) * int(settings.get("layers", 1))
        if "hidden" in kwargs:
            kwargs["hidden"] = tuple(kwargs["hidden"])
        return models.get(cfg.model, input_shape, outputs, **kwargs)

    return build
