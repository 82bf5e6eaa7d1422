"""Fusion in Sequential (nn/fusion.py): planned when the model is put together, visible, switchable."""

from __future__ import annotations

import numpy as np
import pytest

import neurona as nr
from neurona import nn
from neurona.autograd import Tensor


def _ops(y: Tensor) -> list[str]:
    """The names of the ops recorded for y, sorted."""
    names, seen, stack = [], set(), [y.creator]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        names.append(fn.name)
        stack.extend(x.creator for x in fn.inputs if isinstance(x, Tensor))
    return sorted(names)


def _cnn(**kwargs) -> nn.Sequential:
    nr.manual_seed(0)
    return nn.Sequential([nn.Conv2D(4, 3, padding="same", activation="relu", name="c"), nn.MaxPool2D(2, name="p"),
                          nn.Flatten(), nn.Dense(3)], **kwargs)


X = np.random.default_rng(0).standard_normal((3, 6, 6, 2)).astype(np.float32)


def test_the_first_call_records_the_same_graph_as_later_ones():
    model = _cnn()
    first, second = _ops(model(X)), _ops(model(X))
    assert first == second
    assert "Conv2dMaxPoolRelu" in first and "Conv2d" not in first and "MaxPool2d" not in first
    assert model.layers[0].output_shape[1:] == (6, 6, 4)  # each layer built (for summary) before the fused step


def test_fused_and_unfused_give_the_same_outputs_and_gradients():
    g = np.random.default_rng(1).standard_normal((3, 3)).astype(np.float32)
    results = []
    for fuse in (True, False):
        model = _cnn(fuse=fuse)  # seeded: the same weights, drawn at the first call
        x = nr.tensor(X, requires_grad=True)
        y = model(x)
        ops = _ops(y)  # before backward, which frees the graph
        y.backward(g)  # = (y * g).sum().backward(), with g moved to y's device
        results.append((ops, [y.numpy(), x.grad] + [p.grad for p in model.parameters()]))
    (fused_ops, fused), (plain_ops, plain) = results
    assert "Conv2dMaxPoolRelu" in fused_ops
    assert "Conv2dMaxPoolRelu" not in plain_ops and "Conv2d" in plain_ops and "MaxPool2d" in plain_ops
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # the same sums in another order


def test_set_fusion_turns_fusion_off_globally_and_as_a_block():
    model = _cnn()
    model(X)
    try:
        with nn.set_fusion(False):
            assert "Conv2dMaxPoolRelu" not in _ops(model(X))
            assert not nn.fusion.fusion_enabled()
        assert nn.fusion.fusion_enabled()  # restored after the block
        assert "Conv2dMaxPoolRelu" in _ops(model(X))
        nn.set_fusion(False)
        assert "Conv2dMaxPoolRelu" not in _ops(_cnn()(X))  # a new model too, until switched back
    finally:
        nn.set_fusion(True)
    assert "Conv2dMaxPoolRelu" in _ops(model(X))


def test_summary_shows_a_fused_step_as_one_row_and_unfused_as_two():
    model = _cnn()
    model.build((None, 6, 6, 2))
    text = model.summary(print_fn=None)
    assert "c + p (Conv2D+ReLU+MaxPool2D (fused))" in text
    assert "(None, 3, 3, 4)" in text  # the fused row's output: the pooling layer's
    assert "c (Conv2D)" not in text
    plain = _cnn(fuse=False)
    plain.build((None, 6, 6, 2))
    text = plain.summary(print_fn=None)
    assert "(fused)" not in text and "c (Conv2D)" in text and "p (MaxPool2D)" in text


def test_graph_drawing_labels_the_fused_op():
    model = _cnn()
    dot = nr.viz.graph(model(X))
    assert "Conv2dMaxPoolRelu\\nConv2D+ReLU+MaxPool2D (fused)" in dot
    assert "(fused)" not in nr.viz.graph(_cnn(fuse=False)(X))


def test_fuse_false_survives_the_config_round_trip():
    model = _cnn(fuse=False)
    config = model.get_config()
    assert config["fuse"] is False
    again = nn.Sequential.from_config(config)
    again.build((None, 6, 6, 2))
    assert again.fuse is False and all(not isinstance(s, nn.fusion.Fused) for s in again.steps())
    assert nn.Sequential.from_config({k: v for k, v in _cnn().get_config().items() if k != "fuse"}).fuse


@pytest.mark.parametrize("declared", [False, True])
def test_models_built_ahead_or_declared_plan_the_same_steps(declared):
    nr.manual_seed(0)
    first = nn.Conv2D(4, 3, activation="relu", input_shape=(6, 6, 2)) if declared else nn.Conv2D(4, 3, activation="relu")
    model = nn.Sequential([first, nn.MaxPool2D(2), nn.Flatten()])
    if not declared:
        model.build((None, 6, 6, 2))
    assert isinstance(model.steps()[0], nn.fusion.ConvReluMaxPool) and len(model.steps()) == 2
    assert _ops(model(X)) == _ops(model(X))


def _functional(fuse: bool = True, pool_reads_only_the_conv: bool = True) -> nn.Model:
    nr.manual_seed(0)
    x = nn.Input((6, 6, 2), name="x")
    h = nn.Conv2D(4, 3, padding="same", activation="relu", name="c")(x)
    p = nn.MaxPool2D(2, name="p")(h)
    y = nn.Flatten(name="f")(p)
    if not pool_reads_only_the_conv:  # the convolution's output read by another layer too: no fusion
        y = nn.Concatenate(name="cat")([y, nn.Flatten(name="f2")(h)])
    return nn.Model(x, nn.Dense(3, name="d")(y), fuse=fuse)


def test_functional_model_fuses_a_conv_read_only_by_its_pool_and_gives_the_same_numbers():
    g = np.random.default_rng(1).standard_normal((3, 3)).astype(np.float32)
    results = []
    for fuse in (True, False):
        model = _functional(fuse)
        x = nr.tensor(X, requires_grad=True)
        y = model(x)
        ops = _ops(y)
        y.backward(g)
        results.append((ops, [y.numpy(), x.grad] + [p.grad for p in model.parameters()]))
        assert _ops(model(X)) == ops  # the same plan from the first call on
    (fused_ops, fused), (plain_ops, plain) = results
    assert "Conv2dMaxPoolRelu" in fused_ops and "Conv2d" not in fused_ops and "MaxPool2d" not in fused_ops
    assert "Conv2dMaxPoolRelu" not in plain_ops and "Conv2d" in plain_ops and "MaxPool2d" in plain_ops
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert "Conv2dMaxPoolRelu" not in _ops(_functional(pool_reads_only_the_conv=False)(X))
    try:
        nn.set_fusion(False)
        assert "Conv2dMaxPoolRelu" not in _ops(_functional()(X))
    finally:
        nn.set_fusion(True)


def test_functional_model_summary_labels_the_fused_step_and_fuse_survives_saving():
    text = _functional().summary(print_fn=None)
    assert "c + p (Conv2D+ReLU+MaxPool2D (fused))" in text and "(None, 3, 3, 4)" in text
    assert "p (MaxPool2D)" not in text and "Model(..., fuse=False)" in text
    plain = _functional(fuse=False)
    text = plain.summary(print_fn=None)
    assert "(fused)" not in text and "c (Conv2D)" in text and "p (MaxPool2D)" in text
    again = nn.Model.from_config(plain.get_config())
    assert again.fuse is False and not any(isinstance(s, nn.fusion.Fused) for s in again.steps())
