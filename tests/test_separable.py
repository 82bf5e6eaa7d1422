"""DepthwiseConv2D and SeparableConv2D: gradcheck in float64, PyTorch (conv2d with groups=C, then 1x1),
saving, channels_first and errors (issue 16)."""

import numpy as np
import pytest

import neurona as nr
from neurona import layers, nn
from neurona.testing import compare_with_torch, gradcheck

R = np.random.default_rng(0)

# (padding, strides, dilation_rate, depth_multiplier)
CASES = [("valid", 1, 1, 1), ("same", 1, 1, 2), ("same", 2, 1, 1), ((1, 2), 2, 1, 2), ("valid", 1, 2, 1),
         ("same", 1, 2, 3)]


def _separable(padding, strides, dilation, multiplier):
    def run(x, Wd, Wp, b):
        layer = nn.SeparableConv2D(Wp.shape[3], Wd.shape[:2], strides=strides, padding=padding,
                                   dilation_rate=dilation, depth_multiplier=multiplier)
        layer.build(x.shape)
        layer.depthwise_kernel, layer.pointwise_kernel, layer.bias = Wd, Wp, b  # the checked tensors
        return layer(x)
    return run


def _depthwise(padding, strides, dilation, multiplier):
    def run(x, Wd, b):
        layer = nn.DepthwiseConv2D(Wd.shape[:2], strides=strides, padding=padding, dilation_rate=dilation,
                                   depth_multiplier=multiplier, activation="tanh")
        layer.build(x.shape)
        layer.depthwise_kernel, layer.bias = Wd, b
        return layer(x)
    return run


def _torch_pads(padding, size, k, stride, dilation):
    """(left, right, top, bottom) for torch's F.pad: TensorFlow's "same" puts the odd zero at the end."""
    if padding == "valid":
        return 0, 0, 0, 0
    if padding == "same":
        out = []
        for n in size:
            extent = dilation * (k - 1) + 1
            total = max((-(-n // stride) - 1) * stride + extent - n, 0)
            out.append((total // 2, total - total // 2))
        (t, b), (le, r) = out
        return le, r, t, b
    ph, pw = padding
    return pw, pw, ph, ph


def _torch_depthwise(x, Wd, padding, strides, dilation):
    import torch.nn.functional as tf

    kh, kw, c, m = Wd.shape
    xt = tf.pad(x.permute(0, 3, 1, 2), _torch_pads(padding, x.shape[1:3], kh, strides, dilation))
    weight = Wd.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
    return tf.conv2d(xt, weight, stride=strides, dilation=dilation, groups=c)  # (N, C*M, Ho, Wo)


def _torch_separable(padding, strides, dilation, multiplier):
    def run(x, Wd, Wp, b):
        import torch.nn.functional as tf

        h = _torch_depthwise(x, Wd, padding, strides, dilation)
        return tf.conv2d(h, Wp.permute(3, 2, 0, 1), b).permute(0, 2, 3, 1)
    return run


def _torch_depthwise_layer(padding, strides, dilation, multiplier):
    def run(x, Wd, b):
        y = _torch_depthwise(x, Wd, padding, strides, dilation).permute(0, 2, 3, 1)
        return (y + b).tanh()
    return run


def _arrays(multiplier, filters=4, c=3, n=2):
    return (R.standard_normal((n, 7, 6, c) if n > 1 else (1, 6, 5, c)), R.standard_normal((3, 3, c, multiplier)),
            R.standard_normal((1, 1, c * multiplier, filters)), R.standard_normal(filters))


@pytest.mark.parametrize("case", CASES)
def test_separable_gradcheck(case):
    gradcheck(_separable(*case), *_arrays(case[3], filters=2, n=1))  # small: one check per element


@pytest.mark.parametrize("case", CASES)
def test_separable_matches_torch(case):
    compare_with_torch(_separable(*case), _torch_separable(*case), *_arrays(case[3]))


@pytest.mark.parametrize("case", CASES[:4])
def test_depthwise_matches_torch_and_gradcheck(case):
    x, Wd, _, _ = _arrays(case[3], n=1)
    b = R.standard_normal(Wd.shape[2] * Wd.shape[3])
    compare_with_torch(_depthwise(*case), _torch_depthwise_layer(*case), x, Wd, b)
    gradcheck(_depthwise(*case), x, Wd, b)


def test_keras_names_are_the_nn_classes_and_shapes_follow_keras():
    assert layers.SeparableConv2D is nn.SeparableConv2D and layers.DepthwiseConv2D is nn.DepthwiseConv2D
    layer = layers.SeparableConv2D(16, 3, strides=2, padding="same", depth_multiplier=2, activation="relu")
    y = layer(nr.tensor(R.standard_normal((2, 9, 9, 5))))
    assert y.shape == (2, 5, 5, 16) and float(y.numpy().min()) >= 0
    assert layer.depthwise_kernel.shape == (3, 3, 5, 2) and layer.pointwise_kernel.shape == (1, 1, 10, 16)
    assert layer.count_params() == 3 * 3 * 5 * 2 + 10 * 16 + 16
    assert layers.DepthwiseConv2D(3, depth_multiplier=2)(nr.tensor(R.standard_normal((1, 5, 5, 4)))).shape == \
        (1, 3, 3, 8)


def test_channels_first_is_the_channels_last_result_transposed():
    x = R.standard_normal((2, 8, 8, 3)).astype(np.float32)
    last = nn.SeparableConv2D(4, 3, padding="same")
    first = nn.SeparableConv2D(4, 3, padding="same", data_format="channels_first")
    last(x)
    first(x.transpose(0, 3, 1, 2))
    first.load_state_dict(last.state_dict())
    np.testing.assert_array_equal(first(x.transpose(0, 3, 1, 2)).numpy(), last(x).numpy().transpose(0, 3, 1, 2))


def test_save_and_load_give_the_same_predictions(tmp_path):
    nr.manual_seed(0)
    model = nn.Sequential([
        nn.Input((12, 12, 3)),
        nn.SeparableConv2D(8, 3, padding="same", activation="relu", depth_multiplier=2, pointwise_regularizer="l2"),
        nn.DepthwiseConv2D(3, strides=2, use_bias=False),
        nn.GlobalAvgPool2D(), nn.Dense(3),
    ])
    model.compile(optimizer="adam", loss="cross_entropy")
    x = R.standard_normal((6, 12, 12, 3)).astype(np.float32)
    model.fit(x, R.integers(0, 3, 6), epochs=1, batch_size=3, verbose=0)
    model.save(tmp_path / "sep.neurona")
    loaded = nr.load_model(tmp_path / "sep.neurona")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    sep = [m for m in loaded.modules() if isinstance(m, nn.SeparableConv2D)][0]
    assert (sep.depth_multiplier, sep.padding, sep.activation) == (2, "same", "relu")


def test_errors_name_the_layer_and_what_came():
    with pytest.raises(ValueError, match="strides > 1 and dilation_rate > 1"):
        nn.SeparableConv2D(4, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="depth_multiplier must be a positive integer"):
        nn.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match="filters must be a positive integer"):
        nn.SeparableConv2D(0, 3)
    layer = nn.SeparableConv2D(4, 3, name="sep")
    layer(np.zeros((1, 5, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"'sep'.*last axis has size 3"):
        layer(np.zeros((1, 5, 5, 2), np.float32))
    with pytest.raises(ValueError, match=r"'sep'.*4 dimensions"):
        layer(np.zeros((5, 5, 3), np.float32))
    with pytest.raises(ValueError, match=r"'sep'.*larger than the padded input"):
        layer(np.zeros((1, 2, 2, 3), np.float32))
