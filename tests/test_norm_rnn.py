"""Normalisation, recurrent, embedding and merge: ops (gradcheck, PyTorch) and layers (PyTorch with
copied weights, shapes, Keras's parameter counts, state_dict and get_config round trips, errors)."""


import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from op_case import Case

import neurona as nr
from neurona import functional as F
from neurona import nn
from neurona.nn.module import deserialize_layer, serialize_layer
from neurona.testing import compare_with_torch, gradcheck

R = np.random.default_rng(7)
N, T, FEAT, U = 3, 4, 3, 2  # tiny shapes: gradcheck perturbs every element


def randn(*shape):
    return R.standard_normal(shape)


# ---------------------------------------------------------------- torch references for the ops
def torch_lstm(x, W, U_, b, h0, c0, reverse=False):
    m = torch.nn.LSTM(W.shape[0], U_.shape[0], batch_first=True, dtype=x.dtype)
    params = {"weight_ih_l0": W.T, "weight_hh_l0": U_.T, "bias_ih_l0": b, "bias_hh_l0": torch.zeros_like(b)}
    out, (h, c) = torch.func.functional_call(m, params, (x.flip(1) if reverse else x, (h0[None], c0[None])))
    return out, h[0], c[0]


def gate_swap(A, u):
    """Keras's GRU blocks (z, r, h) <-> torch's (r, z, n) along the last axis."""
    return torch.cat([A[..., u:2 * u], A[..., :u], A[..., 2 * u:]], dim=-1)


def torch_gru(x, W, U_, b, h0, reverse=False):
    u = U_.shape[0]
    m = torch.nn.GRU(W.shape[0], u, batch_first=True, dtype=x.dtype)
    params = {"weight_ih_l0": gate_swap(W, u).T, "weight_hh_l0": gate_swap(U_, u).T,
              "bias_ih_l0": gate_swap(b[0], u), "bias_hh_l0": gate_swap(b[1], u)}
    out, h = torch.func.functional_call(m, params, (x.flip(1) if reverse else x, h0[None]))
    return out, h[0]


def torch_gru_reset_before(x, W, U_, b, h0):
    """The original GRU (torch has no module for it): h~ = tanh(x W_h + (r h) U_h + b_h)."""
    u = U_.shape[0]
    h, outs = h0, []
    for t in range(x.shape[1]):
        zx = x[:, t] @ W + b
        z = torch.sigmoid(zx[:, :u] + h @ U_[:, :u])
        r = torch.sigmoid(zx[:, u:2 * u] + h @ U_[:, u:2 * u])
        cand = torch.tanh(zx[:, 2 * u:] + (r * h) @ U_[:, 2 * u:])
        h = z * h + (1 - z) * cand
        outs.append(h)
    return torch.stack(outs, 1), h


def torch_rnn(x, W, U_, b, h0, nonlinearity="tanh"):
    m = torch.nn.RNN(W.shape[0], U_.shape[0], nonlinearity=nonlinearity, batch_first=True, dtype=x.dtype)
    params = {"weight_ih_l0": W.T, "weight_hh_l0": U_.T, "bias_ih_l0": b, "bias_hh_l0": torch.zeros_like(b)}
    out, h = torch.func.functional_call(m, params, (x, h0[None]))
    return out, h[0]


def nhwc(f):
    """Run a channels-first torch function on channels-last tensors."""
    return lambda x, *rest: f(x.permute(0, 3, 1, 2), *rest).permute(0, 2, 3, 1)




CASES = [
    Case("batch_norm_2d", lambda x, g, b: F.batch_norm(x, g, b),
         lambda x, g, b: TF.batch_norm(x, None, None, g, b, True, 0.1, 1e-3), [randn(5, 3), randn(3), randn(3)]),
    Case("batch_norm_nhwc", lambda x, g, b: F.batch_norm(x, g, b, eps=1e-5),
         nhwc(lambda x, g, b: TF.batch_norm(x, None, None, g, b, True, 0.1, 1e-5)),
         [randn(2, 3, 2, 4), randn(4), randn(4)]),
    Case("batch_norm_no_affine", lambda x: F.batch_norm(x), lambda x: TF.batch_norm(x, None, None, training=True,
                                                                                       eps=1e-3), [randn(4, 3)]),
    Case("batch_norm_eval", lambda x, g, b: F.batch_norm(x, g, b, nr.tensor([0.1, -0.2, 0.3], x.dtype).data,
                                                         nr.tensor([0.5, 1.5, 2.0], x.dtype).data, training=False),
         lambda x, g, b: TF.batch_norm(x, torch.tensor([0.1, -0.2, 0.3], dtype=x.dtype),
                                       torch.tensor([0.5, 1.5, 2.0], dtype=x.dtype), g, b, False, 0.1, 1e-3),
         [randn(4, 3), randn(3), randn(3)]),
    Case("layer_norm", lambda x, g, b: F.layer_norm(x, g, b, eps=1e-5),
         lambda x, g, b: TF.layer_norm(x, (4,), g, b, 1e-5), [randn(3, 2, 4), randn(4), randn(4)]),
    Case("layer_norm_no_affine", lambda x: F.layer_norm(x), lambda x: TF.layer_norm(x, (5,), eps=1e-3),
         [randn(3, 5)]),
    Case("simple_rnn", lambda *a: F.simple_rnn(*a), torch_rnn,
         [randn(N, T, FEAT), randn(FEAT, U), randn(U, U), randn(U), randn(N, U)]),
    Case("simple_rnn_relu", lambda *a: F.simple_rnn(*a, activation="relu"), lambda *a: torch_rnn(*a, "relu"),
         [randn(N, T, FEAT), randn(FEAT, U), randn(U, U), randn(U), randn(N, U)]),
    Case("lstm", lambda *a: F.lstm(*a), torch_lstm,
         [randn(N, T, FEAT), randn(FEAT, 4 * U), randn(U, 4 * U), randn(4 * U), randn(N, U), randn(N, U)]),
    Case("lstm_backwards", lambda *a: F.lstm(*a, go_backwards=True), lambda *a: torch_lstm(*a, reverse=True),
         [randn(N, T, FEAT), randn(FEAT, 4 * U), randn(U, 4 * U), randn(4 * U), randn(N, U), randn(N, U)]),
    Case("gru", lambda *a: F.gru(*a), torch_gru,
         [randn(N, T, FEAT), randn(FEAT, 3 * U), randn(U, 3 * U), randn(2, 3 * U), randn(N, U)]),
    Case("gru_backwards", lambda *a: F.gru(*a, go_backwards=True), lambda *a: torch_gru(*a, reverse=True),
         [randn(N, T, FEAT), randn(FEAT, 3 * U), randn(U, 3 * U), randn(2, 3 * U), randn(N, U)]),
    Case("gru_reset_before", lambda *a: F.gru(*a, reset_after=False), torch_gru_reset_before,
         [randn(N, T, FEAT), randn(FEAT, 3 * U), randn(U, 3 * U), randn(3 * U), randn(N, U)]),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_gradcheck(case):
    assert gradcheck(case.ours, *case.inputs)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_matches_torch(case):
    compare_with_torch(case.ours, case.theirs, *case.inputs)


def test_recurrent_ops_without_initial_state_or_bias():
    x, W, U_ = randn(N, T, FEAT), randn(FEAT, 4 * U), randn(U, 4 * U)
    zeros = np.zeros((N, U))
    compare_with_torch(lambda x, W, U_: F.lstm(x, W, U_), lambda x, W, U_: torch_lstm(
        x, W, U_, torch.zeros(4 * U, dtype=x.dtype), torch.tensor(zeros), torch.tensor(zeros)), x, W, U_)
    assert gradcheck(lambda x, W, U_: F.gru(x[:, :1], W, U_, reset_after=False), x, randn(FEAT, 3 * U), randn(U, 3 * U))
    assert gradcheck(lambda x, W, U_: F.simple_rnn(x, W, U_, activation="linear"), x, randn(FEAT, U), randn(U, U))


def test_ops_keep_float32():
    x = nr.tensor(randn(2, 3, 4))
    assert F.batch_norm(x).dtype == np.float32 and F.layer_norm(x).dtype == np.float32
    rm, rv = nr.tensor(np.zeros(4)).data, nr.tensor(np.ones(4)).data  # on the default device, float32
    F.batch_norm(x, running_mean=rm, running_var=rv)
    assert rm.dtype == np.float32 and rv.dtype == np.float32
    W, U_ = nr.tensor(randn(4, 9)), nr.tensor(randn(3, 9))
    assert all(o.dtype == np.float32 for o in F.gru(x, W, U_))


def test_op_errors_name_the_op():
    with pytest.raises(ValueError, match=r"batch_norm: gamma must have shape \(4,\).*\(3,\)"):
        F.batch_norm(nr.tensor(randn(2, 4)), nr.tensor(randn(3)))
    with pytest.raises(ValueError, match=r"lstm: kernel must have shape .*\(3, 8\).*\(4, 8\)"):
        F.lstm(nr.tensor(randn(2, 5, 3)), nr.tensor(randn(4, 8)), nr.tensor(randn(2, 8)))
    with pytest.raises(ValueError, match="recurrent cells support activation"):
        F.simple_rnn(nr.tensor(randn(2, 5, 3)), nr.tensor(randn(3, 2)), nr.tensor(randn(2, 2)), activation="elu")


# ---------------------------------------------------------------- layers
@pytest.fixture
def f64():
    nr.set_default_dtype(np.float64)
    yield
    nr.set_default_dtype(np.float32)


def t64(a, grad=True):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def close(a, b, tol=1e-8):
    a = a.numpy() if isinstance(a, nr.Tensor) else nr.backend.to_numpy(a)
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def build(layer, shape, ints=False):
    """Build a layer by calling it once on zeros in eval mode (no statistics move).

    (Module.build alone is not enough: the first call builds again, with fresh weights.)
    """
    layer.eval()
    with nr.no_grad():
        layer(np.zeros(shape, dtype=np.int64) if ints else nr.tensor(np.zeros(shape)))
    layer.train()


@pytest.mark.parametrize("shape", [(8, 3), (2, 3, 3, 4)], ids=["dense", "conv"])
def test_batchnorm_matches_torch_over_steps(f64, shape):
    C = shape[-1]
    layer = nn.BatchNorm(momentum=0.9, gamma_initializer="random_normal", beta_initializer="random_normal")
    build(layer, shape)
    tb = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(C, eps=1e-3, momentum=1 - 0.9,
                                                                             dtype=torch.float64)
    with torch.no_grad():
        tb.weight.copy_(torch.tensor(layer.gamma.numpy()))
        tb.bias.copy_(torch.tensor(layer.beta.numpy()))
    perm, inv = ((0, 3, 1, 2), (0, 2, 3, 1)) if len(shape) == 4 else ((0, 1), (0, 1))
    for step in range(3):
        x = randn(*shape) * 2 + step
        gy = randn(*shape)
        ours_x, their_x = nr.tensor(x, requires_grad=True), t64(x)
        y, ty = layer(ours_x), tb(their_x.permute(perm)).permute(inv)
        close(y, ty)
        layer.zero_grad()
        y.backward(gy)  # = (y * gy).sum().backward(), with gy moved to y's device
        tb.zero_grad()
        (ty * torch.tensor(gy)).sum().backward()
        close(ours_x.grad, their_x.grad)
        close(layer.gamma.grad, tb.weight.grad)
        close(layer.beta.grad, tb.bias.grad)
    close(layer.moving_mean, tb.running_mean)
    close(layer.moving_variance, tb.running_var)
    layer.eval()
    tb.eval()
    x = randn(*shape)
    close(layer(nr.tensor(x)), tb(t64(x).permute(perm)).permute(inv))


def test_batchnorm_channels_first_axis(f64):
    layer = nn.BatchNorm(axis=1, momentum=0.0)
    x = randn(2, 3, 4, 5)
    tb = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=1.0, dtype=torch.float64)
    ours_x, their_x = nr.tensor(x, requires_grad=True), t64(x)
    y, ty = layer(ours_x), tb(their_x)
    close(y, ty)
    gy = randn(*x.shape)
    y.backward(gy)  # = (y * gy).sum().backward(), with gy moved to y's device
    (ty * torch.tensor(gy)).sum().backward()
    close(ours_x.grad, their_x.grad)
    close(layer.moving_variance, tb.running_var)
    assert gradcheck(lambda x: nn.BatchNorm(axis=1, name="bn_axis1")(x), randn(3, 2, 2))


def test_batchnorm_layer_gradcheck(f64):
    layer = nn.BatchNorm(gamma_initializer="random_normal")
    assert gradcheck(lambda x: layer(x) * 1.0, randn(4, 2, 3))


def test_frozen_batchnorm_runs_in_inference_mode(f64):
    layer = nn.BatchNorm()
    layer(nr.tensor(randn(6, 3) * 3 + 1))  # one training step moves the running statistics
    state = {k: v.copy() for k, v in layer.state_dict().items()}
    layer.trainable = False
    x = randn(6, 3)
    y = layer(nr.tensor(x))
    expected = (x - state["moving_mean"]) / np.sqrt(state["moving_variance"] + 1e-3) * state["gamma"] + state["beta"]
    close(y, expected)
    close(layer.moving_mean, state["moving_mean"])
    assert not layer.gamma.requires_grad and layer.count_params(trainable_only=True) == 0


def test_batchnorm_batch_of_one_is_finite():
    layer = nn.BatchNorm()
    y = layer(nr.tensor(randn(1, 3)))
    assert np.isfinite(layer.moving_variance).all() and np.isfinite(y.numpy()).all()


def test_layernorm_matches_torch(f64):
    layer = nn.LayerNorm(epsilon=1e-5, gamma_initializer="random_normal", beta_initializer="random_normal")
    x = randn(2, 3, 5)
    build(layer, x.shape)
    tl = torch.nn.LayerNorm(5, eps=1e-5, dtype=torch.float64)
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(layer.gamma.numpy()))
        tl.bias.copy_(torch.tensor(layer.beta.numpy()))
    ours_x, their_x = nr.tensor(x, requires_grad=True), t64(x)
    y, ty = layer(ours_x), tl(their_x)
    close(y, ty)
    gy = randn(*x.shape)
    y.backward(gy)  # = (y * gy).sum().backward(), with gy moved to y's device
    (ty * torch.tensor(gy)).sum().backward()
    close(ours_x.grad, their_x.grad)
    close(layer.gamma.grad, tl.weight.grad)
    close(layer.beta.grad, tl.bias.grad)
    assert gradcheck(lambda x: nn.LayerNorm(axis=1)(x), randn(2, 3, 2))


def copy_to_torch(layer, kind):
    """A torch RNN/LSTM/GRU module holding the layer's weights (gate order and layout mapped)."""
    u, W, U_ = layer.units, t64(layer.kernel.numpy(), False), t64(layer.recurrent_kernel.numpy(), False)
    b = t64(layer.bias.numpy(), False)
    if kind == "GRU":
        W, U_, b_ih, b_hh = gate_swap(W, u), gate_swap(U_, u), gate_swap(b[0], u), gate_swap(b[1], u)
    else:
        b_ih, b_hh = b, torch.zeros_like(b)
    cls = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[kind]
    m = cls(W.shape[0], u, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        for name, value in (("weight_ih_l0", W.T), ("weight_hh_l0", U_.T), ("bias_ih_l0", b_ih),
                            ("bias_hh_l0", b_hh)):
            getattr(m, name).copy_(value)
    return m


def torch_grads(layer, m, kind):
    """The torch module's weight gradients in the layer's layout."""
    u = layer.units
    gW, gU = m.weight_ih_l0.grad.T, m.weight_hh_l0.grad.T
    gb = m.bias_ih_l0.grad
    if kind == "GRU":
        back = lambda A: torch.cat([A[..., u:2 * u], A[..., :u], A[..., 2 * u:]], dim=-1)  # noqa: E731 (inverse swap)
        return back(gW), back(gU), torch.stack([back(gb), back(m.bias_hh_l0.grad)])
    return gW, gU, gb


@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero_state", "initial_state"])
def test_recurrent_layer_matches_torch(f64, kind, with_state):
    layer = getattr(nn, kind)(3, return_sequences=True, return_state=True, bias_initializer="random_normal")
    x = randn(2, 5, 4)
    build(layer, x.shape)
    m = copy_to_torch(layer, kind)
    states = [randn(2, 3) for _ in range(2 if kind == "LSTM" else 1)]
    ours_x, their_x = nr.tensor(x, requires_grad=True), t64(x)
    ours_s, their_s = [nr.tensor(s, requires_grad=True) for s in states], [t64(s) for s in states]
    if with_state:
        outs = layer(ours_x, initial_state=ours_s if kind == "LSTM" else ours_s[0])
        tstate = tuple(s[None] for s in their_s) if kind == "LSTM" else their_s[0][None]
        tout = m(their_x, tstate)
    else:
        outs, tout = layer(ours_x), m(their_x)
    seq, tstates = tout[0], tout[1] if kind == "LSTM" else (tout[1],)
    theirs = [seq] + [s[0] for s in tstates]
    assert len(outs) == len(theirs)
    gys = [randn(*o.shape) for o in outs]
    for o, t in zip(outs, theirs, strict=True):
        close(o, t)
    sum((o * nr.backend.to_device(g, o.device)).sum() for o, g in zip(outs, gys, strict=True)).backward()
    sum((t * torch.tensor(g)).sum() for t, g in zip(theirs, gys, strict=True)).backward()
    close(ours_x.grad, their_x.grad)
    for ours_g, their_g in zip((layer.kernel.grad, layer.recurrent_kernel.grad, layer.bias.grad),
                               torch_grads(layer, m, kind), strict=True):
        close(ours_g, their_g)
    if with_state:
        for s, ts in zip(ours_s, their_s, strict=True):
            close(s.grad, ts.grad)


@pytest.mark.parametrize("kind, k", [("SimpleRNN", 1), ("LSTM", 4), ("GRU", 3)])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("return_state", [False, True])
def test_recurrent_output_shapes(kind, k, return_sequences, return_state):
    layer = getattr(nn, kind)(6, return_sequences=return_sequences, return_state=return_state)
    out = layer(nr.tensor(randn(2, 5, 3)))
    first = (2, 5, 6) if return_sequences else (2, 6)
    n_states = 2 if kind == "LSTM" else 1
    if return_state:
        assert [tuple(o.shape) for o in out] == [first] + [(2, 6)] * n_states
        if not return_sequences:
            close(out[0], out[1], 0)  # the output is the last hidden state
    else:
        assert tuple(out.shape) == first and out.dtype == np.float32


def test_recurrent_parameter_counts_follow_keras():
    feat, u = 7, 5
    x = nr.tensor(randn(2, 3, feat))
    counts = {nn.SimpleRNN(u): u * (feat + u) + u, nn.LSTM(u): 4 * (u * (feat + u) + u),
              nn.GRU(u): 3 * (u * (feat + u) + 2 * u), nn.GRU(u, reset_after=False): 3 * (u * (feat + u) + u)}
    for layer, expected in counts.items():
        layer(x)
        assert layer.count_params() == expected, type(layer).__name__


def test_lstm_unit_forget_bias_and_orthogonal_recurrent_kernel():
    layer = nn.LSTM(4)
    layer(nr.tensor(randn(2, 3, 5)))
    b = layer.bias.numpy()
    assert (b[4:8] == 1).all() and (b[:4] == 0).all() and (b[8:] == 0).all()
    U_ = layer.recurrent_kernel.numpy()
    np.testing.assert_allclose(U_ @ U_.T, np.eye(4), atol=1e-5)
    plain = nn.LSTM(4, unit_forget_bias=False)
    plain(nr.tensor(randn(2, 3, 5)))
    assert (plain.bias.numpy() == 0).all()


@pytest.mark.parametrize("cls, k", [(nn.SimpleRNN, 1), (nn.LSTM, 4), (nn.GRU, 3)])
def test_recurrent_default_initialisation_is_keras(cls, k):
    """Keras's defaults: glorot_uniform over the whole (F, k units) kernel, orthogonal (units, k units)
    recurrent kernel, zero biases but the LSTM forget gate's."""
    feat, u = 40, 16
    layer = cls(u)
    layer(nr.tensor(randn(2, 3, feat)))
    W, U_, b = layer.kernel.numpy(), layer.recurrent_kernel.numpy(), layer.bias.numpy()
    limit = np.sqrt(6 / (feat + k * u))
    assert np.abs(W).max() <= limit and np.abs(W).max() > 0.9 * limit
    assert abs(W.std() - limit / np.sqrt(3)) < 0.1 * limit / np.sqrt(3)  # uniform on [-limit, limit]
    np.testing.assert_allclose(U_ @ U_.T, np.eye(u), atol=1e-5)
    forget = np.zeros(b.shape, bool)
    if cls is nn.LSTM:
        forget[u:2 * u] = True
    assert (b[forget] == 1).all() and (b[~forget] == 0).all()


def test_go_backwards_reads_the_sequence_reversed(f64):
    x = randn(2, 4, 3)
    fwd = nn.GRU(3, return_sequences=True)
    bwd = nn.GRU(3, return_sequences=True, go_backwards=True)
    build(fwd, x.shape)
    build(bwd, x.shape)
    bwd.load_state_dict(fwd.state_dict())
    close(bwd(nr.tensor(x)), fwd(nr.tensor(x[:, ::-1].copy())))


def test_rnn_trains_in_float32():
    model = nn.Sequential([nn.Embedding(20, 8), nn.LSTM(16), nn.Dense(2)])
    opt = nr.optim.Adam(model.parameters(), lr=1e-2)
    ids = R.integers(0, 20, (16, 6))
    labels = (ids[:, 0] < 10).astype(np.int64)  # the class depends on the first token: memory is needed
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(ids), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


LAYERS = [
    (lambda: nn.BatchNorm(momentum=0.9, epsilon=1e-4, center=False), (4, 3, 3, 2)),
    (lambda: nn.LayerNorm(scale=False), (4, 5)),
    (lambda: nn.SimpleRNN(3, activation="relu", return_sequences=True), (2, 4, 3)),
    (lambda: nn.LSTM(3, recurrent_activation="sigmoid", go_backwards=True, unit_forget_bias=False), (2, 4, 3)),
    (lambda: nn.GRU(3, reset_after=False, return_state=True), (2, 4, 3)),
    (lambda: nn.Embedding(10, 4), None),
]


@pytest.mark.parametrize("make, shape", LAYERS, ids=lambda v: "" if not callable(v) else type(v()).__name__)
def test_state_dict_and_config_round_trip(make, shape):
    layer = make()
    x = R.integers(0, 10, (3, 5)) if shape is None else nr.tensor(randn(*shape))
    layer(x)  # builds, and (BatchNorm) moves the running statistics away from their start
    layer.eval()
    clone = deserialize_layer(serialize_layer(layer))
    assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
    build(clone, tuple(x.shape), ints=shape is None)
    clone.load_state_dict(layer.state_dict())
    clone.eval()
    a, b = layer(x), clone(x)
    for p, q in zip(a if isinstance(a, tuple) else [a], b if isinstance(b, tuple) else [b], strict=True):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert set(layer.state_dict()) == set(clone.state_dict())


def test_batchnorm_buffers_are_saved_not_trained():
    layer = nn.BatchNorm()
    layer(nr.tensor(randn(4, 3)))
    assert [n for n, _ in layer.named_parameters()] == ["gamma", "beta"]
    assert set(layer.state_dict()) == {"gamma", "beta", "moving_mean", "moving_variance"}
    assert "Non-trainable params: 6" in layer.summary(print_fn=None)  # Keras's 4C total, 2C non-trainable


def test_layer_errors_name_the_layer_and_shapes():
    bn = nn.BatchNorm(name="bn")
    bn(nr.tensor(randn(2, 4)))
    with pytest.raises(ValueError, match=r"BatchNorm layer 'bn': expected input with 4 features.*shape=\(2, 3\)"):
        bn(nr.tensor(randn(2, 3)))
    with pytest.raises(ValueError, match=r"LSTM layer 'rnn': expected input with 3 dimensions.*shape=\(2, 3\)"):
        nn.LSTM(4, name="rnn")(nr.tensor(randn(2, 3)))
    lstm = nn.LSTM(4, name="lstm_a")
    lstm(nr.tensor(randn(2, 5, 3)))
    with pytest.raises(ValueError, match=r"LSTM layer 'lstm_a': expected input whose last axis has size 3"):
        lstm(nr.tensor(randn(2, 5, 6)))
    with pytest.raises(ValueError, match=r"'lstm_a': expected 2 initial state tensor\(s\) \[h, c\]. Received: 1"):
        lstm(nr.tensor(randn(2, 5, 3)), initial_state=nr.tensor(randn(2, 4)))
    with pytest.raises(ValueError, match=r"'lstm_a': expected initial states of shape .*\(2, 4\).*\(2, 5\)"):
        lstm(nr.tensor(randn(2, 5, 3)), initial_state=[nr.tensor(randn(2, 5))] * 2)
    with pytest.raises(ValueError, match="units must be a positive integer"):
        nn.GRU(0)
    emb = nn.Embedding(10, 3, name="emb")
    with pytest.raises(ValueError, match=r"Embedding layer 'emb': expected ids in \[0, 10\).*max=10"):
        emb(np.array([[1, 10]]))
    with pytest.raises(ValueError, match="Embedding layer 'emb': expected integer ids"):
        emb(np.array([[1.5]]))


def test_embedding_matches_torch(f64):
    layer = nn.Embedding(6, 4)
    ids = np.array([[0, 2, 2, 5], [5, 5, 1, 2]])  # repeated ids must add their gradients
    build(layer, ids.shape, ints=True)
    te = torch.nn.Embedding(6, 4, dtype=torch.float64)
    with torch.no_grad():
        te.weight.copy_(torch.tensor(layer.embeddings.numpy()))
    y, ty = layer(ids), te(torch.tensor(ids))
    close(y, ty)
    gy = randn(*y.shape)
    y.backward(gy)
    (ty * torch.tensor(gy)).sum().backward()
    close(layer.embeddings.grad, te.weight.grad)
    assert layer.count_params() == 6 * 4 and y.shape == (2, 4, 4)
    close(layer(nr.tensor(ids)), y)  # whole numbers in a float tensor are accepted
    assert gradcheck(lambda w: w[ids], layer.embeddings.numpy())


@pytest.mark.parametrize("cls, np_fn", [
    (nn.Add, lambda a, b, c: a + b + c), (nn.Multiply, lambda a, b, c: a * b * c),
    (nn.Average, lambda a, b, c: (a + b + c) / 3), (nn.Maximum, lambda a, b, c: np.maximum(np.maximum(a, b), c)),
    (nn.Minimum, lambda a, b, c: np.minimum(np.minimum(a, b), c)),
])
def test_elementwise_merges(cls, np_fn):
    xs = [randn(2, 3) for _ in range(3)]
    close(cls()([nr.tensor(x, dtype=np.float64) for x in xs]), np_fn(*xs))
    torch_fn = {nn.Add: lambda a, b, c: a + b + c, nn.Multiply: lambda a, b, c: a * b * c,
                nn.Average: lambda a, b, c: (a + b + c) / 3,
                nn.Maximum: lambda a, b, c: torch.maximum(torch.maximum(a, b), c),
                nn.Minimum: lambda a, b, c: torch.minimum(torch.minimum(a, b), c)}[cls]
    compare_with_torch(lambda a, b, c: cls()([a, b, c]), torch_fn, *xs)
    assert gradcheck(lambda a, b, c: cls()([a, b, c]), *xs)


def test_subtract_and_concatenate():
    a, b, c = randn(2, 3, 2), randn(2, 3, 2), randn(2, 3, 4)
    compare_with_torch(lambda a, b: nn.Subtract()([a, b]), lambda a, b: a - b, a, b)
    compare_with_torch(lambda a, b, c: nn.Concatenate()([a, b, c]), lambda a, b, c: torch.cat([a, b, c], -1),
                       a, b, c)
    compare_with_torch(lambda a, b: nn.Concatenate(axis=1)([a, b]), lambda a, b: torch.cat([a, b], 1), a, b)
    layer = nn.Concatenate(axis=0)
    assert deserialize_layer(serialize_layer(layer)).axis == 0


def test_merge_errors_name_the_layer_and_shapes():
    a, b = nr.tensor(randn(2, 3)), nr.tensor(randn(2, 4))
    with pytest.raises(ValueError, match=r"Add layer 'add_x': expected inputs of the same shape. "
                                         r"Received: shapes=\[\(2, 3\), \(2, 4\)\]"):
        nn.Add(name="add_x")([a, b])
    with pytest.raises(TypeError, match=r"Add layer 'add_y': expected a list of tensors"):
        nn.Add(name="add_y")(a)
    with pytest.raises(ValueError, match="expected a list of at least 2 tensors. Received: 1"):
        nn.Add()([a])
    with pytest.raises(ValueError, match="expected a list of exactly 2 tensors. Received: 3"):
        nn.Subtract()([a, a, a])
    with pytest.raises(ValueError, match=r"Concatenate layer 'cat': expected inputs whose shapes match except on "
                                         r"the concatenation axis 0. Received: shapes=\[\(2, 3\), \(2, 4\)\]"):
        nn.Concatenate(axis=0, name="cat")([a, b])
    assert nn.Concatenate()([a, b]).shape == (2, 7)


@pytest.mark.parametrize("op, k, which", [(F.lstm, 4, 0), (F.lstm, 4, 2), (F.gru, 3, 0), (F.simple_rnn, 1, 0)],
                         ids=["lstm_sequence_only", "lstm_cell_state_only", "gru_sequence_only", "rnn_sequence_only"])
def test_recurrent_op_gradient_through_one_output(op, k, which):
    """Backward when only some outputs are used (the others receive no gradient)."""
    rng = np.random.default_rng(3)
    bias = rng.standard_normal((2, 3 * U) if op is F.gru else (k * U,))
    assert gradcheck(lambda *a: op(*a)[which], rng.standard_normal((N, T, FEAT)), rng.standard_normal((FEAT, k * U)),
                     rng.standard_normal((U, k * U)), bias)


GPU_LAYERS = [
    (lambda: nn.LSTM(3, return_sequences=True), (4, 5, 3)), (lambda: nn.GRU(3), (4, 5, 3)),
    (lambda: nn.GRU(3, reset_after=False, go_backwards=True), (4, 5, 3)), (lambda: nn.SimpleRNN(3), (4, 5, 3)),
    (lambda: nn.BatchNorm(), (4, 3, 3, 2)), (lambda: nn.LayerNorm(), (4, 6)),
]


@pytest.mark.gpu
@pytest.mark.parametrize("make, shape", GPU_LAYERS)
def test_gpu_matches_cpu(make, shape):
    x, gy_shape = randn(*shape), None
    layers, results = {}, {}
    for device in ("cpu", "gpu"):
        nr.set_device(device)
        try:
            layer = make()
            build(layer, shape)
            if device == "gpu":
                layer.load_state_dict(layers["cpu"])
            layers[device] = layer.state_dict()
            xt = nr.tensor(x, requires_grad=True)
            y = layer(xt)
            gy_shape = gy_shape or y.shape
            (y * nr.tensor(np.ones(gy_shape))).sum().backward()
            results[device] = [y.numpy(), nr.backend.to_numpy(xt.grad)] + [
                nr.backend.to_numpy(p.grad) for p in layer.parameters()] + list(layer.state_dict().values())
        finally:
            nr.set_device("cpu")
    for a, b in zip(results["cpu"], results["gpu"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("activation, recurrent_activation", [("linear", "sigmoid"), ("relu", "linear"),
                                                              ("sigmoid", "tanh")])
def test_gated_cells_with_other_activations(activation, recurrent_activation):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((N, T, FEAT)) * 0.5
    kw = {"activation": activation, "recurrent_activation": recurrent_activation}
    assert gradcheck(lambda x, W, U_: F.lstm(x, W, U_, **kw), x, rng.standard_normal((FEAT, 4 * U)),
                     rng.standard_normal((U, 4 * U)))
    assert gradcheck(lambda x, W, U_: F.gru(x, W, U_, reset_after=False, **kw), x,
                     rng.standard_normal((FEAT, 3 * U)), rng.standard_normal((U, 3 * U)))
