"""The Keras-style scripts under examples/ported/ run, shortened (NEURONA_PORT_QUICK=1), and do what they say."""

import contextlib
import math
import re
import runpy
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import neurona as nr

PORTED = Path(__file__).resolve().parent.parent / "examples" / "ported"


@pytest.fixture
def run_port(tmp_path, monkeypatch):
    """Run one port in tmp_path (it writes checkpoints into the current folder) and return its globals."""
    monkeypatch.setenv("NEURONA_PORT_QUICK", "1")
    monkeypatch.setenv("NEURONA_PORT_DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(PORTED))
    monkeypatch.setattr(sys, "argv", ["port"])

    def run(name):
        nr.manual_seed(0)
        return runpy.run_path(str(PORTED / name), run_name="__main__")

    return run


@pytest.mark.cpu_only(reason="the ports read host files and print; their numbers come from fit/evaluate")
def test_mnist_convnet(run_port, capsys):
    g = run_port("keras_mnist_convnet.py")
    assert g["x_train"].shape == (256, 28, 28, 1) and g["y_train"].shape == (256, 10)
    score = g["score"]
    logs = g["model"].evaluate(g["x_test"], g["y_test"], return_dict=True)
    assert score == [logs["loss"], logs["accuracy"]]  # score[0], score[1] as in Keras
    out = capsys.readouterr().out
    loss = float(re.search(r"Test loss: (\S+)", out).group(1))
    accuracy = float(re.search(r"Test accuracy: (\S+)", out).group(1))
    assert math.isfinite(loss) and loss == pytest.approx(score[0])
    assert accuracy > 0.15, out  # chance is 0.1; one seeded epoch on 230 images reaches ~0.3
    assert len(g["history"].history["val_loss"]) == 1  # validation_split gave a validation set


@pytest.mark.cpu_only(reason="the ports read host files and print; their numbers come from fit/evaluate")
def test_imbalanced_classification(run_port, tmp_path, capsys):
    g = run_port("keras_imbalanced_classification.py")
    assert g["features"].shape == (2000, 30) and g["targets"].shape == (2000, 1)
    assert 0 < g["n_fraud"] < 0.05 * len(g["train_targets"])  # a rare positive class
    assert g["class_weight"][1] > 10 * g["class_weight"][0]
    loaded = nr.models.load_model(tmp_path / "fraud_detector_epoch1.keras")
    np.testing.assert_array_equal(loaded.predict(g["val_features"]), g["model"].predict(g["val_features"]))
    logs = g["model"].evaluate(g["val_features"], g["val_targets"], return_dict=True)
    # the unpacked evaluate matches the named results; the counts ignore class_weight and add up
    assert (g["tp"], g["fp"], g["tn"], g["fn"]) == (logs["tp"], logs["fp"], logs["tn"], logs["fn"])
    assert g["tp"] + g["fp"] + g["tn"] + g["fn"] == len(g["val_features"])
    assert g["tp"] + g["fn"] == g["val_targets"].sum()
    assert math.isfinite(g["loss"])
    assert f"frauds caught {g['tp']:.0f} of {g['tp'] + g['fn']:.0f}" in capsys.readouterr().out


@pytest.mark.cpu_only(reason="the ports read host files and print; their numbers come from fit/evaluate")
def test_timeseries_classification(run_port, tmp_path):
    no_dot = shutil.which("dot") is None
    with pytest.warns(UserWarning, match="plot_model") if no_dot else contextlib.nullcontext():
        g = run_port("keras_timeseries_classification.py")
    assert g["x_train"].shape == (64, 500, 1) and set(np.unique(g["y_train"])) == {0, 1}
    assert (tmp_path / "series_model.png").exists() or (tmp_path / "series_model.dot").exists()
    val_losses = g["history"].history["val_loss"]
    assert len(val_losses) == 2 and g["y_pred"].shape == (32,)
    # the checkpoint kept the epoch with the lowest validation loss (the last quarter of the training set)
    best_val = g["best"].evaluate(g["x_train"][48:], g["y_train"][48:], verbose=0)[0]
    assert best_val == pytest.approx(min(val_losses), rel=1e-4)


@pytest.mark.cpu_only(reason="the ports read host files and print; their numbers come from fit/evaluate")
def test_sklearn_metric_callbacks(run_port, tmp_path):
    pytest.importorskip("tensorboardX")
    pytest.importorskip("sklearn")
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    from sklearn.metrics import f1_score

    g = run_port("keras_sklearn_metric_callbacks.py")
    expected = f1_score(g["y_test"], g["model"].predict(g["x_test"]).argmax(axis=-1), average="macro")
    ours = ea.EventAccumulator(str(tmp_path / "logs" / "fashion_dense" / "sklearn"))
    ours.Reload()
    (event,) = ours.Scalars("sklearn/macro_f1")
    assert event.step == 1 and event.value == pytest.approx(expected, rel=1e-6)
    assert len(ours.Scalars("sklearn/cohen_kappa")) == 1
    # the value the callback put in logs reached the TensorBoard callback that runs after it
    validation = ea.EventAccumulator(str(tmp_path / "logs" / "fashion_dense" / "validation"))
    validation.Reload()
    (logged,) = validation.Scalars("epoch_macro_f1")
    assert logged.value == pytest.approx(expected, rel=1e-6)


@pytest.mark.cpu_only(reason="the ports read host files and print; their numbers come from fit/evaluate")
def test_addition_rnn(run_port, capsys):
    g = run_port("keras_addition_rnn.py")
    assert g["x_train"].shape == (450, 7, 12) and g["y_train"].shape == (450, 4, 12)
    decode = g["decode"]
    for question, answer in zip(g["x_train"][:100], g["y_train"][:100]):  # the data is right
        a, b = decode(question).strip().split("+")
        assert decode(answer).strip() == str(int(a) + int(b))
    assert g["model"].predict(g["x_val"]).shape == (50, 4, 12)
    out = capsys.readouterr().out
    assert len(re.findall(r"= .*(right|wrong)", out)) == 8 and "round 1/1" in out


@pytest.mark.cpu_only(reason="the ports read host files and print; their numbers come from fit/evaluate")
def test_image_classification_from_scratch(run_port, tmp_path, capsys):
    no_dot = shutil.which("dot") is None
    with pytest.warns(UserWarning, match="plot_model") if no_dot else contextlib.nullcontext():
        g = run_port("keras_image_classification_from_scratch.py")
    out = capsys.readouterr().out
    assert g["num_skipped"] == 4 and "Deleted 4 damaged images" in out  # two per class, found by the header check
    train_ds, val_ds = g["train_ds"], g["val_ds"]
    assert train_ds.class_names == ["Bag", "Trouser"] and len(val_ds.file_paths) == int(0.2 * 128)
    assert not set(train_ds.file_paths) & set(val_ds.file_paths)
    kinds = {type(m).__name__ for m in g["model"].modules()}
    assert {"SeparableConv2D", "Add", "Rescaling"} <= kinds
    assert not {"RandomFlip", "RandomRotation"} & kinds  # augmentation runs on the dataset, not in the model
    loss = g["history"].history["loss"]
    assert len(loss) == 2 and loss[1] < loss[0] and len(g["history"].history["val_accuracy"]) == 2
    # the checkpoint of the last epoch is the trained model
    saved = nr.models.load_model(tmp_path / "save_at_2.keras")
    np.testing.assert_array_equal(saved.predict(g["img_array"]), g["predictions"])
    bag, trouser = (float(v) for v in re.search(r"is (\S+)% Bag and (\S+)% Trouser", out).groups())
    assert bag + trouser == pytest.approx(100, abs=0.02)
