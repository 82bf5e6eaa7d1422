"""The neurona command end to end, in process (``neurona.cli.main``): train, evaluate, predict, listings."""

import json

import numpy as np
import pytest
from PIL import Image

import neurona as nr
from neurona.cli import main


@pytest.fixture
def cli(capsys):
    """Run the command line in process: (exit status, stdout, stderr)."""
    def run(*args):
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err
    return run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    status = main(["train", "--epochs", "3", "--out", str(out), "--verbose", "0"])
    assert status == 0
    return out


def test_train_writes_a_run_directory(trained):
    for name in ("model.neurona", "history.csv", "metrics.json", "training_curves.png", "confusion_matrix.png"):
        assert (trained / name).stat().st_size > 0, name
    summary = json.loads((trained / "metrics.json").read_text())
    assert summary["epochs"] == 3 and 0.5 < summary["accuracy"] <= 1.0
    assert np.array(summary["confusion_matrix"]).sum() == 359
    assert len((trained / "history.csv").read_text().strip().splitlines()) == 4  # header + 3 epochs
    assert json.loads((trained / "run.json").read_text())["status"] == "finished"


def test_header_says_the_validation_split(cli, tmp_path):
    status, out, _ = cli("train", "--epochs", "1", "--out", tmp_path / "r", "--verbose", "0", "--val-split", "0.25")
    assert status == 0
    assert "1438 training samples, 360 of them held out for validation (--val-split 0.25)" in out
    assert "test accuracy" in out and "confusion matrix" in out and "precision" in out


def test_evaluate_reports_the_same_accuracy_with_or_without_data(cli, trained):
    trained_acc = json.loads((trained / "metrics.json").read_text())["accuracy"]
    status, out, err = cli("evaluate", trained / "model.neurona", "--data", "digits", "--out", trained / "eval.json")
    assert status == 0, err
    assert json.loads((trained / "eval.json").read_text())["accuracy"] == pytest.approx(trained_acc)
    status, out, err = cli("evaluate", trained / "model.neurona")  # the dataset stored in the model
    assert status == 0, err
    assert "data: digits (stored in the model" in out and f"accuracy {trained_acc:.4f}" in out


def write_digits(folder, n=3):
    (_, _), (x_test, _) = nr.data.load_digits()
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(n):
        files.append(folder / f"digit{i}.png")
        Image.fromarray(x_test[i]).save(files[-1])
    return files, x_test[:n]


def test_predict_files_and_folders_with_output(cli, trained, tmp_path):
    files, x = write_digits(tmp_path / "imgs")
    status, out, err = cli("predict", trained / "model.neurona", *files)
    assert status == 0, err
    lines = out.strip().splitlines()
    expected = nr.load_model(trained / "model.neurona").predict(x[..., None].astype(np.float32)).argmax(-1)
    assert [line.split(": ")[1].split()[0] for line in lines] == [str(k) for k in expected]
    status, out, err = cli("predict", trained / "model.neurona", tmp_path / "imgs", "--output", tmp_path / "p.csv")
    assert status == 0, err
    rows = (tmp_path / "p.csv").read_text().strip().splitlines()
    assert rows[0].startswith("input,prediction,p_0,p_1") and len(rows) == 4
    assert [r.split(",")[1] for r in rows[1:]] == [str(k) for k in expected]
    status, _, err = cli("predict", trained / "model.neurona", tmp_path / "imgs", "--output", tmp_path / "p.json")
    assert status == 0, err
    records = json.loads((tmp_path / "p.json").read_text())
    assert [r["prediction"] for r in records] == [str(k) for k in expected]
    assert sum(records[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_train_on_a_folder_of_images(cli, tmp_path):
    rng = np.random.default_rng(0)
    for cls, value in (("dark", 40), ("light", 210)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(rng.normal(value, 20, (10, 10)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(tmp_path / "imgs" / cls / f"{i}.png")
    status, _, err = cli("train", "--data", tmp_path / "imgs", "--epochs", "5", "--out", tmp_path / "r1",
                         "--verbose", "0", "--lr", "0.01")
    assert status == 0, err
    assert json.loads((tmp_path / "r1" / "metrics.json").read_text())["accuracy"] == 1.0


def write_table(path, y, x=None, header="a,b,c,label"):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(y), 3)) if x is None else x
    rows = [header] + [f"{p:.4f},{q:.4f},{r:.4f},{t}" for (p, q, r), t in zip(x, y)]
    path.write_text("\n".join(rows) + "\n")
    return x


def test_csv_labels_are_mapped_to_classes_and_predict_takes_the_header(cli, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = np.where(x[:, 0] + x[:, 1] > 0, 1000, 0)  # two classes, whatever their values
    write_table(tmp_path / "table.csv", y, x)
    status, out, err = cli("train", "--data", tmp_path / "table.csv", "--epochs", "30", "--out", tmp_path / "r",
                           "--verbose", "0")
    assert status == 0, err
    summary = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert np.array(summary["confusion_matrix"]).shape == (2, 2) and summary["accuracy"] >= 0.75
    assert "2 classes" in out
    model = nr.load_model(tmp_path / "r" / "model.neurona")
    assert model.metadata["class_names"] == ["0", "1000"]
    # the training file itself (header, target column and all) is valid input for predict
    status, out, err = cli("predict", tmp_path / "r" / "model.neurona", tmp_path / "table.csv",
                           "--output", tmp_path / "p.json")
    assert status == 0, err
    records = json.loads((tmp_path / "p.json").read_text())
    assert len(records) == 80 and {r["prediction"] for r in records} <= {"0", "1000"}
    agree = np.mean([r["prediction"] == str(t) for r, t in zip(records, y)])
    assert agree >= 0.75


def test_continuous_target_trains_a_regression(cli, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 3))
    y = 50_000 + 10_000 * (x[:, 0] - 0.5 * x[:, 2]) + rng.normal(0, 100, 120)
    write_table(tmp_path / "houses.csv", [f"{v:.2f}" for v in y], x, "a,b,c,price")
    status, out, err = cli("train", "--data", tmp_path / "houses.csv", "--out", tmp_path / "r", "--verbose", "0")
    assert status == 0, err
    assert "regression: the target 'price'" in out and "R^2" in out
    assert "early stopping after 20" in out  # the default for tables
    summary = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert summary["task"] == "regression" and summary["r2"] > 0.9
    status, out, err = cli("predict", tmp_path / "r" / "model.neurona", tmp_path / "houses.csv")
    assert status == 0, err
    first = float(out.splitlines()[0].split(": ")[1])
    assert abs(first - y[0]) < 0.2 * 10_000  # raw units: the model scales its output back
    status, out, err = cli("evaluate", tmp_path / "r" / "model.neurona")
    assert status == 0, err
    assert f"R^2 {summary['r2']:.4f}" in out


def test_early_stopping_keeps_the_best_epoch(cli, tmp_path):
    rng = np.random.default_rng(2)
    write_table(tmp_path / "t.csv", rng.integers(0, 2, 60))  # noise: validation loss soon stops improving
    status, out, err = cli("train", "--data", tmp_path / "t.csv", "--epochs", "40", "--early-stopping", "3",
                           "--out", tmp_path / "r", "--verbose", "0", "--lr", "0.05")
    assert status == 0, err
    summary = json.loads((tmp_path / "r" / "metrics.json").read_text())
    rows = (tmp_path / "r" / "history.csv").read_text().strip().splitlines()
    val = [float(r.split(",")[rows[0].split(",").index("val_loss")]) for r in rows[1:]]
    assert len(val) < 40 and summary["best_epoch"] == int(np.argmin(val)) + 1
    assert f"kept the weights of epoch {summary['best_epoch']}" in out
    # the saved model is that epoch's: its loss on the validation rows is the best val_loss
    from neurona.cli import load_dataset

    ds = load_dataset(str(tmp_path / "t.csv"), test_split=0.2, seed=0)
    n_val = len(ds.x_train) - int(np.floor(len(ds.x_train) * 0.9))
    model = nr.load_model(tmp_path / "r" / "model.neurona", compile=False)
    model.compile(loss="cross_entropy")
    loss = model.evaluate(ds.x_train[-n_val:], ds.y_train[-n_val:])
    assert loss == pytest.approx(min(val), rel=1e-4)


def test_out_refuses_an_existing_run_unless_overwrite(cli, trained, tmp_path):
    status, _, err = cli("train", "--out", trained, "--epochs", "1")
    assert status == 2 and "already holds files" in err and "--overwrite" in err
    assert json.loads((trained / "run.json").read_text())["status"] == "finished"  # untouched
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "notes.txt").write_text("mine")
    status, _, err = cli("train", "--out", tmp_path / "r", "--epochs", "1", "--verbose", "0", "--overwrite")
    assert status == 0, err
    assert (tmp_path / "r" / "notes.txt").read_text() == "mine"  # only run files are replaced


def test_default_run_names_never_collide(cli, tmp_path, monkeypatch):
    """Two runs started in the same second get two folders."""
    from neurona.cli import runs

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runs, "_stamp", lambda: "20260101-120000")
    write_table(tmp_path / "t.csv", np.arange(20) % 2)
    for _ in range(2):
        status, _, err = cli("train", "--data", "t.csv", "--epochs", "1", "--verbose", "0")
        assert status == 0, err
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert names == ["t-mlp-20260101-120000", "t-mlp-20260101-120000-2"]
    for name in names:
        assert json.loads((tmp_path / "runs" / name / "run.json").read_text())["status"] == "finished"


@pytest.mark.parametrize("failure, status, state", [(RuntimeError("disk on fire"), 2, "failed"),
                                                    (KeyboardInterrupt(), 130, "interrupted"),
                                                    ("SIGTERM", 130, "interrupted")])
def test_a_failed_run_is_marked(cli, tmp_path, monkeypatch, failure, status, state):
    import os
    import signal

    from neurona.cli import train

    def fail(*args, **kwargs):
        if failure == "SIGTERM":
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill` would; the handler turns it into an interruption
        raise failure

    monkeypatch.setattr(train, "_finish", fail)
    code, _, err = cli("train", "--epochs", "1", "--out", tmp_path / "r", "--verbose", "0")
    assert code == status
    record = json.loads((tmp_path / "r" / "run.json").read_text())
    assert record["status"] == state and not (tmp_path / "r" / "model.neurona").exists()


def test_resume_continues_an_interrupted_run(cli, tmp_path, monkeypatch):
    write_table(tmp_path / "t.csv", np.arange(60) % 3)
    args = ["--data", tmp_path / "t.csv", "--epochs", "6", "--verbose", "0", "--optimizer", "sgd"]
    assert cli("train", *args, "--out", tmp_path / "whole")[0] == 0
    real = nr.callbacks.CSVLogger.on_epoch_end

    def interrupt(self, epoch, logs=None):
        real(self, epoch, logs)
        if epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(nr.callbacks.CSVLogger, "on_epoch_end", interrupt)
    assert cli("train", *args, "--out", tmp_path / "cut")[0] == 130
    assert json.loads((tmp_path / "cut" / "run.json").read_text())["status"] == "interrupted"
    monkeypatch.setattr(nr.callbacks.CSVLogger, "on_epoch_end", real)
    status, out, err = cli("train", "--resume", tmp_path / "cut")
    assert status == 0, err
    assert "continuing" in out
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    cut = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert cut["test_loss"] == whole["test_loss"] and cut["epochs"] == 6
    rows = (tmp_path / "cut" / "history.csv").read_text().strip().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(6))  # the rows before the interruption kept
    assert json.loads((tmp_path / "cut" / "run.json").read_text())["status"] == "finished"
    status, _, err = cli("train", "--resume", tmp_path / "cut")
    assert status == 2 and "that run finished" in err


def test_datasets_models_and_version(cli):
    status, out, _ = cli("datasets")
    assert status == 0 and out.startswith("digits") and "fashion-mnist" in out
    status, out, _ = cli("models")
    assert status == 0 and "cnn" in out and "421,642" in out and "resnet20" in out
    status, out, _ = cli("--version")
    assert status == 0 and out.strip() == f"neurona {nr.__version__}"


def test_many_classes_give_a_bounded_plot_and_no_giant_table(cli, tmp_path):
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(0, 600, 10), 4)  # 60 classes with labels 0, 10, ..., 590
    write_table(tmp_path / "many.csv", y, rng.normal(size=(len(y), 3)))
    status, out, err = cli("train", "--data", tmp_path / "many.csv", "--epochs", "1", "--out", tmp_path / "r",
                           "--verbose", "0", "--task", "classification", "--test-split", "0.5")
    assert status == 0, err
    assert "60 classes" in out and "too many to print" in out
    width, height = Image.open(tmp_path / "r" / "confusion_matrix.png").size
    assert width <= 1600 and height <= 1500  # 14-inch side at 100 dpi, plus the colour bar


def test_drop_leaves_out_text_columns_and_the_error_names_the_flag(cli, tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 2))
    rows = ["id,a,b,label"] + [f"row{i},{p:.3f},{q:.3f},{int(p > q)}" for i, (p, q) in enumerate(x)]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    status, _, err = cli("train", "--data", tmp_path / "t.csv", "--epochs", "2", "--out", tmp_path / "r")
    assert status == 2 and "leave it out with --drop id" in err and "drop=" not in err
    status, _, err = cli("train", "--data", tmp_path / "t.csv", "--epochs", "2", "--out", tmp_path / "r",
                         "--drop", "id", "--verbose", "0")
    assert status == 0, err
    assert nr.load_model(tmp_path / "r" / "model.neurona").metadata["feature_names"] == ["a", "b"]
    status, out, err = cli("predict", tmp_path / "r" / "model.neurona", tmp_path / "t.csv")
    assert status == 0, err
    assert len(out.strip().splitlines()) == 40
    status, out, err = cli("evaluate", tmp_path / "r" / "model.neurona")  # the stored --drop is used again
    assert status == 0, err
