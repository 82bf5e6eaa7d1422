"""Saving and loading models: one ``.neurona`` file, no pickle anywhere, atomic writes.

A ``.neurona`` file is a zip archive holding

* ``neurona.json``: the format name and version, the neurona version, the architecture
  (``serialize_layer(model)``: class names and constructor arguments, as JSON), the
  input shape, and optionally the compile settings and the optimizer's scalar state;
* ``weights.npz``: every parameter and buffer, keyed by its dotted path;
* ``optimizer.npz`` (``include_optimizer=True``): the optimizer's per-parameter arrays.

Loading parses JSON and reads arrays with ``np.load(allow_pickle=False)``, so a hostile
file cannot run code; layer classes are looked up among Module subclasses only.
Writes go to a temporary file in the same directory, then ``os.replace``: a crash
leaves the old file or none, never half a file.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import numpy as np

from .. import backend, optim
from ..files import atomic_write
from ..losses import deserialize_loss, serialize_loss
from ..nn.module import Module, deserialize_layer, serialize_layer

FORMAT = "neurona-model"
FORMAT_VERSION = 1
MANIFEST = "neurona.json"


class ModelFileError(ValueError):
    """A file that is not a neurona model, is damaged, or comes from a newer neurona."""


# ---------------------------------------------------------------- files and archives
def _npz_bytes(arrays: dict[str, Any]) -> bytes:
    clean = {}
    for k, a in arrays.items():
        a = np.asarray(backend.to_numpy(a))
        if a.dtype.kind not in "biuf":  # object arrays would need pickle
            raise TypeError(f"cannot save {k!r}: arrays must hold numbers. Received: dtype={a.dtype}")
        clean[k] = a
    buf = io.BytesIO()
    np.savez(buf, **clean)
    return buf.getvalue()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} as JSON: {value!r}")


def write_archive(path: str | os.PathLike, manifest: dict[str, Any], blobs: dict[str, dict[str, Any]]) -> None:
    """An atomic zip of ``neurona.json`` plus one npz per entry of ``blobs``."""
    text = json.dumps(manifest, default=_json_default, indent=1)
    payload = {f"{name}.npz": _npz_bytes(arrays) for name, arrays in blobs.items()}

    def write(f: Any) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr(MANIFEST, text)
            for name, data in payload.items():
                z.writestr(name, data)

    atomic_write(path, write)


def read_archive(path: str | os.PathLike, what: str = "neurona model") -> tuple[dict[str, Any], dict[str, Any]]:
    """(manifest, {blob name: {key: array}}) from ``write_archive``'s file, with clear errors."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if MANIFEST not in names:
                raise ModelFileError(f"{path} is not a {what} file (no {MANIFEST} inside)")
            manifest = json.loads(z.read(MANIFEST).decode("utf-8"))
            blobs = {}
            for name in names - {MANIFEST}:
                if name.endswith(".npz"):
                    with np.load(io.BytesIO(z.read(name)), allow_pickle=False) as npz:
                        blobs[name[:-4]] = {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise
    except ModelFileError:
        raise
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{path} is not a {what} file, or it is damaged ({exc})") from None
    except (ValueError, OSError, KeyError, EOFError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path} is damaged and cannot be read ({type(exc).__name__}: {exc})") from None
    if not isinstance(manifest, dict):
        raise ModelFileError(f"{path} is not a {what} file ({MANIFEST} is not a JSON object)")
    return manifest, blobs


def _check_manifest(path: str, manifest: dict[str, Any], kind: str = FORMAT) -> None:
    from .. import __version__

    if manifest.get("format") != kind:
        raise ModelFileError(f"{path} is not a {kind} file (format {manifest.get('format')!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{path} is damaged: its format version is {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written in format version {version} by neurona {manifest.get('neurona_version', '?')}; "
            f"this neurona ({__version__}) reads format versions up to {FORMAT_VERSION}: upgrade neurona to load it"
        )


# ---------------------------------------------------------------- optimizer state
def serialize_optimizer(opt: optim.Optimizer) -> dict[str, Any]:
    """{"class", "config"}: the constructor arguments (a schedule as ``{"schedule": serialize_schedule(...)}``)."""
    config = {}
    for key, value in opt.defaults.items():
        if callable(value):
            try:
                value = {"schedule": optim.serialize_schedule(value)}
            except TypeError:
                raise TypeError(f"cannot save {type(opt).__name__}'s {key}={value!r}: only schedules from "
                                "neurona.optim can be saved; save with include_optimizer=False") from None
        config[key] = value
    return {"class": type(opt).__name__, "config": config}


def deserialize_optimizer(spec: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> optim.Optimizer:
    name = spec.get("class")
    cls = (custom_objects or {}).get(name) or getattr(optim, str(name), None)
    if not (isinstance(cls, type) and issubclass(cls, optim.Optimizer)):
        raise ModelFileError(f"unknown optimizer class {name!r}: pass custom_objects={{{name!r}: ...}}")
    config = dict(spec.get("config") or {})
    for key, value in config.items():
        if isinstance(value, dict) and "schedule" in value:
            config[key] = optim.get_schedule(value["schedule"], custom_objects)
    return cls(**config)


def optimizer_state(opt: optim.Optimizer) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The optimizer's state_dict split into JSON (steps, hyperparameters) and arrays."""
    sd = opt.state_dict()
    arrays, steps = {}, {}
    for index, entry in sd["state"].items():
        steps[str(index)] = int(entry["step"])
        for name, value in entry.items():
            if name != "step":
                arrays[f"{index}/{name}"] = value
    return {"param_groups": sd["param_groups"], "iterations": sd["iterations"], "steps": steps}, arrays


def load_optimizer_state(opt: optim.Optimizer, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    state: dict[int, dict[str, Any]] = {int(i): {"step": s} for i, s in meta["steps"].items()}
    for key, value in arrays.items():
        index, name = key.split("/", 1)
        state[int(index)][name] = value
    groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in meta["param_groups"]]
    opt.load_state_dict({"state": state, "param_groups": groups, "iterations": meta["iterations"]})


# ---------------------------------------------------------------- models
def _architecture(model: Module) -> dict[str, Any]:
    try:
        return serialize_layer(model)
    except NotImplementedError:
        name = type(model).__name__
        raise TypeError(
            f"{name} is a subclassed Module: its architecture is Python code, which a .neurona file does not store. "
            f"Save its weights with model.save_weights(path) and load them into a new {name}() with "
            "model.load_weights(path) (or give the class get_config/from_config)"
        ) from None


def save_model(model: Module, path: str | os.PathLike, include_optimizer: bool = True,
               metadata: dict[str, Any] | None = None) -> None:
    """Write ``model`` to exactly ``path`` (conventionally ``*.neurona``); see the module docstring.

    ``metadata`` (JSON-friendly) is stored as is and comes back as ``model.metadata``."""
    from .. import __version__

    if not model.built or model.input_shape is None:
        raise ValueError(f"save: model '{model.name}' is not built yet; call it on a batch, fit it, or "
                         "model.build(input_shape) first")
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "neurona_version": __version__,
        "model": _architecture(model), "input_shape": list(model.input_shape[1:]),
        "compile": None, "optimizer_state": None, "metadata": dict(metadata or {}),
    }
    blobs: dict[str, dict[str, Any]] = {"weights": model.state_dict()}
    trainer = model.__dict__.get("_trainer")
    if trainer is not None:
        loss = serialize_loss(trainer.loss)
        metrics = [m if isinstance(m, str) else getattr(m, "name", None) for m in trainer.metric_specs]
        compiled = {"loss": loss, "metrics": [m for m in metrics if m]}
        try:
            compiled["optimizer"] = serialize_optimizer(trainer.optimizer)
        except TypeError:
            if include_optimizer:
                raise
        if include_optimizer:
            meta, arrays = optimizer_state(trainer.optimizer)
            manifest["optimizer_state"] = meta
            blobs["optimizer"] = arrays
        manifest["compile"] = compiled
    write_archive(path, manifest, blobs)


def load_model(path: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
               compile: bool = True) -> Module:  # noqa: A002
    """Rebuild a model saved by ``model.save(path)``: same architecture and weights (same predictions,
    bit for bit), compiled with the saved optimizer state when it was saved compiled.

    ``custom_objects`` maps class names to your own layer, loss or optimizer classes.
    """
    path = os.fspath(path)
    manifest, blobs = read_archive(path)
    _check_manifest(path, manifest)
    if "model" not in manifest or "weights" not in blobs:
        raise ModelFileError(f"{path} is damaged: it lacks the architecture or the weights")
    try:
        model = deserialize_layer(manifest["model"], custom_objects)
    except (TypeError, KeyError) as exc:
        raise ModelFileError(f"{path}: the architecture cannot be rebuilt ({exc})") from None
    if not model.built:
        state = backend.get_rng_state()  # building draws initial weights: leave the user's random stream as it was
        model.build((None,) + tuple(int(s) for s in manifest["input_shape"]))
        backend.set_rng_state(state)
    model.load_state_dict(blobs["weights"])
    model.__dict__["metadata"] = dict(manifest.get("metadata") or {})
    compiled = manifest.get("compile")
    if compile and compiled:
        from .trainer import compile_model

        opt = deserialize_optimizer(compiled["optimizer"], custom_objects) if "optimizer" in compiled else "adam"
        try:
            loss = deserialize_loss(compiled["loss"], custom_objects)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc} (or load_model(path, compile=False) for the model alone)") from None
        compile_model(model, opt, loss, compiled.get("metrics") or None)
        if manifest.get("optimizer_state") is not None:
            load_optimizer_state(model.optimizer, manifest["optimizer_state"], blobs.get("optimizer", {}))
    return model


def save_weights(model: Module, path: str | os.PathLike) -> None:
    """Write the parameters and buffers to exactly ``path`` as an npz archive (atomic)."""
    state = model.state_dict()
    if not state:
        raise ValueError(f"save_weights: model '{model.name}' has no weights yet; build it first")
    data = _npz_bytes(state)
    atomic_write(path, lambda f: f.write(data))


def load_weights(model: Module, path: str | os.PathLike) -> None:
    """Load weights from ``save_weights``'s npz or from a ``.neurona`` model file into a built model."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as z:
            is_model = MANIFEST in z.namelist()
    except zipfile.BadZipFile:
        raise ModelFileError(f"{path} is not a weights file (npz) nor a neurona model file") from None
    if is_model:
        manifest, blobs = read_archive(path)
        _check_manifest(path, manifest)
        state = blobs.get("weights")
        if state is None:
            raise ModelFileError(f"{path} is damaged: it holds no weights")
    else:
        try:
            with np.load(path, allow_pickle=False) as npz:
                state = {k: npz[k] for k in npz.files}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
            raise ModelFileError(f"{path} is damaged and cannot be read ({type(exc).__name__}: {exc})") from None
    model.load_state_dict(state)
