"""dropout and recurrent_dropout on SimpleRNN / LSTM / GRU, as Keras defines them (issue 14)."""

import numpy as np
import pytest

import neurona as nr
from neurona import backend, nn
from neurona import functional as F
from neurona.functional.recurrent import gru, lstm, simple_rnn
from neurona.testing import gradcheck

N, T, FEAT, U = 3, 4, 5, 4
_r = np.random.default_rng(0)
X = _r.standard_normal((N, T, FEAT))


def _mask(shape, rate, seed):
    keep = np.random.default_rng(seed).random(shape) >= rate
    return keep / (1 - rate)


def _weights(k, seed=1, bias_shape=None):
    r = np.random.default_rng(seed)
    return (r.standard_normal((FEAT, k * U)) * 0.5, r.standard_normal((U, k * U)) * 0.5,
            r.standard_normal(bias_shape or (k * U,)) * 0.1, r.standard_normal((N, U)))


OPS = {
    "simple_rnn": (1, None, lambda x, W, Uk, b, h0, m: simple_rnn(x, W, Uk, b, h0, recurrent_mask=m)),
    "lstm": (4, None, lambda x, W, Uk, b, h0, m: lstm(x, W, Uk, b, h0, h0 * 0.5, recurrent_mask=m)),
    "gru": (3, (2, 3 * U), lambda x, W, Uk, b, h0, m: gru(x, W, Uk, b, h0, recurrent_mask=m)),
    "gru_reset_before": (3, None, lambda x, W, Uk, b, h0, m: gru(x, W, Uk, b, h0, reset_after=False,
                                                               recurrent_mask=m)),
}


@pytest.mark.parametrize("name", list(OPS))
def test_fused_ops_gradcheck_with_a_fixed_recurrent_mask(name):
    k, bias_shape, op = OPS[name]
    W, Uk, b, h0 = _weights(k, bias_shape=bias_shape)
    m = _mask((N, U), 0.4, 2)
    gradcheck(lambda x, W, Uk, b, h0: op(x, W, Uk, b, h0, m), X, W, Uk, b, h0)


def _step_reference(name, x, W, Uk, b, h0, m):
    """The cell written out step by step in NumPy, masks applied where Keras applies them."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h, c, out = h0, h0 * 0.5, []
    for t in range(x.shape[1]):
        xt, hm = x[:, t], h * m
        if name == "simple_rnn":
            h = np.tanh(xt @ W + hm @ Uk + b)
        elif name == "lstm":
            z = xt @ W + hm @ Uk + b
            i, f, g, o = sig(z[:, :U]), sig(z[:, U:2 * U]), np.tanh(z[:, 2 * U:3 * U]), sig(z[:, 3 * U:])
            c = f * c + i * g
            h = o * np.tanh(c)
        else:  # gru, reset_after
            zx, a = xt @ W + b[0], hm @ Uk + b[1]
            z, r = sig(zx[:, :U] + a[:, :U]), sig(zx[:, U:2 * U] + a[:, U:2 * U])
            cand = np.tanh(zx[:, 2 * U:] + r * a[:, 2 * U:])
            h = z * h + (1 - z) * cand  # the update reads h_{t-1} unmasked
        out.append(h)
    return np.stack(out, axis=1)


@pytest.mark.parametrize("name", ["simple_rnn", "lstm", "gru"])
def test_fused_ops_mask_the_recurrent_product_at_every_step_with_one_mask(name):
    k, bias_shape, op = OPS[name]
    W, Uk, b, h0 = _weights(k, bias_shape=bias_shape)
    m = _mask((N, U), 0.5, 3)
    seq = op(*(nr.tensor(a, dtype=np.float64) for a in (X, W, Uk, b, h0)), m)[0].numpy()
    np.testing.assert_allclose(seq, _step_reference(name, X, W, Uk, b, h0, m), rtol=1e-10, atol=1e-12)
    unmasked = op(*(nr.tensor(a, dtype=np.float64) for a in (X, W, Uk, b, h0)), None)[0].numpy()
    ones = op(*(nr.tensor(a, dtype=np.float64) for a in (X, W, Uk, b, h0)), np.ones((N, U)))[0].numpy()
    np.testing.assert_array_equal(ones, unmasked)
    assert np.abs(seq - unmasked).max() > 1e-3
    with pytest.raises(ValueError, match=r"recurrent_mask must have shape \(batch, units\) = \(3, 4\)"):
        op(X, W, Uk, b, h0, np.ones((U, N + 2)))


@pytest.mark.parametrize("cls", [nn.SimpleRNN, nn.LSTM, nn.GRU])
def test_layers_draw_one_mask_per_sequence_and_none_in_evaluation(cls):
    nr.manual_seed(0)
    layer = cls(U, dropout=0.5, recurrent_dropout=0.25, return_sequences=True)
    x = nr.tensor(X.astype(np.float32))
    layer(x)
    dxm, dhm = layer.last_masks
    xm, hm = backend.to_numpy(dxm), backend.to_numpy(dhm)
    assert xm.shape == (N, FEAT) and hm.shape == (N, U)  # one mask per sequence, not per step
    assert set(np.unique(xm)) <= {0.0, 2.0} and set(np.unique(hm)) <= {0.0, np.float32(1 / 0.75)}
    # the output is the fused op on x * m_x with the recurrent mask: the same mask at every step
    states = {"LSTM": (None, None)}.get(cls.__name__, (None,))
    ref = {nn.SimpleRNN: lambda: simple_rnn(x * dxm[:, None, :], layer.kernel, layer.recurrent_kernel, layer.bias,
                                            *states, recurrent_mask=dhm),
           nn.LSTM: lambda: lstm(x * dxm[:, None, :], layer.kernel, layer.recurrent_kernel, layer.bias, *states,
                                 recurrent_mask=dhm),
           nn.GRU: lambda: gru(x * dxm[:, None, :], layer.kernel, layer.recurrent_kernel, layer.bias, *states,
                               recurrent_mask=dhm)}[cls]
    nr.manual_seed(0)
    again = cls(U, dropout=0.5, recurrent_dropout=0.25, return_sequences=True)(x)
    np.testing.assert_allclose(again.numpy(), ref()[0].numpy(), rtol=1e-6, atol=1e-6)
    # a new draw at the next call
    layer(x)
    new = [backend.to_numpy(m) for m in layer.last_masks]
    assert not np.array_equal(new[0], xm) or not np.array_equal(new[1], hm)
    # evaluation: no masks, the same output every time, equal to the layer without dropout
    layer.eval()
    a, b = layer(x).numpy(), layer(x).numpy()
    np.testing.assert_array_equal(a, b)
    plain = cls(U, return_sequences=True)
    plain(x)
    plain.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(plain(x).numpy(), a)


def test_mask_statistics():
    nr.manual_seed(3)
    layer = nn.LSTM(50, dropout=0.3, recurrent_dropout=0.6)
    layer(nr.tensor(np.zeros((200, 2, 40), dtype=np.float32)))
    xm, hm = (backend.to_numpy(m) for m in layer.last_masks)
    assert abs((xm > 0).mean() - 0.7) < 0.02 and abs((hm > 0).mean() - 0.4) < 0.02  # 8000 and 10000 draws


def test_layer_gradients_with_fixed_masks_in_float64():
    nr.manual_seed(4)
    layer = nn.GRU(U, dropout=0.3, recurrent_dropout=0.3, reset_after=False)
    x = nr.tensor(X, dtype=np.float64)
    nr.set_default_dtype(np.float64)
    try:
        layer.build((None, T, FEAT))
        layer(x)
        xm, hm = layer.last_masks
        # C order: gradcheck perturbs a reshape(-1) of each input (the orthogonal init is Fortran-ordered)
        W, Uk, b = (np.ascontiguousarray(p.numpy()) for p in (layer.kernel, layer.recurrent_kernel, layer.bias))
        gradcheck(lambda x, W, Uk, b: gru(x * xm[:, None, :], W, Uk, b, reset_after=False, recurrent_mask=hm)[1],
                  X, W, Uk, b)
        # backward through the layer reaches only the inputs that the mask keeps
        xt = nr.tensor(X, dtype=np.float64, requires_grad=True)
        nr.manual_seed(5)
        layer(xt).sum().backward()
        dropped = layer.last_masks[0] == 0
        assert dropped.any() and (xt.grad.transpose(0, 2, 1)[dropped] == 0).all()
    finally:
        nr.set_default_dtype(np.float32)


def test_rates_are_checked_and_saved(tmp_path):
    with pytest.raises(ValueError, match=r"recurrent_dropout must be a number in \[0, 1\). "
                                         r"Received: recurrent_dropout=1.0"):
        nn.LSTM(4, recurrent_dropout=1.0)
    with pytest.raises(ValueError, match="dropout must be a number"):
        nn.SimpleRNN(4, dropout=-0.1)
    nr.manual_seed(6)
    model = nn.Sequential([nn.LSTM(6, dropout=0.2, recurrent_dropout=0.3), nn.Dense(2)])
    x = X.astype(np.float32)
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(x, np.array([0, 1, 0]), epochs=2, batch_size=3, verbose=0)
    path = tmp_path / "m.neurona"
    model.save(path)
    loaded = nr.load_model(path)
    assert (loaded.layers[0].dropout, loaded.layers[0].recurrent_dropout) == (0.2, 0.3)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert F.lstm is lstm
