"""The converter of TimeDistributed: the wrapped layer's graph on the steps folded into the batch.

(N, T, *rest) is reshaped to (N * T, *rest), the wrapped layer (any layer the exporter writes:
Dense, Conv2D, pools, Flatten, a Sequential of them...) is written as usual, and its output
(N * T, *out) is reshaped back to (N, T, *out), exactly what ``TimeDistributed.forward`` does.
"""

from __future__ import annotations

from typing import Any

from ... import nn
from .builder import ExportError, GraphBuilder, Value
from .registry import convert, converts, find_converter, first, run_example


@converts(nn.TimeDistributed)
def _time_distributed(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    inner = layer.layer
    try:
        find_converter(inner)
    except ExportError as exc:
        raise ExportError(f"ONNX export: TimeDistributed layer '{layer.name}' wraps a layer the exporter cannot "
                          f"write: {str(exc).removeprefix('ONNX export: ')}") from None
    if v.ndim < 3:
        raise ExportError(f"ONNX export: TimeDistributed layer '{layer.name}' expected (N, T, ...) input. "
                          f"Received: shape={v.shape}")
    steps, rest = v.shape[1], list(v.shape[2:])
    folded = Value(b.node("Reshape", [b.nhwc(v), b.ints([-1, *rest])]), v.example.reshape(steps, *rest))
    y = convert(b, inner, folded)
    if not isinstance(y, Value):
        raise ExportError(f"ONNX export: TimeDistributed layer '{layer.name}': the wrapped layer '{inner.name}' "
                          f"gives {len(y)} outputs; one was expected")
    out = b.node("Reshape", [b.nhwc(y), b.ints([-1, steps, *y.shape[1:]])])
    return Value(out, run_example(layer, v))
