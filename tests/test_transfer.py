"""Transfer learning: every parameter that exists at the first step is trained unless frozen
(new heads added or built after compile included), freezing, swapping heads, lower-lr fine-tuning."""

import numpy as np
import pytest

import neurona as nr
from neurona import nn, optim


def _data(n=64, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = (x[:, :classes].argmax(axis=1)).astype(np.int64)
    return x, y


def _base():
    base = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(8, activation="relu")])
    base.build((None, 6))
    return base


def _copies(layer):
    return [p.numpy().copy() for p in layer.parameters()]


def _changed(before, layer):
    return [not np.array_equal(b, p.numpy()) for b, p in zip(before, layer.parameters())]


def test_head_built_after_compile_is_trained_with_the_base_frozen():
    nr.manual_seed(0)
    x, y = _data()
    base = _base()
    base.trainable = False
    head = nn.Dense(3)
    model = nn.Sequential([base, head])  # the head has no weights yet: built at the first batch
    model.compile(optim.Adam(lr=0.05), "cross_entropy")
    frozen = _copies(base)
    hist = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert all(_changed([np.zeros(1)] * 2, head))  # it has weights now...
    assert head.kernel.grad is not None
    assert hist.history["loss"][-1] < 0.8 * hist.history["loss"][0]  # ...and they were trained
    assert not any(_changed(frozen, base))


def test_explicit_optimizer_made_before_the_head_was_built_trains_the_head():
    nr.manual_seed(1)
    x, y = _data(seed=1)
    base = _base()
    model = nn.Sequential([base, nn.Dense(3)])
    opt = optim.SGD(model.parameters(), lr=0.1)  # the base's parameters only: the head does not exist yet
    model.compile(opt, "cross_entropy")
    model.fit(x[:16], y[:16], epochs=1, batch_size=16, verbose=0)  # builds the head, one step
    head = model[1]
    before = _copies(head)
    model.fit(x[:16], y[:16], epochs=1, batch_size=16, verbose=0)
    assert all(_changed(before, head))


def test_layer_added_after_compile_is_trained():
    nr.manual_seed(2)
    x, y = _data(seed=2)
    model = nn.Sequential([nn.Dense(8, activation="relu")])
    model.build((None, 6))
    model.compile("adam", "cross_entropy")
    model.add(nn.Dense(3))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    new = model[1]
    before = _copies(new)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert all(_changed(before, new))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.base = _base()
        self.head = nn.Dense(3)

    def forward(self, x):
        return self.head(self.base(x))


def test_swapped_head_is_trained_and_the_old_one_is_not():
    nr.manual_seed(3)
    x, y = _data(seed=3)
    net = Net()
    net.compile("adam", "cross_entropy")
    net.fit(x, y, epochs=1, batch_size=16, verbose=0)
    old = net.head
    net.head = nn.Dense(3)  # a new task: a new head, after compile
    net.base.trainable = False
    frozen, old_values = _copies(net.base), _copies(old)
    net.train_step(x[:16], y[:16])  # builds the new head
    before = _copies(net.head)
    for _ in range(3):
        net.train_step(x[:16], y[:16])
    assert all(_changed(before, net.head))
    assert not any(_changed(frozen, net.base)) and not any(_changed(old_values, old))


def test_unfrozen_base_is_fine_tuned_with_a_lower_learning_rate():
    nr.manual_seed(4)
    x, y = _data(seed=4)
    base = _base()
    head = nn.Dense(3)
    model = nn.Sequential([base, head])
    model.build((None, 6))
    base.trainable = False
    model.compile(optim.SGD(lr=0.1), "cross_entropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    base.trainable = True  # fine-tune: the base at a tenth of the head's learning rate
    opt = optim.SGD([{"params": base.parameters(), "lr": 0.01}, {"params": head.parameters(), "lr": 0.1}])
    model.compile(opt, "cross_entropy")
    b0, h0 = _copies(base), _copies(head)
    model.train_step(x[:16], y[:16])
    base_step = max(np.abs(p.numpy() - b).max() for b, p in zip(b0, base.parameters()))
    assert base_step > 0 and all(_changed(h0, head))
    # the same gradient at lr 0.01: the base moved by lr * grad exactly
    for b, p in zip(b0, base.parameters()):
        np.testing.assert_allclose(b - 0.01 * nr.backend.to_numpy(p.grad), p.numpy(), rtol=1e-5, atol=1e-7)


def test_optimizer_given_a_subset_warns_about_the_parameters_it_will_not_train():
    nr.manual_seed(5)
    x, y = _data(seed=5)
    base = _base()
    head = nn.Dense(3)
    model = nn.Sequential([base, head])
    model.build((None, 6))
    model.compile(optim.SGD(head.parameters(), lr=0.1), "cross_entropy")
    with pytest.warns(UserWarning, match=r"4 trainable parameters .*not in the optimizer"):
        model.train_step(x[:16], y[:16])
