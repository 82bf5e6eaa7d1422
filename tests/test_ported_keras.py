"""The keras-io examples ported under examples/ported/ run, shortened (NEURONA_PORT_QUICK=1), as scripts."""

import contextlib
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
    score = g["score"]
    logs = g["model"].evaluate(g["x_test"], g["y_test"], return_dict=True)
    assert score == [logs["loss"], logs["accuracy"]]  # score[0], score[1] as in Keras
    assert "Test accuracy:" in capsys.readouterr().out
    assert g["x_train"].shape == (256, 28, 28, 1) and g["y_train"].shape == (256, 10)


@pytest.mark.cpu_only(reason="the ports read host files and print; their numbers come from fit/evaluate")
def test_imbalanced_classification(run_port, tmp_path):
    g = run_port("keras_imbalanced_classification.py")
    assert g["features"].shape == (2000, 30) and g["targets"].shape == (2000, 1)
    assert (tmp_path / "fraud_model_at_epoch_1.keras").exists()
    loaded = nr.models.load_model(tmp_path / "fraud_model_at_epoch_1.keras")
    np.testing.assert_array_equal(loaded.predict(g["val_features"]), g["model"].predict(g["val_features"]))
    # the unweighted counts add up to the number of validation samples (class_weight leaves metrics alone)
    logs = g["model"].evaluate(g["val_features"], g["val_targets"], return_dict=True)
    assert logs["tp"] + logs["fp"] + logs["tn"] + logs["fn"] == len(g["val_features"])


@pytest.mark.cpu_only(reason="the ports read host files and print; their numbers come from fit/evaluate")
def test_timeseries_classification(run_port, tmp_path):
    no_dot = shutil.which("dot") is None
    with pytest.warns(UserWarning, match="plot_model") if no_dot else contextlib.nullcontext():
        g = run_port("keras_timeseries_classification.py")
    assert g["x_train"].shape == (64, 500, 1) and set(np.unique(g["y_train"])) == {0, 1}
    assert (tmp_path / "best_model.h5").exists()
    assert (tmp_path / "model.png").exists() or (tmp_path / "model.dot").exists()
    assert g["history"].history["val_accuracy"] and g["y_pred"].shape == (32,)



@pytest.mark.cpu_only(reason="the ports read host files and print; their numbers come from fit/evaluate")
def test_sklearn_metric_callbacks(run_port, tmp_path):
    pytest.importorskip("tensorboardX")
    pytest.importorskip("sklearn")
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    g = run_port("keras_sklearn_metric_callbacks.py")
    acc = ea.EventAccumulator(str(tmp_path / "logs" / g["model"].name))
    acc.Reload()
    (event,) = acc.Scalars("jaccard_score")
    from sklearn.metrics import jaccard_score

    expected = jaccard_score(g["model"].predict(g["x_test"]).argmax(axis=-1), g["y_test"].argmax(axis=-1),
                             average=None).mean()
    assert event.step == 1 and event.value == pytest.approx(expected, rel=1e-6)


@pytest.mark.cpu_only(reason="the ports read host files and print; their numbers come from fit/evaluate")
def test_addition_rnn(run_port, capsys):
    g = run_port("keras_addition_rnn.py")
    assert g["x_train"].shape == (450, 7, 12) and g["y_train"].shape == (450, 4, 12)
    assert g["model"].predict(g["x_val"]).shape == (50, 4, 12)
    out = capsys.readouterr().out
    assert out.count("Q ") == 10 and "Iteration 1" in out
