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

import os
from typing import Any

import numpy as np

from .. import backend
from .callback import Callback
from .saving import FORMAT_VERSION, ModelFileError, load_optimizer_state, optimizer_state, read_archive, write_archive

FORMAT = "neurona-backup"
FILENAME = "training_state.neurona-backup"


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


class BackupAndRestore(Callback):
    """Back up the training state to ``backup_dir`` after each epoch; resume from it when fit is rerun.

    It runs after the other callbacks in each hook (``fit`` moves it last), so the state it
    saves includes what they changed at that epoch's end.
    """

    order_last = True

    def __init__(self, backup_dir: str, delete_checkpoint: bool = True) -> None:
        super().__init__()
        self.backup_dir = os.fspath(backup_dir)
        self.delete_checkpoint = delete_checkpoint
        self.path = os.path.join(self.backup_dir, FILENAME)
        self.resumed_from: int | None = None

    def _others(self) -> list[Callback]:
        return [cb for cb in self.params.get("callbacks", []) if cb is not self]

    def on_train_begin(self, logs=None):
        self.resumed_from = None
        if not os.path.exists(self.path):
            return
        manifest, blobs = read_archive(self.path, "neurona training backup")
        if manifest.get("format") != FORMAT or not isinstance(manifest.get("format_version"), int):
            raise ModelFileError(f"{self.path} is not a neurona training backup")
        if manifest["format_version"] > FORMAT_VERSION:
            raise ModelFileError(f"{self.path} was written in backup format version {manifest['format_version']}; "
                                 f"this neurona reads up to {FORMAT_VERSION}")
        trainer = self.model._trainer
        self.model.load_state_dict(blobs["weights"])
        load_optimizer_state(trainer.optimizer, manifest["optimizer"], blobs.get("optimizer", {}))
        backend.set_rng_state(manifest["rng"])
        extra = blobs.get("callbacks", {})
        saved = manifest.get("callbacks", [])
        for cb, entry in zip(self._others(), saved, strict=False):
            if entry is not None and entry["class"] == type(cb).__name__:
                cb.set_state(_join(entry["state"], extra))
        if manifest.get("sampler") is not None and getattr(trainer, "sampler", None) is not None:
            trainer.sampler.set_state(_join(manifest["sampler"], extra))
        self.resumed_from = int(manifest["epoch"]) + 1
        trainer.start_epoch = self.resumed_from

    def on_epoch_end(self, epoch, logs=None):
        trainer = self.model._trainer
        opt_meta, opt_arrays = optimizer_state(trainer.optimizer)
        arrays: dict[str, np.ndarray] = {}
        states = []
        for i, cb in enumerate(self._others()):
            state = cb.get_state()
            states.append(None if state is None else {"class": type(cb).__name__,
                                                      "state": _split(state, f"cb{i}", arrays)})
        sampler = getattr(trainer, "sampler", None)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "epoch": int(epoch),
            "optimizer": opt_meta, "rng": backend.get_rng_state(), "callbacks": states,
            "sampler": None if sampler is None else _split(sampler.get_state(), "sampler", arrays),
        }
        os.makedirs(self.backup_dir, exist_ok=True)
        write_archive(self.path, manifest, {"weights": self.model.state_dict(), "optimizer": opt_arrays,
                                            "callbacks": arrays})

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.path):
            os.remove(self.path)
            try:
                os.rmdir(self.backup_dir)  # only when empty: never delete the user's other files
            except OSError:
                pass
