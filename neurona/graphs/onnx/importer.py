"""``load_onnx(path)``: an ONNX inference graph as a neurona functional ``nn.Model`` (architecture and weights).

Each ONNX operator becomes a neurona layer (Conv -> Conv2D, Gemm -> Dense, LSTM -> LSTM...)
called on symbolic tensors, so the result trains, saves and exports like any functional model.

Layout: neurona's layers are channels-last, so the imported model takes (N, H, W, C) images
even when the file declares (N, C, H, W) (PyTorch's files do): transpose such batches with
``x.transpose(0, 2, 3, 1)``. The importer follows how each ONNX tensor relates to the neurona
tensor that holds it (``Held.perm``: the ONNX tensor is ``neurona.transpose(perm)``), so a
Transpose in the file costs nothing, and a Flatten of channels-first maps, whose (c, h, w)
feature order differs from neurona's (h, w, c), reorders the rows of the next Dense kernel.
Files written by ``model.export`` (channels-last inputs with a Transpose after them) come back
with their inputs as declared.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from ... import backend, nn
from . import import_recurrent, import_shapes  # noqa: F401  (they register their operators)
from .import_ops import OPS
from .import_values import NCHW_VIEW, NCL_VIEW, Held, Importer, OnnxImportError, attributes
from .requirement import require_onnx

# operators that keep the layout of their input: an image input may pass through them before its Transpose
_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Identity", "Dropout", "Relu", "Sigmoid", "Tanh", "Clip", "LeakyRelu",
                "Elu", "Selu", "Softplus"}


def _channels_last(imp: Importer, name: str) -> bool:
    """Does the 4-D input ``name`` reach a Transpose to channels-first (through elementwise operators, such as
    built-in normalisation) before any image operator? Then the file declares it channels-last (neurona's and
    TensorFlow's exports); otherwise it is (N, C, H, W), as ONNX's image operators take it."""
    todo, seen = [name], set()
    while todo:
        value = todo.pop()
        for node in imp.consumers.get(value, []):
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.op_type == "Transpose":
                return list(attributes(imp.onnx, node).get("perm", [])) == [0, 3, 1, 2]
            if node.op_type not in _ELEMENTWISE:
                return False
            todo.extend(node.output)
    return False


def _reaches_conv_first(imp: Importer, name: str) -> bool:
    """Does the 3-D input ``name`` go (through elementwise operators) into a 1-D Conv or pool first?"""
    todo, seen = [name], set()
    while todo:
        for node in imp.consumers.get(todo.pop(), []):
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.op_type in ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"):
                return True
            if node.op_type not in _ELEMENTWISE:
                return False
            todo.extend(node.output)
    return False


# raw outputs (Held.kind): a recurrent operator's Y / Y_h in ONNX's layout until the Squeeze, Transpose + Reshape
# or Gather that gives a neurona tensor, an Unsqueeze waiting for its Expand; what each is, what takes it
_RAW = {
    "rnn_sequence": "a recurrent operator's Y (T, 1, N, H)",
    "rnn_state": "a recurrent operator's Y_h or Y_c (1, N, H)",
    "rnn_bidirectional": "a bidirectional operator's Y or Y_h (the directions on an axis of their own)",
    "rnn_directions": "a bidirectional operator's Y or Y_h (the directions on an axis of their own)",
    "unsqueezed": "an (N, 1, F) Unsqueeze (imported only before an Expand)",
}
_TAKES_RAW = {
    "Identity": set(_RAW),
    "Dropout": set(_RAW),
    "Transpose": {"rnn_sequence", "rnn_state", "rnn_bidirectional"},
    "Reshape": {"rnn_bidirectional"},
    "Squeeze": {"rnn_sequence", "rnn_state"},
    "Gather": {"rnn_state", "rnn_directions"},
    "Expand": {"unsqueezed"},
}
# operators that take a sequence reversed in time (Held.reversed): neurona's go_backwards, nothing else
_TAKES_REVERSED = {"Identity", "Dropout", "Transpose", "Slice", "RNN", "LSTM", "GRU"}


def _check_raw_outputs(imp: Importer, node: Any) -> None:
    """A clear error for a node that uses a raw output (see ``_RAW``) other than as the operators that make it
    a plain tensor, or a sequence reversed in time anywhere but into a recurrent operator."""
    for name in node.input:
        value = imp.values.get(name)
        if not isinstance(value, Held):
            continue
        where = f"ONNX import: node '{node.name or node.op_type}' ({node.op_type}) uses '{name}'"
        if value.reversed and node.op_type not in _TAKES_REVERSED:
            raise OnnxImportError(f"{where}, a sequence reversed in time (a Slice with step -1); neurona stands for "
                                  "that only when it goes straight into a recurrent operator (go_backwards)")
        if value.kind and value.kind not in _TAKES_RAW.get(node.op_type, ()):
            raise OnnxImportError(f"{where}, {_RAW[value.kind]}, which is imported only through the Squeeze, "
                                  "Transpose + Reshape or Gather that make it a plain tensor")


def _input_layer(imp: Importer, value_info: Any) -> Held:
    onnx = imp.onnx
    t = value_info.type.tensor_type
    dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    if len(dims) < 1 or any(d is None or d < 1 for d in dims[1:]):
        raise OnnxImportError(f"ONNX import: input '{value_info.name}' must have a fixed shape after the batch axis. "
                           f"Received: {dims}")
    dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)
    dtype = backend.get_default_dtype() if dtype.kind == "f" else dtype
    name = re.sub(r"[^A-Za-z0-9_]+", "_", value_info.name).strip("_") or "input"
    imp.names.add(name)
    channels_first = len(dims) == 4 and not _channels_last(imp, value_info.name)
    if len(dims) == 3 and _reaches_conv_first(imp, value_info.name):  # (N, C, L) into a 1-D Conv or pool
        x = nn.Input((dims[2], dims[1]), dtype=dtype, name=name)
        return Held(x.symbolic_output, NCL_VIEW)
    if channels_first:  # (N, C, H, W) as ONNX's image operators take it: neurona's model takes (N, H, W, C)
        x = nn.Input((dims[2], dims[3], dims[1]), dtype=dtype, name=name)
        return Held(x.symbolic_output, NCHW_VIEW)
    return Held(nn.Input(tuple(dims[1:]), dtype=dtype, name=name).symbolic_output)


def _read(onnx: Any, path: str) -> Any:
    """The ModelProto in the file at ``path``, or an error naming the file and what it expected."""
    try:
        return onnx.load(path)
    except OSError:  # a missing or unreadable file: its own error names it
        raise
    except Exception as e:  # protobuf's DecodeError and kin: not an ONNX model
        raise ValueError(f"load_onnx: {path} is not an ONNX model file (expected a serialized onnx.ModelProto; "
                         f"reading it failed: {e})") from None


def load_onnx(source: str | os.PathLike | Any) -> nn.Model:
    """Import an ONNX file (or ModelProto) into a functional ``nn.Model`` with its weights.

    Images become channels-last: a file declaring (N, C, H, W) gives a model taking (N, H, W, C).
    An operator without a neurona layer raises an error naming the node and the operator.

    >>> model = nr.load_onnx("resnet.onnx"); model.compile("adam", "cross_entropy"); model.fit(x, y)
    """

    onnx = require_onnx()
    proto = source if hasattr(source, "graph") else _read(onnx, os.fspath(source))
    graph = proto.graph
    imp = Importer(onnx, graph)
    for init in graph.initializer:
        imp.values[init.name] = onnx.numpy_helper.to_array(init)
    for node in graph.node:
        for name in node.input:
            imp.consumers.setdefault(name, []).append(node)
    inputs = [vi for vi in graph.input if vi.name not in imp.values]
    if not inputs:
        raise OnnxImportError("ONNX import: the graph has no inputs besides its weights")
    state = backend.get_rng_state()  # building layers draws initial weights: leave the user's stream as it was
    try:
        held_inputs = []
        for vi in inputs:
            imp.values[vi.name] = h = _input_layer(imp, vi)
            held_inputs.append(h)
        for k, node in enumerate(graph.node):
            if k in imp.skip:
                continue
            convert = OPS.get(node.op_type)
            if convert is None:
                raise OnnxImportError(f"ONNX import: node '{node.name or node.op_type}' uses operator {node.op_type}, "
                                   f"which has no neurona layer here. Operators imported: {', '.join(sorted(OPS))}")
            _check_raw_outputs(imp, node)
            outs = convert(imp, node, attributes(onnx, node), k)
            outs = outs if isinstance(outs, list) else [outs]
            for name, value in zip(node.output, outs):
                if name:
                    imp.values[name] = value
        if imp.folds:
            fold = imp.folds[-1].node
            raise OnnxImportError(f"ONNX import: node '{fold.name or fold.op_type}' (Reshape) folds the steps of a "
                                  "sequence into the batch, and no Reshape unfolds them again (TimeDistributed)")
        outputs = []
        for vi in graph.output:
            h = imp.values.get(vi.name)
            if not isinstance(h, Held) or h.kind:
                raise OnnxImportError(f"ONNX import: output '{vi.name}' is not a tensor neurona computes "
                                   f"(received {type(h).__name__})")
            if h.features is not None and not np.array_equal(h.features, np.arange(len(h.features))):
                raise OnnxImportError(f"ONNX import: output '{vi.name}' is a flattened channels-first map; neurona "
                                   "would give its features in another order")
            outputs.append(h.sym)
    finally:
        backend.set_rng_state(state)
    ins = [h.sym for h in held_inputs]
    return nn.Model(ins[0] if len(ins) == 1 else ins, outputs[0] if len(outputs) == 1 else outputs,
                    name=re.sub(r"[^A-Za-z0-9_]+", "_", graph.name or "onnx_model"))
