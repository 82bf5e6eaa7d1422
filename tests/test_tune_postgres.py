"""Many workers on one study in a real PostgreSQL server (started privately on 127.0.0.1 for the session):
each trial recorded once, a grid never repeated, a worker killed mid-trial, the same best everywhere,
the same leaderboard as SQLite, and optuna-dashboard serving the study."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from tune_postgres import free_port, serve

import neurona as nr
from neurona import nn, tune
from neurona.cli import main
from neurona.tune.storage import driver_url

CONFIG = """model = "mlp"
data = "spirals"
subset = {subset}
epochs = {epochs}
metric = "val_accuracy"
method = "{method}"
pruner = "none"
[fixed]
lr = 0.03
hidden = [32]
[space.dropout]
type = "uniform"
low = 0.1
high = 0.8
{space}
"""
ENV = dict(os.environ, PYTHONWARNINGS="ignore", MPLBACKEND="Agg")


@pytest.fixture(scope="module")
def postgres_url():
    """A private PostgreSQL server on 127.0.0.1 for this module's tests."""
    yield from serve()


def write_config(tmp_path, method="random", epochs=1, subset=300, space=""):
    path = tmp_path / f"{method}.toml"
    path.write_text(CONFIG.format(method=method, epochs=epochs, subset=subset, space=space))
    return path


def worker(config, url, study, trials, out, *extra):
    return subprocess.Popen([sys.executable, "-m", "neurona", "tune", str(config), "--storage", url, "--study", study,
                             "--out", str(out), "--no-plots", "--heartbeat", "1", *extra]
                            + (["--trials", str(trials)] if trials else []),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def finish(procs):
    outputs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    return [out for out, _ in outputs]


def finished_numbers(text):
    return [int(n) for n in re.findall(r"^trial +(\d+) (?:complete|pruned)", text, flags=re.M)]


def load(url, name):
    return optuna.load_study(study_name=name, storage=driver_url(url))


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_record_every_trial_exactly_once(postgres_url, tmp_path, capsys, workers):
    config, name, total = write_config(tmp_path), f"random-{workers}", 2 * workers
    outputs = finish([worker(config, postgres_url, name, total, tmp_path / f"w{i}") for i in range(workers)])
    reported = [finished_numbers(o) for o in outputs]
    flat = [n for r in reported for n in r]
    assert len(flat) == len(set(flat))                     # no trial reported by two workers
    study = load(postgres_url, name)
    stored = [t.number for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert sorted(flat) == sorted(stored)                  # every stored trial ran in exactly one worker
    assert total <= len(stored) <= total + workers - 1      # --trials for the study, each worker checking first
    assert all(t.state != TrialState.RUNNING for t in study.trials)
    assert len({t.user_attrs["worker"] for t in study.trials}) >= 1
    # the best is the same whichever worker reads it (each read opens its own connection)
    capsys.readouterr()
    paths = []
    for _ in range(2):
        assert main(["tune", "--best", "--storage", postgres_url, "--study", name]) == 0
        paths.append(capsys.readouterr().out.strip())
    assert paths[0] == paths[1] == study.best_trial.user_attrs["model_path"]
    assert nr.load_model(paths[0]).metadata["value"] == study.best_value


def test_grid_never_evaluates_a_point_twice_across_workers(postgres_url, tmp_path):
    config = write_config(tmp_path, method="grid", space="step = 0.1")
    outputs = finish([worker(config, postgres_url, "grid", None, tmp_path / f"w{i}") for i in range(4)])
    study = load(postgres_url, "grid")
    done = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert sorted(t.params["dropout"] for t in done) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    assert len(study.trials) == 8
    assert sorted(n for o in outputs for n in finished_numbers(o)) == list(range(8))


def test_a_worker_killed_mid_trial_leaves_the_study_usable(postgres_url, tmp_path):
    config = write_config(tmp_path, epochs=5, subset=1000)
    name = "killed"
    victim, other = (worker(config, postgres_url, name, 6, tmp_path / f"w{i}") for i in range(2))
    storage = tune.open_storage(postgres_url)  # creates the tables safely while the workers do too

    def victims_running():
        if name not in optuna.get_all_study_names(storage):
            return []
        return [t for t in optuna.load_study(study_name=name, storage=storage).get_trials(states=(TrialState.RUNNING,))
                if t.user_attrs.get("worker", "").endswith(f":{victim.pid}")]

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # catch the victim inside a trial: freeze it, check, then kill it
        if victims_running():
            os.kill(victim.pid, signal.SIGSTOP)
            mine = victims_running()
            if mine:
                break
            os.kill(victim.pid, signal.SIGCONT)
        time.sleep(0.1)
    else:
        pytest.fail("the worker never started a trial")
    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.time()
    victim.communicate()
    killed = mine[0].number
    finish([other])                                        # the other worker goes on to the end
    time.sleep(max(0.0, killed_at + 3.5 - time.time()))    # three missed heartbeats: the trial is stale
    restarted = finish([worker(config, postgres_url, name, 9, tmp_path / "w0")])[0]
    assert len(finished_numbers(restarted)) >= 3           # the restarted worker joined and ran trials
    study = load(postgres_url, name)
    trials = study.trials
    assert trials[killed].state == TrialState.FAIL
    retried = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retried) == 1 and retried[0].state == TrialState.COMPLETE
    assert retried[0].params == trials[killed].params
    assert len([t for t in trials if t.state == TrialState.COMPLETE]) >= 9
    assert all(t.state != TrialState.RUNNING for t in trials)


def _digits():
    (x, y), _ = nr.data.load_digits()
    x = x.reshape(len(x), -1).astype(np.float32) / 255.0
    return (x[:400], y[:400]), (x[1200:1400], y[1200:1400])


def _build(p):
    return nn.Sequential([nn.Dense(int(p["units"]), activation="relu"), nn.Dense(10)])


def test_sqlite_and_postgres_give_the_same_leaderboard(postgres_url, tmp_path):
    space = {"lr": tune.log_uniform(1e-3, 1e-1), "units": tune.integer(8, 32, step=8)}
    args = dict(epochs=1, metric="f1", method="random", trials=4, seed=3, study_name="same", pruner="none",
                verbose=False, plots=False)
    lite = tune.search(_build, space, _digits(), out=tmp_path / "sqlite", **args)
    pg = tune.search(_build, space, _digits(), out=tmp_path / "pg", storage=postgres_url, **args)
    keep = lambda rows: [{k: v for k, v in r.items() if k not in ("seconds", "model_path")} for r in rows]  # noqa: E731
    assert keep(tune.rows(lite)) == keep(tune.rows(pg))
    assert len({json.dumps(r["param:lr"]) for r in tune.rows(pg)}) == 4


def test_a_study_with_another_space_is_refused(postgres_url, tmp_path, capsys):
    config = write_config(tmp_path, method="grid", space="step = 0.35")
    assert main(["tune", str(config), "--storage", postgres_url, "--study", "clash", "--out", str(tmp_path / "a"),
                 "--no-plots"]) == 0
    n = len(load(postgres_url, "clash").trials)
    config.write_text(config.read_text().replace("step = 0.35", "step = 0.1"))
    capsys.readouterr()
    assert main(["tune", str(config), "--storage", postgres_url, "--study", "clash", "--out",
                 str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "study 'clash' exists with a different search space" in err and err.count("\n") == 1
    assert not (tmp_path / "b").exists() and len(load(postgres_url, "clash").trials) == n
    assert main(["tune", "--show", "--storage", postgres_url, "--study", "nope"]) == 2
    assert "no study named 'nope'" in capsys.readouterr().err
    wrong_db = postgres_url.rsplit("/", 1)[0] + "/nosuchdb"
    assert main(["tune", str(config), "--storage", wrong_db, "--study", "x", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "cannot use the database at 127.0.0.1:" in err and 'database "nosuchdb" does not exist' in err
    assert err.count("\n") == 1 and not (tmp_path / "c").exists()


def test_optuna_dashboard_serves_the_study(postgres_url, tmp_path):
    optuna.create_study(study_name="dashboard", storage=driver_url(postgres_url))
    port = free_port()
    exe = Path(sys.executable).parent / "optuna-dashboard"
    server = subprocess.Popen([str(exe), driver_url(postgres_url), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    try:
        page, deadline = None, time.monotonic() + 60
        while page is None and time.monotonic() < deadline:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/dashboard", timeout=5).read().decode()
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                time.sleep(0.3)
        assert page is not None and "<html" in page.lower()
        studies = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies", timeout=5).read())
        assert "dashboard" in [s["study_name"] for s in studies["study_summaries"]]
    finally:
        server.terminate()
        server.wait(timeout=30)
