"""`neurona tune`: a grid from a config file, --show, --best, --resume, --workers, and the mistakes
(one line, exit status 2, nothing written)."""

import os
import re
import subprocess
import sys

import optuna
import pytest

from neurona.cli import main

CONFIG = """model = "mlp"
data = "digits"
subset = 500
epochs = 1
metric = "f1"
method = "grid"
pruner = "none"
[fixed]
lr = 0.01
hidden = [16]
[space.dropout]
type = "uniform"
low = 0.1
high = 0.4
step = 0.1
"""


def finished_lines(text):
    return [int(n) for n in re.findall(r"^trial +(\d+) (?:complete|pruned)", text, flags=re.M)]


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text(CONFIG)
    return path


def test_grid_show_best_and_resume(config, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["tune", str(config), "--out", str(out), "--no-plots"]) == 0
    printed = capsys.readouterr().out
    assert sorted(finished_lines(printed)) == [0, 1, 2, 3]
    assert "ranked by f1 (maximize)" in printed
    for name in ("study.db", "leaderboard.csv", "best.json"):
        assert (out / name).is_file(), name
    study = optuna.load_study(study_name="grid", storage=f"sqlite:///{out / 'study.db'}")
    assert sorted(t.params["dropout"] for t in study.trials) == [0.1, 0.2, 0.3, 0.4]

    assert main(["tune", "--show", "--study", "grid", "--out", str(out)]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown[0].startswith("study 'grid': 4 trials") and shown[2].split()[0] == str(study.best_trial.number)
    assert main(["tune", "--best", "--study", "grid", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == study.best_trial.user_attrs["model_path"]

    assert main(["tune", str(config), "--out", str(out)]) == 2
    assert "already holds a study (study.db); add --resume" in capsys.readouterr().err
    assert main(["tune", str(config), "--out", str(out), "--resume", "--no-plots"]) == 0  # the grid is done
    assert finished_lines(capsys.readouterr().out) == []
    assert len(optuna.load_study(study_name="grid", storage=f"sqlite:///{out / 'study.db'}").trials) == 4


@pytest.mark.parametrize("change, flags, message", [
    (("type = \"uniform\"", "type = \"gaussian\""), [], "unknown parameter type 'gaussian' for 'dropout'"),
    (("[space.dropout]\ntype = \"uniform\"\nlow = 0.1\nhigh = 0.4\nstep = 0.1\n", ""), [],
     "grid search: the grid is empty"),
    (("data = \"digits\"", "data = \"diabetes\""), ["--metric", "roc_auc"],
     "metric 'roc_auc' cannot be computed for regression"),
    (None, ["--storage", "postgresql://nobody@127.0.0.1:9/tune", "--study", "x"],
     "cannot use the database at 127.0.0.1:9/tune: "),
    (None, ["--storage", "sqlite:///{tmp}/s.db", "--workers", "2"], "SQLite serves one worker at a time"),
    (None, ["--timeout", "half an hour"], "--timeout must look like 90s, 30m or 2h"),
    (None, ["--method", "random"], "a random search needs a number of trials"),
])
def test_mistakes_are_one_line_exit_2_and_write_nothing(config, tmp_path, capsys, change, flags, message):
    if change:
        config.write_text(CONFIG.replace(*change))
    before = sorted(p.name for p in tmp_path.iterdir())
    flags = [f.replace("{tmp}", str(tmp_path)) for f in flags]
    assert main(["tune", str(config), "--out", str(tmp_path / "run"), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_local_workers_share_a_journal_file(config, tmp_path):
    config.write_text(CONFIG.replace('data = "digits"', 'data = "spirals"'))  # no scikit-learn to import
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, "-m", "neurona", "tune", str(config), "--out", str(out), "--workers", "2",
                             "--no-plots"], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "2 workers" in result.stdout and (out / "study.journal").is_file() and not (out / "study.db").exists()
    numbers = finished_lines(result.stdout)
    assert sorted(numbers) == [0, 1, 2, 3]                   # each grid point trained once, by one worker
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(out / "study.journal")))
    study = optuna.load_study(study_name="grid", storage=storage)
    assert sorted(t.params["dropout"] for t in study.trials) == [0.1, 0.2, 0.3, 0.4]
    assert {t.state.name for t in study.trials} == {"COMPLETE"}
