"""``BackupAndRestore``: survive an interrupted ``fit`` and resume it bit for bit.

At the end of every epoch the callback writes (atomically) everything the next
epoch depends on: the weights and buffers, the optimizer's state (moments, step
counts, learning rates; a schedule follows from the step count), neurona's CPU
random generator (so the next permutation, dropout masks and noise are the ones
the uninterrupted run would draw), the state of the other callbacks (early
stopping's patience, reduce-on-plateau's best value, the history so far) and the
hard-example sampler's losses. Rerunning the same script with the same ``fit``
call finds the backup, restores it and continues at the next epoch; the final
weights equal those of a run that was never interrupted. The backup is deleted
when training ends normally. (The GPU generator is not saved.)

>>> model.fit(x, y, epochs=50, callbacks=[nr.callbacks.BackupAndRestore("backup/")])
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

import numpy as np

from .. import backend
from ..nn.module import serialize_layer
from .callback import Callback
from .model_file import ModelFileError, check_format, read_archive
from .saving import (
    FORMAT_VERSION,
    load_optimizer_state,
    optimizer_state,
    serialize_optimizer,
    weights_of,
    write_archive,
)

FORMAT = "neurona-backup"
FILENAME = "training_state.neurona-backup"
_BLOBS = {"weights": "f", "optimizer": "f", "callbacks": "biuf"}


def _split(obj: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    """JSON-friendly copy of obj with every array moved into ``arrays`` (replaced by {"__array__": key})."""
    if isinstance(obj, np.ndarray) or hasattr(obj, "__cuda_array_interface__"):
        arrays[key] = backend.to_numpy(obj)
        return {"__array__": key}
    if isinstance(obj, dict):
        return {str(k): _split(v, f"{key}/{k}", arrays) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_split(v, f"{key}/{i}", arrays) for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _join(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return arrays[obj["__array__"]]
        return {k: _join(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join(v, arrays) for v in obj]
    return obj


def callback_keys(callbacks: list[Any]) -> list[str]:
    """Each callback's identity: its class name, with its ``name`` when it has one, and ``#2``, ``#3``...
    for the second and later callbacks of one identity. It does not depend on the callbacks' positions
    (which change with ``verbose``), so a resumed fit finds each state its callback."""
    keys, seen = [], {}
    for cb in callbacks:
        name = getattr(cb, "name", None)
        base = type(cb).__name__ + (f"[{name}]" if isinstance(name, str) else "")
        seen[base] = seen.get(base, 0) + 1
        keys.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return keys


def _saved_states(saved: Any) -> dict[str, Any]:
    """{identity: {"class", "state"}}; backups written before identities were kept a list in position order."""
    if isinstance(saved, dict):
        return saved
    entries = [e for e in saved or [] if isinstance(e, dict)]
    return {k: e for k, e in zip(callback_keys([type(e["class"], (), {})() for e in entries]), entries)}


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _without_names(spec: Any) -> Any:
    """An architecture with the layers' automatic names left out (they differ between two processes)."""
    if isinstance(spec, dict):
        return {k: _without_names(v) for k, v in spec.items() if k != "name"}
    if isinstance(spec, list):
        return [_without_names(v) for v in spec]
    return spec


def _first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{where}{k} is {a.get(k, 'absent')!r} in the backup and {b.get(k, 'absent')!r} now"
            found = _first_difference(a[k], b[k], f"{where}{k}.")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where.rstrip('.')} has {len(a)} entries in the backup and {len(b)} now"
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{where}{i}.")
            if found:
                return found
        return None
    return None if a == b else f"{where.rstrip('.')} is {a!r} in the backup and {b!r} now"


def _architecture(model: Any) -> Any:
    try:
        return _plain(_without_names(serialize_layer(model)))
    except (NotImplementedError, TypeError):  # a subclassed model: its weights' shapes stand for it
        return None


def _optimizer_spec(opt: Any) -> dict[str, Any]:
    try:
        return _plain(serialize_optimizer(opt))
    except TypeError:  # a hand-written schedule: only the class can be compared
        return {"class": type(opt).__name__, "config": None}


class BackupAndRestore(Callback):
    """Back up the training state to ``backup_dir`` after each epoch; resume from it when fit is rerun.

    It runs after the other callbacks in each hook (``fit`` moves it last), so the state it
    saves includes what they changed at that epoch's end. Each callback's state is matched by
    its identity (class and name), whatever the verbosity; a saved state with no callback to
    take it is reported with a warning. A backup written by another architecture or optimizer
    is refused with a message saying what differs.
    """

    order_last = True

    def __init__(self, backup_dir: str, delete_checkpoint: bool = True) -> None:
        super().__init__()
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint = delete_checkpoint
        self.path = os.path.join(self.backup_dir, FILENAME)
        self.resumed_from: int | None = None
        self._optimizer_at_start: dict[str, Any] | None = None

    def _others(self) -> list[Callback]:
        return [cb for cb in self.params.get("callbacks", []) if cb is not self]

    def _mismatch(self, what: str, difference: str) -> ValueError:
        return ValueError(
            f"BackupAndRestore: {self.path} was written by a training run with a different {what}: {difference}. "
            f"To resume, run the same model and optimizer as the interrupted run; to start over, delete "
            f"{self.backup_dir} (or give BackupAndRestore another backup_dir)")

    def _check_same_run(self, manifest: dict[str, Any], weights: dict[str, np.ndarray]) -> None:
        saved, now = manifest.get("architecture"), _architecture(self.model)
        if saved is not None and now is not None and (diff := _first_difference(saved, now)):
            raise self._mismatch("architecture", diff)
        mine = {k: tuple(v.shape) for k, v in self.model.state_dict().items()}
        found = {k: tuple(v.shape) for k, v in weights.items()}
        if mine != found:
            diff = next((f"{k} has shape {found[k]} in the backup and {mine[k]} now" for k in mine
                         if k in found and found[k] != mine[k]), None)
            diff = diff or f"the backup's weights are {sorted(found)[:6]}, the model's {sorted(mine)[:6]}"
            raise self._mismatch("architecture", diff)
        now_opt = _optimizer_spec(self.model._trainer.optimizer)
        specs = [s for s in (manifest.get("optimizer_at_start"), manifest.get("optimizer_at_end")) if s]
        if specs and now_opt not in specs:
            raise self._mismatch("optimizer", _first_difference(specs[0], now_opt) or "its settings differ")

    def on_train_begin(self, logs=None):
        self.resumed_from = None
        trainer = self.model._trainer
        self._optimizer_at_start = _optimizer_spec(trainer.optimizer)
        if not os.path.exists(self.path):
            return
        manifest, blobs = read_archive(self.path, "neurona training backup", _BLOBS)
        check_format(self.path, manifest, FORMAT, FORMAT_VERSION)
        if "weights" not in blobs:
            raise ModelFileError(f"{self.path} is damaged: it holds no weights")
        self._check_same_run(manifest, blobs["weights"])
        self._optimizer_at_start = manifest.get("optimizer_at_start") or self._optimizer_at_start
        try:
            self.model.load_state_dict(blobs["weights"])
            load_optimizer_state(trainer.optimizer, manifest["optimizer"], blobs.get("optimizer", {}), self.path)
            backend.set_rng_state(manifest["rng"])
            extra = blobs.get("callbacks", {})
            saved = dict(_saved_states(manifest.get("callbacks")))
            for key, cb in zip(callback_keys(self._others()), self._others()):
                entry = saved.pop(key, None)
                if entry is not None:
                    cb.set_state(_join(entry["state"], extra))
            for key in saved:
                warnings.warn(f"BackupAndRestore: {self.path} holds the state of a {key} callback, which this fit "
                              "does not have; that state is ignored", stacklevel=2)
            if manifest.get("sampler") is not None and getattr(trainer, "sampler", None) is not None:
                trainer.sampler.set_state(_join(manifest["sampler"], extra))
            self.resumed_from = int(manifest["epoch"]) + 1
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ModelFileError(f"{self.path} is damaged: the training state cannot be restored "
                                 f"({type(exc).__name__}: {exc})") from None
        trainer.start_epoch = self.resumed_from

    def on_epoch_end(self, epoch, logs=None):
        trainer = self.model._trainer
        opt_meta, opt_arrays = optimizer_state(trainer.optimizer)
        arrays: dict[str, np.ndarray] = {}
        states = {}
        for key, cb in zip(callback_keys(self._others()), self._others()):
            state = cb.get_state()
            if state is not None:
                states[key] = {"class": type(cb).__name__, "state": _split(state, f"cb/{key}", arrays)}
        sampler = getattr(trainer, "sampler", None)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "epoch": int(epoch),
            "optimizer": opt_meta, "rng": backend.get_rng_state(), "callbacks": states,
            "sampler": None if sampler is None else _split(sampler.get_state(), "sampler", arrays),
            "architecture": _architecture(self.model), "optimizer_at_start": self._optimizer_at_start,
            "optimizer_at_end": _optimizer_spec(trainer.optimizer),
        }
        os.makedirs(self.backup_dir, exist_ok=True)
        write_archive(self.path, manifest, {"weights": weights_of(self.model), "optimizer": opt_arrays,
                                            "callbacks": arrays})  # the weights streamed, not copied

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
            try:
                os.rmdir(self.backup_dir)  # only when empty: never delete the user's other files
            except OSError:
                pass
