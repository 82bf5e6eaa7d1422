"""The neurona command end to end, in subprocesses: train, evaluate, predict, datasets, models, mistakes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import neurona as nr


def run(*args, cwd=None):
    env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "neurona", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = run("train", "--epochs", "3", "--out", str(out), "--verbose", "2")
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def test_train_writes_a_run_directory(trained):
    out, stdout = trained
    for name in ("model.neurona", "history.csv", "metrics.json", "training_curves.png", "confusion_matrix.png"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["epochs"] == 3 and 0.5 < summary["accuracy"] <= 1.0
    assert np.array(summary["confusion_matrix"]).sum() == 359
    assert "test accuracy" in stdout and "confusion matrix" in stdout and "precision" in stdout
    assert len((out / "history.csv").read_text().strip().splitlines()) == 4  # header + 3 epochs


def test_evaluate_reports_the_same_accuracy(trained):
    out, _ = trained
    result = run("evaluate", str(out / "model.neurona"), "--data", "digits", "--out", str(out / "eval.json"))
    assert result.returncode == 0, result.stderr
    trained_acc = json.loads((out / "metrics.json").read_text())["accuracy"]
    assert json.loads((out / "eval.json").read_text())["accuracy"] == pytest.approx(trained_acc)
    assert f"accuracy {trained_acc:.4f}" in result.stdout


def test_predict_classifies_image_files(trained, tmp_path):
    out, _ = trained
    (_, _), (x_test, y_test) = nr.data.load_digits()
    files = []
    for i in range(3):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(x_test[i]).save(path)
        files.append(str(path))
    result = run("predict", str(out / "model.neurona"), *files)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith(f) for line, f in zip(lines, files))
    model = nr.load_model(out / "model.neurona")
    expected = model.predict(x_test[:3, :, :, None].astype(np.float32)).argmax(-1)
    assert [line.split(": ")[1].split()[0] for line in lines] == [str(k) for k in expected]


def test_train_on_a_folder_of_images_and_a_csv(tmp_path):
    rng = np.random.default_rng(0)
    for cls, value in (("dark", 40), ("light", 210)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(rng.normal(value, 20, (10, 10)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    result = run("train", "--data", str(tmp_path / "imgs"), "--epochs", "5", "--out", str(tmp_path / "r1"),
                 "--verbose", "0", "--lr", "0.01")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "r1" / "metrics.json").read_text())["accuracy"] == 1.0

    x = rng.normal(size=(60, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    rows = ["a,b,c,label"] + [f"{p:.4f},{q:.4f},{r:.4f},{t}" for (p, q, r), t in zip(x, y)]
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    result = run("train", "--data", str(tmp_path / "table.csv"), "--epochs", "20", "--out", str(tmp_path / "r2"),
                 "--verbose", "0")
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "r2" / "metrics.json").read_text())["accuracy"] >= 0.75


def test_datasets_and_models_listings():
    result = run("datasets")
    assert result.returncode == 0 and result.stdout.startswith("digits")
    assert "fashion-mnist" in result.stdout
    result = run("models")
    assert result.returncode == 0
    assert "cnn" in result.stdout and "421,642" in result.stdout and "resnet20" in result.stdout


@pytest.mark.parametrize("args,message", [
    (("train", "--model", "nonexistent", "--epochs", "1"), "unknown model 'nonexistent'"),
    (("train", "--data", "/no/such/place", "--epochs", "1"), "no such dataset, folder or file"),
    (("evaluate", "/no/such/model.neurona", "--data", "digits"), "no such model file"),
    (("train", "--optimizer", "sgdd", "--epochs", "1"), "unknown optimizer 'sgdd'"),
])
def test_mistakes_give_one_line_and_exit_2(args, message, tmp_path):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unreadable_model_and_wrong_shape(trained, tmp_path):
    out, _ = trained
    bad = tmp_path / "bad.neurona"
    bad.write_bytes(b"not a model at all")
    result = run("evaluate", str(bad), "--data", "digits")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (tmp_path / "cls").mkdir()
    result = run("evaluate", str(out / "model.neurona"), "--data", str(tmp_path / "table.csv"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    rows = "a,b,label\n" + "\n".join(f"{i},{i},{i % 2}" for i in range(10)) + "\n"
    (tmp_path / "table.csv").write_text(rows)
    result = run("evaluate", str(out / "model.neurona"), "--data", str(tmp_path / "table.csv"))
    assert result.returncode == 2 and "the model expects (8, 8, 1)" in result.stderr
