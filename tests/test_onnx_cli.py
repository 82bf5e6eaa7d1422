"""``neurona export RUN_OR_MODEL model.onnx``: from a run folder or a model file, checked and runnable."""

import numpy as np
import pytest

import neurona as nr
from neurona import nn
from neurona.cli import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture
def cli(capsys):
    def run(*args):
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err
    return run


def _saved_model(folder):
    """A small CNN that scales raw pixels itself, saved as a run's model.neurona."""
    model = nn.Sequential([nn.Rescaling(1 / 255), nn.Conv2D(4, 3, padding="same", activation="relu"), nn.MaxPool2D(2),
                           nn.Flatten(), nn.Dense(10)])
    model.build((None, 8, 8, 1))
    folder.mkdir()
    model.save(str(folder / "model.neurona"))
    return folder / "model.neurona"


def test_export_a_run_folder_and_a_model_file(cli, tmp_path):
    path = _saved_model(tmp_path / "run")
    x = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 1)).astype(np.float32)
    want = nr.load_model(str(path)).predict(x)
    for source, out in ((tmp_path / "run", tmp_path / "from_run.onnx"), (path, tmp_path / "from_file.onnx")):
        status, stdout, err = cli("export", source, out)
        assert status == 0, err
        assert f"wrote {out}" in stdout and "input (N, 8, 8, 1)" in stdout and "opset 17" in stdout
        onnx.checker.check_model(str(out), full_check=True)
        sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        np.testing.assert_allclose(sess.run(None, {"input": x})[0], want, rtol=1e-4, atol=1e-5)
    status, _, _ = cli("export", path, tmp_path / "new.onnx", "--opset", "19")
    assert status == 0 and onnx.load(str(tmp_path / "new.onnx")).opset_import[0].version == 19


def test_export_errors_say_what_was_expected(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    status, _, err = cli("export", tmp_path / "empty", tmp_path / "m.onnx")
    assert status == 2 and "without model.neurona" in err
    status, _, err = cli("export", tmp_path / "missing.neurona", tmp_path / "m.onnx")
    assert status == 2 and "no such model file" in err
    path = _saved_model(tmp_path / "run")
    status, _, err = cli("export", path, tmp_path / "m.txt")
    assert status == 2 and "expected a file name ending in .onnx" in err
    status, _, err = cli("export", path, tmp_path / "m.onnx", "--opset", "7")
    assert status == 2 and "--opset must be between 13 and 21" in err
    model = nn.Sequential([nn.TimeDistributed(nn.Conv2D(2, 1, data_format="channels_first"))])  # saves, never exports
    model.build((None, 3, 2, 4, 4))
    model.save(str(tmp_path / "td.neurona"))
    status, _, err = cli("export", tmp_path / "td.neurona", tmp_path / "td.onnx")
    assert status == 2 and "(ChannelsFirstConv2D) has no ONNX equivalent" in err
    assert not (tmp_path / "td.onnx").exists()
