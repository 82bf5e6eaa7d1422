"""The perceptron's rule on the course's logic gates, and the hand-written backprop network."""

import numpy as np
import pytest

import neurona as nr
from neurona.models import ClassicMLP, Perceptron

GATE_INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_perceptron_reproduces_the_worked_and_gate():
    p = Perceptron(2, lr=0.5, weights=[0.9, 0.9], bias=-0.5, learn_bias=False)
    p.fit(GATE_INPUTS, [0, 0, 0, 1])
    np.testing.assert_allclose(p.weights, [0.4, 0.4])
    assert p.bias == -0.5 and p.converged
    assert p.errors_per_epoch == [2, 0]
    np.testing.assert_array_equal(p.predict(GATE_INPUTS), [0, 0, 0, 1])
    trace = p.format_trace().splitlines()
    assert trace[1] == "epoch 1 sample 1: x=(0, 1) d=0 y=1: w <- (0.9, 0.4), b <- -0.5"
    assert trace[2] == "epoch 1 sample 2: x=(1, 0) d=0 y=1: w <- (0.4, 0.4), b <- -0.5"


@pytest.mark.parametrize("targets", [[0, 1, 1, 1], [1, 1, 1, 0]], ids=["OR", "NAND"])
def test_perceptron_learns_linearly_separable_gates(targets):
    p = Perceptron(2, lr=0.1).fit(GATE_INPUTS, targets, epochs=100)
    assert p.converged
    np.testing.assert_array_equal(p.predict(GATE_INPUTS), targets)


def test_perceptron_never_converges_on_xor():
    p = Perceptron(2, lr=0.1).fit(GATE_INPUTS, [0, 1, 1, 0], epochs=200)
    assert not p.converged
    assert min(p.errors_per_epoch) > 0
    assert (p.predict(GATE_INPUTS) != np.array([0, 1, 1, 0])).any()


def test_perceptron_bipolar_and_errors():
    p = Perceptron(2, lr=0.1, activation="sign").fit(GATE_INPUTS, [-1, -1, -1, 1])
    np.testing.assert_array_equal(p.predict(GATE_INPUTS), [-1, -1, -1, 1])
    with pytest.raises(ValueError, match=r"targets must be in \[-1.0, 1.0\]"):
        p.fit(GATE_INPUTS, [0, 0, 0, 1])
    with pytest.raises(ValueError, match=r"expected inputs of shape \(N, 2\)"):
        p.predict([[1, 2, 3]])


@pytest.mark.parametrize("cost,activation", [("quadratic", "sigmoid"), ("cross_entropy", "sigmoid"),
                                             ("quadratic", "tanh"), ("quadratic", "relu")])
def test_classic_mlp_gradients_equal_autograd(cost, activation):
    nr.manual_seed(0)
    net = ClassicMLP([5, 7, 3], activation=activation, cost=cost)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    gW, gb = net.gradients(x, y)

    model = net.to_sequential()
    out = model(nr.tensor(x, dtype=np.float64))
    targets = nr.tensor(np.eye(3)[y], np.float64)  # on the model's (the default) device
    if cost == "quadratic":
        loss = (((out - targets) ** 2).sum(axis=1) * 0.5).mean()
    else:
        loss = nr.functional.binary_cross_entropy(out, targets, reduction="sum") / 6
    loss.backward()
    np.testing.assert_allclose(loss.item(), net.cost_value(x, y), rtol=1e-12)
    for layer, dense in enumerate(model.layers):
        np.testing.assert_allclose(dense.kernel.grad, gW[layer], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dense.bias.grad, gb[layer], rtol=1e-10, atol=1e-12)


def test_classic_mlp_l2_gradient():
    nr.manual_seed(1)
    net = ClassicMLP([3, 4, 2], l2=0.5)
    x, y = np.ones((2, 3)), np.array([0, 1])
    plain = ClassicMLP([3, 4, 2])
    plain.weights = [w.copy() for w in net.weights]
    plain.biases = [b.copy() for b in net.biases]
    gW, _ = net.gradients(x, y, n_train=10)
    gW0, _ = plain.gradients(x, y)
    np.testing.assert_allclose(gW[0] - gW0[0], 0.5 / 10 * net.weights[0])


def test_classic_mlp_learns_digits_quickly():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = digits.data / 16.0, digits.target
    nr.manual_seed(0)
    net = ClassicMLP([64, 30, 10])
    net.fit(x[:1400], y[:1400], epochs=3, batch_size=10, lr=3.0, verbose=False)
    assert net.accuracy(x[1400:], y[1400:]) > 0.8
