"""``export_onnx(model, path)``: a neurona model as a standard ONNX inference graph.

The graph takes and returns what ``model.predict`` does: channels-last images (N, H, W, C)
with a free batch size N. Inside, the image operators run channels-first, with Transposes
only where the layout changes (see builder.py). Dropout and noise vanish, BatchNorm uses
its running statistics. A layer without an ONNX equivalent raises ``ExportError`` naming it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ... import backend, nn
from ...autograd import Tensor
from ...files import atomic_write
from ...nn.symbolic import flatten, pack
from . import (  # noqa: F401  (registering)
    convert_conv,
    convert_core,
    convert_depthwise,
    convert_recurrent,
    convert_sequence,
    convert_wrappers,
)
from .builder import ExportError, GraphBuilder, Value
from .registry import convert, converts, find_converter, first
from .requirement import require_onnx

DEFAULT_OPSET = 17
MIN_OPSET, MAX_OPSET = 13, 21  # the operators' forms written here (Squeeze axes as an input, Softmax on one axis)
# the IR version released with each opset: a runtime that knows the opset reads the file
_IR_VERSIONS = {13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}


@converts(nn.Sequential)
def _sequential(b: GraphBuilder, model: Any, x: Any) -> Value:
    v = first(x, model)
    for layer in model.layers:
        v = convert(b, layer, v)
    return v


@converts(nn.Input)
def _input(b: GraphBuilder, layer: Any, x: Any) -> Value:
    return first(x, layer)


def _walk_graph(b: GraphBuilder, model: Any, inputs: list[Value]) -> list[Value]:
    """The calls of a functional model in order, each written once; returns the output Values."""
    values: dict[int, Value] = {id(t): v for t, v in zip(model._input_tensors, inputs)}
    for node in model._nodes_in_order:
        xs = pack(node.inputs, [values[id(p)] for p in node.parents])
        outs = convert(b, node.layer, xs, node.kwargs)
        outs = outs if isinstance(outs, list) else [outs]
        if len(outs) != len(node.outputs):
            raise ExportError(f"ONNX export: layer '{node.layer.name}' gave {len(outs)} outputs; the model uses "
                              f"{len(node.outputs)}")
        for t, v in zip(node.outputs, outs):
            values[id(t)] = v
    return [values[id(t)] for t in model._output_tensors]


@converts(nn.Model)
def _functional(b: GraphBuilder, model: Any, x: Any) -> Any:
    outs = _walk_graph(b, model, flatten(x))
    return outs[0] if len(outs) == 1 else outs


def _model_dtype(model: Any) -> np.dtype:
    params = model.parameters()
    return np.dtype(params[0].dtype) if params else np.dtype(backend.get_default_dtype())


def _graph_inputs(model: Any, dtype: np.dtype) -> list[tuple[str, tuple[Any, ...], np.dtype]]:
    """(name, sample shape, dtype) of each input the graph declares."""
    if isinstance(model, nn.Model):
        return [(t.layer.name, tuple(t.shape[1:]), np.dtype(t.dtype)) for t in model._input_tensors]
    shape = getattr(model, "input_shape", None)
    if not model.built or not shape:
        raise ExportError(f"ONNX export: model '{model.name}' ({type(model).__name__}) is not built, so its input "
                          "shape is unknown; call it on a batch or model.build((None, *sample_shape)) first")
    return [("input", tuple(shape[1:]), dtype)]


def to_onnx(model: nn.Module, opset: int = DEFAULT_OPSET) -> Any:
    """The ONNX ModelProto of ``model`` in inference mode (checked with onnx.checker, full check)."""
    onnx = require_onnx()
    if not isinstance(model, nn.Module):
        raise TypeError(f"ONNX export: expected a neurona model (nn.Module). Received: {type(model).__name__}")
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"ONNX export: opset must be an integer from {MIN_OPSET} to {MAX_OPSET}. Received: "
                         f"opset={opset!r}")
    dtype = _model_dtype(model)
    if dtype not in (np.float32, np.float64):
        raise ExportError(f"ONNX export: expected float32 or float64 weights. Received: {dtype}")
    find_converter(model)  # a model class the exporter cannot write is named before anything else
    b = GraphBuilder(onnx, opset, dtype)
    declared = _graph_inputs(model, dtype)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        xp = backend.array_module(backend.device_of(model.parameters()[0].data) if model.parameters() else None)
        inputs = []
        for name, shape, dt in declared:
            b.fresh(name)
            inputs.append(Value(name, Tensor(xp.zeros((1,) + shape, dtype=dt), dtype=dt)))
        outs = convert(b, model, inputs[0] if len(inputs) == 1 else inputs)
    finally:
        for m, mode in modes:
            m.__dict__["training"] = mode
    outs = outs if isinstance(outs, list) else [outs]
    onnx_type = onnx.helper.np_dtype_to_tensor_dtype
    graph_outputs = []
    b.scope = "output"
    for i, v in enumerate(outs):
        name = b.fresh("output" if len(outs) == 1 else f"output_{i}")
        b.nodes.append(onnx.helper.make_node("Identity", [b.nhwc(v)], [name], name=b.fresh("output/Identity")))
        graph_outputs.append(onnx.helper.make_tensor_value_info(
            name, onnx_type(np.dtype(v.example.dtype)), ["N", *v.example.shape[1:]]))
    graph_inputs = [onnx.helper.make_tensor_value_info(name, onnx_type(dt), ["N", *shape])
                    for name, shape, dt in declared]
    graph = onnx.helper.make_graph(b.nodes, model.name, graph_inputs, graph_outputs, b.initializers)
    proto = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="neurona", producer_version=_version())
    proto.ir_version = min(proto.ir_version, _IR_VERSIONS.get(opset, proto.ir_version))  # what runtimes read
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model: nn.Module, path: str | os.PathLike, opset: int = DEFAULT_OPSET) -> Any:
    """Write ``model`` as an ONNX inference graph to exactly ``path`` (atomic: a temporary file, then a rename);
    returns the ModelProto written.

    >>> model.export("model.onnx")      # onnxruntime.InferenceSession("model.onnx").run(None, {"input": x})
    """
    proto = to_onnx(model, opset)
    atomic_write(path, proto.SerializeToString())
    return proto


def _version() -> str:
    from ... import __version__  # read when writing: neurona/__init__ defines it after importing this package

    return __version__
