"""Bugs found and fixed: each test failed before its fix."""

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.optim.schedules import ExponentialDecay


def _leaf_with_many_contributions():
    """A leaf used by several ops of the same generation, as a kernel with an L2 penalty is."""
    w = nr.tensor(np.linspace(-1, 1, 50).reshape(5, 10) * 1e-3 + 1.0, requires_grad=True)
    x = nr.tensor(np.linspace(0, 3, 20).reshape(4, 5) ** 3)
    terms = [(x @ w).sum(), (w * w).sum() * 0.37, w.abs().sum() * 1.3, (w * 3.1).mean(), w.exp().sum() * 1e-3]
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    total.backward()
    return w.grad.copy()


def test_backward_sums_gradients_in_the_same_order_every_time():
    first = _leaf_with_many_contributions()
    junk = []
    for _ in range(30):  # vary memory addresses between runs
        junk.append(nr.tensor(np.ones(7)) * 2)
        np.testing.assert_array_equal(_leaf_with_many_contributions(), first)


def test_first_step_uses_the_schedule_at_step_zero():
    p = nn.Parameter(np.zeros(1), dtype=np.float64)
    opt = optim.SGD([p], lr=ExponentialDecay(1.0, 1, 0.5))
    p.grad = nr.backend.to_device(np.ones(1), p.device)
    opt.step()
    np.testing.assert_allclose(p.data, [-1.0])
    p.grad = nr.backend.to_device(np.ones(1), p.device)
    opt.step()
    np.testing.assert_allclose(p.data, [-1.5])


def test_dense_sigmoid_output_keeps_binary_cross_entropy_stable():
    layer = nn.Dense(1, activation="sigmoid", kernel_initializer="ones")
    x = np.full((1, 1), 40.0, dtype=np.float32)  # saturated: sigmoid(40) == 1 in float32
    loss = F.binary_cross_entropy(layer(nr.tensor(x)), np.zeros((1, 1)))
    loss.backward()
    np.testing.assert_allclose(loss.item(), 40.0, rtol=1e-5)  # the logits form: softplus(40)
    np.testing.assert_allclose(layer.kernel.grad, [[40.0]], rtol=1e-5)  # (sigmoid(z) - t) * x, not 0


def test_load_state_dict_accepts_the_state_of_a_model_with_an_unset_buffer():
    layer = nn.Dense(2)
    layer.build((None, 3))
    layer.register_buffer("extra", None)  # a buffer set later, e.g. by adapt(); state_dict() leaves it out
    fresh = nn.Dense(2)
    fresh.build((None, 3))
    fresh.register_buffer("extra", None)
    fresh.load_state_dict(layer.state_dict())
    np.testing.assert_array_equal(fresh.kernel.data, layer.kernel.data)


def test_layer_built_by_hand_keeps_its_loaded_weights_at_the_first_call():
    layer = nn.Dense(2)
    layer.build((None, 3))
    layer.load_state_dict({"kernel": np.ones((3, 2)), "bias": np.zeros(2)})
    out = layer(nr.tensor(np.ones((1, 3))))
    np.testing.assert_array_equal(out.numpy(), [[3.0, 3.0]])
