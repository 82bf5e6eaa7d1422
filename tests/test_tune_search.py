"""nr.tune.search in one process on a SQLite file: leaderboard, best model, pruning, methods, resuming."""

import json
import re

import numpy as np
import optuna
import pytest

import neurona as nr
from neurona import nn, tune
from neurona.tune.space import TuneError


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = nr.data.load_digits()
    x = x.reshape(len(x), -1).astype(np.float32) / 255.0
    return (x[:600], y[:600]), (x[1200:1500], y[1200:1500])


def build(p):
    layers = [nn.Dense(int(p.get("units", 32)), activation="relu")]
    if p.get("dropout"):
        layers.append(nn.Dropout(p["dropout"]))
    return nn.Sequential(layers + [nn.Dense(10)])


def test_random_search_leaderboard_best_model_and_plots(digits, tmp_path, capsys):
    space = {"lr": tune.log_uniform(1e-3, 1e-1), "units": tune.integer(16, 48, step=16)}
    study = tune.search(build, space, digits, epochs=2, metric="f1", method="random", trials=4, out=tmp_path,
                        study_name="r", pruner="none")
    printed = capsys.readouterr().out
    assert len(re.findall(r"^trial +\d+ complete", printed, flags=re.M)) == 4
    rows = tune.rows(study)
    assert [r["state"] for r in rows] == ["complete"] * 4
    values = [r["f1"] for r in rows]
    assert values == sorted(values, reverse=True) and values[0] == study.best_value
    for r in rows:  # every metric beside the parameters, recomputed here from nr.metrics' definitions
        assert set(r) >= {"val_loss", "val_accuracy", "precision", "recall", "f1", "roc_auc", "param:lr",
                          "param:units", "epochs", "seconds"} and r["epochs"] == 2
    best = json.loads((tmp_path / "best.json").read_text())
    assert best["trial"] == study.best_trial.number and best["params"] == study.best_params
    model = nr.load_model(best["model_path"])
    x_val, y_val = digits[1]
    y_hat = model.predict(x_val).argmax(axis=1)
    assert nr.metrics.f1_score(y_val, y_hat, average="macro") == pytest.approx(study.best_value)
    csv_lines = (tmp_path / "leaderboard.csv").read_text().splitlines()
    assert len(csv_lines) == 5 and "param:lr" in csv_lines[0]
    for name in ("history.png", "params.png", "importances.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG", name
    assert "ranked by f1 (maximize)" in tune.format_table(study)


def test_a_hopeless_learning_rate_is_pruned_after_an_epoch(digits, tmp_path):
    configs = [{"lr": 3e-3}, {"lr": 1e-2}, {"lr": 3e-3}, {"lr": 1e-6}]  # the last barely learns
    study = tune.search(build, {"lr": tune.log_uniform(1e-7, 1e-1)}, digits, epochs=4, metric="val_accuracy",
                        method="manual", configs=configs, out=tmp_path, study_name="p", verbose=False, plots=False)
    trials = study.get_trials()
    assert [t.params["lr"] for t in trials] == [c["lr"] for c in configs]
    hopeless = trials[-1]
    assert hopeless.state.name == "PRUNED" and hopeless.user_attrs["epochs"] == 1
    assert set(hopeless.user_attrs["metrics"]) == {"val_loss", "val_accuracy", "precision", "recall", "f1", "roc_auc"}
    assert all(t.state.name == "COMPLETE" and t.user_attrs["epochs"] == 4 for t in trials[:2])


def test_grid_conditional_sgd_momentum_and_resume(digits, tmp_path):
    space = {"optimizer": tune.choice(["sgd", "adam"]), "momentum": tune.choice([0.0, 0.9], when={"optimizer": "sgd"}),
             "lr": tune.choice([0.05])}
    args = dict(epochs=1, metric="val_loss", method="grid", out=tmp_path, study_name="g", pruner="none",
                verbose=False, plots=False)
    study = tune.search(build, space, digits, trials=2, **args)
    states = [t.state.name for t in study.trials]       # stopped at trials=2; one grid point still queued
    assert sorted(states) == ["COMPLETE", "COMPLETE", "WAITING"]
    study = tune.search(build, space, digits, **args)    # the same call resumes and runs what is left
    finished = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert sorted(json.dumps(t.params, sort_keys=True) for t in finished) == sorted(
        json.dumps(p, sort_keys=True) for p in [{"optimizer": "sgd", "momentum": 0.0, "lr": 0.05},
                                                 {"optimizer": "sgd", "momentum": 0.9, "lr": 0.05},
                                                 {"optimizer": "adam", "lr": 0.05}])
    sgd = [t for t in finished if t.params["optimizer"] == "sgd"]
    assert sgd[0].value != sgd[1].value                   # momentum reached the optimizer


def test_a_study_with_another_space_is_refused_and_nothing_is_written(digits, tmp_path):
    tune.search(build, {"lr": tune.choice([0.01])}, digits, epochs=1, method="grid", out=tmp_path, study_name="s",
                verbose=False, plots=False)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    n = len(optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}").trials)
    with pytest.raises(TuneError, match="study 's' exists with a different search space"):
        tune.search(build, {"lr": tune.choice([0.01, 0.1])}, digits, epochs=1, method="grid", out=tmp_path,
                    study_name="s", verbose=False, plots=False)
    with pytest.raises(TuneError, match="different metric"):
        tune.search(build, {"lr": tune.choice([0.01])}, digits, epochs=1, method="grid", metric="f1",
                    out=tmp_path, study_name="s", verbose=False, plots=False)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
    assert len(optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'study.db'}").trials) == n


def test_regression_metrics_and_roc_refused(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32))
    data = ((x[:150], y[:150]), (x[150:], y[150:]))
    reg = lambda p: nn.Sequential([nn.Dense(8, activation="tanh"), nn.Dense(1)])  # noqa: E731
    with pytest.raises(TuneError, match="'roc_auc' cannot be computed for regression"):
        tune.search(reg, {"lr": tune.choice([0.01])}, data, task="regression", metric="roc_auc", method="grid",
                    out=tmp_path / "bad")
    assert not (tmp_path / "bad").exists()
    study = tune.search(reg, {"lr": tune.choice([0.01, 0.05])}, data, epochs=3, task="regression", metric="r2",
                        method="grid", out=tmp_path / "ok", verbose=False, plots=False)
    rows = tune.rows(study)
    assert {"mse", "mae", "r2", "val_loss"} <= set(rows[0]) and rows[0]["r2"] >= rows[1]["r2"]
    assert rows[0]["val_loss"] == pytest.approx(rows[0]["mse"], rel=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="grid", space={}), "grid search: the grid is empty"),
    (dict(method="annealing"), "unknown method 'annealing'"),
    (dict(method="random"), "a random search needs a number of trials"),
    (dict(method="random", trials=3, storage="mongodb://db/x"), "expected sqlite:///FILE"),
    (dict(method="random", trials=3, storage="postgresql://nobody@127.0.0.1:9/nodb"),
     r"cannot use the database at 127.0.0.1:9/nodb: .*"),
])
def test_bad_input_is_refused_before_anything_is_written(digits, tmp_path, kwargs, message):
    space = kwargs.pop("space", {"lr": tune.choice([0.01])})
    with pytest.raises(TuneError, match=message) as err:
        tune.search(build, space, digits, out=tmp_path / "run", **kwargs)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "run").exists()
