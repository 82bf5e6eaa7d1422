"""model.save / load_model / save_weights / load_weights: round trips bit for bit, optimizer state, no pickle,
clear errors for corrupt, foreign and newer files, atomic writes."""

import io
import json
import os
import zipfile

import numpy as np
import pytest

import neurona as nr
from neurona import backend, nn, optim
from neurona.training import ModelFileError, load_model, saving


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (np.eye(3)[y] @ rng.standard_normal((3, 6)) + rng.standard_normal((n, 6))).astype(np.float32)
    return x, y


def mlp(reg=None):
    return nn.Sequential([nn.Dense(16, activation="relu", kernel_regularizer=reg), nn.Dropout(0.2),
                          nn.Dense(3, activation="softmax")])


def trained(model=None, epochs=2, **compile_kwargs):
    x, y = data()
    model = model or mlp()
    model.compile(**{"optimizer": optim.Adam(lr=0.01), "loss": "cross_entropy", "metrics": ["accuracy"],
                     **compile_kwargs})
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    return model


def test_round_trip_identical_predictions_and_optimizer_state(tmp_path):
    x, y = data()
    model = trained()
    path = tmp_path / "model.neurona"
    model.save(path)
    assert os.listdir(tmp_path) == ["model.neurona"]
    rng_before = backend.get_rng_state()
    loaded = load_model(path)
    assert backend.get_rng_state() == rng_before  # building the copy draws nothing from the user's stream
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    assert type(loaded.optimizer) is optim.Adam and loaded.optimizer.lr == 0.01
    a, b = model.optimizer.state_dict(), loaded.optimizer.state_dict()
    assert a["iterations"] == b["iterations"] == 8 and a["param_groups"] == b["param_groups"]
    for k in a["state"]:
        for name in ("exp_avg", "exp_avg_sq"):
            assert np.array_equal(a["state"][k][name], b["state"][k][name])
    # training goes on identically from the saved state
    for m in (model, loaded):
        nr.manual_seed(7)
        m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for k, v in model.state_dict().items():
        assert np.array_equal(v, loaded.state_dict()[k]), k


def test_cnn_with_batch_norm_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 8, 8, 2)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    model = nn.Sequential([nn.Conv2D(4, 3, padding="same", activation="relu"), nn.BatchNorm(), nn.MaxPool2D(2),
                           nn.Flatten(), nn.Dense(2)])
    model.compile("sgd", "cross_entropy")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "cnn.neurona"
    model.save(path)
    loaded = load_model(path)
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert any("running" in k or "moving" in k for k in loaded.state_dict())  # buffers travel with the weights


def test_exact_path_include_optimizer_and_schedules(tmp_path):
    x, _ = data()
    model = trained(mlp(reg=nn.regularizers.L2(1e-3)),
                    optimizer=optim.SGD(lr=optim.ExponentialDecay(0.1, 10, 0.5), momentum=0.9))
    path = tmp_path / "weights.bin"  # written exactly there: no extension added
    model.save(path, include_optimizer=False)
    assert os.listdir(tmp_path) == ["weights.bin"]
    loaded = load_model(path)
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert loaded.layers[0].kernel.regularizer.get_config() == {"l2": 1e-3}
    lr = loaded.optimizer.param_groups[0]["lr"] if loaded.optimizer.param_groups else loaded.optimizer.defaults["lr"]
    assert isinstance(lr, optim.ExponentialDecay) and lr.get_config() == {"initial_lr": 0.1, "decay_steps": 10,
                                                                          "decay_rate": 0.5, "staircase": False}
    assert loaded.optimizer.iterations == 0  # no state saved
    bare = load_model(path, compile=False)
    assert "_trainer" not in bare.__dict__


def test_subclassed_models_use_weights_files(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Dense(8, activation="tanh")
            self.b = nn.Dense(3)

        def forward(self, x):
            return self.b(self.a(x))

    x, y = data()
    net = Net()
    net.compile("adam", "cross_entropy")
    net.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(TypeError, match="subclassed Module.*save_weights.*load_weights"):
        net.save(tmp_path / "net.neurona")
    assert os.listdir(tmp_path) == []
    net.save_weights(tmp_path / "net.weights")
    fresh = Net()
    fresh.build((None, 6))
    fresh.load_weights(tmp_path / "net.weights")
    assert np.array_equal(fresh.predict(x), net.predict(x))
    unbuilt = Net()  # not built: its Dense layers are built from the file's kernel shapes, as PyTorch users expect
    unbuilt.load_weights(tmp_path / "net.weights")
    assert np.array_equal(unbuilt.predict(x), net.predict(x))


def test_load_weights_from_a_model_file_and_shape_mismatch(tmp_path):
    x, _ = data()
    model = trained()
    model.save(tmp_path / "m.neurona")
    twin = mlp()
    twin.build((None, 6))
    twin.load_weights(tmp_path / "m.neurona")
    assert np.array_equal(twin.predict(x), model.predict(x))
    other = nn.Sequential([nn.Dense(5), nn.Dropout(0.2), nn.Dense(3)])
    other.build((None, 6))
    with pytest.raises(ValueError, match="0.kernel has shape \\(6, 5\\) in the model but \\(6, 16\\)"):
        other.load_weights(tmp_path / "m.neurona")


def test_unbuilt_model_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="not built yet"):
        mlp().save(tmp_path / "m.neurona")


# ---------------------------------------------------------------- hostile, corrupt, newer files
def _archive(path, manifest, weights_bytes):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("neurona.json", json.dumps(manifest))
        z.writestr("weights.npz", weights_bytes)


def test_pickles_are_never_loaded(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    model = trained()
    model.save(tmp_path / "good.neurona")
    with zipfile.ZipFile(tmp_path / "good.neurona") as z:
        manifest = json.loads(z.read("neurona.json"))
    payload = np.empty(1, dtype=object)
    payload[0] = Evil()
    buf = io.BytesIO()
    np.savez(buf, **{"0.kernel": payload})  # an object array: stored as a pickle
    _archive(tmp_path / "evil.neurona", manifest, buf.getvalue())
    with pytest.raises(ModelFileError, match="evil.neurona: array weights.npz/0.kernel.npy holds object; expected "
                                             "float32 or float64"):
        load_model(tmp_path / "evil.neurona")
    twin = mlp()
    twin.build((None, 6))
    with pytest.raises(ModelFileError):
        twin.load_weights(tmp_path / "evil.neurona")
    np.save(tmp_path / "evil.npy", payload)  # a bare pickle-carrying array as a weights file
    with pytest.raises(ModelFileError):
        twin.load_weights(tmp_path / "evil.npy")
    assert not marker.exists()


def test_corrupt_foreign_and_newer_files(tmp_path):
    model = trained()
    good = tmp_path / "good.neurona"
    model.save(good)
    raw = good.read_bytes()

    (tmp_path / "noise.neurona").write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(ModelFileError, match="noise.neurona is not a neurona model file"):
        load_model(tmp_path / "noise.neurona")

    (tmp_path / "half.neurona").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match="half.neurona"):
        load_model(tmp_path / "half.neurona")

    flipped = bytearray(raw)
    flipped[len(raw) // 2] ^= 0xFF  # one bit flipped inside the weights: the zip's CRC catches it
    (tmp_path / "flipped.neurona").write_bytes(bytes(flipped))
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "flipped.neurona")

    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ModelFileError, match="not a neurona model file \\(no neurona.json inside\\)"):
        load_model(tmp_path / "other.zip")

    with zipfile.ZipFile(good) as z:
        manifest = json.loads(z.read("neurona.json"))
        weights = z.read("weights.npz")
    newer = {**manifest, "format_version": 99, "neurona_version": "9.1.0"}
    _archive(tmp_path / "newer.neurona", newer, weights)
    with pytest.raises(ModelFileError, match="format version 99 by neurona 9.1.0.*reads format versions up to 1"):
        load_model(tmp_path / "newer.neurona")

    foreign = {**manifest, "model": {"class": "Popen", "config": {"args": "touch pwned"}}}
    _archive(tmp_path / "foreign.neurona", foreign, weights)
    with pytest.raises(ValueError, match="unknown layer class 'Popen'"):
        load_model(tmp_path / "foreign.neurona")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.neurona")


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    model = trained()
    path = tmp_path / "m.neurona"
    real = saving._write_npy

    def failing(f, array, *args, **kwargs):
        f.write(b"\x93NUMPY half an array")
        raise OSError("disk full")

    monkeypatch.setattr(saving, "_write_npy", failing)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert os.listdir(tmp_path) == []  # neither the file nor a temporary one
    monkeypatch.setattr(saving, "_write_npy", real)
    model.save(path)
    before = path.read_bytes()
    monkeypatch.setattr(saving, "_write_npy", failing)
    with pytest.raises(OSError):
        model.save(path)
    assert os.listdir(tmp_path) == ["m.neurona"] and path.read_bytes() == before  # the old file is intact
    monkeypatch.setattr(saving, "_write_npy", real)

    def no_sync(fd):
        raise OSError("I/O error")

    monkeypatch.setattr(saving.os, "fsync", no_sync)  # fails after the bytes were written to the temporary file
    with pytest.raises(OSError, match="I/O error"):
        model.save_weights(tmp_path / "w.npz")
    assert os.listdir(tmp_path) == ["m.neurona"]


def test_a_model_built_by_predict_after_compile_saves_and_loads(tmp_path):
    # compile, then a first predict builds the model: the optimizer had no parameters yet when
    # saved, and loading refused "a different number of parameter groups or parameters".
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    model = nn.Sequential([nn.Dense(5, activation="relu"), nn.Dense(2)])
    model.compile("adam", "cross_entropy")
    model.predict(x)
    model.save(tmp_path / "m.neurona")
    loaded = nr.load_model(tmp_path / "m.neurona")
    assert np.array_equal(loaded.predict(x), model.predict(x))
    loaded.fit(x, np.array([0, 1, 0, 1]), epochs=1, verbose=0)  # the reloaded optimizer trains every parameter
