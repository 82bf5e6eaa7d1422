"""The specialised kernels of ``passes.specialize`` (dense, cross-entropy on labels, plain SGD's update)
and the replay's fast paths: results equal eager mode's, returned arrays never reused."""

from __future__ import annotations

import numpy as np
import pytest

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.graphs.autodiff import _flushing
from neurona.graphs.passes.specialize import (
    CrossEntropyLabels,
    CrossEntropyLabelsBackward,
    DenseBackward,
    DenseForward,
    FusedAdamUpdate,
    PlainSGDUpdate,
)
from neurona.kernels import flush_denormals
from neurona.kernels.platform import flushes_denormals


def _mlp(n_in: int = 6, seed: int = 0) -> nn.Sequential:
    nr.manual_seed(seed)
    model = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(4, activation="tanh"), nn.Dense(3)])
    model.build((None, n_in))
    return model


def _batch(n: int, n_in: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rs = np.random.default_rng(seed)
    return rs.standard_normal((n, n_in)).astype(np.float32), rs.integers(0, 3, n)


def _train(jit: bool, make_opt, steps: int = 3, loss_fn=F.cross_entropy, batch: int = 5, between=None,
           target=lambda y: y):
    """Weights, gradients and losses after ``steps`` steps, eager or through nr.jit.train_step."""
    model = _mlp()
    opt = make_opt(model.parameters())
    step = nr.jit.train_step(model, loss_fn, opt)
    losses = []
    for i in range(steps):
        x, y = _batch(batch, seed=i)
        y = target(y)
        if jit:
            losses.append(float(step(nr.tensor(x), y).item()))
        else:
            opt.zero_grad()
            loss = loss_fn(model(nr.tensor(x)), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
        if between is not None:
            between(opt, i)
    return [p.numpy() for p in model.parameters()], [p.grad.copy() for p in model.parameters()], losses, step


def test_training_step_kernels_give_eager_bits():
    """Dense forward/backward, cross-entropy on labels and plain SGD's two-pass update: the same operations
    in the same order as eager mode, so the same bits; each parameter's .grad holds its gradient as after
    an eager step."""
    eager = _train(False, lambda ps: optim.SGD(ps, lr=0.1))
    traced = _train(True, lambda ps: optim.SGD(ps, lr=0.1))
    step = traced[3]
    kinds = {type(n.run) for n in step.graph.nodes}
    assert {DenseForward, DenseBackward, CrossEntropyLabels, CrossEntropyLabelsBackward, PlainSGDUpdate} <= kinds
    for a, b in zip(eager[0] + eager[1], traced[0] + traced[1]):
        np.testing.assert_array_equal(b, a)
    assert traced[2] == eager[2]
    assert "@" in step.cache.last.program.source, "the dense products are written into the program"


def test_plain_sgd_update_follows_changed_hyperparameters():
    """A learning rate changed between steps is used; weight decay switched on after tracing runs SGD's rule."""
    def between(opt, i):
        opt.lr = 0.05 * (i + 1)
        if i == 1:
            opt.param_groups[0]["weight_decay"] = 0.01

    eager = _train(False, lambda ps: optim.SGD(ps, lr=0.1), steps=4, between=between)
    traced = _train(True, lambda ps: optim.SGD(ps, lr=0.1), steps=4, between=between)
    for a, b in zip(eager[0], traced[0]):
        np.testing.assert_array_equal(b, a)


@pytest.mark.parametrize("loss_fn,target", [
    (lambda out, y: F.cross_entropy(out, y, label_smoothing=0.1), None),
    (lambda out, y: F.cross_entropy(out, y, weight=np.array([1.0, 2.0, 0.5], np.float32)), None),
    (F.cross_entropy, lambda y: np.eye(3, dtype=np.float32)[y]),
], ids=["smoothing", "class weights", "probabilities"])
def test_other_cross_entropies_keep_the_op_and_match_eager(loss_fn, target):
    kw = {"loss_fn": loss_fn} if target is None else {"loss_fn": loss_fn, "target": target}
    eager = _train(False, lambda ps: optim.Adam(ps, lr=0.01), **kw)
    traced = _train(True, lambda ps: optim.Adam(ps, lr=0.01), **kw)
    assert not any(isinstance(n.run, CrossEntropyLabels) for n in traced[3].graph.nodes)
    np.testing.assert_allclose(traced[2], eager[2], rtol=1e-6)
    for a, b in zip(eager[0], traced[0]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_shared_weight_gradient_is_summed_not_written_into_the_buffer():
    """A weight read by two dense ops: each backward makes its own array and the two are summed."""
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.W = nn.Parameter(np.random.default_rng(0).standard_normal((6, 6)).astype(np.float32) * 0.3)

        def forward(self, x):
            return F.linear(F.linear(x, self.W, activation="relu"), self.W)

    results = []
    for jit in (False, True):
        model = Tied()
        opt = optim.SGD(model.parameters(), lr=0.1)
        step = nr.jit.train_step(model, F.cross_entropy, opt)
        for i in range(3):
            x, y = _batch(4, seed=i)
            if jit:
                step(nr.tensor(x), y)
            else:
                opt.zero_grad()
                F.cross_entropy(model(nr.tensor(x)), y).backward()
                opt.step()
        results.append(model.W.numpy())
    assert any(n.kind == "grad_add" for n in step.graph.nodes)
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("batch", [1, 7])
def test_inference_replay_equals_eager_and_returns_fresh_arrays(batch):
    """At batch 1 and beyond: eager's numbers; an output returned by one call is not overwritten by the next."""
    model = _mlp()
    model.eval()
    fast = nr.jit(model)
    x1, _ = _batch(batch, seed=1)
    x2, _ = _batch(batch, seed=2)
    fast(nr.tensor(x1))  # traced
    first = fast(nr.tensor(x1)).numpy()
    kept = first.copy()
    second = fast(nr.tensor(x2)).numpy()
    np.testing.assert_array_equal(first, kept)
    assert not np.shares_memory(first, second)
    with nr.no_grad():
        want1, want2 = model(nr.tensor(x1)).numpy(), model(nr.tensor(x2)).numpy()
    np.testing.assert_allclose(first, want1, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(second, want2, rtol=1e-6, atol=1e-7)
    assert fast.traces == 1


def test_inline_kernel_called_directly_equals_the_op():
    """An Inline kernel called as a function runs the statements it writes into programs."""
    from neurona.functional.linear import Linear

    x, _ = _batch(4)
    W = np.random.default_rng(1).standard_normal((6, 5)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal(5).astype(np.float32)
    for act in (None, "relu", "tanh"):
        got = DenseForward(np, act, np.float32)(x, W, b)
        np.testing.assert_array_equal(got, Linear(act).forward(x, W, b))


def test_flush_probe_agrees_with_the_platform_check():
    assert _flushing() == flushes_denormals()
    with flush_denormals():
        assert _flushing() == flushes_denormals()
    assert _flushing() == flushes_denormals()


@pytest.mark.parametrize("numba", ["1", "0"])
def test_fused_updates_give_eager_bits(numba, monkeypatch):
    """Adam and plain SGD as one compiled pass (or, with NEURONA_NUMBA=0, their NumPy rules): eager's bits.
    Adam's other settings (weight decay here) run the optimizer's own rule."""
    monkeypatch.setenv("NEURONA_NUMBA", numba)
    for make in (lambda ps: optim.Adam(ps, lr=0.01), lambda ps: optim.SGD(ps, lr=0.1),
                 lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.01)):
        eager = _train(False, make, steps=4)
        traced = _train(True, make, steps=4)
        update = traced[3].graph.nodes[-1].run
        assert isinstance(update, (FusedAdamUpdate, PlainSGDUpdate)) or numba == "0"
        assert (getattr(update, "compiled", None) is not None) == (numba == "1")
        for a, b in zip(eager[0] + eager[1], traced[0] + traced[1]):
            np.testing.assert_array_equal(b, a)
        assert traced[2] == eager[2]


def test_large_dense_inference_keeps_threaded_products():
    """A product split over threads (2^24 multiply-adds and more) runs kernels.parallel_matmul, as eager mode."""
    nr.manual_seed(0)
    model = nn.Sequential([nn.Dense(256, activation="relu")])
    model.build((None, 256))
    model.eval()
    fast = nr.jit(model)
    x = nr.tensor(np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32))
    fast(x)
    node = fast.graph.nodes[0]
    assert not isinstance(node.run, DenseForward) and node.op is not None
    with nr.no_grad():
        want = model(x).numpy()
    np.testing.assert_array_equal(fast(x).numpy(), want)
