"""``neurona train``: train a network and write a run directory (or continue one with --resume)."""

from __future__ import annotations

import argparse
import math
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import neurona as nr

from .. import optim
from ..training.backup import FILENAME as BACKUP_FILE
from . import args as types
from . import report, runs
from .build import build_model
from .data import Dataset, data_path, load_dataset
from .device import use_device
from .errors import UserError, did_you_mean

OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop,
              "adagrad": optim.Adagrad}
TABLE_EPOCHS, TABLE_PATIENCE = 300, 20  # small tables: train long, stop when validation stops improving
_DEFAULTS: dict[str, Any] = {}  # each setting's default, to tell which flags came with --resume
SETTINGS = ("data", "model", "epochs", "batch_size", "lr", "optimizer", "augment", "val_split", "seed",
            "image_size", "color", "target", "drop", "test_split", "task", "early_stopping", "device")


def add_parser(sub: Any, data_args: Any) -> None:
    t = sub.add_parser("train", help="train a network and write a run directory")
    data_args(t, "digits")
    t.add_argument("--model", default="mlp", help="a zoo model (neurona models) or a JSON model config")
    t.add_argument("--epochs", type=types.positive_int, default=None,
                   help=f"default: 30 on digits, up to {TABLE_EPOCHS} with early stopping on tables, 5 otherwise")
    t.add_argument("--early-stopping", type=types.positive_int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a better validation loss and keep the best epoch's "
                        f"weights (default on tables: {TABLE_PATIENCE})")
    t.add_argument("--batch-size", type=types.positive_int, default=32)
    t.add_argument("--lr", type=types.learning_rate, default=None,
                   help="learning rate (the optimizer's default otherwise)")
    t.add_argument("--optimizer", default="adam", help=", ".join(OPTIMIZERS))
    t.add_argument("--augment", action="store_true", help="random rotations, shifts and zooms in training")
    t.add_argument("--val-split", type=types.val_fraction, default=0.1,
                   help="fraction of the training samples held out for validation (0: none)")
    t.add_argument("--seed", type=types.seed, default=0)
    t.add_argument("--out", help="run directory (default runs/<data>-<model>-<time>)")
    t.add_argument("--overwrite", action="store_true", help="replace the run files in an existing --out")
    t.add_argument("--resume", metavar="RUN", help="continue an interrupted or failed run, with its own settings")
    t.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                   help="0 silent, 1 progress bar, 2 one line per epoch (default: bar on a terminal)")
    t.set_defaults(run=cmd_train)
    _DEFAULTS.update({a.dest: a.default for a in t._actions if a.dest in SETTINGS + ("out", "overwrite")})


def cmd_train(args: argparse.Namespace) -> int:
    if args.resume:
        given = [name for name, default in _DEFAULTS.items() if getattr(args, name, default) != default]
        if given:
            flags = ", ".join("--" + name.replace("_", "-") for name in given)
            raise UserError(f"--resume continues a run with its own settings; leave out {flags}")
        run = Path(args.resume)
        status = runs.read_status(run)
        if status["status"] == "finished":
            raise UserError(f"--resume {run}: that run finished; there is nothing to continue")
        if not (run / runs.BACKUP / BACKUP_FILE).is_file():
            raise UserError(f"--resume {run}: no backup there (the run ended before its first epoch did); "
                            f"start it again with --out {run} --overwrite")
        settings = dict(status["settings"])
        print(f"continuing {run} ({status['status']}) with its own settings")
        job = prepare(settings)
        return train(job, run, resume=True, verbose=args.verbose, started=status.get("started"))
    settings = {name: getattr(args, name) for name in SETTINGS}
    settings["data"] = data_path(args.data)
    if Path(args.model).suffix == ".json":
        settings["model"] = str(Path(args.model).absolute())
    job = prepare(settings, args.data)  # every mistake in the data or the model shows before a run folder is made
    run = runs.new_run_dir(args.out, f"{_stem(args.data)}-{Path(args.model).stem}", args.overwrite)
    return train(job, run, resume=False, verbose=args.verbose)


def _stem(data: str) -> str:
    return Path(data.rstrip("/\\")).stem or "data"


def _optimizer(name: str, lr: float | None) -> optim.Optimizer:
    if name not in OPTIMIZERS:
        raise UserError(f"--optimizer {name}: unknown optimizer. Available: {', '.join(OPTIMIZERS)}."
                        + did_you_mean(name, OPTIMIZERS))
    return OPTIMIZERS[name](lr=lr) if lr is not None else OPTIMIZERS[name]()


@dataclass
class Job:
    """A run ready to start: its settings, data, compiled model, epochs and early-stopping patience."""

    settings: dict[str, Any]
    ds: Dataset
    model: Any
    epochs: int
    patience: int | None
    n_val: int


def prepare(s: dict[str, Any], data: str | None = None) -> Job:
    """Load the data (``data``: as the user wrote it, default the stored path) and build the model for
    the settings ``s``, checking everything that can be wrong."""
    use_device(s["device"])
    nr.manual_seed(s["seed"])
    ds = load_dataset(data or s["data"], tuple(s["image_size"]) if s["image_size"] else None, s["color"], s["target"],
                      s["test_split"], s["seed"], s["task"], s.get("drop"))
    model = build_model(s["model"], ds, s["augment"])
    regression = ds.task == "regression"
    model.compile(optimizer=_optimizer(s["optimizer"], s["lr"]), loss="mse" if regression else "cross_entropy",
                  metrics=["mae"] if regression else ["accuracy"])
    epochs, patience = s["epochs"], s["early_stopping"]
    if ds.kind == "table" and epochs is None and patience is None:
        epochs, patience = TABLE_EPOCHS, TABLE_PATIENCE
    epochs = epochs or (30 if ds.name == "digits" else 5)
    n_val = len(ds.x_train) - math.floor(len(ds.x_train) * (1 - s["val_split"])) if s["val_split"] else 0
    if patience and not n_val:
        raise UserError("--early-stopping watches the validation loss: it needs --val-split > 0 "
                        f"(with {len(ds.x_train)} training samples, --val-split {s['val_split']} holds out none)")
    if s["val_split"] and n_val == len(ds.x_train):
        raise UserError(f"--val-split {s['val_split']} leaves no training samples out of {len(ds.x_train)}")
    return Job(s, ds, model, epochs, patience, n_val)


def train(job: Job, run: Path, resume: bool, verbose: Any, started: str | None = None) -> int:
    """Train ``job`` into ``run``; run.json follows the run (running, then finished, failed or
    interrupted), so a half-run never looks finished."""
    s = job.settings
    record = runs.mark(run, "running", s, started=started)
    previous = _terminate_as_interrupt()
    try:
        _train(job, run, resume, verbose)
    except KeyboardInterrupt:
        runs.mark(run, "interrupted", s, "interrupted (Ctrl-C or SIGTERM)", started=record["started"])
        print(f"neurona: run {run} interrupted; continue it with neurona train --resume {run}")
        raise
    except BaseException as exc:
        runs.mark(run, "failed", s, f"{type(exc).__name__}: {exc}", started=record["started"])
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    runs.mark(run, "finished", s, started=record["started"])
    return 0


def _terminate_as_interrupt() -> Any:
    """SIGTERM (``kill``, a job scheduler's timeout) ends the run as Ctrl-C does, so run.json says so.
    Returns the previous handler (None off the main thread, where signals cannot be handled)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def _train(job: Job, run: Path, resume: bool, verbose: Any) -> None:
    s, ds, model, epochs, patience = job.settings, job.ds, job.model, job.epochs, job.patience
    if ds.note:
        print(ds.note)
    what = (f"{len(ds.class_names)} classes" if ds.task == "classification" else f"regression on {ds.target!r}")
    validation = (f"{job.n_val} of them held out for validation (--val-split {s['val_split']})" if job.n_val
                  else "no validation (--val-split 0)")
    print(f"training {model.name} ({model.count_params():,} parameters) on {ds.name}: "
          f"{len(ds.x_train)} training samples, {validation}; {len(ds.x_test)} test samples; {what}")
    if patience:
        print(f"up to {epochs} epochs; early stopping after {patience} without a better validation loss, "
              "keeping the best epoch's weights")
    callbacks: list[Any] = [nr.callbacks.CSVLogger(str(run / "history.csv"), append=resume)]
    stopper = None
    if patience:
        stopper = nr.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
        callbacks.append(stopper)
    callbacks.append(nr.callbacks.BackupAndRestore(str(run / runs.BACKUP)))
    start = time.perf_counter()
    history = model.fit(ds.x_train, ds.y_train, epochs=epochs, batch_size=s["batch_size"],
                        validation_split=s["val_split"], callbacks=callbacks, verbose=verbose)
    seconds = time.perf_counter() - start
    _finish(s, run, model, ds, history, seconds, stopper)


def _finish(s: dict[str, Any], run: Path, model: Any, ds: Any, history: Any, seconds: float, stopper: Any) -> None:
    out = model.predict(ds.x_test, batch_size=256)
    test = model.evaluate(ds.x_test, ds.y_test, batch_size=256, return_dict=True)
    epochs_run = len(history.history["loss"])
    if ds.task == "regression":
        summary = report.regression(ds.y_test, out)
    else:
        summary = report.classification(ds.y_test, out, ds.class_names)
    summary.update(test_loss=test["loss"], train_seconds=seconds, epochs=epochs_run, data=s["data"],
                   model=s["model"], parameters=model.count_params(), task=ds.task)
    if stopper is not None:
        summary["best_epoch"] = stopper.best_epoch + 1
    metadata = {"class_names": ds.class_names, "data": s["data"], "data_name": ds.name, "kind": ds.kind,
                "task": ds.task, "feature_names": ds.feature_names, "target": ds.target, "drop": s.get("drop"),
                "test_split": s["test_split"], "seed": s["seed"], "color": s["color"],
                "image_size": s["image_size"]}
    model.save(str(run / "model.neurona"), metadata=metadata)
    report.write_json(run / "metrics.json", summary)
    nr.viz.plot_history(history, path=run / "training_curves.png")
    files = ["model.neurona", "history.csv", "metrics.json", "training_curves.png"]
    if stopper is not None:
        print(f"\nkept the weights of epoch {stopper.best_epoch + 1} of {epochs_run} (the best validation loss)")
    if ds.task == "regression":
        print(f"\ntest MSE {summary['mse']:.4g}, MAE {summary['mae']:.4g}, R^2 {summary['r2']:.4f} "
              f"({seconds:.1f} s of training)")
    else:
        nr.viz.plot_confusion_matrix(ds.y_test, np.asarray(out).argmax(axis=-1), class_names=ds.class_names,
                                     path=run / "confusion_matrix.png")
        files.append("confusion_matrix.png")
        print(f"\ntest loss {test['loss']:.4f}, test accuracy {summary['accuracy']:.4f} "
              f"({seconds:.1f} s of training)\n")
        report.print_classification(summary, ds.class_names)
    print(f"run written to {run}/ ({', '.join(files)})")
