"""nr.jit and traced training steps: same results as eager mode, retracing, refusals."""

from __future__ import annotations

import numpy as np
import pytest

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.graphs import TraceError


def _mlp(dropout: float = 0.0, batch_norm: bool = False) -> nn.Sequential:
    nr.manual_seed(0)
    layers = [nn.Dense(16, activation="relu")]
    if batch_norm:
        layers.append(nn.BatchNorm())
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Dense(3))
    model = nn.Sequential(layers)
    model.build((None, 8))
    return model


def _data(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rs = np.random.default_rng(seed)
    return rs.standard_normal((n, 8)).astype(np.float32), rs.integers(0, 3, n)


def test_inference_replay_gives_eager_bits_and_retraces_on_new_shape():
    model = _mlp()
    model.eval()
    fast = nr.jit(model)
    x, _ = _data()
    for rows in (10, 10, 7, 10):  # the 7-row batch is a new shape: one more trace
        xb = nr.tensor(x[:rows])
        with nr.no_grad():
            want = model(xb).numpy()
        np.testing.assert_array_equal(fast(xb).numpy(), want)
    assert fast.traces == 2


def test_batch_norm_model_in_training_mode_is_traced_once():
    """Its running statistics change at every call, by the graph's own side effect: no retrace for that."""
    model = _mlp(batch_norm=True)
    fast = nr.jit(model)
    x, _ = _data()
    before = model.state_dict()
    for _ in range(3):
        fast(nr.tensor(x[:10]))
    assert fast.traces == 1
    moved = [k for k, v in model.state_dict().items() if not np.array_equal(v, before[k])]
    assert moved and all("moving" in k or "running" in k for k in moved), moved


def test_cache_keeps_the_last_graphs_only():
    fast = nr.jit(lambda a: (a * 2).sum(axis=1), cache_size=2)
    for rows in (1, 2, 3, 1):  # 1 was evicted by 3: traced again
        out = fast(nr.tensor(np.ones((rows, 4))))
        np.testing.assert_array_equal(out.numpy(), np.full(rows, 8.0, np.float32))
    assert fast.traces == 4
    with pytest.raises(ValueError, match="cache_size"):
        nr.jit(lambda a: a, cache_size=0)


def test_new_dtype_traces_again():
    fast = nr.jit(lambda a: a * 3)
    fast(nr.tensor(np.ones(3)))
    out = fast(nr.tensor(np.ones(3), dtype=np.float64))
    assert out.dtype == np.float64 and fast.traces == 2


@pytest.mark.parametrize("dropout,batch_norm", [(0.0, False), (0.3, False), (0.0, True), (0.3, True)])
def test_traced_training_equals_eager_training(dropout, batch_norm):
    """Same seed, same batches: the same weights, running statistics and losses; the last batch is smaller."""
    x, y = _data(44)
    eager, traced = _mlp(dropout, batch_norm), _mlp(dropout, batch_norm)
    opt_e = optim.Adam(eager.parameters(), lr=0.01)
    opt_t = optim.Adam(traced.parameters(), lr=0.01)
    step = nr.jit.train_step(traced, F.cross_entropy, opt_t)
    nr.manual_seed(1)
    losses_e = []
    for i in range(0, 44, 8):
        xb, yb = nr.tensor(x[i:i + 8]), y[i:i + 8]
        opt_e.zero_grad()
        loss = F.cross_entropy(eager(xb), yb)
        loss.backward()
        opt_e.step()
        losses_e.append(loss.item())
    nr.manual_seed(1)  # the same generator stream for the dropout masks
    losses_t = [step(nr.tensor(x[i:i + 8]), y[i:i + 8]).item() for i in range(0, 44, 8)]
    assert step.traces == 2  # batches of 8, then the last 4
    np.testing.assert_allclose(losses_t, losses_e, rtol=1e-5)
    for (name, a), (_, b) in zip(eager.state_dict().items(), traced.state_dict().items()):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6, err_msg=name)
    eager.eval()
    traced.eval()
    fast = nr.jit(traced)
    with nr.no_grad():
        want = eager(nr.tensor(x)).numpy()
    np.testing.assert_allclose(fast(nr.tensor(x)).numpy(), want, rtol=1e-5, atol=1e-6)


def test_compile_jit_fit_matches_eager_fit():
    x, y = _data(50)
    histories, weights, evaluations = [], [], []
    for jit in (False, True):
        model = _mlp(dropout=0.2, batch_norm=True)
        model.compile(optim.SGD(lr=0.1, momentum=0.9), "cross_entropy", metrics=["accuracy"], jit=jit)
        nr.manual_seed(3)
        h = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.2, verbose=0)
        histories.append(h.history)
        weights.append([p.numpy() for p in model.parameters()])
        evaluations.append(model.evaluate(x, y))
    np.testing.assert_allclose(evaluations[1], evaluations[0], rtol=1e-5)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(histories[1][key], histories[0][key], rtol=1e-5)
    for a, b in zip(*weights):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_compile_jit_must_be_a_bool():
    model = _mlp()
    with pytest.raises(TypeError, match="jit must be True or False"):
        model.compile("sgd", "cross_entropy", jit="yes")


def test_data_dependent_control_flow_is_refused_naming_the_op():
    def branchy(a):
        s = a.sum()
        if s > 0:
            return a * 2
        return a

    with pytest.raises(TraceError, match=r"bool\(\).*> on the output of Sum"):
        nr.jit(branchy)(nr.tensor(np.ones(3)))
    with pytest.raises(TraceError, match=r"\.item\(\) on the output of Mul"):
        nr.jit(lambda a: a * (a * 2).item())(nr.tensor(np.ones(1)))
    with pytest.raises(TraceError, match=r"\.numpy\(\) on the output of Exp"):
        nr.jit(lambda a: nr.tensor(a.exp().numpy()))(nr.tensor(np.ones(2)))
    with pytest.raises(TraceError, match="made outside the graph by >"):
        nr.jit(lambda a: a * (a > 0))(nr.tensor(np.ones(2)))


def test_backward_inside_an_inference_trace_is_refused():
    w = nr.tensor(np.ones(3), requires_grad=True)

    def step(a):
        loss = (a * w).sum()
        loss.backward()
        return loss

    with pytest.raises(TraceError, match="backward"):
        nr.jit(step)(nr.tensor(np.ones(3)))


@pytest.mark.cpu_only(reason="draws outside ops are seen in the CPU generator's state; the GPU's is not read")
def test_noise_drawn_outside_an_op_is_refused():
    model = nn.Sequential([nn.GaussianNoise(0.1), nn.Dense(2)])
    model.build((None, 3))
    step = nr.jit.train_step(model, F.mse_loss, optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TraceError, match="random numbers were drawn outside an op"):
        step(nr.tensor(np.ones((4, 3))), np.zeros((4, 2), np.float32))


def test_a_target_converted_before_use_is_refused():
    model = _mlp()
    step = nr.jit.train_step(model, lambda out, t: F.mse_loss(out, t.astype(np.float32)),
                             optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TraceError, match="input 1 .* never reaches an op as itself"):
        step(nr.tensor(np.ones((4, 8))), np.zeros((4, 3), np.float64))


def test_unknown_pass_name_is_refused():
    with pytest.raises(ValueError, match="unknown passes"):
        nr.jit(lambda a: a, passes=("dce", "magic"))


def test_traced_outputs_stay_on_the_model_device():
    model = _mlp()
    model.eval()
    fast = nr.jit(model)
    x = nr.tensor(_data()[0][:5], device=model.parameters()[0].device)
    fast(x)
    out = fast(x)
    assert out.device == model.parameters()[0].device


def test_predict_of_a_jit_compiled_model_replays_its_graph():
    """predict() of a model compiled with jit=True runs the traced model in eval mode: eager's outputs
    (within rounding), the last smaller batch traced once more, the training mode given back."""
    x, _ = _data(45)
    outs = []
    for jit in (False, True):
        model = _mlp(dropout=0.3, batch_norm=True)
        model.compile("sgd", "cross_entropy", jit=jit)
        model.train()
        outs.append(model.predict(x, batch_size=16))
        assert model.training
        if jit:
            fast = model._trainer.jit_model
            assert fast.traces == 2  # batches of 16, then the last 13
            again = model.predict(x, batch_size=16)
            assert fast.traces == 2
            np.testing.assert_array_equal(again, outs[1])
    np.testing.assert_allclose(outs[1], outs[0], rtol=1e-6, atol=1e-6)
