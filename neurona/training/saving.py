"""Saving and loading models: one ``.neurona`` file, no pickle anywhere, atomic writes.

A ``.neurona`` file is a zip archive holding

* ``neurona.json``: the format name and version, the neurona version, the architecture
  (``serialize_layer(model)``: class names and constructor arguments, as JSON), the
  input shape, and optionally the compile settings and the optimizer's scalar state;
* ``weights.npz``: every parameter and buffer, keyed by its dotted path;
* ``optimizer.npz`` (``include_optimizer=True``): the optimizer's per-parameter arrays.

Loading (``model_file``) parses JSON and reads the ``.npy`` arrays itself, never a pickle,
checking every declared size against the archive and the architecture before anything is
decompressed, allocated or built; layer classes are looked up among Module subclasses only.
A damaged or hostile file is a ``ModelFileError`` naming the file and the problem.
Writes stream each array into a temporary file in the same directory (no second copy of the
weights in memory), then ``os.replace``: a crash leaves the old file or none, never half a file
(see ``neurona.files.atomic_write`` for links, permissions and full disks).
"""

from __future__ import annotations

import inspect
import json
import os
import zipfile
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from .. import backend, optim
from .. import metrics as M
from ..files import atomic_write
from ..losses import deserialize_loss, serialize_loss
from ..nn.module import Module, WeightBudgetError, deserialize_layer, serialize_layer, weight_budget
from .model_file import (
    MANIFEST,
    WEIGHT_DTYPES,
    ModelFileError,
    build_memory_limit,
    check_architecture,
    check_format,
    check_input_shape,
    check_regular_file,
    read_archive,
    read_npz_file,
)

FORMAT = "neurona-model"
FORMAT_VERSION = 1
_EPOCH = (1980, 1, 1, 0, 0, 0)  # every member's timestamp: the same model gives the same bytes

__all__ = ["ModelFileError", "load_model", "load_weights", "read_archive", "save_model", "save_weights",
           "write_archive"]


# ---------------------------------------------------------------- files and archives
def _checked(key: str, a: Any) -> np.ndarray:
    a = np.asarray(backend.to_numpy(a))
    if a.dtype.kind not in "biuf":  # object arrays would need pickle
        raise TypeError(f"cannot save {key!r}: arrays must hold numbers. Received: dtype={a.dtype}")
    return a


def _write_npy(f: IO[bytes], a: np.ndarray, chunk: int = 1 << 20) -> None:
    """``a`` in .npy format, its bytes written straight from the array in 1 MB slices (no copy)."""
    a = np.ascontiguousarray(a)  # parameters already are: no copy
    header = np.lib.format.header_data_from_array_1_0(a)
    try:
        np.lib.format.write_array_header_1_0(f, header)
    except ValueError:  # a header over 64 KB
        np.lib.format.write_array_header_2_0(f, header)
    data = memoryview(a.reshape(-1)).cast("B") if a.size else memoryview(b"")
    for start in range(0, len(data), chunk):
        f.write(data[start:start + chunk])


def _write_npz(f: IO[bytes], arrays: Any) -> None:
    """An npz archive of ``arrays`` ({key: array} or (key, array) pairs) streamed into ``f``, one array
    at a time: no copy of the weights in memory."""
    items = arrays.items() if isinstance(arrays, dict) else arrays
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
        for key, a in items:
            a = _checked(key, a)
            with z.open(zipfile.ZipInfo(f"{key}.npy", _EPOCH), "w", force_zip64=True) as member:
                _write_npy(member, a)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} as JSON: {value!r}")


def write_archive(path: str | os.PathLike, manifest: dict[str, Any], blobs: dict[str, Any]) -> None:
    """An atomic zip of ``neurona.json`` plus one npz per entry of ``blobs`` ({key: array} or an iterable
    of (key, array) pairs), each array streamed to the file as it is written."""
    text = json.dumps(manifest, default=_json_default, indent=1)
    for name, arrays in blobs.items():
        if isinstance(arrays, dict):
            for key, a in arrays.items():
                _checked(f"{name}/{key}", a)  # refuse before the file is touched

    def write(f: Any) -> None:
        with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as z:
            z.writestr(zipfile.ZipInfo(MANIFEST, _EPOCH), text)
            for name, arrays in blobs.items():
                with z.open(zipfile.ZipInfo(f"{name}.npz", _EPOCH), "w", force_zip64=True) as member:
                    _write_npz(member, arrays)

    atomic_write(path, write)


def weights_of(model: Module) -> Iterator[tuple[str, Any]]:
    """(dotted path, array) of every parameter and buffer, as ``state_dict`` names them but without copies."""
    for k, p in model.named_parameters():
        yield k, p.data
    for k, b in model.named_buffers():
        if b is not None:
            yield k, b


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
    config = spec.get("config") or {}
    if not isinstance(config, dict):
        raise ModelFileError(f"the {name} optimizer's config must be a JSON object. Received: {config!r}"[:300])
    config = dict(config)
    for key, value in config.items():
        if isinstance(value, dict) and "schedule" in value:
            config[key] = optim.get_schedule(value["schedule"], custom_objects)
        elif not (_number(value) or (isinstance(value, list) and all(map(_number, value)))):
            raise ModelFileError(f"the {name} optimizer's {key}={value!r} is not a number"[:300])
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


def _number(value: Any) -> bool:
    """A JSON scalar a hyperparameter may be: a number, a flag or None."""
    return value is None or isinstance(value, (bool, int, float))


def load_optimizer_state(opt: optim.Optimizer, meta: Any, arrays: dict[str, np.ndarray], path: str = "") -> None:
    """Put ``optimizer_state``'s (meta, arrays) back into ``opt``; a malformed state is a ModelFileError."""
    where = f"{path}: " if path else ""
    try:
        steps, groups, iterations = meta["steps"], meta["param_groups"], meta["iterations"]
        if not (isinstance(steps, dict) and isinstance(groups, list) and type(iterations) is int):  # noqa: E721
            raise TypeError("expected steps {index: step}, a list of param_groups and an integer iterations")
        state: dict[int, dict[str, Any]] = {}
        for i, step in steps.items():
            if type(step) is not int:  # noqa: E721
                raise TypeError(f"step of parameter {i} is {step!r}")
            state[int(i)] = {"step": step}
        for key, value in arrays.items():
            index, name = key.split("/", 1)
            state[int(index)][name] = value
        for g in groups:
            if not isinstance(g, dict) or not all(
                    (isinstance(v, list) and all(type(i) is int for i in v)) if k == "params"  # noqa: E721
                    else _number(v) or (isinstance(v, list) and all(map(_number, v))) for k, v in g.items()):
                raise TypeError(f"a parameter group holds something other than numbers: {g!r}"[:300])
        groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in groups]
        opt.load_state_dict({"state": state, "param_groups": groups, "iterations": iterations})
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        raise ModelFileError(f"{where}the optimizer state does not fit this optimizer "
                             f"({type(exc).__name__}: {exc})") from None


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
    blobs: dict[str, Any] = {"weights": weights_of(model)}
    trainer = model.__dict__.get("_trainer")
    if trainer is not None:
        loss = serialize_loss(trainer.loss)
        compiled = {"loss": loss, "metrics": _metric_specs(trainer.metric_specs),
                    "weighted_metrics": _metric_specs(trainer.weighted_specs)}
        try:
            compiled["optimizer"] = serialize_optimizer(trainer.optimizer)
        except TypeError:
            if include_optimizer:
                raise
        if include_optimizer:
            trainer.sync_parameters()  # a model built after compile (by predict, say) without a step yet
            meta, arrays = optimizer_state(trainer.optimizer)
            manifest["optimizer_state"] = meta
            blobs["optimizer"] = arrays
        manifest["compile"] = compiled
    write_archive(path, manifest, blobs)


_METRIC_ATTRIBUTES = {"thresholds": "threshold"}  # a constructor argument -> the attribute that keeps it


def _metric_specs(specs: list[Any]) -> list[Any]:
    """Compiled metrics as JSON: a name as is; a Metric object as {"class", "config"} (its name and
    constructor arguments, so ``TruePositives(name="tp")`` comes back as itself); a function by its name."""
    out: list[Any] = []
    for m in specs:
        if isinstance(m, str):
            out.append(m)
        elif isinstance(m, M.Metric) and not isinstance(m, M.FunctionMetric):
            config: dict[str, Any] = {"name": m.name}
            for arg in inspect.signature(type(m).__init__).parameters:
                value = getattr(m, _METRIC_ATTRIBUTES.get(arg, arg), None)
                if arg not in ("self", "name", "task") and isinstance(value, (bool, int, float, str)):
                    config[arg] = value
            out.append({"class": type(m).__name__, "config": config})
        elif getattr(m, "name", None) or getattr(m, "__name__", None):
            out.append(getattr(m, "name", None) or m.__name__)
    return out


def _metrics_from_specs(specs: Any) -> list[Any] | None:
    """The metrics ``_metric_specs`` wrote: names, and Metric classes of ``neurona.metrics`` rebuilt."""
    if not specs:
        return None
    if not isinstance(specs, list):
        raise ValueError(f"metrics must be a list. Received: {type(specs).__name__}")
    out = []
    for spec in specs:
        if isinstance(spec, dict):
            cls = getattr(M, str(spec.get("class")), None)
            if not (isinstance(cls, type) and issubclass(cls, M.Metric)) or not isinstance(spec.get("config"), dict):
                raise ValueError(f"unknown metric {spec!r}")
            spec = cls(**spec["config"])
        out.append(spec)
    return out


def _build_dtype(weights: dict[str, np.ndarray]) -> Any:
    """float64 when every saved array is float64 (a float64 model comes back float64), float32 when every
    one is float32, else the current default."""
    kinds = {a.dtype.newbyteorder("=") for a in weights.values()}
    return kinds.pop() if len(kinds) == 1 else backend.get_default_dtype()


def rebuild(path: str, manifest: dict[str, Any], weights: dict[str, np.ndarray],
            custom_objects: dict[str, Any] | None = None) -> Module:
    """The model a checked manifest describes, built and holding ``weights``; any problem is a ModelFileError."""
    if "model" not in manifest:
        raise ModelFileError(f"{path} is damaged: it has no architecture (the 'model' entry)")
    check_architecture(path, manifest["model"], custom_objects)
    shape = check_input_shape(path, manifest.get("input_shape"))
    for key, a in weights.items():
        if a.dtype.newbyteorder("=") not in WEIGHT_DTYPES:
            raise ModelFileError(f"{path}: weight {key!r} is {a.dtype}; expected float32 or float64")
    budget = sum(a.nbytes for a in weights.values())
    rng = backend.get_rng_state()  # building draws initial weights: leave the user's random stream as it was
    default = backend.get_default_dtype()
    backend.set_default_dtype(_build_dtype(weights))
    cap = None
    try:
        with weight_budget(budget), build_memory_limit(budget) as cap:
            model = deserialize_layer(manifest["model"], custom_objects)
            if not model.built:
                model.build((None,) + shape)
    except ModelFileError:
        raise
    except WeightBudgetError as exc:
        raise ModelFileError(f"{path}: the architecture asks for more weights than the file holds ({budget} bytes): "
                             f"{exc}") from None
    except MemoryError:
        limit = ("than is available" if cap is None else
                 f"than neurona allows for a file whose weights take {budget} bytes (twice that plus 1 GB)")
        raise ModelFileError(f"{path}: building its architecture on one sample of shape {shape} needs more memory "
                             f"{limit}; refused") from None
    except RecursionError:
        raise ModelFileError(f"{path}: the architecture is nested too deeply to build") from None
    except Exception as exc:  # the file's JSON drives constructors and build(): any failure is the file's
        raise ModelFileError(f"{path}: the architecture cannot be rebuilt ({type(exc).__name__}: {exc})") from exc
    finally:
        backend.set_default_dtype(default)
        backend.set_rng_state(rng)
    expected = {k: tuple(v.shape) for k, v in weights_of(model)}
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if expected != found:
        problems = [f"{k} has shape {found[k]} but the architecture needs {expected[k]}"
                    for k in expected if k in found and found[k] != expected[k]]
        problems += [f"{k} is missing" for k in expected if k not in found]
        problems += [f"{k} is not in the architecture" for k in found if k not in expected]
        raise ModelFileError(f"{path}: the weights do not fit the architecture: " + "; ".join(problems[:5])
                             + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    model.load_state_dict(weights)
    return model


def load_model(path: str | os.PathLike, custom_objects: dict[str, Any] | None = None,
               compile: bool = True) -> Module:  # noqa: A002
    """Rebuild a model saved by ``model.save(path)``: same architecture and weights (same predictions,
    bit for bit, float64 models as float64), compiled with the saved optimizer state when it was saved compiled.

    ``custom_objects`` maps class names to your own layer, loss or optimizer classes. A damaged or
    hostile file raises ``ModelFileError`` naming the file and the problem (see ``model_file``).
    """
    path = os.fspath(path)
    manifest, blobs = read_archive(path)
    check_format(path, manifest, FORMAT, FORMAT_VERSION)
    if "weights" not in blobs:
        raise ModelFileError(f"{path} is damaged: it lacks the weights (weights.npz)")
    model = rebuild(path, manifest, blobs["weights"], custom_objects)
    metadata = manifest.get("metadata")
    model.__dict__["metadata"] = dict(metadata) if isinstance(metadata, dict) else {}
    compiled = manifest.get("compile")
    if compile and compiled:
        from .trainer import compile_model

        if not isinstance(compiled, dict):
            raise ModelFileError(f"{path} is damaged: its compile settings are not a JSON object")
        try:
            opt = (deserialize_optimizer(compiled["optimizer"], custom_objects) if "optimizer" in compiled
                   else "adam")
            loss = deserialize_loss(compiled.get("loss"), custom_objects)
            compile_model(model, opt, loss, _metrics_from_specs(compiled.get("metrics")),
                          _metrics_from_specs(compiled.get("weighted_metrics")))
        except ModelFileError as exc:
            raise ModelFileError(f"{path}: {exc} (or load_model(path, compile=False) for the model alone)") from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ModelFileError(f"{path}: the compile settings cannot be restored ({type(exc).__name__}: {exc}); "
                                 "load_model(path, compile=False) loads the model alone") from None
        if manifest.get("optimizer_state") is not None:
            load_optimizer_state(model.optimizer, manifest["optimizer_state"], blobs.get("optimizer", {}), path)
    return model


def save_weights(model: Module, path: str | os.PathLike) -> None:
    """Write the parameters and buffers to exactly ``path`` as an npz archive (atomic, streamed)."""
    if next(weights_of(model), None) is None:
        raise ValueError(f"save_weights: model '{model.name}' has no weights yet; build it first")
    atomic_write(path, lambda f: _write_npz(f, weights_of(model)))


def load_weights(model: Module, path: str | os.PathLike) -> None:
    """Load weights from ``save_weights``'s npz or from a ``.neurona`` model file into a built model."""
    path = os.fspath(path)
    check_regular_file(path, "weights")
    try:
        with zipfile.ZipFile(path) as z:
            is_model = MANIFEST in z.namelist()
    except zipfile.BadZipFile:
        raise ModelFileError(f"{path} is not a weights file (npz) nor a neurona model file") from None
    if is_model:
        manifest, blobs = read_archive(path, blobs={"weights": "f"})
        check_format(path, manifest, FORMAT, FORMAT_VERSION)
        state = blobs.get("weights")
        if state is None:
            raise ModelFileError(f"{path} is damaged: it holds no weights")
    else:
        state = read_npz_file(path, "f")
    model.load_state_dict(state)
