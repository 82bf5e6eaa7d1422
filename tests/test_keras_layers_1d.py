"""Conv1D and the 1-D pooling layers: gradcheck in float64, PyTorch comparison, shapes, saving (issue 16)."""

import numpy as np
import pytest

import neurona as nr
from neurona import nn
from neurona.testing import compare_with_torch, gradcheck

R = np.random.default_rng(0)


def _conv1d(padding, strides, dilation):
    def run(x, W, b):
        layer = nn.Conv1D(W.shape[2], W.shape[0], strides=strides, padding=padding, dilation_rate=dilation)
        layer.build((None, x.shape[1], W.shape[1]))
        layer.kernel, layer.bias = W, b  # the checked tensors stand in for the parameters
        return layer(x)
    return run


def _torch_conv1d(padding, strides, dilation):
    def run(x, W, b):
        import torch
        import torch.nn.functional as tf

        xt = x.permute(0, 2, 1)  # (N, C, L)
        k = W.shape[0]
        if padding == "causal":  # zeros before the first step only
            xt = tf.pad(xt, (dilation * (k - 1), 0))
            pad = 0
        elif padding == "same":  # TensorFlow's "same": the extra zero at the end
            total = max((-(-x.shape[1] // strides) - 1) * strides + dilation * (k - 1) + 1 - x.shape[1], 0)
            xt = tf.pad(xt, (total // 2, total - total // 2))
            pad = 0
        else:
            pad = 0 if padding == "valid" else padding
        y = tf.conv1d(xt, W.permute(2, 1, 0), b, stride=strides, padding=pad, dilation=dilation)
        return torch.Tensor.permute(y, 0, 2, 1)
    return run


CASES = [("valid", 1, 1), ("same", 1, 1), ("same", 2, 1), (1, 2, 1), ("valid", 1, 2), ("causal", 1, 1),
         ("causal", 1, 2), ("causal", 2, 1)]


@pytest.mark.parametrize("padding,strides,dilation", CASES)
def test_conv1d_gradcheck(padding, strides, dilation):
    gradcheck(_conv1d(padding, strides, dilation), R.standard_normal((2, 9, 3)), R.standard_normal((3, 3, 4)),
              R.standard_normal(4))


@pytest.mark.parametrize("padding,strides,dilation", CASES)
def test_conv1d_matches_torch(padding, strides, dilation):
    compare_with_torch(_conv1d(padding, strides, dilation), _torch_conv1d(padding, strides, dilation),
                       R.standard_normal((2, 9, 3)), R.standard_normal((3, 3, 4)), R.standard_normal(4))


def _pool(cls, **kw):
    return lambda x: cls(**kw)(x)


def _torch_pool(name, **kw):
    def run(x):
        import torch.nn.functional as tf

        return getattr(tf, name)(x.permute(0, 2, 1), **kw).permute(0, 2, 1)
    return run


@pytest.mark.parametrize("ours,theirs", [
    (_pool(nn.MaxPooling1D, pool_size=2), _torch_pool("max_pool1d", kernel_size=2)),
    (_pool(nn.MaxPooling1D, pool_size=3, strides=2), _torch_pool("max_pool1d", kernel_size=3, stride=2)),
    (_pool(nn.AveragePooling1D, pool_size=2), _torch_pool("avg_pool1d", kernel_size=2)),
    (_pool(nn.GlobalAveragePooling1D), lambda x: x.mean(dim=1)),
    (_pool(nn.GlobalMaxPooling1D), lambda x: x.amax(dim=1)),
    (_pool(nn.GlobalAveragePooling1D, keepdims=True), lambda x: x.mean(dim=1, keepdim=True)),
])
def test_pooling_1d_matches_torch_and_gradcheck(ours, theirs):
    x = R.standard_normal((2, 8, 3))
    compare_with_torch(ours, theirs, x)
    gradcheck(ours, x)


def test_conv1d_layer_shapes_params_and_save(tmp_path):
    nr.manual_seed(0)
    model = nn.Sequential([nn.Input((20, 2)), nn.Conv1D(8, 3, padding="same", activation="relu"),
                           nn.MaxPooling1D(2), nn.Conv1D(4, (5,), strides=2), nn.GlobalAveragePooling1D(),
                           nn.Dense(3)])
    x = R.standard_normal((4, 20, 2)).astype(np.float32)
    assert model(x).shape == (4, 3)
    assert model.count_params() == (3 * 2 * 8 + 8) + (5 * 8 * 4 + 4) + (4 * 3 + 3)
    model.compile("adam", "cross_entropy")
    model.fit(x, np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    model.save(tmp_path / "m.neurona")
    np.testing.assert_array_equal(nr.load_model(tmp_path / "m.neurona").predict(x), model.predict(x))


def test_1d_layers_say_what_they_expected():
    with pytest.raises(ValueError, match=r"Conv1D layer 'c': expected input with 3 dimensions \(N, L, C\)"):
        nn.Conv1D(4, 3, name="c")(np.zeros((2, 5, 5, 1), np.float32))
    with pytest.raises(ValueError, match="GlobalAveragePooling1D layer .* expected input with 3 dimensions"):
        nn.GlobalAveragePooling1D()(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match="kernel_size must be a positive integer. Received: kernel_size=0"):
        nn.Conv1D(4, 0)
    with pytest.raises(ValueError, match="padding must be 'valid', 'same'"):
        nn.Conv1D(4, 3, padding="full")


def test_causal_conv1d_never_sees_the_future_and_is_saved(tmp_path):
    layer = nn.Conv1D(3, 3, padding="causal", dilation_rate=2)
    x = R.standard_normal((1, 12, 2)).astype(np.float32)
    y = layer(x).numpy()
    assert y.shape == (1, 12, 3)
    later = x.copy()
    later[:, 7:] += 1.0  # change the steps from t = 7 on
    changed = np.abs(layer(later).numpy() - y).max(axis=(0, 2)) > 0
    assert not changed[:7].any() and changed[7:].all()
    assert layer.get_config()["padding"] == "causal"
    model = nn.Sequential([nn.Input((12, 2)), nn.Conv1D(3, 3, padding="causal"), nn.GlobalAveragePooling1D()])
    model.save(tmp_path / "c.neurona")
    loaded = nr.load_model(tmp_path / "c.neurona")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_repeat_vector_gradcheck_torch_and_errors():
    def ours(x):
        return nn.RepeatVector(3)(x)

    x = R.standard_normal((2, 4))
    compare_with_torch(ours, lambda t: t.unsqueeze(1).expand(2, 3, 4), x)
    gradcheck(ours, x)
    assert nn.RepeatVector(5).get_config()["n"] == 5
    with pytest.raises(ValueError, match=r"RepeatVector layer 'r': expected input with 2 dimensions \(N, F\)"):
        nn.RepeatVector(2, name="r")(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="n must be a positive integer. Received: n=0"):
        nn.RepeatVector(0)
    assert nr.layers.RepeatVector is nn.RepeatVector


def test_time_distributed_gradcheck_torch_and_saving(tmp_path):
    def ours(x, W, b):
        inner = nn.Dense(3)
        inner.build((None, 4))
        inner.kernel, inner.bias = W, b  # the checked tensors stand in for the parameters
        return nn.TimeDistributed(inner)(x)

    args = R.standard_normal((2, 5, 4)), R.standard_normal((4, 3)), R.standard_normal(3)
    compare_with_torch(ours, lambda x, W, b: (x.reshape(10, 4) @ W + b).reshape(2, 5, 3), *args)
    gradcheck(ours, *args)
    nr.manual_seed(0)
    model = nn.Sequential([nn.Input((3, 6, 6, 1)), nn.TimeDistributed(nn.Conv2D(2, 3)),
                           nn.TimeDistributed(nn.GlobalAvgPool2D()), nn.LSTM(4), nn.Dense(2)])
    x = R.standard_normal((2, 3, 6, 6, 1)).astype(np.float32)
    assert model(x).shape == (2, 2) and model.count_params() == (9 * 2 + 2) + 4 * (2 + 4 + 1) * 4 + (4 * 2 + 2)
    frames = nr.nn.Sequential([model.layers[1].layer]).predict(x[:, 1])  # step 1 alone, the same weights
    np.testing.assert_allclose(model.layers[1](x).numpy()[:, 1], frames, rtol=1e-6)
    model.compile("adam", "cross_entropy")
    model.fit(x, np.array([0, 1]), epochs=1, verbose=0)
    model.save(tmp_path / "td.neurona")
    np.testing.assert_array_equal(nr.load_model(tmp_path / "td.neurona").predict(x), model.predict(x))
    with pytest.raises(TypeError, match="expected a layer to wrap. Received: int"):
        nn.TimeDistributed(3)
    with pytest.raises(ValueError, match=r"expected input with 3 dimensions \(N, T, \.\.\.\)"):
        nn.TimeDistributed(nn.Dense(2))(np.zeros((2, 3), np.float32))


def _bidirectional(return_sequences, merge_mode="concat"):
    def run(x, W, Uf, bf, Wb, Ub, bb):
        layer = nn.Bidirectional(nn.LSTM(Uf.shape[0], return_sequences=return_sequences), merge_mode=merge_mode)
        layer.forward_layer.build(x.shape)
        layer.backward_layer.build(x.shape)
        fl, bl = layer.forward_layer, layer.backward_layer
        fl.kernel, fl.recurrent_kernel, fl.bias = W, Uf, bf  # the checked tensors stand in for the parameters
        bl.kernel, bl.recurrent_kernel, bl.bias = Wb, Ub, bb
        return layer(x)
    return run


def _torch_bidirectional(return_sequences, merge_mode="concat"):
    def run(x, W, Uf, bf, Wb, Ub, bb):
        import torch

        m = torch.nn.LSTM(W.shape[0], Uf.shape[0], batch_first=True, bidirectional=True, dtype=x.dtype)
        zero = torch.zeros_like(bf)
        params = {"weight_ih_l0": W.T, "weight_hh_l0": Uf.T, "bias_ih_l0": bf, "bias_hh_l0": zero,
                  "weight_ih_l0_reverse": Wb.T, "weight_hh_l0_reverse": Ub.T, "bias_ih_l0_reverse": bb,
                  "bias_hh_l0_reverse": zero}
        out, (h, _) = torch.func.functional_call(m, params, (x,))
        u = Uf.shape[0]
        a, b = (out[..., :u], out[..., u:]) if return_sequences else (h[0], h[1])
        return torch.cat([a, b], dim=-1) if merge_mode == "concat" else a + b
    return run


@pytest.mark.parametrize("return_sequences,merge_mode", [(True, "concat"), (False, "concat"), (True, "sum")])
def test_bidirectional_lstm_matches_torch_and_gradcheck(return_sequences, merge_mode):
    f, u = 3, 2
    args = (R.standard_normal((2, 4, f)), R.standard_normal((f, 4 * u)), R.standard_normal((u, 4 * u)),
            R.standard_normal(4 * u), R.standard_normal((f, 4 * u)), R.standard_normal((u, 4 * u)),
            R.standard_normal(4 * u))
    compare_with_torch(_bidirectional(return_sequences, merge_mode),
                       _torch_bidirectional(return_sequences, merge_mode), *args)
    gradcheck(_bidirectional(return_sequences, merge_mode), *args)


def test_bidirectional_saves_and_checks_its_arguments(tmp_path):
    nr.manual_seed(0)
    model = nn.Sequential([nn.Input((4, 3)), nn.Bidirectional(nn.GRU(5)), nn.Dense(2)])
    x = R.standard_normal((2, 4, 3)).astype(np.float32)
    bi = model.layers[1]
    assert model(x).shape == (2, 2) and bi(x).shape == (2, 10)
    assert bi.backward_layer.go_backwards and not bi.forward_layer.go_backwards
    model.compile("adam", "cross_entropy")
    model.fit(x, np.array([0, 1]), epochs=1, verbose=0)
    model.save(tmp_path / "bi.neurona")
    np.testing.assert_array_equal(nr.load_model(tmp_path / "bi.neurona").predict(x), model.predict(x))
    with pytest.raises(ValueError, match="merge_mode must be one of .* Received: merge_mode='max'"):
        nn.Bidirectional(nn.LSTM(2), merge_mode="max")
    with pytest.raises(TypeError, match="layer must be a recurrent layer .* Received: Dense"):
        nn.Bidirectional(nn.Dense(2))
    with pytest.raises(ValueError, match="must agree on return_sequences"):
        nn.Bidirectional(nn.LSTM(2), backward_layer=nn.LSTM(2, return_sequences=True, go_backwards=True))
