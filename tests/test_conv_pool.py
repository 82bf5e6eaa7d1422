"""Convolution, pooling and up-sampling: ops against PyTorch and central differences; the layers' contract.

neurona is channels-last with kernels (kh, kw, C_in, C_out); PyTorch is NCHW with kernels
(C_out, C_in, kh, kw). The torch side of each row permutes, and pads explicitly where
TensorFlow's "same" (asymmetric padding) has no PyTorch spelling.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from op_case import Case

import neurona as nr
from neurona import functional as F
from neurona import nn
from neurona.testing import compare_with_torch, gradcheck

R = np.random.default_rng(7)


def randn(*shape):
    return R.standard_normal(shape)


def distinct(*shape):
    """A permutation of spread-out values: no ties, and gaps far above gradcheck's eps."""
    n = int(np.prod(shape))
    return (R.permutation(n) * 0.37 - n * 0.15).reshape(shape)


# ---------------------------------------------------------------- torch oracles (NHWC in, NHWC out)
def nchw(x):
    return x.permute(0, 3, 1, 2)


def nhwc(x):
    return x.permute(0, 2, 3, 1)


def tf_same(size, k, stride):
    """TensorFlow's "same" padding (before, after) for one axis, written out independently."""
    total = max((math.ceil(size / stride) - 1) * stride + k - size, 0)
    return total // 2, total - total // 2


def pads_for(x, kernel, stride, padding, dilation=(1, 1)):
    """torch F.pad order (left, right, top, bottom)."""
    if padding == "same":
        kh, kw = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
        top, bottom = tf_same(x.shape[1], kh, stride[0])
        left, right = tf_same(x.shape[2], kw, stride[1])
        return left, right, top, bottom
    if padding == "valid":
        return 0, 0, 0, 0
    p = (padding, padding) if isinstance(padding, int) else padding
    return p[1], p[1], p[0], p[0]


def two(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def torch_conv(stride=1, padding=0, dilation=1, relu=False):
    stride, dilation = two(stride), two(dilation)

    def fn(x, w, b=None):
        pads = pads_for(x, w.shape[:2], stride, padding, dilation)
        y = TF.conv2d(TF.pad(nchw(x), pads), w.permute(3, 2, 0, 1), b, stride, 0, dilation)
        return nhwc(torch.relu(y) if relu else y)

    return fn


def torch_conv_transpose(stride=1, padding=0, output_padding=None, dilation=1, relu=False):
    """Int padding: PyTorch's own op. "same"/"valid": the full transposed conv, cropped as Keras/TensorFlow do."""
    stride, dilation = two(stride), two(dilation)

    def fn(x, w, b=None):
        wt = w.permute(2, 3, 0, 1)
        if not isinstance(padding, str):
            y = TF.conv_transpose2d(nchw(x), wt, b, stride, padding, output_padding or 0, dilation=dilation)
        else:
            y = TF.conv_transpose2d(nchw(x), wt, None, stride, 0, dilation=dilation)
            crops = []
            for axis in (1, 0):  # F.pad order: width first
                k = dilation[axis] * (w.shape[axis] - 1) + 1
                size, s, full = x.shape[1 + axis], stride[axis], y.shape[2 + axis]
                if output_padding is None:
                    out = size * s if padding == "same" else size * s + max(k - s, 0)
                else:
                    op = two(output_padding)[axis]
                    out = (size - 1) * s + k - 2 * (k // 2 if padding == "same" else 0) + op
                start = max(full - out, 0) // 2 if padding == "same" else 0
                crops += [-start, out - (full - start)]  # negative pads crop; positive add zeros
            y = TF.pad(y, crops)
            if b is not None:  # after the crop: rows added by output_padding carry the bias too
                y = y + b.reshape(1, -1, 1, 1)
        return nhwc(torch.relu(y) if relu else y)

    return fn


def torch_max_pool(pool, stride=None, padding="valid"):
    pool = two(pool)
    stride = pool if stride is None else two(stride)

    def fn(x):
        x = TF.pad(nchw(x), pads_for(x, pool, stride, padding), value=-math.inf)
        return nhwc(TF.max_pool2d(x, pool, stride))

    return fn


def torch_avg_pool(pool, stride=None, padding="valid"):
    """Keras's average: padded pixels are not counted (sum pool / count pool of ones)."""
    pool = two(pool)
    stride = pool if stride is None else two(stride)

    def fn(x):
        pads = pads_for(x, pool, stride, padding)
        sums = TF.avg_pool2d(TF.pad(nchw(x), pads), pool, stride, divisor_override=1)
        ones = torch.ones_like(nchw(x)[:1, :1])
        counts = TF.avg_pool2d(TF.pad(ones, pads), pool, stride, divisor_override=1)
        return nhwc(sums / counts)

    return fn




def conv_case(name, x, w, b=True, **kw):
    torch_kw = {k: v for k, v in kw.items() if k != "activation"}
    theirs = torch_conv(relu=kw.get("activation") == "relu", **torch_kw)
    inputs = [x, w] + ([randn(w.shape[3])] if b else [])
    return Case(name, lambda *a: F.conv2d(*a, **kw), theirs, inputs)


def tconv_case(name, x, w, b=True, **kw):
    torch_kw = {k: v for k, v in kw.items() if k != "activation"}
    theirs = torch_conv_transpose(relu=kw.get("activation") == "relu", **torch_kw)
    inputs = [x, w] + ([randn(w.shape[3])] if b else [])
    return Case(name, lambda *a: F.conv2d_transpose(*a, **kw), theirs, inputs)


def conv_pool_case(name, x, w, b=True, **kw):
    """F.conv2d_relu_max_pool2d against PyTorch's conv2d, relu and 2x2 max_pool2d in a row."""
    conv = torch_conv(**kw)
    inputs = [x, w] + ([randn(w.shape[3])] if b else [])
    return Case(name, lambda *a: F.conv2d_relu_max_pool2d(*a, **kw),
                lambda *a: nhwc(TF.max_pool2d(torch.relu(nchw(conv(*a))), 2)), inputs)


def pool_case(name, op, x, *args, **kw):
    ours = F.max_pool2d if op == "max" else F.avg_pool2d
    theirs = (torch_max_pool if op == "max" else torch_avg_pool)(*args, **kw)
    return Case(name, lambda a: ours(a, *args, **kw), theirs, [x])


CASES = [
    # conv2d
    conv_case("conv_valid", randn(2, 5, 6, 3), randn(3, 3, 3, 4)),
    conv_case("conv_no_bias", randn(2, 5, 5, 2), randn(3, 3, 2, 3), b=False),
    conv_case("conv_same_odd", randn(2, 5, 5, 2), randn(3, 3, 2, 3), padding="same"),
    conv_case("conv_same_even_kernel", randn(1, 5, 6, 2), randn(2, 4, 2, 3), padding="same"),
    conv_case("conv_same_stride2", randn(2, 6, 7, 2), randn(3, 3, 2, 3), padding="same", stride=2),
    conv_case("conv_int_padding", randn(1, 4, 4, 2), randn(3, 3, 2, 2), padding=1),
    conv_case("conv_pair_padding_stride", randn(1, 6, 5, 2), randn(3, 2, 2, 2), padding=(2, 1), stride=(2, 1)),
    conv_case("conv_stride2_valid", randn(2, 7, 7, 2), randn(3, 3, 2, 3), stride=2),
    conv_case("conv_dilation2", randn(1, 7, 8, 2), randn(3, 3, 2, 2), dilation=2),
    conv_case("conv_dilation2_same", randn(1, 6, 6, 2), randn(3, 3, 2, 2), dilation=2, padding="same"),
    conv_case("conv_1x1", randn(2, 3, 4, 5), randn(1, 1, 5, 3)),
    conv_case("conv_1x1_stride2", randn(2, 5, 5, 3), randn(1, 1, 3, 2), stride=2),
    conv_case("conv_non_square", randn(2, 6, 5, 2), randn(1, 3, 2, 3), padding="same"),
    conv_case("conv_relu", randn(2, 5, 5, 2), randn(3, 3, 2, 3), padding="same", activation="relu"),
    conv_case("conv_8_channels", randn(2, 4, 5, 8), randn(3, 3, 8, 2), padding="same"),  # row-major patch matrix
    conv_case("conv_8_channels_stride2_relu", randn(1, 5, 5, 9), randn(2, 3, 9, 2), stride=2, activation="relu"),
    conv_case("conv_8_channels_no_bias", randn(1, 4, 4, 8), randn(3, 3, 8, 2), b=False, dilation=(1, 2), padding=2),
    conv_case("conv_relu_no_bias", randn(2, 4, 4, 2), randn(2, 2, 2, 3), b=False, activation="relu"),
    # conv2d + relu + 2x2 max pool, fused
    conv_pool_case("conv_pool_same", randn(2, 6, 6, 2), randn(3, 3, 2, 3), padding="same"),
    conv_pool_case("conv_pool_odd_output", randn(2, 7, 5, 2), randn(3, 3, 2, 3)),
    conv_pool_case("conv_pool_8_channels_stride2", randn(1, 9, 9, 8), randn(3, 3, 8, 2), b=False, stride=2,
                   padding="same"),
    conv_pool_case("conv_pool_1x1", randn(2, 4, 6, 3), randn(1, 1, 3, 2)),
    conv_pool_case("conv_pool_fewer_outputs_odd", randn(2, 7, 7, 4), randn(3, 3, 4, 3), padding="same"),
    Case("conv_pool_ties", lambda a, w: F.conv2d_relu_max_pool2d(a, w), lambda a, w: nhwc(TF.max_pool2d(
        torch.relu(nchw(torch_conv()(a, w))), 2)), [np.round(randn(2, 4, 4, 1)).clip(0, 1), np.ones((1, 1, 1, 2))],
         gradcheck=False),
    # conv2d_transpose
    tconv_case("tconv_valid", randn(2, 3, 4, 3), randn(3, 3, 3, 2)),
    tconv_case("tconv_no_bias", randn(1, 3, 3, 2), randn(2, 2, 2, 3), b=False),
    tconv_case("tconv_stride2", randn(2, 3, 3, 2), randn(3, 3, 2, 2), stride=2),
    tconv_case("tconv_stride2_pad1_outpad1", randn(1, 3, 4, 2), randn(3, 3, 2, 2), stride=2, padding=1,
               output_padding=1),
    tconv_case("tconv_same_stride2", randn(2, 3, 3, 2), randn(3, 3, 2, 2), stride=2, padding="same"),
    tconv_case("tconv_same_k2_s2", randn(1, 3, 4, 2), randn(2, 2, 2, 3), stride=2, padding="same"),
    tconv_case("tconv_same_k1_s2", randn(1, 2, 3, 2), randn(1, 1, 2, 2), stride=2, padding="same"),
    tconv_case("tconv_valid_k2_s3", randn(1, 2, 2, 2), randn(2, 2, 2, 2), stride=3, padding="valid"),
    tconv_case("tconv_same_outpad", randn(1, 3, 3, 2), randn(3, 3, 2, 2), stride=2, padding="same", output_padding=1),
    tconv_case("tconv_8_channels_out", randn(1, 3, 3, 2), randn(3, 3, 2, 8), stride=2, padding="same"),
    tconv_case("tconv_dilation2", randn(1, 3, 3, 2), randn(2, 2, 2, 2), dilation=2),
    tconv_case("tconv_relu", randn(1, 3, 3, 2), randn(3, 3, 2, 2), stride=2, padding=1, activation="relu"),
    # pooling
    pool_case("max_2x2", "max", distinct(2, 4, 6, 3), 2),
    pool_case("max_odd_size_floor", "max", distinct(1, 5, 5, 2), 2),
    pool_case("max_overlapping_3s2", "max", distinct(2, 7, 7, 2), 3, 2),
    pool_case("max_stride1", "max", distinct(1, 4, 4, 2), 2, 1),
    pool_case("max_gaps_stride3", "max", distinct(1, 7, 7, 2), 2, 3),
    pool_case("max_non_square", "max", distinct(1, 6, 6, 2), (3, 2)),
    pool_case("max_same", "max", distinct(2, 5, 5, 2), 2, padding="same"),
    pool_case("max_same_overlapping", "max", distinct(1, 5, 6, 2), 3, 2, padding="same"),
    Case("max_ties", lambda a: F.max_pool2d(a, 2), torch_max_pool(2),
         [np.round(randn(2, 4, 4, 3)).clip(0, 1)], gradcheck=False),
    Case("max_ties_overlapping", lambda a: F.max_pool2d(a, 3, 1), torch_max_pool(3, 1),
         [np.ones((1, 4, 4, 2))], gradcheck=False),
    pool_case("avg_2x2", "avg", randn(2, 4, 6, 3), 2),
    pool_case("avg_odd_size_floor", "avg", randn(1, 5, 5, 2), 2),
    pool_case("avg_overlapping_3s2", "avg", randn(2, 7, 7, 2), 3, 2),
    pool_case("avg_non_square", "avg", randn(1, 6, 4, 2), (3, 2), (1, 2)),
    pool_case("avg_same", "avg", randn(2, 5, 5, 2), 2, padding="same"),
    pool_case("avg_same_overlapping", "avg", randn(1, 5, 6, 2), 3, 2, padding="same"),
    Case("global_avg", F.global_avg_pool2d, lambda a: a.mean((1, 2)), [randn(2, 3, 4, 3)]),
    Case("global_avg_keepdims", lambda a: F.global_avg_pool2d(a, keepdims=True),
         lambda a: a.mean((1, 2), keepdim=True), [randn(2, 3, 4, 3)]),
    Case("global_max", F.global_max_pool2d, lambda a: TF.max_pool2d(nchw(a), a.shape[1:3]).flatten(1),
         [distinct(2, 3, 4, 3)]),
    Case("global_max_keepdims_ties", lambda a: F.global_max_pool2d(a, keepdims=True),
         lambda a: nhwc(TF.max_pool2d(nchw(a), a.shape[1:3])), [np.ones((2, 2, 3, 2))], gradcheck=False),
    # up-sampling
    Case("upsample_nearest", F.upsample2d, lambda a: nhwc(TF.interpolate(nchw(a), scale_factor=2, mode="nearest")),
         [randn(2, 3, 4, 2)]),
    Case("upsample_nearest_2x3", lambda a: F.upsample2d(a, (2, 3)),
         lambda a: nhwc(TF.interpolate(nchw(a), scale_factor=(2, 3), mode="nearest")), [randn(1, 3, 2, 2)]),
    Case("upsample_bilinear", lambda a: F.upsample2d(a, 2, "bilinear"),
         lambda a: nhwc(TF.interpolate(nchw(a), scale_factor=2, mode="bilinear", align_corners=False)),
         [randn(2, 3, 4, 2)]),
    Case("upsample_bilinear_3x2", lambda a: F.upsample2d(a, (3, 2), "bilinear"),
         lambda a: nhwc(TF.interpolate(nchw(a), scale_factor=(3, 2), mode="bilinear", align_corners=False)),
         [randn(1, 3, 3, 2)]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_torch(case):
    compare_with_torch(case.ours, case.theirs, *case.inputs, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("case", [c for c in CASES if c.gradcheck], ids=[c.name for c in CASES if c.gradcheck])
def test_gradcheck(case):
    gradcheck(case.ours, *case.inputs)


# ---------------------------------------------------------------- layers
LAYERS = [  # (layer factory, input shape, output shape, parameter count)
    (lambda: nn.Conv2D(4, 3), (2, 7, 6, 3), (2, 5, 4, 4), 3 * 3 * 3 * 4 + 4),
    (lambda: nn.Conv2D(4, 3, padding="same", activation="relu"), (2, 7, 6, 3), (2, 7, 6, 4), 3 * 3 * 3 * 4 + 4),
    (lambda: nn.Conv2D(4, (1, 3), strides=2, padding="same", use_bias=False), (2, 7, 6, 3), (2, 4, 3, 4), 3 * 3 * 4),
    (lambda: nn.Conv2D(2, 3, dilation_rate=2, activation="tanh"), (1, 7, 7, 3), (1, 3, 3, 2), 3 * 3 * 3 * 2 + 2),
    (lambda: nn.Conv2D(2, 3, padding=1, activation="sigmoid"), (1, 5, 5, 2), (1, 5, 5, 2), 3 * 3 * 2 * 2 + 2),
    (lambda: nn.Conv2DTranspose(4, 3, strides=2, padding="same"), (2, 5, 4, 3), (2, 10, 8, 4), 3 * 3 * 3 * 4 + 4),
    (lambda: nn.Conv2DTranspose(4, 3, strides=2), (2, 5, 4, 3), (2, 11, 9, 4), 3 * 3 * 3 * 4 + 4),
    (lambda: nn.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1, activation="relu"),
     (1, 3, 3, 2), (1, 6, 6, 2), 3 * 3 * 2 * 2 + 2),
    (lambda: nn.MaxPool2D(), (2, 7, 6, 3), (2, 3, 3, 3), 0),
    (lambda: nn.MaxPooling2D(3, strides=2, padding="same"), (2, 7, 6, 3), (2, 4, 3, 3), 0),
    (lambda: nn.AvgPool2D(2, padding="same"), (2, 7, 6, 3), (2, 4, 3, 3), 0),
    (lambda: nn.AveragePooling2D((2, 3), strides=1), (2, 7, 6, 3), (2, 6, 4, 3), 0),
    (lambda: nn.GlobalAvgPool2D(), (2, 7, 6, 3), (2, 3), 0),
    (lambda: nn.GlobalAveragePooling2D(keepdims=True), (2, 7, 6, 3), (2, 1, 1, 3), 0),
    (lambda: nn.GlobalMaxPool2D(), (2, 7, 6, 3), (2, 3), 0),
    (lambda: nn.GlobalMaxPooling2D(keepdims=True), (2, 7, 6, 3), (2, 1, 1, 3), 0),
    (lambda: nn.UpSampling2D(), (2, 3, 4, 3), (2, 6, 8, 3), 0),
    (lambda: nn.UpSampling2D((2, 3), interpolation="bilinear"), (2, 3, 4, 3), (2, 6, 12, 3), 0),
]
LAYER_IDS = [f"{i}-{f().__class__.__name__}" for i, (f, *_) in enumerate(LAYERS)]


@pytest.mark.parametrize("make,in_shape,out_shape,n_params", LAYERS, ids=LAYER_IDS)
def test_layer_contract(make, in_shape, out_shape, n_params):
    layer = make()
    x = nr.tensor(R.standard_normal(in_shape), requires_grad=True)
    y = layer(x)
    assert y.shape == out_shape and y.dtype == np.float32
    assert layer.count_params() == n_params
    (y * nr.tensor(R.standard_normal(out_shape))).sum().backward()
    assert x.grad.shape == in_shape and x.grad.dtype == np.float32 and np.abs(x.grad).sum() > 0
    for p in layer.parameters():
        assert p.grad is not None and p.grad.shape == p.shape and np.abs(p.grad).sum() > 0
    # get_config -> from_config gives the same architecture; load_state_dict the same weights
    config = layer.get_config()
    twin = type(layer).from_config({**config, "name": None})
    assert {**twin.get_config(), "name": config["name"]} == config
    twin(nr.tensor(np.zeros(in_shape)))
    twin.load_state_dict(layer.state_dict())
    x0 = R.standard_normal(in_shape)
    np.testing.assert_array_equal(twin(nr.tensor(x0)).numpy(), layer(nr.tensor(x0)).numpy())


def test_conv2d_layer_matches_torch_conv():
    layer = nn.Conv2D(5, (3, 2), strides=(2, 1), padding="same", activation="relu")
    x = R.standard_normal((2, 7, 6, 3))
    y = layer(nr.tensor(x)).numpy()
    k, b = (torch.tensor(layer.kernel.numpy()), torch.tensor(layer.bias.numpy()))
    ref = torch_conv(stride=(2, 1), padding="same", relu=True)(torch.tensor(x, dtype=torch.float32), k, b)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-5, atol=1e-6)


def test_conv2d_transpose_layer_matches_torch():
    layer = nn.Conv2DTranspose(3, 3, strides=2, padding="same")
    x = R.standard_normal((2, 4, 5, 2))
    y = layer(nr.tensor(x)).numpy()
    k, b = (torch.tensor(layer.kernel.numpy()), torch.tensor(layer.bias.numpy()))
    ref = torch_conv_transpose(stride=2, padding="same")(torch.tensor(x, dtype=torch.float32), k, b)
    np.testing.assert_allclose(y, ref.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", [nn.Conv2D(4, 3, name="c"), nn.MaxPool2D(name="p"), nn.UpSampling2D(name="u"),
                                   nn.GlobalAvgPool2D(name="g"), nn.Conv2DTranspose(2, 3, name="t")],
                         ids=lambda layer: type(layer).__name__)
def test_layer_rejects_non_images(layer):
    with pytest.raises(ValueError, match=rf"layer '{layer.name}': expected input with 4 dimensions "
                                         r"\(N, H, W, C\)\. Received: shape=\(3, 4\)"):
        layer(nr.tensor(np.ones((3, 4))))


def test_conv_layer_rejects_wrong_channels_after_build():
    layer = nn.Conv2D(4, 3, name="conv")
    layer(nr.tensor(np.ones((1, 5, 5, 3))))
    with pytest.raises(ValueError, match=r"Conv2D layer 'conv': expected input whose last axis has size 3.*"
                                         r"Received: shape=\(1, 5, 5, 2\)"):
        layer(nr.tensor(np.ones((1, 5, 5, 2))))


def test_layer_names_its_error_for_too_small_images():
    with pytest.raises(ValueError, match=r"Conv2D layer 'big': conv2d: the kernel \(5, 5\).*larger than the padded"):
        nn.Conv2D(2, 5, name="big")(nr.tensor(np.ones((1, 3, 3, 1))))
    with pytest.raises(ValueError, match=r"MaxPool2D layer 'pool': max_pool2d: the pool \(3, 3\) is larger"):
        nn.MaxPool2D(3, name="pool")(nr.tensor(np.ones((1, 2, 2, 1))))


@pytest.mark.parametrize("make,message", [
    (lambda: nn.Conv2D(0, 3), r"filters must be a positive integer\. Received: filters=0"),
    (lambda: nn.Conv2D(2, (3, 0)), r"kernel_size must be a positive int or a pair of them\. Received"),
    (lambda: nn.Conv2D(2, 3, padding="full"), r"padding must be 'valid', 'same'"),
    (lambda: nn.Conv2D(2, 3, activation="nope"), r"unknown activation"),
    (lambda: nn.MaxPool2D(2, padding=1), r"padding must be 'valid' or 'same'"),
    (lambda: nn.UpSampling2D(2, interpolation="cubic"), r"interpolation must be 'nearest' or 'bilinear'"),
], ids=["filters", "kernel_size", "padding", "activation", "pool_padding", "interpolation"])
def test_layer_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("call,message", [
    (lambda: F.conv2d(np.ones((2, 5, 5, 3)), np.ones((3, 3, 4, 8))),
     r"conv2d: x must be \(N, H, W, C\) and w \(kh, kw, C_in, C_out\) with matching C_in\. "
     r"Received: x \(2, 5, 5, 3\), w \(3, 3, 4, 8\)"),
    (lambda: F.conv2d(np.ones((5, 5, 3)), np.ones((3, 3, 3, 8))), r"conv2d: x must be \(N, H, W, C\)"),
    (lambda: F.conv2d(np.ones((1, 5, 5, 3)), np.ones((3, 3, 3, 8)), np.ones(4)),
     r"conv2d: b must have shape \(C_out,\) = \(8,\)\. Received: b \(4,\)"),
    (lambda: F.conv2d(np.ones((1, 2, 2, 1)), np.ones((3, 3, 1, 1))), r"conv2d: the kernel \(3, 3\)"),
    (lambda: F.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), dilation=2), r"conv2d: the kernel \(5, 5\)"),
    (lambda: F.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), stride=0), r"conv2d: stride must be a positive"),
    (lambda: F.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), padding=-1),
     r"conv2d: padding must be an int >= 0"),
    (lambda: F.conv2d_relu_max_pool2d(np.ones((1, 3, 4, 1)), np.ones((3, 3, 1, 1))),
     r"conv2d_relu_max_pool2d: the convolution's output \(1, 2\) is smaller than the 2x2 pool"),
    (lambda: F.conv2d_relu_max_pool2d(np.ones((1, 4, 4, 2)), np.ones((3, 3, 1, 1))),
     r"conv2d_relu_max_pool2d: x must be \(N, H, W, C\) and w"),
    (lambda: F.conv2d(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), padding="full"), r"conv2d: padding must be"),
    (lambda: F.conv2d_transpose(np.ones((1, 4, 4, 2)), np.ones((3, 3, 1, 1))),
     r"conv2d_transpose: x must be .* Received: x \(1, 4, 4, 2\), w \(3, 3, 1, 1\)"),
    (lambda: F.conv2d_transpose(np.ones((1, 4, 4, 1)), np.ones((3, 3, 1, 1)), stride=2, output_padding=2),
     r"conv2d_transpose: output_padding must be smaller than the stride"),
    (lambda: F.conv2d_transpose(np.ones((1, 1, 1, 1)), np.ones((1, 1, 1, 1)), padding=1),
     r"conv2d_transpose: the padding 1 crops the whole output"),
    (lambda: F.max_pool2d(np.ones((1, 4, 4)), 2), r"max_pool2d: x must be \(N, H, W, C\)\. Received: x \(1, 4, 4\)"),
    (lambda: F.avg_pool2d(np.ones((1, 1, 4, 1)), 2), r"avg_pool2d: the pool \(2, 2\) is larger than the input"),
    (lambda: F.max_pool2d(np.ones((1, 4, 4, 1)), 2, padding="full"), r"max_pool2d: padding must be 'valid' or 'same'"),
    (lambda: F.upsample2d(np.ones((1, 4, 4, 1)), 0), r"upsample2d: size must be a positive int"),
    (lambda: F.global_max_pool2d(np.ones((4, 4, 1))), r"global_max_pool2d: x must be \(N, H, W, C\)"),
], ids=lambda v: "" if isinstance(v, str) else None)
def test_op_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_float32_stays_float32():
    x = nr.tensor(R.standard_normal((2, 8, 8, 3)), requires_grad=True)
    w = nr.tensor(R.standard_normal((3, 3, 3, 4)), requires_grad=True)
    b = nr.tensor(R.standard_normal(4), requires_grad=True)
    y = F.conv2d(x, w, b, padding="same", activation="relu")
    y = F.conv2d_transpose(F.max_pool2d(y, 2), w.transpose(0, 1, 3, 2), None, stride=2, padding="same")
    y = F.upsample2d(F.avg_pool2d(y, 2, padding="same"), 2, "bilinear")
    F.global_max_pool2d(y).sum().backward()
    assert y.dtype == x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_reference_cnn_trains():
    """The benchmark's network (on 12x12 images) fits a small batch: every piece learns together."""
    model = nn.Sequential([nn.Conv2D(8, 3, padding="same", activation="relu"), nn.MaxPool2D(2),
                           nn.Conv2D(8, 3, padding="same", activation="relu"), nn.MaxPool2D(2),
                           nn.Flatten(), nn.Dense(16, activation="relu"), nn.Dense(3)])
    x = R.standard_normal((12, 12, 12, 1)).astype(np.float32)
    t = np.arange(12) % 3
    x[t == 1, :6] += 1.0
    x[t == 2, :, :6] -= 1.0
    opt = nr.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = F.cross_entropy(model(nr.tensor(x)), t)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


@pytest.mark.parametrize("name", ["conv", "tconv", "pools", "upsample"])
def test_device(device, name):
    """The same ops on the default device (CuPy on the GPU) give the CPU's values and gradients."""
    rng = np.random.default_rng(3)
    x0, w0 = rng.standard_normal((2, 6, 6, 3)), rng.standard_normal((3, 3, 3, 4))

    def run(dev):
        x = nr.tensor(x0, requires_grad=True, device=dev)
        w = nr.tensor(w0, requires_grad=True, device=dev)
        if name == "conv":
            y = F.conv2d(x, w, None, stride=2, padding="same", activation="relu")
        elif name == "tconv":
            y = F.conv2d_transpose(x, w, None, stride=2, padding="same") * w.sum()
        elif name == "pools":
            y = F.max_pool2d(x, 3, 2, "same") + F.avg_pool2d(x, 3, 2, "same") + F.global_max_pool2d(x, True)
        else:
            y = F.upsample2d(x, 2) * w.sum() + F.upsample2d(x, 2, "bilinear")
        (y * y).sum().backward()
        return y.numpy(), x.grad, w.grad

    for ours, cpu in zip(run(device), run("cpu"), strict=True):
        if cpu is not None:
            np.testing.assert_allclose(nr.backend.to_numpy(ours), cpu, rtol=1e-4, atol=1e-5)


def test_sequential_fuses_conv_relu_maxpool_with_identical_results():
    """Conv2D(relu) + MaxPool2D(2) run as one op inside a built Sequential: the same outputs and gradients
    (up to float32 rounding: the fused op adds the same terms in another order)."""
    from neurona.nn.fusion import ConvReluMaxPool

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 6, 6, 2)).astype(np.float32)
    g = rng.standard_normal((3, 3)).astype(np.float32)
    model = nn.Sequential([nn.Conv2D(4, 3, padding="same", activation="relu"), nn.MaxPool2D(2), nn.Flatten(),
                           nn.Dense(3)])
    model.build((None, 6, 6, 2))
    results = []
    for fused in (True, False):
        model.__dict__["_steps"] = None if fused else model.layers  # None: let the model plan (and fuse)
        model.zero_grad()
        xt = nr.tensor(x, requires_grad=True)
        y = model(xt)
        y.backward(g)  # = (y * g).sum().backward(), with g moved to y's device
        results.append((y.numpy(), xt.grad, [p.grad.copy() for p in model.parameters()]))
        if fused:
            assert isinstance(model._steps[0], ConvReluMaxPool) and len(model._steps) == 3
    (y1, gx1, gp1), (y2, gx2, gp2) = results
    for a, b in zip([y1, gx1, *gp1], [y2, gx2, *gp2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sequential_fuses_only_a_2x2_max_pool_and_names_both_layers_in_errors():
    from neurona.nn.fusion import ConvReluMaxPool

    model = nn.Sequential([nn.Conv2D(2, 3, activation="relu", name="c"), nn.MaxPool2D(3), nn.Flatten()])
    for _ in range(2):  # the first call builds the layers, the second runs the planned (fused) steps
        model(np.ones((1, 8, 8, 1)))
    assert not any(isinstance(step, ConvReluMaxPool) for step in model._steps)
    model = nn.Sequential([nn.Conv2D(2, 3, activation="relu", name="c"), nn.MaxPool2D(2, name="p")])
    for _ in range(2):
        assert model(np.ones((1, 7, 7, 1))).shape == (1, 2, 2, 2)  # 5x5 output, odd row and column dropped
    assert isinstance(model._steps[0], ConvReluMaxPool)
    with pytest.raises(ValueError, match=r"Conv2D layer 'c' \+ MaxPool2D layer 'p': conv2d_relu_max_pool2d: "
                                         r"the convolution's output \(1, 1\)"):
        model(np.ones((1, 3, 3, 1)))


def test_conv_relu_max_pool_without_grad_gives_the_same_output_and_keeps_nothing():
    rng = np.random.default_rng(3)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((3, 9, 8, 4), (3, 3, 4, 5), (5,)))
    x, b = nr.tensor(x), nr.tensor(b)  # on the default device, as w (the strict device refuses host arrays)
    with_grad = F.conv2d_relu_max_pool2d(x, nr.tensor(w, requires_grad=True), b, padding="same")
    with nr.no_grad():
        without = F.conv2d_relu_max_pool2d(x, nr.tensor(w, requires_grad=True), b, padding="same")
    np.testing.assert_array_equal(with_grad.numpy(), without.numpy())
    assert with_grad.creator is not None and without.creator is None


@pytest.mark.parametrize("op", [F.conv2d, F.conv2d_relu_max_pool2d], ids=["conv2d", "conv2d_relu_max_pool2d"])
def test_an_empty_batch_gives_empty_outputs_and_zero_parameter_gradients(op):
    x = nr.tensor(np.zeros((0, 5, 5, 2), np.float32), requires_grad=True)
    w = nr.tensor(np.ones((3, 3, 2, 4), np.float32), requires_grad=True)
    b = nr.tensor(np.ones(4, np.float32), requires_grad=True)
    y = op(x, w, b, padding="same")
    y.sum().backward()
    assert y.shape[0] == 0 and x.grad.shape == x.shape
    assert not w.grad.any() and not b.grad.any()
