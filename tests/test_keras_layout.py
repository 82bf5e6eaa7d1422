"""``import neurona as keras``: Keras's top-level layout over neurona's own classes (issue 16)."""

import shutil

import numpy as np
import pytest

import neurona as keras
from neurona import nn, optim


def test_layers_are_the_nn_classes_themselves():
    from neurona import layers

    for name in layers.__all__:
        if name == "Layer":
            assert layers.Layer is nn.Module
        else:
            assert getattr(layers, name) is getattr(nn, name), name
    assert layers.MaxPooling2D is nn.MaxPool2D and layers.AveragePooling2D is nn.AvgPool2D
    assert layers.GlobalAveragePooling2D is nn.GlobalAvgPool2D and layers.BatchNormalization is nn.BatchNorm


def test_top_level_names():
    assert keras.Sequential is nn.Sequential and keras.Input is nn.Input and keras.Model is nn.Model
    assert keras.models.Sequential is nn.Sequential and keras.models.Model is nn.Model
    assert keras.models.load_model is keras.load_model
    assert keras.callbacks.EarlyStopping is keras.training.callbacks.EarlyStopping
    assert keras.optimizers.Adam is optim.Adam and keras.optimizers.schedules is optim.schedules
    assert callable(keras.models.get)  # the zoo is still there


def test_models_load_model_reads_a_saved_model(tmp_path):
    keras.manual_seed(0)
    model = keras.Sequential([keras.layers.Dense(4, activation="relu"), keras.layers.Dense(2)])
    model.compile("adam", "cross_entropy")
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    model.train_on_batch(x, np.array([0, 1, 1, 0, 1]))
    model.save(tmp_path / "m.neurona")
    loaded = keras.models.load_model(tmp_path / "m.neurona")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def _train(opt, steps=3):
    keras.manual_seed(0)
    model = keras.Sequential([keras.layers.Dense(3)])
    x = np.random.default_rng(1).normal(size=(8, 2)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    model.compile(opt, "cross_entropy")
    for _ in range(steps):
        model.train_on_batch(x, y)
    return [p.numpy() for p in model.parameters()]


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta"])
def test_learning_rate_first_positional_is_lr(name):
    cls = getattr(keras.optimizers, name)
    positional, keyword, torch_style = _train(cls(0.05)), _train(cls(learning_rate=0.05)), _train(cls(lr=0.05))
    for a, b, c in zip(positional, keyword, torch_style):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert cls(0.05).defaults["lr"] == 0.05


def test_learning_rate_first_accepts_a_schedule_and_ints():
    schedule = optim.CosineDecay(0.1, 10)
    assert optim.Adam(schedule).defaults["lr"] is schedule
    assert optim.SGD(1).defaults["lr"] == 1


def test_learning_rate_given_twice_or_a_positional_hyperparameter_is_refused():
    with pytest.raises(TypeError, match="learning rate twice"):
        optim.Adam(1e-3, learning_rate=1e-2)
    # Keras's SGD(0.01, 0.9): 0.9 would land in lr and the momentum would be lost silently
    with pytest.raises(TypeError, match="by keyword .* Received a second positional value 0.9"):
        optim.SGD(0.01, 0.9)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])


def test_to_categorical():
    y = keras.utils.to_categorical(np.array([0, 2, 1]), num_classes=4)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.eye(4, dtype=np.float32)[[0, 2, 1]])
    np.testing.assert_array_equal(keras.utils.to_categorical([[1], [0]]), [[0, 1], [1, 0]])
    assert keras.utils.to_categorical(np.array([[0, 1], [2, 0]])).shape == (2, 2, 3)
    with pytest.raises(ValueError, match="label 3 does not fit num_classes=3"):
        keras.utils.to_categorical([3], num_classes=3)
    with pytest.raises(ValueError, match="labels must be >= 0. Received: -1"):
        keras.utils.to_categorical([-1, 0])
    with pytest.raises(ValueError, match="expected integer class labels"):
        keras.utils.to_categorical([0.5])


def test_to_categorical_targets_train_as_the_integer_labels():
    x = np.random.default_rng(0).normal(size=(12, 3)).astype(np.float32)
    y = np.arange(12) % 3
    runs = []
    for target in (y, keras.utils.to_categorical(y)):
        keras.manual_seed(0)
        m = keras.Sequential([keras.layers.Dense(3, activation="softmax")])
        m.compile(keras.optimizers.SGD(0.1), loss="categorical_crossentropy", metrics=["accuracy"])
        m.fit(x, target, epochs=2, batch_size=4, verbose=0, shuffle=False)
        runs.append(m.evaluate(x, target))
    assert runs[0] == pytest.approx(runs[1], rel=1e-6)


def _functional():
    inp = keras.Input(shape=(4,), name="x")
    a = keras.layers.Dense(3, name="a")(inp)
    b = keras.layers.Dense(3, name="b")(inp)
    return keras.Model(inp, keras.layers.add([a, b]))


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_plot_model_draws_a_png(tmp_path):
    path = keras.utils.plot_model(_functional(), to_file=tmp_path / "model.png", show_shapes=True)
    assert path == tmp_path / "model.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_model_without_graphviz_writes_the_dot_text(tmp_path, monkeypatch):
    monkeypatch.setattr(keras.utils.plot.shutil, "which", lambda name: None)
    with pytest.warns(UserWarning, match="'dot' program was not found.*apt install graphviz"):
        path = keras.utils.plot_model(_functional(), to_file=tmp_path / "model.png", show_shapes=True)
    text = path.read_text()
    assert path.suffix == ".dot" and not (tmp_path / "model.png").exists()
    for edge in ('"x" -> "a"', '"x" -> "b"', '"a" -> "add', '"b" -> "add'):
        assert edge in text


def test_functional_api_misuse_says_what_was_expected():
    with pytest.raises(TypeError, match=r"Dense layer 'd' was called on the class Input itself\. Expected a tensor.*"
                                        r"inputs = nn.Input\(shape=\(\.\.\.\)\)"):
        keras.layers.Dense(3, name="d")(keras.Input)
    with pytest.raises(TypeError, match=r"Dense layer 'd2' was called on a layer \(Dense 'd1'\), not on its output"):
        keras.layers.Dense(2, name="d2")(keras.layers.Dense(3, name="d1"))
    with pytest.raises(TypeError, match="outputs must be symbolic tensors .* Received: Dense"):
        keras.Model(keras.Input((4,)), keras.layers.Dense(2))
    inp = keras.Input(shape=(4,))
    model = keras.Model(inp, keras.layers.Dense(2)(inp))  # the right way still works
    assert model.predict(np.ones((3, 4), np.float32)).shape == (3, 2)
