"""nr.save_checkpoint / nr.load_checkpoint: the course's hand-written loop resumes bit for bit (issue 14)."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import neurona as nr
from neurona import nn, optim
from neurona.data import DataLoader
from neurona.training.model_file import ModelFileError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "course" / "training_loop.py"

_r = np.random.default_rng(0)
X = _r.standard_normal((40, 5)).astype(np.float32)
Y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def _setup(seed=0):
    nr.manual_seed(seed)
    model = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dropout(0.3), nn.Dense(2)])
    model.build((None, 5))
    opt = optim.Adam(model.parameters(), lr=0.01)
    shared = DataLoader(X, Y, batch_size=8, shuffle=True, tensors=True)          # neurona's generator
    own = DataLoader(X, Y, batch_size=16, shuffle=True, tensors=True, seed=7)    # its own generator
    return model, opt, shared, own


def _epoch(model, opt, loaders):
    model.train()
    for loader in loaders:
        for xb, yb in loader:
            opt.zero_grad()
            nr.functional.cross_entropy(model(xb), yb).backward()
            opt.step()


def _weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def _assert_same_bits(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.cpu_only(reason="checkpoints hold the CPU generator's state, not the GPU's (dropout masks differ)")
def test_resumed_loop_matches_an_uninterrupted_one_bit_for_bit(tmp_path):
    model, opt, shared, own = _setup()
    _epoch(model, opt, [shared, own])
    path = nr.save_checkpoint(tmp_path / "ck.neurona", model, opt, 0, loaders=[own], best=0.5,
                              history=[1.0, 2.0], mask=np.arange(3))
    _epoch(model, opt, [shared, own])
    _epoch(model, opt, [shared, own])
    expected = _weights(model)

    model2, opt2, shared2, own2 = _setup(seed=99)  # other initial weights and random state
    epoch, extra = nr.load_checkpoint(path, model2, opt2, loaders=[own2])
    assert epoch == 0 and extra["best"] == 0.5 and extra["history"] == [1.0, 2.0]
    np.testing.assert_array_equal(extra["mask"], np.arange(3))
    _epoch(model2, opt2, [shared2, own2])
    _epoch(model2, opt2, [shared2, own2])
    _assert_same_bits(_weights(model2), expected)

    # the random state is what makes it exact: reseeding after the load changes the dropout masks
    model3, opt3, shared3, own3 = _setup()
    nr.load_checkpoint(path, model3, opt3, loaders=[own3])
    nr.manual_seed(5)
    _epoch(model3, opt3, [shared3, own3])
    _epoch(model3, opt3, [shared3, own3])
    assert any((_weights(model3)[k] != expected[k]).any() for k in expected)


def test_slides_argument_order_directory_and_lazy_model(tmp_path):
    model, opt, shared, _ = _setup()
    _epoch(model, opt, [shared])
    nr.save_checkpoint(tmp_path, model, opt, 4)  # a directory: checkpoint.neurona inside
    assert (tmp_path / "checkpoint.neurona").is_file()
    nr.manual_seed(1)
    lazy = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dropout(0.3), nn.Dense(2)])  # not built yet
    lazy_opt = optim.Adam(lazy.parameters(), lr=0.01)
    epoch, extra = nr.load_checkpoint(lazy, lazy_opt, tmp_path)
    assert epoch == 4 and extra == {}
    _assert_same_bits(_weights(lazy), _weights(model))
    assert lazy_opt.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"] > 0


def test_checkpoint_holds_no_pickle_and_a_failed_save_keeps_the_old_file(tmp_path):
    model, opt, shared, _ = _setup()
    path = tmp_path / "ck.neurona"
    nr.save_checkpoint(path, model, opt, 1, note="first")
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert sorted(names) == ["extra.npz", "neurona.json", "optimizer.npz", "weights.npz"]
        manifest = json.loads(z.read("neurona.json"))
    assert manifest["format"] == "neurona-checkpoint" and manifest["epoch"] == 1
    assert manifest["rng"]["bit_generator"] == "PCG64"
    with pytest.raises(TypeError, match="extra value note=.*cannot be stored without pickle"):
        nr.save_checkpoint(path, model, opt, 2, note=object())
    assert nr.load_checkpoint(path, model, opt) == (1, {"note": "first"})
    assert [p.name for p in tmp_path.iterdir()] == ["ck.neurona"]  # no temporary left behind


def test_checkpoint_errors_name_what_was_expected(tmp_path):
    model, opt, shared, own = _setup()
    path = tmp_path / "ck.neurona"
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        nr.load_checkpoint(path, model, opt)
    nr.save_checkpoint(path, model, opt, 0)
    with pytest.raises(ValueError, match="holds the state of a Adam optimizer; received a SGD"):
        nr.load_checkpoint(path, model, optim.SGD(model.parameters(), lr=0.1))
    other = nn.Sequential([nn.Dense(3), nn.Dense(2)])
    other.build((None, 5))
    with pytest.raises(ValueError, match="does not fit model"):
        nr.load_checkpoint(path, other)
    with pytest.raises(ValueError, match="loader 0 has seed of its own"):
        nr.load_checkpoint(path, model, opt, loaders=[own])
    with pytest.raises(TypeError, match="epoch must be an integer. Received: epoch=1.5"):
        nr.save_checkpoint(path, model, opt, 1.5)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        nr.save_checkpoint(path, opt, model, 0)
    path.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError):
        nr.load_checkpoint(path, model, opt)


def _run_example(argv):
    spec = importlib.util.spec_from_file_location("course_training_loop", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


@pytest.mark.cpu_only(reason="the example and its subprocess run on the CPU generator (the GPU's is not saved)")
def test_example_killed_mid_epoch_by_sigkill_resumes_to_the_same_weights(tmp_path):
    args = ["--epochs", "2"]
    _run_example([*args, "--checkpoint-dir", str(tmp_path / "a"), "--weights-out", str(tmp_path / "a.npz")])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.run([sys.executable, str(EXAMPLE), *args, "--checkpoint-dir", str(tmp_path / "b"),
                             "--kill-at", "1:5"], capture_output=True, text=True, env=env, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert "killed at epoch 1, batch 5" in killed.stdout and "epoch 1:" not in killed.stdout
    with zipfile.ZipFile(tmp_path / "b" / "checkpoint.neurona") as z:
        assert json.loads(z.read("neurona.json"))["epoch"] == 0  # epoch 1 was never saved
    _run_example([*args, "--checkpoint-dir", str(tmp_path / "b"), "--weights-out", str(tmp_path / "b.npz")])
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    assert sorted(a.files) == sorted(b.files) and a.files
    for k in a.files:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
