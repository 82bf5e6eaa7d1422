"""Each graph pass on its own: what it removes, merges or fuses, and that outputs stay eager mode's."""

from __future__ import annotations

import numpy as np
import pytest

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.graphs import Program, passes, trace
from neurona.graphs.autodiff import differentiate


def _traced(fn, *arrays):
    """The inference graph of fn on these arrays, and the eager result."""
    tensors = [nr.tensor(a) for a in arrays]
    with nr.no_grad():
        graph, result, _ = trace(fn, tensors)
    return graph, result, tensors


def _run(graph, tensors):
    return Program(graph).run([t.data for t in tensors])


def _labels(graph):
    return [n.label for n in graph.nodes]


def test_dead_code_elimination_drops_unused_ops_but_keeps_random_draws():
    def fn(a):
        a.exp()  # computed, never used
        F.dropout(a, 0.5)  # unused too, but it draws: removing it would shift later masks
        return a * 3

    graph, result, xs = _traced(fn, np.ones((2, 3)))
    assert _labels(graph) == ["Exp", "Dropout", "Mul"]
    out = passes.eliminate_dead_code(graph)
    assert _labels(out) == ["Dropout", "Mul"]
    np.testing.assert_array_equal(_run(out, xs)[0], result.data)


def test_constant_folding_computes_constant_subgraphs_once():
    c = nr.tensor(np.arange(3.0))

    def fn(a):
        return a + (c.exp() * 2).sum()

    graph, result, xs = _traced(fn, np.ones(3))
    out = passes.fold_constants(graph)
    assert _labels(graph) == ["Exp", "Mul", "Sum", "Add"]
    assert _labels(out) == ["Add"]
    np.testing.assert_array_equal(_run(out, xs)[0], result.data)
    folded = [v for v in out.values.values() if "(folded)" in v.name]
    assert folded, "the folded values are constants named as such"


def test_constant_folding_leaves_parameters_and_random_ops_alone():
    w = nr.tensor(np.ones(3), requires_grad=True)
    graph, _, _ = _traced(lambda a: a + w.exp() + F.dropout(nr.tensor(np.ones(3)), 0.5), np.ones(3))
    assert "Exp" in _labels(passes.fold_constants(graph))
    assert "Dropout" in _labels(passes.fold_constants(graph))


def test_cse_merges_repeated_computations_not_random_ones():
    def fn(a):
        return a.exp() * 2 + a.exp() * 2 + F.dropout(a, 0.5) + F.dropout(a, 0.5)

    graph, result, xs = _traced(fn, np.ones((2, 2)))
    out = passes.eliminate_common_subexpressions(graph)
    counts = out.op_counts()
    assert counts["Exp"] == 1 and counts["Mul"] == 1 and counts["Dropout"] == 2
    assert graph.op_counts()["Exp"] == 2
    # replaying draws new masks: compare the deterministic part only
    graph2, result2, xs2 = _traced(lambda a: a.exp() * 2 + a.exp() * 2, np.full((2, 2), 0.5))
    np.testing.assert_array_equal(_run(passes.eliminate_common_subexpressions(graph2), xs2)[0], result2.data)


def test_fusion_dense_bias_activation():
    rs = np.random.default_rng(0)
    W = nr.tensor(rs.standard_normal((4, 5)), requires_grad=True)
    b = nr.tensor(rs.standard_normal(5), requires_grad=True)
    graph, result, xs = _traced(lambda x: F.relu(x @ W + b), rs.standard_normal((3, 4)))
    assert _labels(graph) == ["MatMul", "Add", "ReLU"]
    out = passes.fuse_ops(graph)
    assert _labels(out) == ["Linear"] and out.nodes[0].fused == ["MatMul", "Add", "ReLU"]
    assert out.nodes[0].op.activation == "relu"
    np.testing.assert_allclose(_run(out, xs)[0], result.data, rtol=1e-6)


def test_fusion_conv_relu_max_pool_and_log_softmax():
    with nn.set_fusion(False):  # the layers one by one, as a user's unfused model records them
        nr.manual_seed(0)
        model = nn.Sequential([nn.Conv2D(4, 3, padding="same"), nn.Activation("relu"), nn.MaxPool2D(2),
                               nn.Flatten(), nn.Dense(3)])
        model.build((None, 6, 6, 2))
        x = np.random.default_rng(1).standard_normal((2, 6, 6, 2)).astype(np.float32)
        graph, result, xs = _traced(lambda a: F.softmax(model(a)).log(), x)
    assert _labels(graph)[:3] == ["Conv2d", "ReLU", "MaxPool2d"]
    out = passes.fuse_ops(graph)
    assert _labels(out)[0] == "Conv2dMaxPoolRelu" and _labels(out)[-1] == "LogSoftmax"
    np.testing.assert_allclose(_run(out, xs)[0], result.data, rtol=1e-5, atol=1e-6)


def test_fusion_needs_private_intermediates():
    rs = np.random.default_rng(0)
    W = nr.tensor(rs.standard_normal((4, 5)), requires_grad=True)
    b = nr.tensor(rs.standard_normal(5), requires_grad=True)
    graph, _, _ = _traced(lambda x: (F.relu(x @ W + b), x @ W), rs.standard_normal((3, 4)))
    # MatMul's output is an output of the call too: it cannot disappear into a fused op
    assert "MatMul" in _labels(passes.fuse_ops(graph))


def _training_graph(model, opt, x, y):
    with nr.enable_grad():
        graph, (loss, _), _ = trace(lambda a, t: (F.cross_entropy(model(a), t), a), [nr.tensor(x), y])
    return differentiate(graph, graph.outputs[0], opt), loss


def test_optimizer_fusion_makes_one_update_over_all_parameters():
    nr.manual_seed(0)
    model = nn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(3)])
    model.build((None, 5))
    opt = optim.SGD(model.parameters(), lr=0.1)
    x, y = np.ones((2, 5), np.float32), np.array([0, 2])
    graph, _ = _training_graph(model, opt, x, y)
    assert [n.kind for n in graph.nodes].count("update") == 5  # 4 gradient hand-overs and the step
    fused = passes.fuse_optimizer(graph)
    updates = [n for n in fused.nodes if n.kind == "update"]
    assert len(updates) == 1 and len(updates[0].inputs) == 4 and len(updates[0].fused) == 5


def test_memory_plan_reuses_buffers_and_runs_elementwise_ops_in_place():
    def fn(a):
        return ((a * 2 + 1).exp() + a).relu()

    graph, result, xs = _traced(fn, np.linspace(-1, 1, 12).reshape(3, 4))
    out = passes.plan_memory(graph)
    plan = out.plan
    assert plan.peak < plan.naive
    assert {"Add", "Exp", "ReLU"} <= set(plan.in_place)
    assert plan.shared(), "some buffer is shared by values whose lifetimes do not overlap"
    np.testing.assert_array_equal(_run(out, xs)[0], result.data)
    np.testing.assert_array_equal(xs[0].numpy(), np.linspace(-1, 1, 12).reshape(3, 4).astype(np.float32))


def test_memory_plan_keeps_what_backward_needs_alive():
    nr.manual_seed(0)
    model = nn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(3)])
    model.build((None, 5))
    graph, _ = _training_graph(model, optim.SGD(model.parameters(), lr=0.1), np.ones((2, 5), np.float32),
                               np.array([0, 2]))
    life = passes.lifetimes(graph)
    first = graph.nodes[0]
    backward_of_first = next(i for i, n in enumerate(graph.nodes) if n.kind == "backward" and n.forward is first)
    assert life[first.outputs[0]][1] >= backward_of_first
    planned = passes.plan_memory(graph)
    assert not any(n.fused and "in place" in n.fused for n in planned.nodes), "no in-place op in training"


@pytest.mark.parametrize("names", [(), ("dce",), ("fold", "cse"), ("fuse",), ("memory",), passes.ALL])
def test_each_pass_alone_keeps_training_equal_to_eager(names):
    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    weights = []
    for jit in (False, True):
        nr.manual_seed(0)
        model = nn.Sequential([nn.Dense(4), nn.Activation("relu"), nn.Dense(3)])
        model.build((None, 5))
        opt = optim.Adam(model.parameters(), lr=0.05)
        step = nr.jit.train_step(model, F.cross_entropy, opt, passes=names)
        for _ in range(4):
            if jit:
                step(nr.tensor(x), y)
            else:
                opt.zero_grad()
                F.cross_entropy(model(nr.tensor(x)), y).backward()
                opt.step()
        weights.append([p.numpy() for p in model.parameters()])
    for a, b in zip(*weights):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_specialized_dense_kernels_give_eager_bits():
    """Inference kernels chosen by shape, gradients written into the optimizer's flat buffer: same bits."""
    from neurona.graphs.passes.specialize import DenseBackward

    x = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    runs = []
    for jit in (False, True):
        nr.manual_seed(0)
        model = nn.Sequential([nn.Dense(7, activation="relu"), nn.Dense(3)])
        model.build((None, 5))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        step = nr.jit.train_step(model, F.cross_entropy, opt)
        for _ in range(3):
            if jit:
                step(nr.tensor(x), y)
            else:
                opt.zero_grad()
                F.cross_entropy(model(nr.tensor(x)), y).backward()
                opt.step()
        model.eval()
        fast = nr.jit(model)
        fast(nr.tensor(x))
        runs.append(([p.numpy() for p in model.parameters()], fast(nr.tensor(x)).numpy()))
    assert sum(isinstance(n.run, DenseBackward) for n in step.graph.nodes) == 2
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(b, a)
    np.testing.assert_array_equal(runs[1][1], runs[0][1])
