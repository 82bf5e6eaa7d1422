"""What the page may ask for: the settings of one run, their choices and their bounds.

Everything the page sends passes through ``parse_settings``, which returns a frozen
``Settings`` or raises ``SettingsError`` with a message that names the setting, what
was expected and what came; the server shows that message in the page.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

DATASETS = ("xor", "and", "or", "circles", "moons", "spirals", "blobs")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
# The course's activations, by neurona's names (neurona.functional.ACTIVATIONS).
ACTIVATIONS = ("tanh", "sigmoid", "relu", "linear", "saturated_linear", "gaussian", "step", "sign")
OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
REGULARIZATIONS = ("none", "l1", "l2")
PROBLEMS = ("classification", "regression")
MODELS = ("network", "perceptron")

# Bounds that keep one tab's work small: the server trains every tab on one thread.
LIMITS = {
    "points": (10, 1000),
    "noise": (0.0, 1.0),
    "train_fraction": (0.1, 0.9),
    "seed": (0, 2**31 - 1),
    "layers": (0, 6),
    "units": (1, 8),
    "lr": (1e-6, 10.0),
    "batch_size": (1, 1000),
    "reg_rate": (0.0, 1.0),
    "dropout": (0.0, 0.9),
    "epochs_per_frame": (1, 50),
}


class SettingsError(ValueError):
    """A setting from the page that cannot be used; the message is shown to the user."""


@dataclass(frozen=True)
class Settings:
    """One run of the playground: data, network and training."""

    dataset: str = "circles"
    points: int = 200
    noise: float = 0.1
    train_fraction: float = 0.5
    seed: int = 0
    features: tuple[str, ...] = ("x1", "x2")
    model: str = "network"
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    problem: str = "classification"
    optimizer: str = "adam"
    lr: float = 0.03
    batch_size: int = 10
    regularization: str = "none"
    reg_rate: float = 0.001
    dropout: float = 0.0
    epochs_per_frame: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON types (what the page sends back)."""
        d = asdict(self)
        d["features"], d["hidden"] = list(self.features), list(self.hidden)
        return d


_LABELS = {"lr": "learning rate", "units": "units per hidden layer", "batch_size": "batch size",
           "reg_rate": "regularization rate",
           "train_fraction": "training fraction", "epochs_per_frame": "epochs per frame"}


def _label(name: str) -> str:
    return _LABELS.get(name, name)


def _number(name: str, value: Any, integer: bool, low_open: bool = False) -> Any:
    low, high = LIMITS[name]
    kind = "an integer" if integer else "a number"
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    if ok and integer:
        ok = float(value).is_integer()
    if ok:
        ok = math.isfinite(value) and (value > 0 if low_open else value >= low) and value <= high
    if not ok:
        bound = f"> 0 and <= {high:g}" if low_open else f"between {low:g} and {high:g}"
        raise SettingsError(f"{_label(name)} must be {kind} {bound}. Received: {value!r}")
    return int(value) if integer else float(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingsError(f"{_label(name)} must be one of {', '.join(choices)}. Received: {value!r}")
    return value


def parse_settings(raw: Any, base: Settings | None = None) -> Settings:
    """Check the page's settings (a dict; keys left out keep ``base``'s values) and return them.

    Raises SettingsError naming the first bad setting, what it must be and what came.
    """
    base = base or Settings()
    if not isinstance(raw, dict):
        raise SettingsError(f"settings must be a JSON object. Received: {type(raw).__name__}")
    known = {f.name for f in fields(Settings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]!r}. Expected some of: {', '.join(sorted(known))}")
    v = {**base.to_dict(), **raw}
    out: dict[str, Any] = {
        "dataset": _choice("dataset", v["dataset"], DATASETS),
        "points": _number("points", v["points"], True),
        "noise": _number("noise", v["noise"], False),
        "train_fraction": _number("train_fraction", v["train_fraction"], False),
        "seed": _number("seed", v["seed"], True),
        "model": _choice("model", v["model"], MODELS),
        "activation": _choice("activation", v["activation"], ACTIVATIONS),
        "problem": _choice("problem", v["problem"], PROBLEMS),
        "optimizer": _choice("optimizer", v["optimizer"], OPTIMIZERS),
        "lr": _number("lr", v["lr"], False, low_open=True),
        "batch_size": _number("batch_size", v["batch_size"], True),
        "regularization": _choice("regularization", v["regularization"], REGULARIZATIONS),
        "reg_rate": _number("reg_rate", v["reg_rate"], False),
        "dropout": _number("dropout", v["dropout"], False),
        "epochs_per_frame": _number("epochs_per_frame", v["epochs_per_frame"], True),
    }
    feats = v["features"]
    if not isinstance(feats, list) or not feats or any(f not in FEATURES for f in feats):
        raise SettingsError(f"features must be a non-empty list of {', '.join(FEATURES)}. Received: {feats!r}")
    out["features"] = tuple(f for f in FEATURES if f in feats)  # the page's order does not matter
    hidden = v["hidden"]
    low, high = LIMITS["layers"]
    if not isinstance(hidden, list) or len(hidden) > high:
        raise SettingsError(f"hidden must be a list of at most {high} layer sizes. Received: {hidden!r}")
    out["hidden"] = tuple(_number("units", n, True) for n in hidden)
    if out["model"] == "perceptron" and out["problem"] != "classification":
        raise SettingsError("the perceptron classifies: choose the classification problem for it. "
                            f"Received: problem={out['problem']!r}")
    return Settings(**out)
