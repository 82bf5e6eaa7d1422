"""Converters of DepthwiseConv2D and SeparableConv2D: a Conv with ``group`` = input channels
(then, for SeparableConv2D, a 1x1 Conv mixing the channels).

neurona's depthwise kernel is Keras's (kh, kw, C, M), M the depth multiplier; its output channel
c * M + m comes from input channel c and filter m. ONNX's Conv with group=C gives each input
channel c the M consecutive output channels c * M ... c * M + M - 1, with weights (C * M, 1, kh, kw):
the same order, so the kernel is permuted to (C, M, kh, kw) and the first two axes merged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import nn
from ...functional.conv import conv_pads
from .builder import GraphBuilder, Value, host
from .convert_conv import onnx_pads, padding_value
from .convert_core import activation
from .registry import converts, first, run_example


def depthwise_weights(kernel: Any) -> np.ndarray:
    """(kh, kw, C, M) -> ONNX's grouped-Conv weights (C * M, 1, kh, kw), output channel c * M + m."""
    k = host(kernel)
    kh, kw, c, m = k.shape
    return k.transpose(2, 3, 0, 1).reshape(c * m, 1, kh, kw)


def _depthwise(b: GraphBuilder, layer: Any, v: Value, bias: Any) -> str:
    """The depthwise step as a grouped Conv on the channels-first image; returns the output's name."""
    kh, kw = layer.kernel_size
    (dh, dw), stride = layer.dilation_rate, tuple(layer.strides)
    k = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    pads = conv_pads(padding_value(layer.padding), v.shape[1:3], k, stride, f"{type(layer).__name__} '{layer.name}'")
    inputs = [b.nchw(v), b.const(depthwise_weights(layer.depthwise_kernel), "depthwise_kernel")]
    if bias is not None:
        inputs.append(b.const(bias, "bias"))
    return b.node("Conv", inputs, kernel_shape=[kh, kw], strides=list(stride), pads=onnx_pads(pads),
                  dilations=[dh, dw], group=v.shape[-1])


@converts(nn.DepthwiseConv2D)
def _depthwise_conv2d(b: GraphBuilder, layer: Any, x: Any) -> Value:
    v = first(x, layer)
    y = _depthwise(b, layer, v, layer.bias)
    return activation(b, layer.activation, Value(y, run_example(layer, v), "nchw"))


@converts(nn.SeparableConv2D)
def _separable_conv2d(b: GraphBuilder, layer: Any, x: Any) -> Value:
    """The depthwise Conv (no bias), then the pointwise 1x1 Conv (C * M -> filters) with the bias."""
    v = first(x, layer)
    h = _depthwise(b, layer, v, None)
    inputs = [h, b.const(host(layer.pointwise_kernel).transpose(3, 2, 0, 1), "pointwise_kernel")]
    if layer.bias is not None:
        inputs.append(b.const(layer.bias, "bias"))
    y = b.node("Conv", inputs, kernel_shape=[1, 1])
    return activation(b, layer.activation, Value(y, run_example(layer, v), "nchw"))
