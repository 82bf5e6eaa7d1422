"""Checkpoints for a hand-written (PyTorch-style) training loop, as the course's slides write it.

    for epoch in range(start, epochs):
        for inputs, labels in loader: ...
        nr.save_checkpoint(path, model, optimizer, epoch, best_loss=best)
    ...
    epoch, extra = nr.load_checkpoint(path, model, optimizer)   # resume at epoch + 1

One file (a zip, as ``.neurona`` files: ``neurona.json`` + npz members, no pickle), written
atomically (temporary file, then rename): a crash or a kill leaves the previous checkpoint.
It holds the weights and buffers, the optimizer's state, the epoch, the ``extra`` values, and
the random state: neurona's CPU generator (initialisation, dropout masks, noise and the
permutations of a ``DataLoader`` without a seed) and the generators of the loaders passed as
``loaders=`` (those built with ``seed=``). So a loop resumed from a checkpoint draws the same
numbers an uninterrupted run draws after that epoch, and ends with the same weights, bit for
bit, on the CPU. (The GPU generator's state is not saved: on a GPU, dropout after a resume
draws other masks.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..nn.module import Module
from ..optim import Optimizer
from .model_file import ModelFileError, check_format, read_archive
from .saving import load_optimizer_state, optimizer_state, weights_of, write_archive

FORMAT = "neurona-checkpoint"
FORMAT_VERSION = 1
FILENAME = "checkpoint.neurona"  # the file inside a checkpoint directory
_RESERVED = ("path", "model", "optimizer", "epoch", "loaders")

__all__ = ["load_checkpoint", "save_checkpoint"]


def checkpoint_file(path: str | os.PathLike) -> Path:
    """The file a checkpoint path names: ``path`` itself, or ``path/checkpoint.neurona`` for a directory."""
    p = Path(os.fspath(path))
    return p / FILENAME if p.is_dir() else p


def _loader_generators(loaders: Any) -> list[Any]:
    loaders = [loaders] if hasattr(loaders, "__iter__") and hasattr(loaders, "batch_size") else list(loaders)
    for i, loader in enumerate(loaders):
        if not hasattr(loader, "_gen"):
            raise TypeError(f"checkpoint: loaders must be neurona DataLoaders. Received: {type(loader).__name__} "
                            f"at position {i}")
    return [loader._gen for loader in loaders]


def _split_extra(extra: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Extra values as JSON, except arrays and tensors, which go into the npz member."""
    values, arrays = {}, {}
    for key, value in extra.items():
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
            arrays[key] = backend.to_numpy(value)
            continue
        try:
            json.dumps(value, allow_nan=True)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"save_checkpoint: extra value {key}={value!r} cannot be stored without pickle: expected "
                            f"numbers, strings, lists, dicts (JSON) or arrays ({exc})"[:400]) from None
        values[key] = value
    return values, arrays


def save_checkpoint(path: str | os.PathLike, model: Module, optimizer: Optimizer | None = None, epoch: int = 0, *,
                    loaders: Any = (), **extra: Any) -> Path:
    """Write model, optimizer, ``epoch`` (the one just finished), ``extra`` and the random state to ``path``.

    ``path``: a file (conventionally ``*.neurona``) or an existing directory (the file is then
    ``checkpoint.neurona`` in it). ``loaders``: DataLoaders with their own ``seed`` whose shuffling
    must resume too. ``extra``: JSON values or arrays (``best_loss=0.3``, ``history=[...]``).
    Returns the file written.

    >>> nr.save_checkpoint("run/ckpt.neurona", model, optimizer, epoch, best_accuracy=best)
    """
    if not isinstance(model, Module):
        raise TypeError(f"save_checkpoint(path, model, optimizer, epoch): model must be an nn.Module. "
                        f"Received: {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"save_checkpoint: optimizer must be a neurona optimizer or None. "
                        f"Received: {type(optimizer).__name__}")
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)):
        raise TypeError(f"save_checkpoint: epoch must be an integer. Received: epoch={epoch!r}")
    if not list(model.parameters()):
        raise ValueError(f"save_checkpoint: model '{model.name}' has no weights yet; call it on a batch or "
                         "model.build(input_shape) first")
    values, arrays = _split_extra(extra)
    opt_meta, opt_arrays = (None, {}) if optimizer is None else optimizer_state(optimizer)
    generators = _loader_generators(loaders)
    input_shape = model.__dict__.get("input_shape")
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "epoch": int(epoch),
        "input_shape": None if input_shape is None else list(input_shape[1:]),
        "optimizer_class": None if optimizer is None else type(optimizer).__name__,
        "optimizer": opt_meta,
        "rng": backend.get_rng_state(),
        "loaders": [None if g is None else g.bit_generator.state for g in generators],
        "extra": values, "extra_arrays": sorted(arrays),
    }
    target = checkpoint_file(path)
    write_archive(target, manifest, {"weights": weights_of(model), "optimizer": opt_arrays, "extra": arrays})
    return target


def load_checkpoint(path: Any, model: Any, optimizer: Any = None, *, loaders: Any = ()) -> tuple[int, dict[str, Any]]:
    """Restore what ``save_checkpoint`` wrote into ``model`` and ``optimizer`` (and the random state);
    returns ``(epoch, extra)``: the epoch saved (continue at ``epoch + 1``) and the extra values.

    The slides' argument order ``load_checkpoint(model, optimizer, checkpoint_dir)`` works too.
    A missing file is a FileNotFoundError: check ``os.path.exists`` to start afresh.

    >>> epoch, extra = nr.load_checkpoint("run/ckpt.neurona", model, optimizer)
    """
    if isinstance(path, Module):  # the slides' order: (model, optimizer, checkpoint_dir)
        path, model, optimizer = optimizer, path, model
    if not isinstance(model, Module):
        raise TypeError(f"load_checkpoint(path, model, optimizer): model must be an nn.Module. "
                        f"Received: {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"load_checkpoint: optimizer must be a neurona optimizer or None. "
                        f"Received: {type(optimizer).__name__}")
    file = checkpoint_file(path)
    if not file.exists():
        raise FileNotFoundError(f"load_checkpoint: no checkpoint at {file}")
    name = os.fspath(file)
    manifest, blobs = read_archive(name, "neurona checkpoint", {"weights": "f", "optimizer": "f", "extra": "biuf"})
    check_format(name, manifest, FORMAT, FORMAT_VERSION)
    saved_class = manifest.get("optimizer_class")
    if optimizer is not None and saved_class not in (None, type(optimizer).__name__):
        raise ValueError(f"load_checkpoint: {name} holds the state of a {saved_class} optimizer; "
                         f"received a {type(optimizer).__name__}")
    generators = _loader_generators(loaders)
    try:
        states = manifest["loaders"]
        epoch = manifest["epoch"]
        if type(epoch) is not int:  # noqa: E721
            raise TypeError(f"epoch is {epoch!r}")
        shape = manifest.get("input_shape")
        if not list(model.parameters()) and shape is not None:
            model.build((None, *shape))  # a lazy model not called yet (the draws are undone below)
        try:
            model.load_state_dict(blobs.get("weights", {}))
        except (KeyError, ValueError, RuntimeError) as exc:
            raise ValueError(f"load_checkpoint: {name} does not fit model '{model.name}': {exc}") from None
        if optimizer is not None and manifest.get("optimizer") is not None:
            load_optimizer_state(optimizer, manifest["optimizer"], blobs.get("optimizer", {}), name)
        for i, gen in enumerate(generators):
            state = states[i] if i < len(states) else None
            if (gen is None) != (state is None):
                raise ValueError(f"load_checkpoint: loader {i} {'has' if gen is not None else 'has no'} seed of its "
                                 f"own, unlike the one saved in {name}")
            if gen is not None:
                gen.bit_generator.state = state
        backend.set_rng_state(manifest["rng"])
        extra = dict(manifest.get("extra") or {})
        extra.update(blobs.get("extra", {}))
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise ModelFileError(f"{name} is damaged: the training state cannot be restored "
                             f"({type(exc).__name__}: {exc})") from None
    return epoch, extra
