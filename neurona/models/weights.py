"""Pretrained weights from PyTorch: a torchvision-layout state dict in a safetensors file.

``nr.models.resnet18(weights="resnet18.safetensors")`` builds the network and copies the
tensors in, converting PyTorch's layouts to neurona's (channels-last):

* Conv2d weight (C_out, C_in, kh, kw) -> kernel (kh, kw, C_in, C_out)
* Linear weight (out, in) -> kernel (in, out); for the first dense layer after a Flatten of an
  (H, W, C) map, its rows are reordered from PyTorch's (C, H, W) flattening to neurona's (H, W, C)
* BatchNorm2d weight, bias, running_mean, running_var -> gamma, beta, moving_mean, moving_variance
  (``num_batches_tracked`` is not needed)

A safetensors file holds only named arrays (no pickle, no code), so loading one runs nothing.
To make one from torchvision: ``safetensors.torch.save_file(model.state_dict(), "resnet18.safetensors")``.

Matching: in a functional model (the ResNets) each PyTorch module path names a layer, with
"_" for "." (``layer1.0.conv1`` -> layer ``layer1_0_conv1``); in a Sequential (AlexNet,
VGG) the PyTorch modules with weights are taken in order and matched with the layers that
have weights, in order. Every tensor must find its place with the right shape, else a
ValueError names the key and both shapes.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from .. import nn

_BN = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean", "running_var": "moving_variance"}


def read_safetensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of a safetensors file, by name (NumPy, no PyTorch needed)."""
    try:
        from safetensors.numpy import load_file
    except ImportError:  # pragma: no cover - a declared dependency
        raise ImportError("reading pretrained weights needs the safetensors package: pip install safetensors") from None
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights: no such file: {path!r}")
    try:
        return load_file(path)
    except Exception as exc:  # safetensors raises its own error types for damaged headers
        raise ValueError(f"weights: {path} is not a readable safetensors file ({exc})") from None


def _natural(key: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]


def _modules(state: dict[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """The state dict grouped by module path: {"layer1.0.conv1": {"weight": ...}}, in natural order."""
    groups: dict[str, dict[str, np.ndarray]] = {}
    for key in sorted(state, key=_natural):
        path, _, leaf = key.rpartition(".")
        if leaf == "num_batches_tracked":
            continue
        groups.setdefault(path, {})[leaf] = np.asarray(state[key])
    return groups


def _weighted_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if m._parameters and isinstance(m, (nn.Conv2D, nn.Dense, nn.BatchNorm))]


def _flatten_shape(model: nn.Module, dense: nn.Module) -> tuple[int, ...] | None:
    """(H, W, C) when ``dense`` reads a Flatten of an image map in a Sequential (its rows need reordering)."""
    layers = list(getattr(model, "layers", []))
    for prev, layer in zip(layers, layers[1:]):
        if layer is dense and isinstance(prev, nn.Flatten) and prev.input_shape and len(prev.input_shape) == 4:
            return tuple(prev.input_shape[1:])
    return None


def _convert(model: nn.Module, layer: nn.Module, torch_path: str, tensors: dict[str, np.ndarray]) -> dict[str, Any]:
    """neurona's {parameter or buffer name: array} for one PyTorch module's tensors."""
    out: dict[str, Any] = {}
    where = f"weights: {torch_path!r} -> layer '{layer.name}' ({type(layer).__name__})"
    for leaf, value in tensors.items():
        if isinstance(layer, nn.BatchNorm):
            if leaf not in _BN:
                raise ValueError(f"{where}: unexpected tensor {leaf!r} for a batch norm")
            out[_BN[leaf]] = value
        elif leaf == "bias":
            out["bias"] = value
        elif leaf != "weight":
            raise ValueError(f"{where}: unexpected tensor {leaf!r}")
        elif isinstance(layer, nn.Conv2D):
            if value.ndim != 4:
                raise ValueError(f"{where}: a Conv2d weight has 4 axes (C_out, C_in, kh, kw). Received: {value.shape}")
            out["kernel"] = value.transpose(2, 3, 1, 0)
        else:  # Dense
            if value.ndim != 2:
                raise ValueError(f"{where}: a Linear weight has 2 axes (out, in). Received: {value.shape}")
            hwc = _flatten_shape(model, layer)
            if hwc is not None and value.shape[1] == int(np.prod(hwc)):
                H, W, C = hwc
                value = value.reshape(-1, C, H, W).transpose(0, 2, 3, 1).reshape(value.shape[0], -1)
            out["kernel"] = value.T
    return out


def load_torch_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Copy a PyTorch state dict (torchvision layout, in a safetensors file) into ``model``; returns it.

    >>> model = nr.models.resnet18(weights="resnet18.safetensors")    # same as load_torch_weights(resnet18(), ...)
    """
    groups = _modules(read_safetensors(path))
    layers = _weighted_layers(model)
    by_name = {m.name: m for m in layers}
    if all(p.replace(".", "_") in by_name for p in groups):
        pairs = [(p, by_name[p.replace(".", "_")]) for p in groups]
    else:
        missing = [p for p in groups if p.replace(".", "_") not in by_name]
        if isinstance(model, nn.Model) or len(groups) != len(layers):
            raise ValueError(f"weights: {os.fspath(path)} does not fit model '{model.name}': "
                             f"{len(groups)} PyTorch modules with weights for {len(layers)} layers with weights"
                             + (f"; no layer for {missing[:5]}" if missing else ""))
        pairs = list(zip(groups, layers))
    state = model.state_dict()
    prefix = {id(m): p for p, m in model.named_modules()}
    filled = set()
    for torch_path, layer in pairs:
        for name, value in _convert(model, layer, torch_path, groups[torch_path]).items():
            key = f"{prefix[id(layer)]}.{name}" if prefix[id(layer)] else name
            if key not in state:
                raise ValueError(f"weights: {torch_path!r} has a {name!r} that layer '{layer.name}' lacks")
            if tuple(value.shape) != tuple(state[key].shape):
                raise ValueError(f"weights: {torch_path!r} gives {name} of shape {tuple(value.shape)} (after "
                                 f"conversion) but layer '{layer.name}' has {tuple(state[key].shape)}: built for "
                                 "another input size, width or number of classes?")
            state[key] = np.ascontiguousarray(value, dtype=state[key].dtype)
            filled.add(key)
    left = [k for k in state if k not in filled]
    if left:
        raise ValueError(f"weights: {os.fspath(path)} leaves {len(left)} weights of model '{model.name}' unset "
                         f"(for example {left[:4]}): a file for another architecture?")
    model.load_state_dict(state)
    return model
