"""Functional models: nn.Input, symbolic tensors, nn.Model(inputs, outputs), merge helpers."""

import json

import numpy as np
import pytest

import neurona as nr
from neurona import backend, nn
from neurona.testing import gradcheck


@pytest.fixture
def float64():
    nr.set_default_dtype(np.float64)
    yield
    nr.set_default_dtype(np.float32)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def test_symbolic_tensors_carry_shape_dtype_and_layer():
    x = nn.Input((28, 28, 1))
    assert x.shape == (None, 28, 28, 1) and x.dtype == np.float32
    flat = nn.Flatten()
    h = flat(x)
    assert isinstance(h, nn.SymbolicTensor)
    assert h.shape == (None, 784) and h.layer is flat
    dense = nn.Dense(10)
    y = dense(h)
    assert y.shape == (None, 10) and dense.kernel.shape == (784, 10)  # built with the known shape
    model = nn.Model(x, y)
    xb = _rand(3, 28, 28, 1)
    expected = xb.reshape(3, -1) @ dense.kernel.numpy() + dense.bias.numpy()
    np.testing.assert_allclose(model.predict(xb), expected, rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in model.layers] == [x.name, flat.name, dense.name]
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)


def test_shared_layer_has_one_set_of_weights_and_gets_both_gradients():
    a, b = nn.Input((4,)), nn.Input((4,))
    shared = nn.Dense(3, use_bias=False)
    y = nn.add(shared(a), shared(b))
    model = nn.Model([a, b], y)
    assert model.count_params() == 12 and len(model.parameters()) == 1
    xa, xb = _rand(5, 4, seed=1), _rand(5, 4, seed=2)
    out = model([xa, xb])
    out.sum().backward()
    # d/dW sum((xa + xb) W) = (xa + xb)^T 1
    np.testing.assert_allclose(shared.kernel.grad, (xa + xb).T @ np.ones((5, 3)), rtol=1e-5)


def test_residual_and_concat_model_matches_pytorch_forward_and_gradients(float64):
    torch = pytest.importorskip("torch")
    nr.manual_seed(0)
    if True:
        x = nn.Input((6,))
        d1, d2, d3 = nn.Dense(6, activation="relu"), nn.Dense(6), nn.Dense(2)
        h = d1(x)
        skip = nn.add(h, d2(h))
        y = d3(nn.concatenate([skip, x]))
        model = nn.Model(x, y)
        xs = np.random.default_rng(3).standard_normal((4, 6))
        out = model(nr.tensor(xs, dtype="float64"))
        out.sum().backward()
    W = {k: torch.tensor(v.numpy(), requires_grad=True) for k, v in
         (("k1", d1.kernel), ("b1", d1.bias), ("k2", d2.kernel), ("b2", d2.bias), ("k3", d3.kernel), ("b3", d3.bias))}
    t = torch.tensor(xs)
    ht = torch.relu(t @ W["k1"] + W["b1"])
    st = ht + (ht @ W["k2"] + W["b2"])
    yt = torch.cat([st, t], dim=1) @ W["k3"] + W["b3"]
    yt.sum().backward()
    np.testing.assert_allclose(out.numpy(), yt.detach().numpy(), rtol=1e-10)
    for layer, k, b in ((d1, "k1", "b1"), (d2, "k2", "b2"), (d3, "k3", "b3")):
        np.testing.assert_allclose(layer.kernel.grad, W[k].grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(layer.bias.grad, W[b].grad.numpy(), rtol=1e-10)


def test_gradcheck_through_a_branching_model(float64):
    nr.manual_seed(1)
    x = nn.Input((3,))
    h = nn.Dense(4, activation="tanh")(x)
    y = nn.multiply(h, nn.Dense(4, activation="sigmoid")(x))
    model = nn.Model(x, y)
    assert gradcheck(lambda t: model(t), np.random.default_rng(0).standard_normal((2, 3)))


def test_several_inputs_and_outputs_as_lists_and_dicts():
    a, b = nn.Input((8,), name="image"), nn.Input((4,), name="meta")
    h = nn.Dense(5, activation="relu")(a)
    joined = nn.concatenate([h, b])
    cls, reg = nn.Dense(3)(joined), nn.Dense(1)(joined)
    xa, xb = _rand(6, 8), _rand(6, 4)
    listed = nn.Model([a, b], [cls, reg])
    out = listed([xa, xb])
    assert [tuple(o.shape) for o in out] == [(6, 3), (6, 1)]
    by_name = listed({"image": xa, "meta": xb})
    np.testing.assert_array_equal(by_name[0].numpy(), out[0].numpy())
    keyed = nn.Model({"img": a, "m": b}, {"cls": cls, "reg": reg})
    d = keyed({"img": xa, "m": xb})
    assert set(d) == {"cls", "reg"}
    np.testing.assert_array_equal(d["reg"].numpy(), out[1].numpy())
    with pytest.raises(ValueError, match=r"has 2 inputs \['image', 'meta'\].*Received: one ndarray"):
        listed(xa)
    with pytest.raises(ValueError, match=r"takes a dict with the keys \['img', 'm'\]"):
        keyed({"img": xa, "oops": xb})


def test_summary_lists_each_layers_inputs():
    x = nn.Input((4,), name="x")
    h = nn.Dense(3, name="h")(x)
    y = nn.Add(name="sum")([h, nn.Dense(3, name="g")(h)])
    text = nn.Model(x, y, name="res").summary(print_fn=None)
    assert "Connected to" in text
    row = next(line for line in text.splitlines() if line.startswith("sum (Add)"))
    assert "h[0][0]" in row or "g[0][0]" in row
    assert "h[0][0]" in text and "g[0][0]" in text
    assert "Total params: 27" in text  # 15 + 12


def test_layer_graph_draws_the_connections():
    x = nn.Input((4,), name="x")
    h = nn.Dense(3, name="h")(x)
    y = nn.Add(name="sum")([h, nn.Dense(3, name="g")(h)])
    dot = nr.viz.layer_graph(nn.Model(x, y))
    for edge in ('"x" -> "h"', '"h" -> "g"', '"h" -> "sum"', '"g" -> "sum"'):
        assert edge in dot
    assert '"x" -> "sum"' not in dot


def _small_cnn():
    x = nn.Input((8, 8, 1))
    h = nn.Conv2D(4, 3, padding="same", activation="relu")(x)
    h = nn.Activation("relu")(nn.add(h, nn.Conv2D(4, 3, padding="same")(h)))
    h = nn.BatchNorm()(h)
    return nn.Model(x, nn.Dense(3)(nn.Flatten()(h)))


def _loss(model, xs, ys):
    if "_trainer" not in model.__dict__:
        model.compile("adam", "cross_entropy")
    logs = model.evaluate(xs, ys)
    return logs["loss"] if isinstance(logs, dict) else (logs[0] if isinstance(logs, list) else logs)


def test_compile_fit_evaluate_save_load_round_trip(tmp_path):
    nr.manual_seed(0)
    model = _small_cnn()
    xs, ys = _rand(64, 8, 8, 1), np.random.default_rng(0).integers(0, 3, 64)
    model.compile("adam", "cross_entropy", ["accuracy"])
    hist = model.fit(xs, ys, epochs=4, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]
    before = nn.Model.from_config(model.get_config())  # fresh weights: evaluate must see the trained ones
    assert _loss(model, xs, ys) < _loss(before, xs, ys)
    path = tmp_path / "m.neurona"
    model.save(path)
    state = backend.get_rng_state()
    loaded = nr.load_model(path)
    assert backend.get_rng_state() == state  # loading draws no random numbers from the user's stream
    assert type(loaded) is nn.Model
    np.testing.assert_array_equal(loaded.predict(xs), model.predict(xs))
    # and training continues identically from both
    nr.manual_seed(5)
    model.fit(xs, ys, epochs=1, batch_size=16, verbose=0)
    nr.manual_seed(5)
    loaded.fit(xs, ys, epochs=1, batch_size=16, verbose=0)
    np.testing.assert_array_equal(loaded.predict(xs), model.predict(xs))


def test_config_is_json_and_rebuilds_the_same_graph():
    a, b = nn.Input((5,), name="a"), nn.Input((5,), name="b")
    shared = nn.Dense(4, name="shared")
    y = nn.concatenate([shared(a), shared(b)], name="cat")
    model = nn.Model([a, b], {"out": nn.Dense(2, name="head")(y)})
    config = json.loads(json.dumps(nn.serialize_layer(model)))
    rebuilt = nn.deserialize_layer(config)
    rebuilt.load_state_dict(model.state_dict())
    xa, xb = _rand(3, 5, seed=4), _rand(3, 5, seed=5)
    np.testing.assert_array_equal(rebuilt([xa, xb])["out"].numpy(), model([xa, xb])["out"].numpy())
    assert [c["layer"] for c in config["config"]["calls"]] == ["shared", "shared", "cat", "head"]


def test_functional_model_nests_in_sequential_and_in_another_model():
    x = nn.Input((6,))
    base = nn.Model(x, nn.Dense(4, activation="relu")(x), name="base")
    z = nn.Input((6,))
    outer = nn.Model(z, nn.Dense(2)(base(z)))
    seq = nn.Sequential([base, nn.Dense(2)])
    seq.build((None, 6))
    xs = _rand(3, 6)
    assert outer(xs).shape == (3, 2) and seq(xs).shape == (3, 2)
    assert outer.count_params() == base.count_params() + 10


def test_misuse_gives_clear_errors():
    x = nn.Input((4,))
    y = nn.Dense(2)(x)
    with pytest.raises(TypeError, match="numpy.mean on a symbolic tensor.*nn.add"):
        np.mean(y)
    with pytest.raises(TypeError, match="arithmetic operator on a symbolic tensor"):
        y + 1
    with pytest.raises(TypeError, match="symbolic tensor"):
        np.asarray(x)
    model = nn.Model(x, y)
    with pytest.raises(TypeError, match="symbolic tensor"):
        model.predict(x)  # an Input where arrays are expected
    other = nn.Input((4,), name="forgotten")
    with pytest.raises(ValueError, match=r"disconnected.*'forgotten' \(None, 4\)"):
        nn.Model(x, nn.add(y, nn.Dense(2)(other)))
    with pytest.raises(ValueError, match="every input must be an nn.Input.*'dense"):
        nn.Model(y, nn.Dense(1)(y))
    with pytest.raises(TypeError, match="mixed with values"):
        nn.Add()([y, np.ones((1, 2))])
    with pytest.raises(ValueError, match=r"Dense layer 'bad' cannot take symbolic input of shape \(None, 2\)"):
        d = nn.Dense(3, name="bad")
        d(nn.Input((5,)))
        d(y)
    twin = nn.Dense(2, name="twin")
    with pytest.raises(ValueError, match="two different layers are named 'twin'"):
        nn.Model(x, nn.add(twin(x), nn.Dense(2, name="twin")(x)))


def test_layer_output_gives_a_sub_model_and_leaves_attributes_named_output_alone():
    x = nn.Input((4,))
    hidden = nn.Dense(3, activation="relu", name="hidden")
    y = nn.Dense(2)(hidden(x))
    model = nn.Model(x, y)
    features = nn.Model(model.input, model.get_layer("hidden").output)
    xs = _rand(2, 4)
    np.testing.assert_array_equal(features.predict(xs), hidden(nr.tensor(xs)).numpy())
    assert model.output is y and hidden.input is x.symbolic_output
    with pytest.raises(AttributeError, match="has no output: a layer's input and output are defined once"):
        _ = nn.Dense(2).output

    class Net(nn.Module):  # PyTorch style: an attribute called "output" is an ordinary layer
        def __init__(self):
            super().__init__()
            self.output = nn.Dense(2)

        def forward(self, t):
            return self.output(t)

    assert Net()(nr.tensor(xs)).shape == (2, 2)


def test_multi_input_fit_evaluate_predict_save_with_lists_of_arrays(tmp_path):
    nr.manual_seed(0)
    a, b = nn.Input((6,), name="a"), nn.Input((3, 2), name="b")
    h = nn.concatenate([nn.Dense(8, activation="relu")(a), nn.Flatten()(b)])
    model = nn.Model([a, b], nn.Dense(3)(h))
    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((64, 6)).astype(np.float32), rng.standard_normal((64, 3, 2)).astype(np.float32)
    y = (xa[:, 0] > 0).astype(int) + (xb[:, 0, 0] > 0)
    model.compile(nr.optim.Adam(lr=0.02), "cross_entropy", ["accuracy"])
    hist = model.fit([xa, xb], y, epochs=15, batch_size=16, verbose=0, validation_data=([xa, xb], y))
    assert hist.history["loss"][-1] < 0.7 * hist.history["loss"][0]
    assert hist.history["val_accuracy"][-1] > 0.7
    np.testing.assert_array_equal(model.predict([xa, xb]), model([xa, xb]).numpy())
    by_list, by_dict = model.evaluate([xa, xb], y), model.evaluate({"b": xb, "a": xa}, y)
    assert by_list == by_dict
    model.train_step([xa[:8], xb[:8]], y[:8])
    path = tmp_path / "two_inputs.neurona"
    model.save(path)
    np.testing.assert_array_equal(nr.load_model(path).predict([xa, xb]), model.predict([xa, xb]))
    with pytest.raises(ValueError, match="has 2 inputs"):
        model.fit(xa, y, verbose=0)
    with pytest.raises(ValueError, match=r"same number of samples.*'b': 10"):
        model.fit([xa, xb[:10]], y, verbose=0)
    with pytest.raises(ValueError, match=r"x for input 'b' must have shape \(N, 3, 2\)"):
        model.predict([xa, xb.reshape(64, 6)])
