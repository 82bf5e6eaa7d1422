"""data_format="channels_first" on Conv2D and the 2-D pools: PyTorch's (N, C, H, W) layout fed as is,
gradcheck in float64, the channels-last layer between two transposes, never fused, saved (issue 16)."""

import numpy as np
import pytest

import neurona as nr
from neurona import nn
from neurona.testing import compare_with_torch, gradcheck

R = np.random.default_rng(0)


def _conv(stride, padding, activation):
    def run(x, W, b):
        layer = nn.Conv2D(W.shape[3], W.shape[:2], strides=stride, padding=padding, activation=activation,
                          data_format="channels_first")
        layer.build(x.shape)
        layer.kernel, layer.bias = W, b  # the checked tensors stand in for the parameters
        return layer(x)
    return run


def _torch_conv(stride, padding, activation):
    def run(x, W, b):
        import torch.nn.functional as tf

        y = tf.conv2d(x, W.permute(3, 2, 0, 1), b, stride=stride, padding=padding)  # x is NCHW already
        return y.relu() if activation == "relu" else y
    return run


@pytest.mark.parametrize("stride,padding,activation", [(1, 0, None), (2, 1, "relu"), (1, (1, 0), None)])
def test_conv2d_channels_first_matches_torch_on_nchw_and_gradcheck(stride, padding, activation):
    args = R.standard_normal((2, 3, 6, 5)), R.standard_normal((3, 3, 3, 4)), R.standard_normal(4)
    compare_with_torch(_conv(stride, padding, activation), _torch_conv(stride, padding, activation), *args)
    small = R.standard_normal((1, 3, 5, 4)), args[1], args[2]
    gradcheck(_conv(stride, padding, activation), *small)


@pytest.mark.parametrize("ours,theirs", [
    (lambda x: nn.MaxPool2D(2, data_format="channels_first")(x), lambda x: __import__("torch").nn.functional
     .max_pool2d(x, 2)),
    (lambda x: nn.AvgPool2D(3, strides=2, data_format="channels_first")(x), lambda x: __import__("torch").nn
     .functional.avg_pool2d(x, 3, 2)),
    (lambda x: nn.GlobalAvgPool2D(data_format="channels_first")(x), lambda x: x.mean(dim=(2, 3))),
    (lambda x: nn.GlobalMaxPool2D(keepdims=True, data_format="channels_first")(x),
     lambda x: x.amax(dim=(2, 3), keepdim=True)),
])
def test_pools_channels_first_match_torch_and_gradcheck(ours, theirs):
    x = R.standard_normal((2, 3, 6, 6))
    compare_with_torch(ours, theirs, x)
    gradcheck(ours, x[:1])


def _model(data_format, seed=0):
    nr.manual_seed(seed)
    shape = (3, 8, 8) if data_format == "channels_first" else (8, 8, 3)
    return nn.Sequential([nn.Input(shape), nn.Conv2D(4, 3, padding="same", activation="relu", data_format=data_format),
                          nn.MaxPool2D(2, data_format=data_format), nn.AvgPool2D(2, data_format=data_format),
                          nn.GlobalAvgPool2D(data_format=data_format), nn.Dense(2)])


def test_a_channels_first_model_is_the_channels_last_model_on_transposed_images(tmp_path):
    last, first = _model("channels_last"), _model("channels_first")
    first.load_state_dict(last.state_dict())  # the same weights: kernels are (kh, kw, C_in, C_out) in both
    x = R.standard_normal((4, 8, 8, 3)).astype(np.float32)
    x_nchw = x.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(first.predict(x_nchw), last.predict(x), rtol=1e-6, atol=1e-6)
    conv = next(m for m in first.modules() if isinstance(m, nn.Conv2D))
    assert conv.data_format == "channels_first" and type(conv) is not nn.Conv2D  # so never fused with the pool
    first.compile("adam", "cross_entropy")
    first.fit(x_nchw, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    first.save(tmp_path / "cf.neurona")
    loaded = nr.load_model(tmp_path / "cf.neurona")
    np.testing.assert_array_equal(loaded.predict(x_nchw), first.predict(x_nchw))
    kinds = [type(m).__name__ for m in loaded.modules()]
    assert "ChannelsFirstConv2D" in kinds and "ChannelsFirstMaxPool2D" in kinds


def test_wrong_layouts_are_named():
    with pytest.raises(ValueError, match=r"data_format must be 'channels_last' or 'channels_first'. "
                                         r"Received: data_format='nchw'"):
        nn.Conv2D(4, 3, data_format="nchw")
    with pytest.raises(ValueError, match="data_format must be"):
        nn.MaxPool2D(2, data_format="NCHW")
    layer = nn.Conv2D(4, 3, data_format="channels_first", name="cf")
    with pytest.raises(ValueError, match=r"'cf'.*4 dimensions \(N, C, H, W\)"):
        layer(np.zeros((3, 8, 8), np.float32))
    assert "data_format" not in nn.Conv2D(4, 3, data_format="channels_last").get_config()  # files as before
