"""Converters of the sequence layers: Conv1D, the 1-D pools and RepeatVector.

neurona's sequences are (N, L, C), channels-last like its images; ONNX's 1-D Conv and pools take
(N, C, L), so each layer is written between two Transposes, and kernels (k, C_in, C_out) become
(C_out, C_in, k). Padding is explicit: "same" as neurona pads it, "causal" all before the first step.
"""

from __future__ import annotations

from typing import Any

from ... import nn
from ...functional.conv import same_pads
from .builder import GraphBuilder, Value, host
from .convert_core import activation
from .registry import converts, first, run_example

_TO_NCL = [0, 2, 1]  # (N, L, C) <-> (N, C, L): the permutation is its own inverse


def _channels_first_op(b: GraphBuilder, v: Value, op: str, inputs: list[str], **attrs: Any) -> str:
    """``op`` applied to ``v`` channels-first, with the result back in neurona's (N, L, C)."""
    x = b.node("Transpose", [b.nhwc(v)], perm=_TO_NCL)
    return b.node("Transpose", [b.node(op, [x, *inputs], **attrs)], perm=_TO_NCL)


@converts(nn.Conv1D)
def _conv1d(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    k, s, d = layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0]
    keff = d * (k - 1) + 1
    padding = layer.padding
    if padding == "causal":
        pads = [keff - 1, 0]
    elif padding == "same":
        pads = list(same_pads(v.shape[1], keff, s))
    elif padding == "valid":
        pads = [0, 0]
    else:  # [p, 0] from the constructor: p zeros on each side of the steps
        pads = [padding[0], padding[0]]
    inputs = [b.const(host(layer.kernel).transpose(2, 1, 0), "kernel")]
    if layer.bias is not None:
        inputs.append(b.const(layer.bias, "bias"))
    y = _channels_first_op(b, v, "Conv", inputs, kernel_shape=[k], strides=[s], dilations=[d],
                           pads=[pads[0], pads[1]])
    return activation(b, layer.activation, Value(y, run_example(layer, v)))


@converts(nn.MaxPool1D, nn.AvgPool1D)
def _pool1d(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    k, s = layer.pool_size, layer.strides
    pads = list(same_pads(v.shape[1], k, s)) if layer.padding == "same" else [0, 0]
    if isinstance(layer, nn.AvgPool1D):  # "same" averages only the real steps, as neurona
        y = _channels_first_op(b, v, "AveragePool", [], kernel_shape=[k], strides=[s], pads=pads,
                               count_include_pad=0)
    else:
        y = _channels_first_op(b, v, "MaxPool", [], kernel_shape=[k], strides=[s], pads=pads)
    return Value(y, run_example(layer, v))


@converts(nn.GlobalAvgPool1D, nn.GlobalMaxPool1D)
def _global_pool1d(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    op = "GlobalAveragePool" if isinstance(layer, nn.GlobalAvgPool1D) else "GlobalMaxPool"
    pooled = b.node(op, [b.node("Transpose", [b.nhwc(v)], perm=_TO_NCL)])  # (N, C, 1)
    y = b.node("Transpose", [pooled], perm=_TO_NCL) if layer.keepdims else b.node("Flatten", [pooled], axis=1)
    return Value(y, run_example(layer, v))


@converts(nn.RepeatVector)
def _repeat_vector(b: GraphBuilder, layer: Any, x: Any) -> Value:
    """(N, F) -> (N, n, F): a new axis, broadcast n times."""
    v = first(x, layer)
    y = b.node("Expand", [b.node("Unsqueeze", [b.nhwc(v), b.ints([1], "axes")]), b.ints([1, layer.n, 1])])
    return Value(y, run_example(layer, v))
