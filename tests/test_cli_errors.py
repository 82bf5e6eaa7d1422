"""A user's mistakes on the command line: exit status 2, the whole message, no traceback, flags named as flags."""

import io
import os
import zipfile

import numpy as np
import pytest
from PIL import Image

from neurona.cli import main


@pytest.fixture
def cli(capsys):
    def run(*args):
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err
    return run


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), "--verbose", "0"]) == 0
    return out / "model.neurona"


def assert_user_error(result, *messages):
    status, _, err = result
    assert status == 2, err
    assert "Traceback" not in err
    for message in messages:
        assert message in err


@pytest.mark.parametrize("args, messages", [
    (("train", "--epochs", "0"), ["argument --epochs: expected a whole number >= 1. Received: '0'"]),
    (("train", "--epochs", "many"), ["argument --epochs: expected a whole number >= 1"]),
    (("train", "--image-size", "100000x100000"), ["argument --image-size: each side must be 1..4096 pixels"]),
    (("train", "--image-size", "28"), ["argument --image-size: expected HxW, e.g. 28x28"]),
    (("train", "--test-split", "1.5"), ["argument --test-split: expected a fraction between 0 and 1"]),
    (("train", "--test-split", "0"), ["argument --test-split: expected a fraction between 0 and 1"]),
    (("train", "--val-split", "1"), ["argument --val-split: expected a fraction >= 0 and < 1"]),
    (("train", "--lr", "nan"), ["argument --lr: expected a finite number"]),
    (("train", "--lr", "-1"), ["argument --lr: expected a number > 0"]),
    (("train", "--device", "tpu"), ["argument --device: invalid choice: 'tpu'"]),
    (("train", "--epohcs", "3"), ["unrecognized arguments: --epohcs 3", "Did you mean '--epochs'?"]),
    (("trian",), ["invalid choice: 'trian'", "Did you mean 'train'?"]),
    (("train", "--model", "mpl"), ["--model mpl: unknown model", "Did you mean 'mlp'?"]),
    (("train", "--data", "fashon-mnist"), ["--data fashon-mnist: no such dataset", "Did you mean 'fashion-mnist'?"]),
    (("train", "--optimizer", "sgdd"), ["--optimizer sgdd: unknown optimizer", "Did you mean 'sgd'?"]),
    (("models", "--input-shape", "100000x100000x3"), ["argument --input-shape: each size must be >= 1"]),
    (("models", "--classes", "0"), ["argument --classes: expected a whole number >= 1"]),
    (("evaluate", "/no/such/model.neurona", "--data", "digits"), ["no such model file: /no/such/model.neurona"]),
    (("train", "--early-stopping", "3", "--val-split", "0", "--epochs", "1"),
     ["--early-stopping watches the validation loss: it needs --val-split > 0"]),
    (("train", "--resume", "/no/such/run"), ["--resume /no/such/run: no such run folder"]),
    (("train", "--resume", "/no/such/run", "--epochs", "3", "--lr", "0.1"),
     ["--resume continues a run with its own settings; leave out --epochs, --lr"]),
])
def test_mistakes_give_the_whole_message_and_exit_2(cli, tmp_path, monkeypatch, args, messages):
    monkeypatch.chdir(tmp_path)
    assert_user_error(cli(*args), *messages)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_top_zero_and_wrong_output_suffix(cli, model_file, tmp_path):
    assert_user_error(cli("predict", model_file, "x.png", "--top", "0"), "argument --top: expected a whole number >= 1")
    assert_user_error(cli("predict", model_file, "x.png", "--output", tmp_path / "p.txt"),
                      "--output", "expected a .csv or .json file name")


def test_multi_line_messages_are_not_cut(cli, monkeypatch, tmp_path):
    from neurona.cli import train

    def fail(*args, **kwargs):
        raise ValueError("first line of the problem,\nand the second line that says what to do")

    monkeypatch.setattr(train, "load_dataset", fail)
    status, _, err = cli("train", "--epochs", "1", "--out", tmp_path / "r")
    assert status == 2
    assert "first line of the problem,\nand the second line that says what to do" in err


def test_hostile_and_special_model_files(cli, tmp_path):
    bad = tmp_path / "bad.neurona"
    bad.write_bytes(b"not a model at all")
    assert_user_error(cli("evaluate", bad, "--data", "digits"), "bad.neurona")
    with zipfile.ZipFile(tmp_path / "zip.neurona", "w") as z:
        z.writestr("manifest.json", "{\"format\": \"neurona-model\", \"format_version\": 1, \"model\": 7}")
        z.writestr("weights.npz", b"\x00" * 100)
    assert_user_error(cli("predict", tmp_path / "zip.neurona", "x.png"), "zip.neurona")
    assert_user_error(cli("evaluate", tmp_path, "--data", "digits"), "is not a regular file")
    fifo = tmp_path / "pipe.neurona"
    os.mkfifo(fifo)
    assert_user_error(cli("evaluate", fifo, "--data", "digits"), "is not a regular file")


def test_fifo_and_folders_as_inputs_never_block(cli, model_file, tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert_user_error(cli("train", "--data", fifo, "--epochs", "1"), "expected a folder of images")
    assert_user_error(cli("predict", model_file, fifo), "is not a regular file")
    (tmp_path / "empty").mkdir()
    assert_user_error(cli("predict", model_file, tmp_path / "empty"), "the folder holds no images")
    fifo_json = tmp_path / "model.json"
    os.mkfifo(fifo_json)
    assert_user_error(cli("train", "--model", fifo_json, "--epochs", "1", "--out", tmp_path / "r"),
                      "not a regular file")


def test_latin1_csv_names_the_file_and_the_encoding(cli, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("ciudad,año,y\nLeón,1,0\nCádiz,2,1\n".encode("latin-1"))
    assert_user_error(cli("train", "--data", path, "--epochs", "1", "--out", tmp_path / "r"),
                      "latin.csv is not UTF-8 text", "save the file as UTF-8")


def test_one_class_folder_needs_two(cli, tmp_path):
    (tmp_path / "imgs" / "cat").mkdir(parents=True)
    for i in range(3):
        Image.new("L", (8, 8), i * 50).save(tmp_path / "imgs" / "cat" / f"{i}.png")
    assert_user_error(cli("train", "--data", tmp_path / "imgs", "--epochs", "1", "--out", tmp_path / "r"),
                      "need at least 2 classes to classify, found 1 (cat)")


def test_folder_of_mixed_sizes_names_the_flag(cli, tmp_path):
    for cls, size in (("a", 8), ("b", 9)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        Image.new("L", (size, size)).save(tmp_path / "imgs" / cls / "0.png")
    status, _, err = cli("train", "--data", tmp_path / "imgs", "--epochs", "1", "--out", tmp_path / "r")
    assert status == 2 and "pass --image-size HxW to resize them all" in err and "image_size=" not in err


def test_image_over_the_bomb_limit(cli, model_file, tmp_path, monkeypatch):
    Image.new("L", (64, 64)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    assert_user_error(cli("predict", model_file, tmp_path / "big.png"), "big.png is too large to open safely")


def test_gpu_without_cupy(cli, tmp_path):
    from neurona import backend

    if backend.gpu_available():
        pytest.skip("a GPU is available here")
    assert_user_error(cli("train", "--device", "gpu", "--epochs", "1", "--out", tmp_path / "r"),
                      "--device gpu: device 'gpu' was requested but")


class ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    assert main(["models"]) == 141
    assert "Traceback" not in capsys.readouterr().err


def test_labels_out_of_the_model_range_are_refused(cli, model_file, tmp_path):
    rows = "a,b,label\n" + "\n".join(f"{i},{i},{i % 2}" for i in range(10)) + "\n"
    (tmp_path / "table.csv").write_text(rows)
    assert_user_error(cli("evaluate", model_file, "--data", tmp_path / "table.csv"), "the model expects (8, 8, 1)")
    x = np.zeros((2, 8, 8), np.uint8)
    Image.fromarray(x[0]).save(tmp_path / "ok.png")
    assert cli("predict", model_file, tmp_path / "ok.png")[0] == 0


@pytest.mark.parametrize("value, message", [("gpu", "NEURONA_DEVICE=gpu: device 'gpu' was requested but"),
                                            ("tpu", "NEURONA_DEVICE=tpu: device must be one of")])
def test_a_bad_neurona_device_is_a_users_mistake(value, message):
    """The variable is read when neurona is imported: a subprocess, so the import itself is tested."""
    import subprocess
    import sys

    from neurona import backend

    if value == "gpu" and backend.gpu_available():
        pytest.skip("a GPU is available here")
    env = dict(os.environ, NEURONA_DEVICE=value)
    result = subprocess.run([sys.executable, "-m", "neurona", "models", "--input-shape", "4", "--classes", "2"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    ok = subprocess.run([sys.executable, "-m", "neurona", "models", "--input-shape", "4", "--classes", "2"],
                        capture_output=True, text=True, env=dict(env, NEURONA_DEVICE="cpu"), timeout=120)
    assert ok.returncode == 0 and "mlp" in ok.stdout


def test_device_flag_replaces_an_unusable_neurona_device(cli, monkeypatch, tmp_path):
    from neurona import backend

    monkeypatch.setattr(backend, "ENV_DEVICE_ERROR", "NEURONA_DEVICE=gpu: no CuPy")
    with pytest.raises(RuntimeError, match="NEURONA_DEVICE=gpu: no CuPy"):
        backend.array_module()
    assert_user_error(cli("train", "--epochs", "1", "--out", tmp_path / "r"), "NEURONA_DEVICE=gpu: no CuPy")
    status, _, err = cli("train", "--epochs", "1", "--out", tmp_path / "r2", "--device", "cpu", "--verbose", "0")
    assert status == 0, err
    assert backend.ENV_DEVICE_ERROR is None
