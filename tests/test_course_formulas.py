"""The slides' own formulas as options: Adam without bias correction, the strict perceptron,
the quadratic cost with 1/2, DropConnect (issue 14)."""

import numpy as np
import pytest

import neurona as nr
from neurona import backend, nn, optim
from neurona import losses as L
from neurona.models import Perceptron
from neurona.nn.dropconnect import drop_connect
from neurona.testing import compare_with_torch, gradcheck

GATES = [[0, 0], [0, 1], [1, 0], [1, 1]]


# ------------------------------------------------------------------ Adam
def _grads(steps, shape, seed=0):
    r = np.random.default_rng(seed)
    return [r.standard_normal(shape) for _ in range(steps)]


def _run_neurona(p0, grads, **kw):
    p = nr.tensor(p0.copy(), dtype=np.float64, requires_grad=True)
    opt = optim.Adam([p], **kw)
    out = []
    for g in grads:
        p.grad = nr.tensor(g, dtype=np.float64).data  # on the parameter's device
        opt.step()
        out.append(p.numpy().copy())
    return out


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_without_bias_correction_follows_the_slides_formula_step_by_step(weight_decay):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p0 = np.random.default_rng(1).standard_normal((3, 4))
    grads = _grads(6, p0.shape)
    ours = _run_neurona(p0, grads, lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay,
                        bias_correction=False)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads):
        g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(ours[t], p, rtol=1e-12, atol=1e-14)
    # a different rule: the first step is (1 - b1) / sqrt(1 - b2) lr ~ 3.16 lr instead of lr
    corrected = _run_neurona(p0, grads[:1], lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay)
    np.testing.assert_allclose(np.abs(corrected[0] - p0), lr, rtol=1e-4)
    np.testing.assert_allclose(np.abs(ours[0] - p0), lr * (1 - b1) / np.sqrt(1 - b2), rtol=1e-4)


def test_adam_default_still_matches_torch():
    torch = pytest.importorskip("torch")
    p0 = np.random.default_rng(2).standard_normal((5,))
    grads = _grads(5, p0.shape, seed=3)
    ours = _run_neurona(p0, grads, lr=0.05)
    tp = torch.tensor(p0.copy(), requires_grad=True)
    topt = torch.optim.Adam([tp], lr=0.05)
    for t, g in enumerate(grads):
        tp.grad = torch.tensor(g)
        topt.step()
        np.testing.assert_allclose(ours[t], tp.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_adam_bias_correction_option_is_checked_and_saved(tmp_path):
    with pytest.raises(TypeError, match="bias_correction must be True or False. Received: bias_correction='no'"):
        optim.Adam(lr=1e-3, bias_correction="no")
    p = nr.tensor(np.ones(2), requires_grad=True)
    opt = optim.AdamW([p], lr=0.1, bias_correction=False)
    assert opt.state_dict()["param_groups"][0]["bias_correction"] is False
    # a compiled model keeps the option through save / load
    nr.manual_seed(0)
    model = nn.Sequential([nn.Dense(2)])
    model.compile(optimizer=optim.Adam(lr=0.01, bias_correction=False), loss="mse")
    model.fit(np.ones((4, 3), dtype=np.float32), np.zeros((4, 2), dtype=np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "m.neurona")
    loaded = nr.load_model(tmp_path / "m.neurona")
    assert loaded.optimizer.param_groups[0]["bias_correction"] is False


# ------------------------------------------------------------------ perceptron
def test_strict_perceptron_on_the_worked_and_example():
    # the worked example never lands on w.x + b = 0: both forms give the same trace and weights
    runs = {}
    for threshold in ("inclusive", "strict"):
        p = Perceptron(2, lr=0.5, weights=[0.9, 0.9], bias=-0.5, learn_bias=False, threshold=threshold)
        p.fit(GATES, [0, 0, 0, 1])
        np.testing.assert_allclose(p.weights, [0.4, 0.4])
        assert p.errors_per_epoch == [2, 0]
        runs[threshold] = p.format_trace()
    assert runs["inclusive"] == runs["strict"]


def test_strict_perceptron_differs_exactly_on_the_boundary():
    # w = (0.5, 0.5), b = -1: (1, 1) lies on the line w.x + b = 0
    inclusive = Perceptron(2, weights=[0.5, 0.5], bias=-1.0)
    strict = Perceptron(2, weights=[0.5, 0.5], bias=-1.0, threshold="strict")
    np.testing.assert_array_equal(inclusive.predict(GATES), [0, 0, 0, 1])  # AND
    np.testing.assert_array_equal(strict.predict(GATES), [0, 0, 0, 0])     # "<= threshold gives 0"
    sign = Perceptron(2, weights=[0.5, 0.5], bias=-1.0, activation="sign", threshold="strict")
    np.testing.assert_array_equal(sign.predict(GATES), [-1, -1, -1, -1])
    # from zero weights the first sample (0, 0) has s = 0: an error only for the inclusive form
    a = Perceptron(2, lr=0.1).fit(GATES, [0, 0, 0, 1], epochs=100)
    b = Perceptron(2, lr=0.1, threshold="strict").fit(GATES, [0, 0, 0, 1], epochs=100)
    assert a.trace[0].output == 1 and b.trace[0].output == 0
    assert a.converged and b.converged
    np.testing.assert_array_equal(b.predict(GATES), [0, 0, 0, 1])
    assert b.get_config()["threshold"] == "strict"
    with pytest.raises(ValueError, match="threshold must be 'inclusive'.*Received: threshold='>'"):
        Perceptron(2, threshold=">")


# ------------------------------------------------------------------ quadratic cost
def test_quadratic_cost_is_half_the_mean_squared_error():
    r = np.random.default_rng(4)
    y, t = r.standard_normal((6, 3)), r.standard_normal((6, 3))
    cost = L.get_loss("quadratic_cost")
    assert isinstance(cost, L.QuadraticCost) and isinstance(L.get_loss("half_mse"), L.QuadraticCost)
    np.testing.assert_allclose(cost(nr.tensor(y, dtype=np.float64), t).item(), 0.5 * ((y - t) ** 2).mean(),
                               rtol=1e-12)
    np.testing.assert_allclose(cost.per_sample(nr.tensor(y, dtype=np.float64), t).numpy(),
                               0.5 * ((y - t) ** 2).mean(axis=1), rtol=1e-12)
    # dC/dy = (y - t) / n: no factor 2
    yt = nr.tensor(y, dtype=np.float64, requires_grad=True)
    cost(yt, t).backward()
    np.testing.assert_allclose(yt.grad, (y - t) / y.size, rtol=1e-12)
    gradcheck(lambda a: L.QuadraticCost()(a, t), y)
    assert isinstance(L.deserialize_loss(L.serialize_loss(cost)), L.QuadraticCost)


def test_quadratic_cost_matches_torch_half_mse():
    r = np.random.default_rng(5)
    y, t = r.standard_normal((4, 2)), r.standard_normal((4, 2))
    compare_with_torch(lambda a, b: L.QuadraticCost()(a, b), lambda a, b: 0.5 * ((a - b) ** 2).mean(), y, t,
                       wrt=[0])


# ------------------------------------------------------------------ DropConnect
def test_drop_connect_gradcheck_with_a_fixed_mask():
    r = np.random.default_rng(6)
    x, W, b = r.standard_normal((5, 4)), r.standard_normal((4, 3)), r.standard_normal(3)
    mask = r.random((4, 3)) >= 0.4
    for act in (None, "tanh", "sigmoid"):
        gradcheck(lambda x, W, b, act=act: drop_connect(x, W, b, mask, 0.4, act), x, W, b)
    torch = pytest.importorskip("torch")
    compare_with_torch(lambda x, W, b: drop_connect(x, W, b, mask, 0.4, "tanh"),
                       lambda x, W, b: (x @ (W * torch.tensor(mask) / 0.6) + b).tanh(), x, W, b)


def test_drop_connect_gradient_reaches_only_kept_connections():
    r = np.random.default_rng(7)
    mask = r.random((4, 3)) >= 0.5
    W = nr.tensor(r.standard_normal((4, 3)), dtype=np.float64, requires_grad=True)
    drop_connect(nr.tensor(r.standard_normal((8, 4)), dtype=np.float64), W, None, mask, 0.5).sum().backward()
    g = W.grad
    assert (g[~mask] == 0).all() and (g[mask] != 0).all()


def test_dropconnect_layer_masks_per_step_and_uses_full_weights_in_evaluation():
    nr.manual_seed(0)
    layer = nn.DropConnect(50, rate=0.3)
    x = np.random.default_rng(8).standard_normal((16, 40)).astype(np.float32)
    xt = nr.tensor(x)
    layer(xt)
    first = backend.to_numpy(layer.last_mask).copy()
    y = layer(xt)
    second = backend.to_numpy(layer.last_mask)
    assert first.shape == (40, 50) and (first != second).any()  # a new mask every training step
    kept = np.concatenate([first.ravel(), second.ravel()]).mean()
    assert abs(kept - 0.7) < 0.03  # 4000 Bernoulli(0.7) draws: std 0.007
    W, b = layer.kernel.numpy(), layer.bias.numpy()
    np.testing.assert_allclose(y.numpy(), x @ (W * second / 0.7) + b, rtol=1e-5, atol=1e-5)
    # unbiased: the mean over many masks approaches the full layer's output
    mean = np.mean([layer(xt).numpy() for _ in range(300)], axis=0)
    full = x @ W + b
    assert np.abs(mean - full).mean() < 0.1 * np.abs(full).mean()
    layer.eval()
    np.testing.assert_allclose(layer(xt).numpy(), full, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(layer(xt).numpy(), layer(xt).numpy())


def test_dropconnect_layer_trains_saves_and_checks_its_rate(tmp_path):
    nr.manual_seed(1)
    model = nn.Sequential([nn.DropConnect(8, rate=0.5, activation="relu"), nn.Dense(2)])
    x = np.random.default_rng(9).standard_normal((32, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model.compile(optimizer="adam", loss="cross_entropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "m.neurona"
    model.save(path)
    loaded = nr.load_model(path)
    assert isinstance(loaded.layers[0], nn.DropConnect) and loaded.layers[0].rate == 0.5
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\). Received: rate=1.0"):
        nn.DropConnect(3, rate=1.0)
    with pytest.raises(ValueError, match="DropConnect layer .*expected input whose last axis has size 4"):
        model.train()
        model(np.ones((2, 5), dtype=np.float32))
