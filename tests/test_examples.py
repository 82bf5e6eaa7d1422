"""Each example script runs with ``--quick`` (its command-line path: ``main(["--quick"])``) and reaches
sensible results on its real data, reporting the test split as test."""

import importlib.util
import math
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name, capsys, numbers=True, label="test"):
    results = load(name).main(["--quick"])
    printed = capsys.readouterr().out
    if numbers:
        assert all(isinstance(v, float) and math.isfinite(v) for v in results.values()), results
    assert label is None or label in printed  # the estimate on unseen data says what it is
    return results, printed


def test_every_example_is_tested_here():
    names = {p.stem for p in EXAMPLES.glob("*.py")}
    tested = {n[len("test_"):] for n in globals() if n.startswith("test_")}
    assert names <= tested, names - tested


def test_classic_mlp_digits(capsys):
    r, out = run("classic_mlp_digits", capsys)
    assert r["test_accuracy"] > 0.5 and r["validation_accuracy"] > 0.5
    assert "val_accuracy" in out and "validation" in out


def test_perceptron_gates(capsys):
    r, out = run("perceptron_gates", capsys, numbers=False, label=None)  # the four points are the whole task
    assert r["and_weights"] == pytest.approx([0.4, 0.4], abs=1e-6)  # the course's worked example
    assert r["or_converged"] and r["nand_converged"] and not r["xor_converged"]
    assert "XOR is not linearly separable" in out


def test_binary_classification(capsys):
    r, out = run("binary_classification", capsys)
    assert r["accuracy"] > 0.9 and r["roc_auc"] > 0.95
    assert r["recall"] > 0.8 and r["specificity"] > 0.8 and r["precision"] > 0.8 and r["npv"] > 0.8
    assert "TP = " in out and "roc_auc" in out


def test_multiclass_classification(capsys):
    r, out = run("multiclass_classification", capsys)
    assert r["accuracy"] > 0.85 and r["macro_f1"] > 0.85
    assert "macro avg" in out


def test_multilabel_classification(capsys):
    r, _ = run("multilabel_classification", capsys)
    for question in ("even", "greater than 4", "prime"):
        assert r[f"{question} accuracy"] > 0.75
    assert r["all three right"] > 0.5


def test_regression_single_output(capsys):
    r, out = run("regression_single_output", capsys)
    assert r["r2"] > 0.2 and r["mse"] < 0.8 * r["baseline_mse"] and r["mae"] < 60
    assert "r2" in out


def test_regression_multi_output(capsys):
    r, out = run("regression_multi_output", capsys, label="cross-validated")
    assert r["train_r2"] > 0.05  # the network fits its training folds
    assert r["cv_mse"] < 2 * r["baseline_mse"]  # and does not blow up on unseen men
    assert set(k for k in r if k.startswith("cv_r2_")) == {"cv_r2_weight", "cv_r2_waist", "cv_r2_pulse"}


def test_output_encoding(capsys):
    r, out = run("output_encoding", capsys)
    assert r["one_hot_10_outputs"] > 0.85 and r["binary_4_outputs"] > 0.5
    assert r["one_hot_10_outputs"] > r["binary_4_outputs"]  # the measured answer to the course's question
    assert 0 <= r["binary_invalid_codes"] < 0.2 and "one_hot_10_outputs" in out


@pytest.mark.slow  # about 20 s of CPU: eight MLPs and three CNNs on 1000 Fashion-MNIST images
def test_tune_course(capsys, tmp_path):
    import neurona as nr

    if nr.data.find_dataset("fashion-mnist") is None:
        pytest.skip("Fashion-MNIST is not on this machine (Debian's dataset-fashion-mnist package installs it)")
    r = load("tune_course").main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert r["best_dropout"] in {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8} and r["dropout_test_accuracy"] > 0.4
    assert r["cnn_test_accuracy"] > 0.4 and "test accuracy" in printed
    assert (tmp_path / "dropout-grid" / "leaderboard.csv").is_file() and (tmp_path / "cnn-bayes" / "best.json").is_file()


def test_jit_passes(capsys, tmp_path):
    r = load("jit_passes").main(["--quick", "--out", str(tmp_path), "--format", "dot"])
    printed = capsys.readouterr().out
    assert r["weight_gap"] < 1e-3 and 0 < r["planned_peak_mb"] <= r["unplanned_mb"]
    assert "Conv2dMaxPoolRelu" in printed and "def forward(" in printed
    assert len(list(tmp_path.glob("*_*.dot"))) == 10  # one drawing per stage


@pytest.mark.slow
@pytest.mark.parametrize("name", ["binary_classification", "multiclass_classification", "output_encoding"])
def test_full_runs(name, capsys):
    results = load(name).main([])
    assert max(results.values()) > 0.9
