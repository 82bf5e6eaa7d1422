"""``neurona tune``: a hyperparameter search from a config file, on one machine or many.

    neurona tune search.toml --trials 20 --method bayes --metric f1
    neurona tune search.toml --trials 40 --workers 4                      # four local worker processes
    neurona tune search.toml --trials 40 --storage postgresql://me@db/tune --study cnn   # on every machine
    neurona tune --show --storage postgresql://me@db/tune --study cnn     # the leaderboard so far
    neurona tune --best --storage postgresql://me@db/tune --study cnn     # the best model's path

Without --storage the study lives in the run directory (``runs/tune-<study>/``): a SQLite
file for one worker, a journal file for several (SQLite serves one writer at a time).
Running the same command again with --resume continues an interrupted search up to
--trials finished trials. Mistakes end with a one-line error and exit status 2, before
anything is written.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_timeout(text: str | None) -> float | None:
    """'90s', '30m', '2h' or plain seconds -> seconds."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        from .space import TuneError

        raise TuneError(f"--timeout must look like 90s, 30m or 2h. Received: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``tune`` on the ``neurona`` command's subparsers."""
    t = sub.add_parser("tune", help="hyperparameter search (grid, random, Bayesian) with Optuna",
                       description=(__doc__ or "").split("\n\n")[0])
    t.add_argument("config", nargs="?", help="a TOML or YAML search config (see docs/TUNING.md)")
    t.add_argument("--trials", type=int, help="finished trials the study should reach (all workers together)")
    t.add_argument("--method", help="manual, grid, random, bayes (TPE) or gp")
    t.add_argument("--metric", help="val_loss, val_accuracy, precision, recall, f1, roc_auc (mse, mae, r2)")
    t.add_argument("--pruner", help="median (default), halving or none")
    t.add_argument("--storage", help="sqlite:///FILE, journal:///FILE or postgresql://USER@HOST[:PORT]/DB")
    t.add_argument("--study", help="the study's name (default: the config's `study`, else its file name)")
    t.add_argument("--workers", type=int, default=1, help="local worker processes on the same storage")
    t.add_argument("--timeout", help="no new trial starts after this long, e.g. 30m")
    t.add_argument("--resume", action="store_true", help="continue the study already in the run directory")
    t.add_argument("--out", help="run directory (default runs/tune-<study>)")
    t.add_argument("--seed", type=int, help="seeds the sampler and every trial's training")
    t.add_argument("--heartbeat", type=int, default=10,
                   help="seconds between a running trial's heartbeats; a silent trial is retried after 3")
    t.add_argument("--no-plots", dest="plots", action="store_false",
                   help="skip the PNG plots at the end (on worker machines; --show prints the leaderboard anytime)")
    t.add_argument("--show", action="store_true", help="print the leaderboard of an existing study")
    t.add_argument("--best", action="store_true", help="print the path of the best trial's saved model")
    t.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # index of a process started by --workers
    t.set_defaults(run=cmd_tune)
    return t


def _study_name(args: argparse.Namespace, cfg: Any = None) -> str:
    if args.study:
        return args.study
    if cfg is not None:
        return cfg.study or cfg.path.stem
    from .space import TuneError

    raise TuneError("--show and --best need --study NAME (and --storage URL, or --out DIR for a local study)")


def _local_storage(out: Path, workers: int) -> str:
    if workers > 1:
        return f"journal:///{(out / 'study.journal').resolve()}"
    return f"sqlite:///{(out / 'study.db').resolve()}"


def _report(args: argparse.Namespace) -> int:
    from . import leaderboard
    from .space import TuneError
    from .storage import open_storage
    from .study import load

    cfg = None
    if args.config:
        from .config import read_config

        cfg = read_config(args.config)
    name = _study_name(args, cfg)
    url = args.storage
    if url is None:
        out = Path(args.out or f"runs/tune-{name}")
        found = [p for p in (out / "study.db", out / "study.journal") if p.is_file()]
        if not found:
            raise TuneError(f"no study in {out}/ (neither study.db nor study.journal); give --storage URL or --out DIR")
        url = _local_storage(out, 2 if found[0].suffix == ".journal" else 1)
    study = load(open_storage(url, 1, args.heartbeat), name)
    if args.best:
        path = leaderboard.best(study)["model_path"]
        if not path:
            raise TuneError(f"the best trial of study {name!r} saved no model")
        print(path)
    else:
        print(leaderboard.format_table(study))
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    """The ``tune`` subcommand: --show / --best, or run a search (with --workers K local processes)."""
    from .space import TuneError

    if args.show or args.best:
        return _report(args)
    if not args.config:
        raise TuneError("neurona tune needs a CONFIG file (or --show / --best with --study)")
    from .config import load_data, model_builder, read_config
    from .search import finish, prepare, progress_line
    from .storage import check_url, open_storage
    from .study import open_study
    from .trial import Objective
    from .worker import finished_count, run_worker

    cfg = read_config(args.config, trials=args.trials, method=args.method, metric=args.metric,
                      pruner=args.pruner, seed=args.seed)
    if args.workers < 1:
        raise TuneError(f"--workers must be at least 1. Received: {args.workers}")
    timeout_s = parse_timeout(args.timeout)
    name = _study_name(args, cfg)
    out = Path(args.out or f"runs/tune-{name}")
    prepare(cfg.space, cfg.method, cfg.trials, cfg.configs, args.storage, args.workers)
    local = args.storage is None
    url = args.storage or _local_storage(out, args.workers)
    check_url(url, args.workers if args.worker is None else 1)
    if local and args.worker is None:
        existing = [p for p in (out / "study.db", out / "study.journal") if p.is_file()]
        if existing and not args.resume:
            raise TuneError(f"{out}/ already holds a study ({existing[0].name}); add --resume to continue it, "
                            f"or choose another --study or --out")
        if args.resume and not existing:
            raise TuneError(f"--resume: there is no study in {out}/ to resume")
        if existing and existing[0].name != Path(url.split(":///", 1)[1]).name:
            raise TuneError(f"{out}/ holds {existing[0].name}; resume it with --workers "
                            f"{'1' if existing[0].suffix == '.db' else 'K > 1'}")
    train, validation = load_data(cfg)
    outputs = 1 if cfg.task == "regression" else int(train[1].max()) + 1
    objective = Objective(model_builder(cfg, train[0].shape[1:], outputs), cfg.space, train, validation,
                          epochs=cfg.epochs, metric=cfg.metric, task=cfg.task, fixed=cfg.fixed, seed=cfg.seed,
                          models_dir=out / "models")
    if local:
        out.mkdir(parents=True, exist_ok=True)
    sampler_seed = cfg.seed + (args.worker or 0)
    study = open_study(open_storage(url, args.workers if args.worker is None else 1, args.heartbeat), name,
                       cfg.space, cfg.metric, objective.direction, cfg.method, seed=sampler_seed,
                       pruner=cfg.pruner, configs=cfg.configs)
    out.mkdir(parents=True, exist_ok=True)
    queued_only = cfg.method in ("grid", "manual")
    if args.worker is None:
        print(f"study {name!r} ({cfg.method}, {cfg.metric}) in {_safe(url)}: {finished_count(study)} finished "
              f"trials, {args.workers} worker{'s' if args.workers > 1 else ''}", flush=True)
    if args.workers > 1 and args.worker is None:
        _run_children(args, url, name, out)
    else:
        run_worker(study, objective, total=cfg.trials, timeout_s=timeout_s, queued_only=queued_only,
                   on_trial=lambda s, t: print(progress_line(s, t, cfg.metric), flush=True))
    if args.worker is None:
        finish(study, out, cfg.metric, args.plots)
    return 0


def _safe(url: str) -> str:
    from .storage import _safe as hide_password

    return hide_password(url)


def _run_children(args: argparse.Namespace, url: str, name: str, out: Path) -> None:
    """Start ``args.workers`` processes of this command as workers on ``url`` and wait for them."""
    from .space import TuneError

    passed = []
    for flag in ("trials", "method", "metric", "pruner", "seed", "timeout", "heartbeat"):
        value = getattr(args, flag)
        if value is not None:
            passed += [f"--{flag}", str(value)]
    procs = [subprocess.Popen([sys.executable, "-m", "neurona", "tune", args.config, "--storage", url,
                               "--study", name, "--out", str(out), "--worker", str(i), "--no-plots", *passed])
             for i in range(args.workers)]
    codes = [p.wait() for p in procs]
    if any(codes):
        raise TuneError(f"{sum(c != 0 for c in codes)} of {len(codes)} workers failed (exit statuses {codes})")
