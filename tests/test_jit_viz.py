"""nr.viz.graph on traced graphs: each stage drawn with what its pass removed, fused and shared."""

from __future__ import annotations

import numpy as np
import pytest

import neurona as nr
from neurona import functional as F
from neurona import nn, optim


@pytest.fixture
def step():
    nr.manual_seed(0)
    with nn.set_fusion(False):
        model = nn.Sequential([nn.Dense(8), nn.Activation("relu"), nn.Dense(8), nn.Activation("relu"), nn.Dense(3)])
        model.build((None, 5))

    def loss(out, y):
        (out * 2).exp()  # dead code for dce to remove
        return F.cross_entropy(out, y)

    s = nr.jit.train_step(model, loss, optim.SGD(model.parameters(), lr=0.1))
    s(nr.tensor(np.ones((4, 5))), np.array([0, 1, 2, 0]))
    return s


def test_each_stage_is_drawn_with_its_changes(step):
    names = [name for name, _ in step.stages]
    assert names == ["traced", "dce", "fold", "cse", "fuse", "dce2", "backward", "fuse_optimizer", "specialize",
                     "memory"]
    dce = nr.viz.graph(step, stage="dce")
    assert "removed by dce" in dce and "Exp" in dce
    fuse = nr.viz.graph(step, stage="fuse")
    assert "fused: Linear + ReLU" in fuse and "removed by fuse, fused" in fuse
    last = nr.viz.graph(step)
    assert "planned peak memory" in last and "one flat pass" in last and "backward Linear" in last
    assert last == nr.viz.graph(step, stage="memory")
    assert last.startswith("digraph") and last.rstrip().endswith("}")


def test_shared_buffers_are_labelled():
    x = nr.tensor(np.linspace(-1, 1, 12).reshape(3, 4))
    fast = nr.jit(lambda a: ((a * 2).exp() * 3).relu().sum(axis=1))
    fast(x)
    dot = nr.viz.graph(fast)
    assert "buffer 0" in dot and "(in place)" in dot


def test_unknown_stage_and_untraced_step_are_refused(step):
    with pytest.raises(ValueError, match="stage must be one of"):
        nr.viz.graph(step, stage="nope")
    fresh = nr.jit(lambda a: a)
    with pytest.raises(RuntimeError, match="nothing traced yet"):
        nr.viz.graph(fresh)
