"""Search spaces: parsing, grids (conditional parameters included), manual configurations, config files."""

import json

import pytest

from neurona import tune
from neurona.tune.config import read_config
from neurona.tune.space import TuneError, check_points, grid_points, parse_space, space_json


def test_grid_lists_every_point_once_with_conditions():
    space = parse_space({
        "optimizer": {"type": "choice", "values": ["sgd", "adam"]},
        "momentum": {"type": "uniform", "low": 0.0, "high": 0.9, "step": 0.3, "when": {"optimizer": "sgd"}},
        "dropout": tune.uniform(0.1, 0.8, step=0.1),
    })
    points = grid_points(space)
    assert len(points) == 4 * 8 + 8                       # sgd x 4 momenta x 8 rates, adam x 8 rates
    assert all(("momentum" in p) == (p["optimizer"] == "sgd") for p in points)
    assert sorted({p["dropout"] for p in points}) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert len({json.dumps(p, sort_keys=True) for p in points}) == len(points)


def test_int_grid_and_canonical_json():
    space = parse_space({"units": tune.integer(32, 128, step=32), "lr": tune.log_uniform(1e-4, 1e-1)})
    assert space["units"].grid("units") == [32, 64, 96, 128]
    assert space_json(space) == space_json(parse_space({"lr": {"type": "log_uniform", "low": 1e-4, "high": 1e-1},
                                                        "units": {"type": "int", "low": 32, "high": 128,
                                                                  "step": 32}}))
    with pytest.raises(TuneError, match="grid search needs a step .* for 'lr'"):
        grid_points(space)


@pytest.mark.parametrize("raw, message", [
    ({"lr": {"type": "loguniform", "low": 1e-4, "high": 1}}, "unknown parameter type 'loguniform' for 'lr'"),
    ({"lr": {"low": 1e-4, "high": 1}}, "'lr' needs a type"),
    ({"lr": {"type": "log_uniform", "low": 0, "high": 1}}, "needs low > 0"),
    ({"units": {"type": "int", "low": 64, "high": 32}}, "needs low < high. Received: low=64, high=32"),
    ({"units": {"type": "int", "low": 1.5, "high": 32}}, "integer low, high and step"),
    ({"act": {"type": "choice", "values": []}}, "non-empty list of values"),
    ({"act": {"type": "choice", "values": ["relu", "relu"]}}, "repeat"),
    ({"m": {"type": "uniform", "low": 0, "high": 1, "when": {"optimizer": "sgd"}}}, "must be an earlier parameter"),
    ({"optimizer": {"type": "choice", "values": ["adam"]},
      "m": {"type": "uniform", "low": 0, "high": 1, "when": {"optimizer": "sgd"}}}, "optimizer='sgd', which is not"),
    ({"lr": {"type": "uniform", "low": 0, "high": 1, "stepp": 0.1}}, "unknown key 'stepp' in 'lr'"),
    ({}, "non-empty table of parameters"),
])
def test_bad_spaces_are_one_clear_line(raw, message):
    with pytest.raises(TuneError, match=message) as err:
        parse_space(raw)
    assert "\n" not in str(err.value)


def test_manual_configurations_are_checked_against_the_space():
    space = parse_space({"lr": tune.log_uniform(1e-4, 1e-1), "units": tune.choice([32, 64])})
    assert check_points(space, [{"lr": 0.01, "units": 32}]) == [{"lr": 0.01, "units": 32}]
    with pytest.raises(TuneError, match="sets 'momentum', which is not in the space"):
        check_points(space, [{"momentum": 0.9}])
    with pytest.raises(TuneError, match="configuration 1 has units=48, outside"):
        check_points(space, [{"units": 32}, {"units": 48}])


def test_suggest_skips_inactive_parameters():
    import optuna

    space = parse_space({"optimizer": tune.choice(["sgd", "adam"]),
                         "momentum": tune.uniform(0.0, 0.9, when={"optimizer": "sgd"})})
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = [tune.space.suggest(study.ask(), space) for _ in range(12)]
    assert {p["optimizer"] for p in seen} == {"sgd", "adam"}
    assert all(("momentum" in p) == (p["optimizer"] == "sgd") for p in seen)


def test_toml_and_yaml_configs_read_the_same(tmp_path):
    (tmp_path / "s.toml").write_text('model = "mlp"\ndata = "digits"\nmethod = "random"\ntrials = 3\n'
                                     'metric = "f1"\n[space.lr]\ntype = "log_uniform"\nlow = 0.0001\nhigh = 0.1\n')
    (tmp_path / "s.yaml").write_text("model: mlp\ndata: digits\nmethod: random\ntrials: 3\nmetric: f1\n"
                                     "space:\n  lr: {type: log_uniform, low: 0.0001, high: 0.1}\n")
    a, b = read_config(tmp_path / "s.toml"), read_config(tmp_path / "s.yaml")
    assert space_json(a.space) == space_json(b.space) and (a.metric, a.trials) == (b.metric, b.trials) == ("f1", 3)
    assert read_config(tmp_path / "s.toml", trials=7, metric="roc_auc").trials == 7


@pytest.mark.parametrize("text, message", [
    ('model = "mlp"\ndata = "diabetes"\nmethod = "random"\ntrials = 2\nmetric = "roc_auc"\n'
     '[space.lr]\ntype = "log_uniform"\nlow = 0.001\nhigh = 0.1\n', "'roc_auc' cannot be computed for regression"),
    ('model = "mlp"\ndata = "digits"\nmethod = "grid"\n', "grid search: the grid is empty"),
    ('model = "mlp"\ndata = "digits"\nmethod = "random"\n[space.lr]\ntype = "log_uniform"\nlow = 0.001\n'
     'high = 0.1\n', "a random search needs a number of trials"),
    ('model = "mlp"\ndata = "digits"\nmethod = "random"\ntrials = 2\nmetric = "auc"\n[space.lr]\n'
     'type = "log_uniform"\nlow = 0.001\nhigh = 0.1\n', "unknown metric 'auc'"),
    ('model = "vgg99"\ndata = "digits"\n', "unknown model 'vgg99'"),
    ('model = "mlp"\ndata = "digits"\nepoch = 3\n', "unknown setting 'epoch'"),
    ('model = "mlp\n', "not valid TOML"),
])
def test_bad_configs(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(TuneError, match=message):
        read_config(path)


def test_timeouts_and_a_worker_past_its_deadline():
    from neurona.tune.cli import parse_timeout
    from neurona.tune.worker import run_worker

    assert (parse_timeout("90s"), parse_timeout("30m"), parse_timeout("2h"), parse_timeout("45")) == (90, 1800, 7200, 45)
    with pytest.raises(TuneError, match="--timeout must look like"):
        parse_timeout("0m")
    import optuna

    study = optuna.create_study()
    assert run_worker(study, lambda t: t.suggest_float("x", 0, 1), timeout_s=0) == 0 and not study.trials
    assert run_worker(study, lambda t: t.suggest_float("x", 0, 1), total=3) == 3
    assert run_worker(study, lambda t: t.suggest_float("x", 0, 1), total=3) == 0   # the study is already done


def test_samplers_and_pruners_by_name():
    import optuna

    from neurona.tune.study import make_pruner, make_sampler

    assert isinstance(make_sampler("bayes", 0), optuna.samplers.TPESampler)
    assert isinstance(make_sampler("random", 0), optuna.samplers.RandomSampler)
    assert isinstance(make_pruner("halving"), optuna.pruners.SuccessiveHalvingPruner)
    assert isinstance(make_pruner("median"), optuna.pruners.MedianPruner)
    with pytest.raises(TuneError, match="unknown pruner 'hyperband'. Expected one of median, halving, none"):
        make_pruner("hyperband")
    pytest.importorskip("torch")
    assert isinstance(make_sampler("gp", 0), optuna.samplers.GPSampler)  # Optuna's GP needs PyTorch and SciPy


def test_an_interrupted_grid_point_is_queued_again():
    import optuna

    from neurona.tune.worker import run_worker

    study = optuna.create_study()
    for x in (0.1, 0.2):
        study.enqueue_trial({"x": x})

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if x == 0.1:
            raise KeyboardInterrupt  # Ctrl-C in the middle of this trial
        return x

    with pytest.raises(KeyboardInterrupt):
        run_worker(study, objective, queued_only=True)
    states = [(t.state.name, t.params.get("x", t.system_attrs.get("fixed_params", {}).get("x"))) for t in study.trials]
    assert states == [("FAIL", 0.1), ("WAITING", 0.2), ("WAITING", 0.1)]
    assert run_worker(study, lambda t: t.suggest_float("x", 0, 1), queued_only=True) == 2   # --resume finishes both
    assert sorted(t.params["x"] for t in study.trials if t.state.name == "COMPLETE") == [0.1, 0.2]
