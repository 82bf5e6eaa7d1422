"""Run directories: a new one per run, never silently reused; run.json says whether the run finished.

``run.json`` holds the status ("running", "finished", "failed" or "interrupted"), the
error if any, and the settings of the run, which ``neurona train --resume RUN`` reads back.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
from pathlib import Path
from typing import Any

from .errors import UserError
from .report import write_json

STATUS = "run.json"
BACKUP = "backup"
RUN_FILES = ("model.neurona", "history.csv", "metrics.json", "training_curves.png", "confusion_matrix.png",
             "predictions.png", STATUS, BACKUP)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _stamp() -> str:
    return datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


def new_run_dir(out: str | None, default_stem: str, overwrite: bool) -> Path:
    """The run's folder: ``out`` (refused when it holds a run, unless ``overwrite``) or a fresh
    ``runs/<stem>-<time>`` (with -2, -3, ... when that exists: two runs never share a folder)."""
    if out is None:
        base = Path("runs") / f"{default_stem}-{_stamp()}"
        base.parent.mkdir(parents=True, exist_ok=True)
        for i in range(1, 10_000):
            path = base if i == 1 else base.with_name(f"{base.name}-{i}")
            try:
                path.mkdir()  # atomic: a run started at the same second takes the next name
                return path
            except FileExistsError:
                continue
        raise UserError(f"cannot find a free run name next to {base}; pass --out")
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise UserError(f"--out {out}: the folder already holds files (a previous run?); pass --overwrite "
                            "to replace its run files, choose another --out, or continue an interrupted run "
                            f"with --resume {out}")
        for name in RUN_FILES:
            target = path / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
    path.mkdir(parents=True, exist_ok=True)
    return path


def read_status(run: Path) -> dict[str, Any]:
    """The run's run.json (a UserError naming the folder when there is none or it is damaged)."""
    path = run / STATUS
    if not run.is_dir():
        raise UserError(f"--resume {run}: no such run folder")
    try:
        status = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"--resume {run}: no {STATUS} there; it is not a run written by neurona train") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"--resume {run}: cannot read {path} ({exc})") from None
    if not isinstance(status, dict) or not isinstance(status.get("settings"), dict):
        raise UserError(f"--resume {run}: {path} lacks the run's settings")
    return status


def mark(run: Path, status: str, settings: dict[str, Any], error: str | None = None,
         started: str | None = None) -> dict[str, Any]:
    """Write run.json with this status; returns what was written."""
    record = {"status": status, "started": started or _now(), "updated": _now(), "settings": settings,
              "pid": os.getpid()}
    if error:
        record["error"] = error
    write_json(run / STATUS, record)
    return record
