"""Each example script runs quickly (``quick=True``) and reaches sensible results on its real data."""

import importlib.util
import math
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run(name, capsys):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(quick=True)
    printed = capsys.readouterr().out
    assert all(isinstance(v, float) and math.isfinite(v) for v in results.values()), results
    return results, printed


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
    r, out = run("regression_multi_output", capsys)
    assert r["train_r2"] > 0.05  # the network fits its training folds
    assert r["cv_mse"] < 2 * r["baseline_mse"]  # and does not blow up on unseen men
    assert set(k for k in r if k.startswith("cv_r2_")) == {"cv_r2_weight", "cv_r2_waist", "cv_r2_pulse"}


def test_output_encoding(capsys):
    r, out = run("output_encoding", capsys)
    assert r["one_hot_10_outputs"] > 0.85 and r["binary_4_outputs"] > 0.5
    assert r["one_hot_10_outputs"] > r["binary_4_outputs"]  # the measured answer to the course's question
    assert 0 <= r["binary_invalid_codes"] < 0.2 and "one_hot_10_outputs" in out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["binary_classification", "multiclass_classification", "output_encoding"])
def test_full_runs(name, capsys):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main()
    assert max(results.values()) > 0.9
