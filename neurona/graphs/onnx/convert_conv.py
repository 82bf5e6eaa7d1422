"""Converters of the image layers: Conv2D, Conv2DTranspose, pools, global pools, padding, up-sampling,
BatchNorm, LayerNorm and the CNN blocks (ResidualBlock, SqueezeExcite, InceptionBlock).

The image operators run channels-first (see builder.py); kernels are permuted from neurona's
(kh, kw, C_in, C_out) to ONNX's Conv (C_out, C_in, kh, kw) and ConvTranspose (C_in, C_out, kh, kw).
Padding is written as explicit pads (top, left, bottom, right), computed as neurona computes
them, so "same" with an odd total puts the extra pixel at the bottom/right as TensorFlow does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import nn
from ...functional.conv import conv_pads, same_pads, transpose_output_size
from .builder import ExportError, GraphBuilder, Value, host
from .convert_core import activation
from .registry import convert, converts, first, run_example


def onnx_pads(p: tuple[int, int, int, int]) -> list[int]:
    """neurona's (top, bottom, left, right) as ONNX's [top, left, bottom, right]."""
    return [p[0], p[2], p[1], p[3]]


def padding_value(padding: Any) -> Any:
    """A layer's padding as ``conv_pads`` takes it (a saved [ph, pw] list becomes a pair)."""
    return tuple(padding) if isinstance(padding, list) else padding


@converts(nn.Conv2D)
def _conv2d(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    kh, kw = layer.kernel_size
    (dh, dw), stride = layer.dilation_rate, tuple(layer.strides)
    k = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    pads = conv_pads(padding_value(layer.padding), v.shape[1:3], k, stride, f"Conv2D '{layer.name}'")
    inputs = [b.nchw(v), b.const(host(layer.kernel).transpose(3, 2, 0, 1), "kernel")]
    if layer.bias is not None:
        inputs.append(b.const(layer.bias, "bias"))
    y = b.node("Conv", inputs, kernel_shape=[kh, kw], strides=list(stride), pads=onnx_pads(pads),
               dilations=[dh, dw])
    return activation(b, layer.activation, Value(y, run_example(layer, v), "nchw"))


@converts(nn.Conv2DTranspose)
def _conv2d_transpose(b: GraphBuilder, layer: Any, x: Any) -> Value:
    """ONNX's ConvTranspose makes (H - 1) * stride + k pixels; neurona crops ``top`` at the start and keeps
    Ho: the rest is cropped at the end (pads) or, when neurona's output is longer, added (output_padding)."""
    v = first(x, layer)
    padding = padding_value(layer.padding)
    pads_neurona = padding if isinstance(padding, (tuple, str)) else (padding, padding)
    if isinstance(pads_neurona, str):
        pads_neurona = (pads_neurona, pads_neurona)
    out_pad = layer.output_padding or (None, None)
    begin, end, extra = [], [], []
    for i in (0, 1):
        size, s, d = v.shape[1 + i], layer.strides[i], layer.dilation_rate[i]
        k = d * (layer.kernel_size[i] - 1) + 1
        out, top = transpose_output_size(size, k, s, pads_neurona[i], out_pad[i])
        rest = (size - 1) * s + k - out - top
        begin.append(top)
        end.append(max(rest, 0))
        extra.append(max(-rest, 0))
    inputs = [b.nchw(v), b.const(host(layer.kernel).transpose(2, 3, 0, 1), "kernel")]
    if layer.bias is not None:
        inputs.append(b.const(layer.bias, "bias"))
    y = b.node("ConvTranspose", inputs, kernel_shape=list(layer.kernel_size), strides=list(layer.strides),
               dilations=list(layer.dilation_rate), pads=begin + end,
               output_padding=extra if any(extra) else None)
    return activation(b, layer.activation, Value(y, run_example(layer, v), "nchw"))


@converts(nn.MaxPool2D, nn.AvgPool2D)
def _pool(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    pool = tuple(layer.pool_size)
    stride = tuple(layer.strides or pool)
    pads = (0, 0, 0, 0)
    if layer.padding == "same":
        pads = same_pads(v.shape[1], pool[0], stride[0]) + same_pads(v.shape[2], pool[1], stride[1])
    attrs: dict[str, Any] = {"kernel_shape": list(pool), "strides": list(stride), "pads": onnx_pads(pads)}
    if isinstance(layer, nn.AvgPool2D):  # "same" averages only the real pixels
        op, attrs["count_include_pad"] = "AveragePool", 0
    else:
        op = "MaxPool"
    return Value(b.node(op, [b.nchw(v)], **attrs), run_example(layer, v), "nchw")


@converts(nn.GlobalAvgPool2D, nn.GlobalMaxPool2D)
def _global_pool(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    op = "GlobalAveragePool" if isinstance(layer, nn.GlobalAvgPool2D) else "GlobalMaxPool"
    y = b.node(op, [b.nchw(v)])  # (N, C, 1, 1)
    if layer.keepdims:
        return Value(y, run_example(layer, v), "nchw")
    return Value(b.node("Flatten", [y], axis=1), run_example(layer, v))


@converts(nn.ZeroPadding2D)
def _zero_padding(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    (top, bottom), (left, right) = layer.padding
    y = b.node("Pad", [b.nchw(v), b.ints([0, 0, top, left, 0, 0, bottom, right], "pads")], mode="constant")
    return Value(y, run_example(layer, v), "nchw")


@converts(nn.UpSampling2D)
def _upsampling(b: GraphBuilder, layer: Any, x: Any) -> Value:
    """Resize by the integer factors: nearest repeats pixels; bilinear uses half-pixel centres, as neurona."""
    v = first(x, layer)
    scales = b.const(np.array([1.0, 1.0, *layer.size], dtype=np.float32), "scales", np.float32)
    if layer.interpolation == "nearest":
        attrs = {"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
    else:
        attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel"}
    y = b.node("Resize", [b.nchw(v), "", scales], **attrs)
    return Value(y, run_example(layer, v), "nchw")


def _bn_arrays(layer: Any, features: int, dtype: Any) -> tuple[np.ndarray, ...]:
    gamma = host(layer.gamma, dtype) if layer.gamma is not None else np.ones(features, dtype)
    beta = host(layer.beta, dtype) if layer.beta is not None else np.zeros(features, dtype)
    return gamma, beta, host(layer.moving_mean, dtype), host(layer.moving_variance, dtype)


@converts(nn.BatchNorm)
def _batch_norm(b: GraphBuilder, layer: Any, x: Any) -> Value:
    """Inference form with the running statistics: BatchNormalization on the channel axis of images or
    (N, C) batches; on other axes, the same affine map written as Mul and Add."""
    v = first(x, layer)
    out = run_example(layer, v)
    axis = layer.axis % v.ndim
    gamma, beta, mean, var = _bn_arrays(layer, layer.features, b.dtype)
    if (v.ndim == 4 and axis == 3) or (v.ndim == 2 and axis == 1):
        xin = b.nchw(v) if v.ndim == 4 else v.name
        y = b.node("BatchNormalization", [xin, b.const(gamma, "gamma"), b.const(beta, "beta"),
                                          b.const(mean, "moving_mean"), b.const(var, "moving_variance")],
                   epsilon=layer.epsilon)
        return Value(y, out, "nchw" if v.ndim == 4 else "nhwc")
    scale = gamma / np.sqrt(var + np.asarray(layer.epsilon, b.dtype))
    shape = [1] * v.ndim
    shape[axis] = -1
    y = b.node("Add", [b.node("Mul", [b.nhwc(v), b.const(scale.reshape(shape), "scale")]),
                       b.const((beta - mean * scale).reshape(shape), "shift")])
    return Value(y, out)


@converts(nn.LayerNorm)
def _layer_norm(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    if layer.axis % v.ndim != v.ndim - 1:
        raise ExportError(f"ONNX export: layer '{layer.name}' (LayerNorm) normalises axis {layer.axis}; only the "
                          "last axis is exported")
    n = layer.features
    gamma = host(layer.gamma, b.dtype) if layer.gamma is not None else np.ones(n, b.dtype)
    beta = host(layer.beta, b.dtype) if layer.beta is not None else np.zeros(n, b.dtype)
    x = b.nhwc(v)
    if b.opset >= 17:
        y = b.node("LayerNormalization", [x, b.const(gamma, "gamma"), b.const(beta, "beta")], axis=-1,
                   epsilon=layer.epsilon)
    else:  # before opset 17: (x - mean) / sqrt(var + eps) * gamma + beta, ReduceMean's axes an attribute
        d = b.node("Sub", [x, b.node("ReduceMean", [x], axes=[-1], keepdims=1)])
        var = b.node("ReduceMean", [b.node("Mul", [d, d])], axes=[-1], keepdims=1)
        std = b.node("Sqrt", [b.node("Add", [var, b.const(np.array(layer.epsilon), "epsilon")])])
        y = b.node("Add", [b.node("Mul", [b.node("Div", [d, std]), b.const(gamma, "gamma")]),
                           b.const(beta, "beta")])
    return Value(y, run_example(layer, v))


# ---------------------------------------------------------------- blocks: their sublayers, in the order they run
@converts(nn.ResidualBlock)
def _residual(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    y = convert(b, layer.bn1, convert(b, layer.conv1, v))
    y = activation(b, "relu", y)
    y = convert(b, layer.bn2, convert(b, layer.conv2, y))
    shortcut = v if layer.shortcut_conv is None else convert(b, layer.shortcut_bn, convert(b, layer.shortcut_conv, v))
    names, layout = b.same_layout([y, shortcut])
    return Value(b.node("Relu", [b.node("Add", names)]), run_example(layer, v), layout)


@converts(nn.SqueezeExcite)
def _squeeze_excite(b: GraphBuilder, layer: Any, x: Any) -> Value:
    """y = x * s, s = excite(squeeze(pool(x))) (N, C) reshaped to broadcast over the pixels."""
    v = first(x, layer)
    if layer.squeeze is None:
        raise ExportError(f"ONNX export: SqueezeExcite '{layer.name}' was never called, so it has no weights yet")
    s = convert(b, layer.excite, convert(b, layer.squeeze, convert(b, layer.pool, v)))
    channels = v.shape[-1]
    xin, layout = (b.nchw(v), "nchw") if v.layout == "nchw" else (v.name, "nhwc")
    target = [0, channels, 1, 1] if layout == "nchw" else [0, 1, 1, channels]
    y = b.node("Mul", [xin, b.node("Reshape", [s.name, b.ints(target)])])
    return Value(y, run_example(layer, v), layout)


@converts(nn.InceptionBlock)
def _inception(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    branches = [
        convert(b, layer.branch_1x1, v),
        convert(b, layer.branch_3x3, convert(b, layer.branch_3x3_reduce, v)),
        convert(b, layer.branch_5x5, convert(b, layer.branch_5x5_reduce, v)),
        convert(b, layer.branch_pool_proj, convert(b, layer.branch_pool, v)),
    ]
    return convert(b, layer.concat, branches)
