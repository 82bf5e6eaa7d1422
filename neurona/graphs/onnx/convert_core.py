"""Converters of the core layers: activations, Dense, Flatten, Reshape, the inference identities
(Dropout, GaussianNoise, augmentation), Embedding, preprocessing (Normalization, Rescaling) and merges."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import nn
from ...nn.augmentation import _Augmentation
from ...nn.preprocessing import _EPSILON
from .builder import ExportError, GraphBuilder, Value, host
from .registry import converts, first, run_example

# activation name -> (ONNX op, attributes): the ones that are one ONNX operator
_SIMPLE = {
    "relu": ("Relu", {}), "sigmoid": ("Sigmoid", {}), "logistic": ("Sigmoid", {}), "tanh": ("Tanh", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": 0.01}), "elu": ("Elu", {"alpha": 1.0}), "selu": ("Selu", {}),
    "softplus": ("Softplus", {}),
}


def activation(b: GraphBuilder, name: Any, v: Value, example: Any = None, axis: int = -1) -> Value:
    """``v`` through the activation called ``name`` (None/"linear": unchanged). ``example``: the result's example."""
    example = v.example if example is None else example
    if name is None or name in ("linear", "identity"):
        return Value(v.name, example, v.layout)
    if not isinstance(name, str):
        raise ExportError(f"ONNX export: layer '{b.scope}' has a custom activation function "
                          f"({getattr(name, '__name__', name)}); only named activations can be exported")
    name = name.lower()
    if name in ("softmax", "log_softmax"):  # along a neurona axis: in neurona's layout
        op = "Softmax" if name == "softmax" else "LogSoftmax"
        return Value(b.node(op, [b.nhwc(v)], axis=axis), example)
    x = v.name
    if name in _SIMPLE:
        op, attrs = _SIMPLE[name]
        y = b.node(op, [x], **attrs)
    elif name in ("hard_tanh", "satlins", "saturated_linear", "satlin"):
        low = -1.0 if name in ("hard_tanh", "satlins") else 0.0
        y = b.node("Clip", [x, b.const(np.array(low), "min"), b.const(np.array(1.0), "max")])
    elif name in ("swish", "silu"):
        y = b.node("Mul", [x, b.node("Sigmoid", [x])])
    elif name == "gelu":  # exact form: x * (1 + erf(x / sqrt 2)) / 2
        erf = b.node("Erf", [b.node("Mul", [x, b.const(np.array(1 / math.sqrt(2)), "inv_sqrt2")])])
        y = b.node("Mul", [b.node("Mul", [x, b.node("Add", [erf, b.const(np.array(1.0), "one")])]),
                           b.const(np.array(0.5), "half")])
    elif name == "gaussian":
        y = b.node("Exp", [b.node("Neg", [b.node("Mul", [x, x])])])
    elif name in ("step", "heaviside", "sign"):
        ge = b.node("GreaterOrEqual", [x, b.const(np.array(0.0), "zero")])
        low = -1.0 if name == "sign" else 0.0
        y = b.node("Where", [ge, b.const(np.array(1.0), "one"), b.const(np.array(low), "low")])
    else:
        raise ExportError(f"ONNX export: layer '{b.scope}': activation {name!r} has no ONNX equivalent here")
    return Value(y, example, v.layout)


@converts(nn.Activation, nn.Softmax, nn.LogSoftmax)  # PyTorch-style softmax layers: along their dim
def _activation_layer(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    return activation(b, layer.activation, v, run_example(layer, v), axis=getattr(layer, "dim", -1))


@converts(nn.Dense, nn.DropConnect)  # DropConnect in evaluation is a Dense layer
def _dense(b: GraphBuilder, layer: Any, x: Any) -> Value:
    """y = x @ kernel + bias: Gemm on (N, features); MatMul then Add on more axes (the last one is the features)."""
    v = first(x, layer)
    kernel = b.const(layer.kernel, "kernel")
    inputs = [b.nhwc(v), kernel] + ([b.const(layer.bias, "bias")] if layer.bias is not None else [])
    if v.ndim == 2:
        y = b.node("Gemm", inputs)
    else:
        y = b.node("MatMul", inputs[:2])
        if len(inputs) == 3:
            y = b.node("Add", [y, inputs[2]])
    return activation(b, layer.activation, Value(y, run_example(layer, v)))


@converts(nn.Flatten)
def _flatten(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)  # neurona flattens channels-last images: (h, w, c) order
    return Value(b.node("Flatten", [b.nhwc(v)], axis=1), run_example(layer, v))


@converts(nn.Reshape)
def _reshape(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    return Value(b.node("Reshape", [b.nhwc(v), b.ints([0, *layer.target_shape])]), run_example(layer, v))


@converts(nn.Dropout, nn.GaussianNoise)
def _identity(b: GraphBuilder, layer: Any, x: Any) -> Value:
    """Dropout and noise are the identity at inference: nothing is written."""
    return first(x, layer)


@converts(_Augmentation)
def _augmentation(b: GraphBuilder, layer: Any, x: Any) -> Value:
    if type(layer).inference is not _Augmentation.inference:
        raise ExportError(f"ONNX export: layer '{layer.name}' ({type(layer).__name__}) changes images at inference; "
                          "it has no ONNX equivalent here (remove it from the model before exporting)")
    return first(x, layer)


@converts(nn.Rescaling)
def _rescaling(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    y = b.node("Mul", [v.name, b.const(np.array(layer.scale), "scale")])
    if layer.offset:
        y = b.node("Add", [y, b.const(np.array(layer.offset), "offset")])
    return Value(y, run_example(layer, v), v.layout)


@converts(nn.Normalization)
def _normalization(b: GraphBuilder, layer: Any, x: Any) -> Value:
    """(x - mean) * (1 / std), std = max(sqrt(variance), 1e-7), with the statistics as constants (channels-last)."""
    v = first(x, layer)
    out = run_example(layer, v)  # builds the statistics if the layer was never adapted
    dtype = b.dtype
    mean = host(layer.mean, dtype)
    std = np.maximum(np.sqrt(host(layer.variance, dtype)), _EPSILON).astype(dtype)
    if layer.invert:
        y = b.node("Add", [b.node("Mul", [b.nhwc(v), b.const(std, "std")]), b.const(mean, "mean")])
    else:
        y = b.node("Mul", [b.node("Sub", [b.nhwc(v), b.const(mean, "mean")]), b.const(1 / std, "inv_std")])
    return Value(y, out)


@converts(nn.Embedding)
def _embedding(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    ids = v.name
    if v.example.dtype.kind == "f":  # neurona takes whole numbers in a float batch too
        ids = b.node("Cast", [ids], to=b.onnx.TensorProto.INT64)
    return Value(b.node("Gather", [b.const(layer.embeddings, "embeddings"), ids], axis=0), run_example(layer, v))


_MERGES = {nn.Add: "Sum", nn.Average: "Mean", nn.Maximum: "Max", nn.Minimum: "Min"}


@converts(nn.Add, nn.Average, nn.Maximum, nn.Minimum, nn.Subtract, nn.Multiply)
def _merge(b: GraphBuilder, layer: Any, x: Any) -> Value:
    values = list(x) if isinstance(x, (list, tuple)) else [x]
    names, layout = b.same_layout(values)
    if isinstance(layer, nn.Subtract):
        y = b.node("Sub", names)
    elif isinstance(layer, nn.Multiply):
        y = names[0]
        for other in names[1:]:
            y = b.node("Mul", [y, other])
    elif len(names) == 2 and isinstance(layer, nn.Add):
        y = b.node("Add", names)
    else:
        op = next(op for cls, op in _MERGES.items() if isinstance(layer, cls))
        y = b.node(op, names)
    return Value(y, run_example(layer, values), layout)


@converts(nn.Concatenate)
def _concatenate(b: GraphBuilder, layer: Any, x: Any) -> Value:
    values = list(x)
    names, layout = b.same_layout(values)
    ndim = values[0].ndim
    axis = layer.axis % ndim
    if layout == "nchw":
        axis = (0, 2, 3, 1)[axis]  # where neurona's axis sits channels-first
    return Value(b.node("Concat", names, axis=axis), run_example(layer, values), layout)
