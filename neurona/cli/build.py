"""The network a run trains: a zoo model or a JSON architecture, behind the input preprocessing."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np

from .. import models, nn
from .data import Dataset
from .errors import UserError, did_you_mean


def _augmentation() -> list[nn.Module]:
    """Small random rotations, shifts and zooms: label-preserving for digits and clothes alike."""
    return [nn.RandomRotation(0.05), nn.RandomTranslation(0.1, 0.1), nn.RandomZoom(0.1)]


def _config_layers(spec: str) -> list[nn.Module]:
    path = Path(spec)
    if not path.exists():
        raise UserError(f"--model {spec}: no such file")
    if not stat.S_ISREG(path.stat().st_mode):
        raise UserError(f"--model {spec}: not a regular file; expected a JSON model config")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        body = nn.deserialize_layer(config)
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        raise UserError(f"--model {spec}: cannot build the model config ({type(exc).__name__}: {exc})") from None
    return list(body.layers) if isinstance(body, nn.Sequential) else [body]


def outputs(ds: Dataset) -> int:
    """Output units: one per class, or one per regression target."""
    if ds.task == "regression":
        return 1 if ds.y_train.ndim == 1 else ds.y_train.shape[1]
    return len(ds.class_names)


def build_model(spec: str, ds: Dataset, augment: bool) -> nn.Sequential:
    """A zoo model by name, or the architecture in a JSON config file, behind the input preprocessing.

    Images are rescaled from 0..255; table columns are normalised with the training set's
    statistics; a regression model's output is scaled back to the target's mean and spread,
    so the saved model takes raw inputs and gives raw outputs.
    """
    input_shape = ds.x_train.shape[1:]
    if Path(spec).suffix == ".json":
        layers = _config_layers(spec)
    elif spec in models.available():
        if ds.kind == "table" and spec != "mlp":
            raise UserError(f"--model {spec} needs images; for a table use --model mlp")
        zoo = models.get(spec, input_shape, outputs(ds))
        layers = list(zoo.layers) if isinstance(zoo, nn.Sequential) else [zoo]  # a functional model: one layer
    else:
        raise UserError(f"--model {spec}: unknown model. Available: {', '.join(models.available())} "
                        "or a .json config." + did_you_mean(spec, models.available()))
    if ds.kind == "images":
        front: list[nn.Module] = [nn.Rescaling(1 / 255)] + (_augmentation() if augment else [])
    else:
        norm = nn.Normalization()
        norm.adapt(ds.x_train)
        front = [norm]
    back: list[nn.Module] = []
    if ds.task == "regression":
        mean, std = float(np.mean(ds.y_train)), float(np.std(ds.y_train))
        back = [nn.Rescaling(std if std > 0 else 1.0, mean)]
    model = nn.Sequential(front + layers + back, name=Path(spec).stem)
    try:
        model.build((None,) + tuple(input_shape))
    except (ValueError, TypeError) as exc:
        raise UserError(f"--model {spec} does not fit inputs of shape {tuple(input_shape)}: {exc}") from None
    return model
