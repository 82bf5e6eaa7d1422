"""What the importer keeps for each ONNX tensor while it builds the neurona graph (see importer.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import backend, nn

NCHW_VIEW = (0, 3, 1, 2)  # an ONNX (N, C, H, W) tensor held as neurona's (N, H, W, C)
NCL_VIEW = (0, 2, 1)  # an ONNX (N, C, L) sequence held as neurona's (N, L, C)


class OnnxImportError(ValueError):
    """An ONNX file (or one of its nodes) that neurona cannot import."""


@dataclass
class Held:
    """An ONNX tensor computed by the neurona graph: the symbolic tensor and how the ONNX one relates to it.

    ``perm``: ONNX tensor = neurona tensor transposed by perm (None: the same layout);
    ``features``: after a Flatten of a channels-first map, ONNX feature j is neurona feature features[j];
    ``kind``: "" for a plain tensor; "rnn_sequence" (T, 1, N, H) / "rnn_state" (1, N, H) for a recurrent
    operator's outputs until their Squeeze; "rnn_bidirectional" for a bidirectional operator's Y (T, 2, N, H) or
    Y_h (2, N, H) held as the concatenation [forward | backward] (N, T, 2H) or (N, 2H): the ONNX tensor is that
    concatenation with its last axis split into (2, H), transposed by ``perm``; "rnn_directions" for Y or Y_h
    held as the two directions' own outputs, ``directions``, until a Gather picks one;
    ``reversed``: the time axis was reversed (neurona's go_backwards); ``nonnegative``: every value is >= 0.
    """

    sym: Any
    perm: tuple[int, ...] | None = None
    features: np.ndarray | None = None
    kind: str = ""
    reversed: bool = False
    nonnegative: bool = False  # known >= 0 (after a ReLU): zero padding then equals a max pool's -inf padding
    directions: tuple[Any, Any] | None = None

    @property
    def shape(self) -> tuple[Any, ...]:
        return tuple(self.sym.shape)


@dataclass
class ShapeOf:
    """A shape computed in the graph (Shape, Gather, Concat of shapes...): its entries, None for the batch size."""

    dims: list[Any]
    scalar: bool = False


@dataclass
class Zeros:
    """A tensor of zeros whose shape depends on the batch (ConstantOfShape(0)): a recurrent layer's initial state."""

    shape: ShapeOf


@dataclass
class Fold:
    """An open TimeDistributed: ``outer`` (N, T, *rest) was reshaped to (N * T, *rest) by ``node``; the
    nodes that follow run on ``input`` (a fresh nn.Input of shape rest) until a Reshape unfolds the steps."""

    outer: Held
    steps: int
    input: Any
    node: Any
    name: str  # the TimeDistributed layer's


@dataclass
class Importer:
    onnx: Any
    graph: Any
    values: dict[str, Any] = field(default_factory=dict)
    consumers: dict[str, list[Any]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)
    skip: set[int] = field(default_factory=set)
    folds: list[Fold] = field(default_factory=list)

    # ---------------------------------------------------------------- helpers for the op converters
    def layer_name(self, node: Any) -> str:
        """A unique, readable layer name from the node's name (or its operator)."""
        base = re.sub(r"[^A-Za-z0-9_]+", "_", node.name or node.op_type).strip("_").lower() or node.op_type.lower()
        name, k = base, 1
        while name in self.names:
            name = f"{base}_{k}"
            k += 1
        self.names.add(name)
        return name

    def const(self, name: str, node: Any, what: str) -> np.ndarray:
        value = self.values.get(name)
        if not isinstance(value, np.ndarray):
            raise self.error(node, f"expected {what} to be a constant (an initializer). Received: a computed tensor")
        return value

    def held(self, name: str, node: Any) -> Held:
        value = self.values.get(name)
        if not isinstance(value, Held):
            got = "a constant" if isinstance(value, np.ndarray) else type(value).__name__
            raise self.error(node, f"expected input '{name}' to be a tensor computed from the model's inputs. "
                                   f"Received: {got}")
        return value

    def error(self, node: Any, message: str) -> OnnxImportError:
        return OnnxImportError(f"ONNX import: node '{node.name or node.op_type}' ({node.op_type}): {message}")

    def used(self, name: str) -> bool:
        return bool(name) and (bool(self.consumers.get(name)) or name in {o.name for o in self.graph.output})


def attributes(onnx: Any, node: Any) -> dict[str, Any]:
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, list):
            v = [x.decode() if isinstance(x, bytes) else x for x in v]
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def set_weights(layer: nn.Module, **arrays: np.ndarray) -> None:
    """Copy host arrays into a built layer's parameters and buffers (on the layer's device, default dtype)."""
    dtype = backend.get_default_dtype()
    layer.load_state_dict({k: np.ascontiguousarray(v, dtype=dtype) for k, v in arrays.items()})
