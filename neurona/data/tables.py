"""Your own tables: a CSV file with a header row, one column of which is the target.

::

    x, y = nr.data.load_csv("houses.csv", target="price")       # x float32 (N, F), y float32 (N,)
    x, y = nr.data.load_csv("iris.csv", target="species")       # text classes -> y int64 0..K-1

Feature columns must be numeric and complete: a missing value or a word in a
feature column is an error that names the row and the column, since silently
guessing (dropping rows, encoding words) changes what the network learns.
"""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

MISSING = ("", "na", "nan", "n/a", "null", "none", "?")
MAX_AUTO_CLASSES = 256
TASKS = ("auto", "classification", "regression")


def _target_index(header: list[str], target: str | int, path: Path) -> int:
    if isinstance(target, int) and not isinstance(target, bool):
        if not -len(header) <= target < len(header):
            raise ValueError(f"load_csv: target column index {target} is out of range for {path}, "
                             f"which has {len(header)} columns")
        return target % len(header)
    if target not in header:
        raise ValueError(f"load_csv: no column {target!r} in {path}. Columns: {', '.join(header)}")
    return header.index(target)


def _read_rows(path: Path, delimiter: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            return _rows(csv.reader(f, delimiter=delimiter), path)
    except UnicodeDecodeError as exc:
        raise ValueError(f"load_csv: {path} is not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at offset "
                         f"{exc.start} cannot be decoded; save the file as UTF-8 (a latin-1 file converts with "
                         f"iconv -f latin1 -t utf-8)") from None
    except csv.Error as exc:  # NUL bytes, a field over csv.field_size_limit(), a broken quote
        raise ValueError(f"load_csv: {path} is not a readable CSV table ({exc})") from None


def _rows(reader: Any, path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    header = next(reader, None)
    if header is None:
        raise ValueError(f"load_csv: {path} is empty (expected a header row, then one row per example)")
    header = [h.strip() for h in header]
    rows = []
    for row in reader:
        if not row or all(not v.strip() for v in row):
            continue  # blank lines, e.g. at the end of the file
        if len(row) != len(header):
            raise ValueError(f"load_csv: {path} line {reader.line_num} has {len(row)} fields, "
                             f"the header has {len(header)}")
        rows.append((reader.line_num, row))
    if not rows:
        raise ValueError(f"load_csv: {path} has a header but no data rows")
    return header, rows


def _column(values: list[str], lines: list[int], name: str, path: Path, is_target: bool) -> np.ndarray:
    stripped = [v.strip() for v in values]
    for line, v in zip(lines, stripped, strict=True):
        if v.lower() in MISSING:
            raise ValueError(f"load_csv: {path} line {line}: column {name!r} has a missing value ({v!r}); "
                             "fill it in or remove the row")
    try:
        col = np.array(stripped, dtype=np.float64)
    except ValueError:
        if is_target:
            return np.array(stripped, dtype=object)
        bad = next((line, v) for line, v in zip(lines, stripped, strict=True) if not is_number(v))
        raise ValueError(f"load_csv: column {name!r} of {path} is not numeric (line {bad[0]} has {bad[1]!r}); "
                         f"encode it as numbers or leave it out with drop=[{name!r}]") from None
    if not np.isfinite(col).all():
        line = lines[int(np.flatnonzero(~np.isfinite(col))[0])]
        raise ValueError(f"load_csv: {path} line {line}: column {name!r} has an infinite value")
    return col


def is_number(v: str) -> bool:
    """Does ``float(v)`` read this CSV cell (a header cell does not)?"""
    try:
        float(v)
        return True
    except ValueError:
        return False


def _target(yv: np.ndarray, task: str, name: str, path: Path) -> tuple[np.ndarray, list[str] | None]:
    if yv.dtype == object:
        if task == "regression":
            raise ValueError(f"load_csv: target column {name!r} of {path} holds text, not numbers; "
                             "it cannot be a regression target")
        class_names = sorted(set(yv))
        code = {c: i for i, c in enumerate(class_names)}
        return np.array([code[v] for v in yv], dtype=np.int64), class_names
    whole = bool(np.all(yv == np.round(yv)))
    if task == "classification" and not whole:
        raise ValueError(f"load_csv: target column {name!r} of {path} has fractional values; "
                         "class labels must be whole numbers")
    labels_like = whole and yv.min() >= 0 and len(np.unique(yv)) <= MAX_AUTO_CLASSES
    if task == "classification" or (task == "auto" and labels_like):
        return yv.astype(np.int64), None
    return yv.astype(np.float32), None


def load_csv(path: str | os.PathLike, target: str | int, delimiter: str = ",", drop: list[str] = (),
             task: str = "auto", return_names: bool = False) -> tuple:
    """Load a CSV table with a header row into features and target.

    ``target``: the target column's name (or index). ``drop``: columns to leave out
    (ids, free text). Returns ``(x, y)``: x float32 (N, F) with the other columns in
    file order. ``task="classification"`` gives y int64 class labels, ``"regression"`` y
    float32; ``"auto"`` picks labels when every target value is a whole number >= 0 with at
    most 256 distinct values, and values otherwise. A text target gives int64 codes
    0..K-1 of the sorted names. With ``return_names=True`` returns ``(x, y, feature_names, class_names)``
    (class_names is None unless the target is text).
    """
    if task not in TASKS:
        raise ValueError(f"load_csv: task must be one of {TASKS}. Received: task={task!r}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load_csv: no such file: {path}")
    if not stat.S_ISREG(path.stat().st_mode):  # a folder, or a FIFO that would block
        raise ValueError(f"load_csv: {path} is not a regular file; expected a CSV file")
    header, rows = _read_rows(path, delimiter)
    t = _target_index(header, target, path)
    unknown = [d for d in drop if d not in header]
    if unknown:
        raise ValueError(f"load_csv: cannot drop {unknown}: no such columns in {path}. Columns: {', '.join(header)}")
    lines = [line for line, _ in rows]
    features = [i for i, h in enumerate(header) if i != t and h not in drop]
    if not features:
        raise ValueError(f"load_csv: {path} has no feature columns besides the target {header[t]!r}")
    columns = list(zip(*(row for _, row in rows), strict=True))
    x = np.stack([_column(columns[i], lines, header[i], path, False) for i in features], axis=1).astype(np.float32)
    yv = _column(columns[t], lines, header[t], path, True)
    y, class_names = _target(yv, task, header[t], path)
    if return_names:
        return x, y, [header[i] for i in features], class_names
    return x, y
