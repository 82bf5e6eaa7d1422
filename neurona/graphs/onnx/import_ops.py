"""The ONNX operators ``load_onnx`` understands, each as the neurona layer(s) it becomes.

A converter takes the importer, the node, its attributes and its index, and returns the
value of each output: a ``Held`` tensor, a constant array, or a shape. See importer.py for
how layouts are followed (``Held.perm``, ``Held.features``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ... import nn
from ...functional.conv import same_pads
from .import_values import NCHW_VIEW, NCL_VIEW, Held, Importer, set_weights

OPS: dict[str, Callable[..., Any]] = {}


def op(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in names:
            OPS[name] = fn
        return fn

    return register


def call_layer(layer: nn.Module, h: Held | list[Held]) -> Any:
    return layer([x.sym for x in h] if isinstance(h, list) else h.sym)


def _image(imp: Importer, node: Any) -> Held:
    """The node's first input, which an image operator reads channels-first."""
    h = imp.held(node.input[0], node)
    if h.perm != NCHW_VIEW:
        raise imp.error(node, f"expected a channels-first image (N, C, H, W). Received: a tensor of neurona shape "
                              f"{h.shape} held with axes {h.perm}")
    return h


def _same_as(h: Held, sym: Any) -> Held:
    """A result held the way ``h`` is (elementwise layers keep the layout and the feature order)."""
    return Held(sym, h.perm, h.features)


def _padding(imp: Importer, node: Any, attrs: dict[str, Any], hw: tuple[int, int], k: tuple[int, int],
             stride: tuple[int, int]) -> tuple[Any, tuple[int, int, int, int]]:
    """neurona's padding for ONNX's pads [top, left, bottom, right] (or auto_pad)."""
    auto = attrs.get("auto_pad", "NOTSET")
    if auto == "VALID":
        return "valid", (0, 0, 0, 0)
    if auto == "SAME_UPPER":
        return "same", same_pads(hw[0], k[0], stride[0]) + same_pads(hw[1], k[1], stride[1])
    if auto not in ("NOTSET", ""):
        raise imp.error(node, f"auto_pad {auto!r} is not supported (SAME_UPPER, VALID or explicit pads)")
    t, left, b, r = attrs.get("pads", [0, 0, 0, 0])
    pads = (t, b, left, r)
    if not any(pads):
        return "valid", pads
    if pads == same_pads(hw[0], k[0], stride[0]) + same_pads(hw[1], k[1], stride[1]):
        return "same", pads
    return None, pads


# ---------------------------------------------------------------- pass-through and activations
@op("Identity", "Dropout")
def _identity(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Any:
    value = imp.values.get(node.input[0])
    return value


_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Softplus": "softplus", "Selu": "selu"}


@op(*_ACTIVATIONS, "LeakyRelu", "Elu", "Clip")
def _activation(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    h = imp.held(node.input[0], node)
    name = _ACTIVATIONS.get(node.op_type)
    if node.op_type == "LeakyRelu" and np.isclose(attrs.get("alpha", 0.01), 0.01):
        name = "leaky_relu"
    elif node.op_type == "Elu" and np.isclose(attrs.get("alpha", 1.0), 1.0):
        name = "elu"
    elif node.op_type == "Clip":
        bounds = [float(imp.const(n, node, "a bound")) if n else None for n in list(node.input[1:3]) + [""] * 2][:2]
        name = {(0.0, 1.0): "saturated_linear", (-1.0, 1.0): "hard_tanh"}.get(tuple(bounds))
    if name is None:
        raise imp.error(node, f"this form of {node.op_type} ({attrs}) has no neurona activation")
    y = _same_as(h, call_layer(nn.Activation(name, name=imp.layer_name(node)), h))
    y.nonnegative = name in ("relu", "sigmoid", "softplus", "saturated_linear")
    return y


@op("Softmax", "LogSoftmax")
def _softmax(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    h = imp.held(node.input[0], node)
    if h.features is not None:
        raise imp.error(node, "softmax over a flattened channels-first map is not supported")
    rank = len(h.shape)
    axis = attrs.get("axis", -1) % rank
    axis = h.perm[axis] if h.perm else axis
    cls = nn.Softmax if node.op_type == "Softmax" else nn.LogSoftmax
    return Held(call_layer(cls(dim=axis if axis != rank - 1 else -1, name=imp.layer_name(node)), h), h.perm)


# ---------------------------------------------------------------- dense
def _dense(imp: Importer, node: Any, h: Held, kernel: np.ndarray, bias: np.ndarray | None) -> Held:
    if h.features is not None:  # rows follow ONNX's feature order: put them in neurona's
        rows = np.empty_like(kernel)
        rows[h.features] = kernel
        kernel = rows
    if h.perm is not None:
        raise imp.error(node, f"a matrix product on a tensor held with axes {h.perm} is not supported")
    layer = nn.Dense(kernel.shape[1], use_bias=bias is not None, name=imp.layer_name(node))
    y = call_layer(layer, h)
    set_weights(layer, kernel=kernel, **({"bias": np.broadcast_to(bias, kernel.shape[1:])} if bias is not None
                                          else {}))
    return Held(y)


@op("Gemm")
def _gemm(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    if attrs.get("transA", 0):
        raise imp.error(node, "transA=1 is not supported")
    h = imp.held(node.input[0], node)
    B = imp.const(node.input[1], node, "the weight B")
    kernel = (B.T if attrs.get("transB", 0) else B) * attrs.get("alpha", 1.0)
    bias = None
    if len(node.input) > 2 and node.input[2]:
        bias = imp.const(node.input[2], node, "the bias C").reshape(-1) * attrs.get("beta", 1.0)
    return _dense(imp, node, h, kernel, bias)


@op("MatMul")
def _matmul(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    """x @ W, with the Add of a bias that follows it folded into the Dense layer."""
    h = imp.held(node.input[0], node)
    W = imp.const(node.input[1], node, "the weight matrix")
    bias = None
    after = imp.consumers.get(node.output[0], [])
    if len(after) == 1 and after[0].op_type == "Add":
        other = [n for n in after[0].input if n != node.output[0]]
        value = imp.values.get(other[0]) if len(other) == 1 else None
        if isinstance(value, np.ndarray) and value.size == W.shape[1]:
            bias = value.reshape(-1)
            imp.skip.add(list(imp.graph.node).index(after[0]))
            imp.values[after[0].output[0]] = out = _dense(imp, node, h, W, bias)
            return out
    return _dense(imp, node, h, W, bias)


# ---------------------------------------------------------------- convolution and pooling
def _sequence(imp: Importer, node: Any) -> Held | None:
    """The node's first input when it is a channels-first sequence (N, C, L) (a 1-D operator), else None."""
    h = imp.held(node.input[0], node)
    return h if h.perm == NCL_VIEW else None


def _pads_1d(imp: Importer, node: Any, attrs: dict[str, Any], length: int, k: int, s: int) -> Any:
    """neurona's 1-D padding ("valid", "same", "causal" or an int) for ONNX's [begin, end] pads."""
    begin, end = attrs.get("pads", [0, 0])
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "") or (begin, end) == (0, 0):
        return {"VALID": "valid", "SAME_UPPER": "same"}.get(attrs.get("auto_pad"), "valid")
    if (begin, end) == same_pads(length, k, s):
        return "same"
    if end == 0 and begin == k - 1 and s == 1:
        return "causal"
    if begin == end:
        return begin
    raise imp.error(node, f"pads {[begin, end]} are not supported on a sequence")


def _conv1d(imp: Importer, node: Any, attrs: dict[str, Any], h: Held, W: np.ndarray, bias: Any) -> Held:
    k, s, d = W.shape[2], attrs.get("strides", [1])[0], attrs.get("dilations", [1])[0]
    padding = _pads_1d(imp, node, attrs, h.shape[1], d * (k - 1) + 1, s)
    layer = nn.Conv1D(W.shape[0], k, strides=s, padding=padding, dilation_rate=d, use_bias=bias is not None,
                      name=imp.layer_name(node))
    y = call_layer(layer, h)
    set_weights(layer, kernel=W.transpose(2, 1, 0), **({"bias": bias} if bias is not None else {}))
    return Held(y, NCL_VIEW)


def _conv_padding(imp: Importer, node: Any, attrs: dict[str, Any], h: Held,
                  kernel: tuple[int, int]) -> tuple[Held, Any, tuple[int, int], tuple[int, int]]:
    """(input, neurona padding, strides, dilations) of an image Conv; pads neurona's layers cannot express
    (different at the two ends) become a ZeroPadding2D layer before it."""
    stride = tuple(attrs.get("strides", [1, 1]))
    dil = tuple(attrs.get("dilations", [1, 1]))
    keff = (dil[0] * (kernel[0] - 1) + 1, dil[1] * (kernel[1] - 1) + 1)
    padding, pads = _padding(imp, node, attrs, h.shape[1:3], keff, stride)
    if padding is None:
        if pads[0] == pads[1] and pads[2] == pads[3]:
            padding = [pads[0], pads[2]]
        else:
            zeros = nn.ZeroPadding2D(((pads[0], pads[1]), (pads[2], pads[3])), name=imp.layer_name(node))
            h = Held(call_layer(zeros, h), NCHW_VIEW)
            padding = "valid"
    return h, padding, stride, dil


def _depthwise(imp: Importer, node: Any, attrs: dict[str, Any], h: Held, W: np.ndarray, bias: Any) -> Held:
    """Conv with group = input channels C, weights (C * M, 1, kh, kw): neurona's DepthwiseConv2D with
    depth_multiplier M and kernel (kh, kw, C, M) (output channel c * M + m in both)."""
    channels = h.shape[-1]
    if W.shape[1] != 1 or W.shape[0] % channels:
        raise imp.error(node, f"a depthwise Conv over {channels} channels needs weights (C * M, 1, kh, kw). "
                              f"Received: {W.shape}")
    x, padding, stride, dil = _conv_padding(imp, node, attrs, h, W.shape[2:])
    multiplier = W.shape[0] // channels
    layer = nn.DepthwiseConv2D(tuple(W.shape[2:]), strides=stride, padding=padding, depth_multiplier=multiplier,
                               dilation_rate=dil, use_bias=bias is not None, name=imp.layer_name(node))
    y = call_layer(layer, x)
    kernel = W.reshape(channels, multiplier, *W.shape[2:]).transpose(2, 3, 0, 1)
    set_weights(layer, depthwise_kernel=kernel, **({"bias": bias} if bias is not None else {}))
    return Held(y, NCHW_VIEW)


@op("Conv")
def _conv(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    W = imp.const(node.input[1], node, "the kernel")
    bias = imp.const(node.input[2], node, "the bias") if len(node.input) > 2 and node.input[2] else None
    group = attrs.get("group", 1)
    sequence = _sequence(imp, node)
    h = sequence if sequence is not None and W.ndim == 3 else _image(imp, node)
    channels = h.shape[-1]
    if group != 1 and (group != channels or h is sequence):
        raise imp.error(node, f"grouped convolution (group={group}) over {channels} input channels has no neurona "
                              "layer; imported are group=1 (Conv2D, Conv1D) and, on images, group = the input "
                              "channels (DepthwiseConv2D)")
    if h is sequence:
        return _conv1d(imp, node, attrs, h, W, bias)
    if group != 1:
        return _depthwise(imp, node, attrs, h, W, bias)
    x, padding, stride, dil = _conv_padding(imp, node, attrs, h, W.shape[2:])
    layer = nn.Conv2D(W.shape[0], tuple(W.shape[2:]), strides=stride, padding=padding, dilation_rate=dil,
                      use_bias=bias is not None, name=imp.layer_name(node))
    y = call_layer(layer, x)
    set_weights(layer, kernel=W.transpose(2, 3, 1, 0), **({"bias": bias} if bias is not None else {}))
    return Held(y, NCHW_VIEW)


@op("ConvTranspose")
def _conv_transpose(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    h = _image(imp, node)
    if attrs.get("group", 1) != 1 or attrs.get("output_shape") or attrs.get("auto_pad", "NOTSET") not in ("NOTSET",
                                                                                                          ""):
        raise imp.error(node, "only ConvTranspose with group 1 and explicit pads is imported")
    W = imp.const(node.input[1], node, "the kernel")
    bias = imp.const(node.input[2], node, "the bias") if len(node.input) > 2 and node.input[2] else None
    t, left, b, r = attrs.get("pads", [0, 0, 0, 0])
    if t != b or left != r:
        raise imp.error(node, f"asymmetric pads {attrs.get('pads')} are not supported")
    out_pad = tuple(attrs.get("output_padding", [0, 0]))
    layer = nn.Conv2DTranspose(W.shape[1], tuple(W.shape[2:]), strides=tuple(attrs.get("strides", [1, 1])),
                               padding=[t, left], output_padding=out_pad if any(out_pad) else None,
                               dilation_rate=tuple(attrs.get("dilations", [1, 1])), use_bias=bias is not None,
                               name=imp.layer_name(node))
    y = call_layer(layer, h)
    set_weights(layer, kernel=W.transpose(2, 3, 0, 1), **({"bias": bias} if bias is not None else {}))
    return Held(y, NCHW_VIEW)


@op("MaxPool", "AveragePool")
def _pool(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    if attrs.get("ceil_mode", 0) or any(d != 1 for d in attrs.get("dilations", [1, 1])) or \
            len(node.output) > 1 and node.output[1]:
        raise imp.error(node, "ceil_mode, dilations and indices are not supported")
    sequence = _sequence(imp, node)
    if sequence is not None and len(attrs["kernel_shape"]) == 1:
        (size,), (step,) = attrs["kernel_shape"], attrs.get("strides", [1])
        padding = _pads_1d(imp, node, attrs, sequence.shape[1], size, step)
        if padding not in ("valid", "same") or padding == "same" and attrs.get("count_include_pad", 0):
            raise imp.error(node, f"pads {attrs.get('pads')} are not supported on a sequence pool")
        cls = nn.AvgPool1D if node.op_type == "AveragePool" else nn.MaxPool1D
        return Held(call_layer(cls(size, strides=step, padding=padding, name=imp.layer_name(node)), sequence),
                    NCL_VIEW)
    h = _image(imp, node)
    pool = tuple(attrs["kernel_shape"])
    stride = tuple(attrs.get("strides", [1, 1]))
    padding, pads = _padding(imp, node, attrs, h.shape[1:3], pool, stride)
    average = node.op_type == "AveragePool"
    counts_pads = average and attrs.get("count_include_pad", 0)
    if padding == "same" and counts_pads:
        padding = None
    x = h
    if padding is None and (counts_pads or not average and h.nonnegative):
        # zeros that count in the average, or that never win a max over values >= 0 (PyTorch's padded pools)
        zeros = nn.ZeroPadding2D(((pads[0], pads[1]), (pads[2], pads[3])), name=imp.layer_name(node))
        x, padding = Held(call_layer(zeros, h), NCHW_VIEW), "valid"
    if padding is None:
        raise imp.error(node, f"pads {attrs.get('pads')} are not supported (none, TensorFlow's 'same', or any after "
                              "a ReLU for a max pool)")
    cls = nn.AvgPool2D if average else nn.MaxPool2D
    y = Held(call_layer(cls(pool, strides=stride, padding=padding, name=imp.layer_name(node)), x), NCHW_VIEW)
    y.nonnegative = h.nonnegative
    return y


@op("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    sequence = _sequence(imp, node)
    if sequence is not None:
        cls1d = nn.GlobalAvgPool1D if node.op_type == "GlobalAveragePool" else nn.GlobalMaxPool1D
        return Held(call_layer(cls1d(keepdims=True, name=imp.layer_name(node)), sequence), NCL_VIEW)
    h = _image(imp, node)
    cls = nn.GlobalAvgPool2D if node.op_type == "GlobalAveragePool" else nn.GlobalMaxPool2D
    return Held(call_layer(cls(keepdims=True, name=imp.layer_name(node)), h), NCHW_VIEW)


@op("Pad")
def _pad(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    h = _image(imp, node)
    pads = [int(p) for p in imp.const(node.input[1], node, "the pads")]
    value = imp.values.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if attrs.get("mode", "constant") != "constant" or (value is not None and np.any(value != 0)) or \
            any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
        raise imp.error(node, f"only zero padding of the image's height and width is imported. Received: pads={pads}")
    layer = nn.ZeroPadding2D(((pads[2], pads[6]), (pads[3], pads[7])), name=imp.layer_name(node))
    return Held(call_layer(layer, h), NCHW_VIEW)


@op("Resize", "Upsample")
def _resize(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    h = _image(imp, node)
    scale_name = node.input[2] if node.op_type == "Resize" and len(node.input) > 2 else node.input[-1]
    scales = imp.const(scale_name, node, "the scales") if scale_name else np.zeros(0)
    if scales.size != 4 or np.any(scales[:2] != 1) or np.any(scales[2:] != np.round(scales[2:])):
        raise imp.error(node, f"only integer scales of height and width are imported. Received: scales={scales}")
    mode = attrs.get("mode", "nearest")
    coords = attrs.get("coordinate_transformation_mode", "half_pixel")
    if mode == "nearest" and (coords == "asymmetric" or node.op_type == "Upsample") and \
            attrs.get("nearest_mode", "floor") == "floor":
        interpolation = "nearest"
    elif mode == "linear" and coords in ("half_pixel", "pytorch_half_pixel"):
        interpolation = "bilinear"
    else:
        raise imp.error(node, f"mode {mode!r} with {coords!r} coordinates has no neurona up-sampling")
    layer = nn.UpSampling2D(tuple(int(s) for s in scales[2:]), interpolation=interpolation, name=imp.layer_name(node))
    return Held(call_layer(layer, h), NCHW_VIEW)


@op("BatchNormalization")
def _batch_norm(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    h = imp.held(node.input[0], node)
    if len(h.shape) == 4:
        h = _image(imp, node)
    elif len(h.shape) != 2 or h.perm is not None:
        raise imp.error(node, f"expected (N, C, H, W) or (N, C). Received: neurona shape {h.shape}")
    gamma, beta, mean, var = (imp.const(n, node, what) for n, what in
                              zip(node.input[1:5], ("scale", "bias", "mean", "variance")))
    layer = nn.BatchNorm(momentum=float(attrs.get("momentum", 0.9)), epsilon=float(attrs.get("epsilon", 1e-5)),
                         name=imp.layer_name(node))
    y = call_layer(layer, h)
    set_weights(layer, gamma=gamma, beta=beta, moving_mean=mean, moving_variance=var)
    return Held(y, h.perm)


@op("LayerNormalization")
def _layer_norm(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    h = imp.held(node.input[0], node)
    if h.perm is not None or h.features is not None or attrs.get("axis", -1) % len(h.shape) != len(h.shape) - 1:
        raise imp.error(node, "only a LayerNormalization over the last axis is imported")
    gamma = imp.const(node.input[1], node, "the scale")
    beta = imp.const(node.input[2], node, "the bias") if len(node.input) > 2 and node.input[2] else None
    layer = nn.LayerNorm(epsilon=float(attrs.get("epsilon", 1e-5)), center=beta is not None,
                         name=imp.layer_name(node))
    y = call_layer(layer, h)
    set_weights(layer, gamma=gamma, **({"beta": beta} if beta is not None else {}))
    return Held(y)


# ---------------------------------------------------------------- elementwise arithmetic
@op("Add", "Sub", "Mul", "Div")
def _arithmetic(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Any:
    a, b = (imp.values.get(n) for n in node.input)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[node.op_type](a, b)
    if isinstance(a, Held) and isinstance(b, Held):
        a, b = _broadcast_pixels(imp, node, a, b)
        if a.perm != b.perm or a.shape != b.shape or a.features is not None or b.features is not None:
            raise imp.error(node, f"expected two tensors of one shape and layout. Received: neurona shapes "
                                  f"{a.shape} and {b.shape}")
        cls = {"Add": nn.Add, "Sub": nn.Subtract, "Mul": nn.Multiply}.get(node.op_type)
        if cls is None:
            raise imp.error(node, "dividing two computed tensors has no neurona layer")
        return _same_as(a, call_layer(cls(name=imp.layer_name(node)), [a, b]))
    const_first = isinstance(a, np.ndarray)
    h, c = (b, a) if const_first else (a, b)
    if not isinstance(h, Held) or not isinstance(c, np.ndarray):
        raise imp.error(node, "expected tensors or constants")
    c = c.astype(np.float64)
    if c.size == 1:
        return _same_as(h, call_layer(_rescaling(imp, node, float(c.reshape(-1)[0]), const_first), h))
    return _same_as(h, call_layer(_normalization(imp, node, h, c, const_first), h))


def _broadcast_pixels(imp: Importer, node: Any, a: Held, b: Held) -> tuple[Held, Held]:
    """An image and per-channel values (N, 1, 1, C): the values repeated over the pixels (nearest up-sampling)."""
    if len(a.shape) != 4 or len(b.shape) != 4 or a.perm != b.perm or a.shape == b.shape:
        return a, b
    big, small = (a, b) if b.shape[1:3] == (1, 1) else (b, a)
    if small.shape[1:3] != (1, 1) or small.shape[3] != big.shape[3]:
        return a, b
    spread = Held(call_layer(nn.UpSampling2D(big.shape[1:3], name=imp.layer_name(node)), small), small.perm)
    return (big, spread) if big is a else (spread, big)


def _rescaling(imp: Importer, node: Any, c: float, const_first: bool) -> nn.Module:
    name = imp.layer_name(node)
    kind = node.op_type
    if kind == "Add":
        return nn.Rescaling(1.0, c, name=name)
    if kind == "Sub":
        return nn.Rescaling(-1.0, c, name=name) if const_first else nn.Rescaling(1.0, -c, name=name)
    if kind == "Mul":
        return nn.Rescaling(c, name=name)
    if const_first:
        raise imp.error(node, "a constant divided by a tensor has no neurona layer")
    return nn.Rescaling(1.0 / c, name=name)


def _normalization(imp: Importer, node: Any, h: Held, c: np.ndarray, const_first: bool) -> nn.Module:
    """A per-feature constant as a Normalization layer: x - m is (x - m) / 1, x / s is (x - 0) / s (s > 0)."""
    rank = len(h.shape)
    if h.features is not None or c.ndim > rank:
        raise imp.error(node, f"a constant of shape {c.shape} cannot be applied to neurona shape {h.shape}")
    c = c.reshape((1,) * (rank - c.ndim) + c.shape)
    if h.perm:  # the constant in neurona's layout
        c = c.transpose(np.argsort(h.perm))
    kept = tuple(i for i in range(1, rank) if c.shape[i] > 1)
    if c.shape[0] != 1 or not kept:
        raise imp.error(node, f"a constant of shape {c.shape} is not per feature")
    zeros, ones = np.zeros_like(c), np.ones_like(c)
    kind = node.op_type
    if kind == "Sub" and const_first:
        raise imp.error(node, "a constant minus a tensor has no neurona layer")
    if kind in ("Add", "Sub"):
        mean, variance = (-c if kind == "Add" else c), ones
    elif kind == "Div" and const_first:
        raise imp.error(node, "a constant divided by a tensor has no neurona layer")
    elif np.all(c > 0):
        mean, variance = zeros, (1 / c) ** 2 if kind == "Mul" else c**2
    else:
        raise imp.error(node, f"{kind} by a per-feature constant with values <= 0 has no neurona layer")
    return nn.Normalization(axis=kept, mean=mean, variance=variance, name=imp.layer_name(node))


# ---------------------------------------------------------------- merges of several inputs
@op("Sum", "Mean", "Max", "Min")
def _merge(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    held = [imp.held(n, node) for n in node.input]
    if len({h.perm for h in held}) != 1 or len({h.shape for h in held}) != 1:
        raise imp.error(node, "expected inputs of one shape and layout")
    cls = {"Sum": nn.Add, "Mean": nn.Average, "Max": nn.Maximum, "Min": nn.Minimum}[node.op_type]
    if len(held) == 1:
        return held[0]
    return _same_as(held[0], call_layer(cls(name=imp.layer_name(node)), held))
