"""The leaderboard of a study: one row per trial, every metric beside the parameters.

Completed trials come first, best first by the study's metric; pruned, failed and running
ones follow by trial number. ``format_table`` prints it, ``write_csv`` saves it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..files import atomic_write
from .scoring import DIRECTIONS
from .study import record_of

METRIC_COLUMNS = ("val_loss", "val_accuracy", "precision", "recall", "f1", "roc_auc", "mse", "mae", "r2")


def rows(study: Any) -> list[dict[str, Any]]:
    """One dict per trial: number, state, value, every metric recorded, the parameters, epochs, seconds."""
    minimize = study.direction.name == "MINIMIZE"
    out = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"trial": t.number, "state": t.state.name.lower(), "value": t.value}
        row.update(t.user_attrs.get("metrics", {}))
        row.update({f"param:{k}": v for k, v in t.params.items()})
        row["epochs"] = t.user_attrs.get("epochs")
        row["seconds"] = t.user_attrs.get("seconds")
        row["model_path"] = t.user_attrs.get("model_path")
        out.append(row)

    def key(r: dict[str, Any]) -> tuple:
        if r["state"] == "complete":
            return (0, r["value"] if minimize else -r["value"], r["trial"])
        return (1, 0.0, r["trial"])

    return sorted(out, key=key)


def best(study: Any) -> dict[str, Any]:
    """The best completed trial: number, value, parameters, metrics and saved model path."""
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        raise ValueError(f"study {study.study_name!r} has no completed trial yet")
    t = study.best_trial
    return {"trial": t.number, "value": t.value, "params": t.params, "metrics": t.user_attrs.get("metrics", {}),
            "model_path": t.user_attrs.get("model_path"), "worker": t.user_attrs.get("worker")}


def _columns(table: list[dict[str, Any]]) -> list[str]:
    present = {k for r in table for k, v in r.items() if v is not None}
    params = sorted(k for k in present if k.startswith("param:"))
    metrics = [m for m in METRIC_COLUMNS if m in present]
    return ["trial", "state", *metrics, *params, "epochs", "seconds"]


def _cell(v: Any) -> str:
    """A table cell: "-" for missing, 4 significant digits for tiny floats, 4 decimals otherwise."""
    if v is None:
        return "-"
    if not isinstance(v, float):
        return str(v)
    if v.is_integer():
        return f"{v:g}"
    if abs(v) < 1e-3:
        return f"{v:.4g}"
    return f"{v:.4f}".rstrip("0").rstrip(".")


def format_table(study: Any, limit: int | None = None) -> str:
    """The leaderboard as aligned text, with a header naming the study, metric and direction."""
    table = rows(study)
    record = record_of(study) or {}
    metric = record.get("metric", "value")
    direction = DIRECTIONS.get(metric, study.direction.name.lower())
    shown = table[:limit] if limit else table
    cols = _columns(shown)
    cells = [[c.removeprefix("param:") for c in cols]] + [[_cell(r.get(c)) for c in cols] for r in shown]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    lines = [f"study {study.study_name!r}: {len(table)} trials, ranked by {metric} ({direction})"]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    if limit and len(table) > limit:
        lines.append(f"... {len(table) - limit} more")
    return "\n".join(lines)


def write_csv(study: Any, path: str | Path) -> Path:
    """The full leaderboard as CSV (parameters prefixed ``param:``), written atomically."""
    table = rows(study)
    cols = _columns(table) + ["value", "model_path"]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=cols, extrasaction="ignore")
    writer.writeheader()
    for r in table:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})
    return atomic_write(path, buffer.getvalue().encode("utf-8"))


def write_best(study: Any, path: str | Path) -> Path:
    """best.json: the best trial's parameters, metrics and model path."""
    return atomic_write(path, json.dumps(best(study), indent=2).encode("utf-8"))
