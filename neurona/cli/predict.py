"""``neurona predict``: the class and probabilities (or the value) for image files, folders or CSV rows."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from .. import data
from ..data.folders import IMAGE_EXTENSIONS
from ..data.tables import is_number
from ..files import atomic_write
from . import args as types
from . import report
from .data import TABLE_SUFFIXES
from .device import DEVICES, use_device
from .errors import UserError
from .modelfile import check_input, image_settings, load_model_file

MAX_FILES = 100_000


def add_parser(sub: Any) -> None:
    p = sub.add_parser("predict", help="class and probabilities for images (files or folders) or CSV rows")
    p.add_argument("model")
    p.add_argument("files", nargs="+", help="image files, folders of images, or CSV files")
    p.add_argument("--top", type=types.positive_int, default=3, help="how many classes to print per input")
    p.add_argument("--output", help="write every prediction to this .csv or .json file")
    p.add_argument("--device", choices=DEVICES, default=None, help="cpu or gpu (default: $NEURONA_DEVICE or cpu)")
    p.set_defaults(run=cmd_predict)


def _image_files(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        p = Path(name)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS)
            if not found:
                raise UserError(f"{name}: the folder holds no images (files ending in {', '.join(IMAGE_EXTENSIONS)})")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        elif p.exists():
            raise UserError(f"{name} is not a regular file; expected an image file or a folder of images")
        else:
            raise UserError(f"no such file: {name}")
        if len(files) > MAX_FILES:
            raise UserError(f"more than {MAX_FILES} images; predict them in parts")
    return files


def _table_rows(path: Path, features: list[str]) -> np.ndarray:
    """A CSV file's rows as float32 (N, F): with a header (the training file's, target column optional) or
    bare numbers, F columns in the training file's order."""
    if not path.is_file():
        raise UserError(f"no such file: {path}" if not path.exists() else f"{path} is not a regular file")
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        rows = [r for r in csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")), delimiter=delimiter)
                if r and any(v.strip() for v in r)]
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except csv.Error as exc:
        raise UserError(f"{path} is not a readable CSV table ({exc})") from None
    if not rows:
        raise UserError(f"{path} holds no rows")
    first = [v.strip() for v in rows[0]]
    start, columns = 0, list(range(len(first)))
    if not all(is_number(v) for v in first):  # a header row
        start = 1
        missing = [f for f in features if f not in first]
        if not features or missing:
            raise UserError(f"{path}: its header lacks the model's input columns {', '.join(missing or ['?'])} "
                            f"(the model takes: {', '.join(features)})")
        columns = [first.index(f) for f in features]
    elif features and len(first) != len(features):
        expected = f"{len(features)} ({', '.join(features)})" if features else ""
        raise UserError(f"{path} line 1 has {len(first)} values; the model takes {expected}")
    x = np.empty((len(rows) - start, len(columns)), dtype=np.float64)
    for i, row in enumerate(rows[start:]):
        try:
            x[i] = [float(row[c]) for c in columns]
        except (ValueError, IndexError):
            raise UserError(f"{path} line {i + start + 1}: expected {len(columns)} numbers, got {row!r}") from None
    if not np.isfinite(x).all() or (np.abs(x) > np.finfo(np.float32).max).any():
        line = int(np.flatnonzero(~(np.isfinite(x) & (np.abs(x) <= np.finfo(np.float32).max)).any(axis=1))[0])
        raise UserError(f"{path} line {line + start + 1}: a value is missing, infinite or too large for float32")
    return x.astype(np.float32)


def cmd_predict(args: argparse.Namespace) -> int:
    use_device(args.device)
    if args.output and Path(args.output).suffix.lower() not in (".csv", ".json"):
        raise UserError(f"--output {args.output}: expected a .csv or .json file name")
    model = load_model_file(args.model)
    meta = getattr(model, "metadata", {}) or {}
    size, color = image_settings(model)
    if meta.get("kind") == "table" or size is None:
        features = list(meta.get("feature_names") or [])
        blocks, labels = [], []
        for name in args.files:
            if Path(name).suffix.lower() not in TABLE_SUFFIXES:
                raise UserError(f"{name}: this model takes table rows; expected a .csv file")
            rows = _table_rows(Path(name), features)
            blocks.append(rows)
            labels.extend(f"{name} row {i + 1}" for i in range(len(rows)))
        x = np.concatenate(blocks)
    else:
        files = _image_files(args.files)
        try:
            images = [data.load_image(f, image_size=size, color_mode=color) for f in files]
        except (ValueError, OSError) as exc:
            raise UserError(str(exc)) from None
        x = np.stack(images)
        x = x[..., None] if x.ndim == 3 else x
        labels = [str(f) for f in files]
    check_input(model, x, "the input")
    out = np.asarray(model.predict(x.astype(np.float32), batch_size=256))
    if meta.get("task") == "regression":
        records = [{"input": label, "prediction": float(v)} for label, v in zip(labels, out.reshape(len(x), -1)[:, 0])]
        for r in records:
            print(f"{r['input']}: {r['prediction']:.6g}")
    else:
        records = _classes(out, labels, meta, args.top)
    if args.output:
        _write(Path(args.output), records)
        print(f"{len(records)} predictions written to {args.output}")
    return 0


def _classes(logits: np.ndarray, labels: list[str], meta: dict, top: int) -> list[dict]:
    z = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    names = list(meta.get("class_names") or [str(i) for i in range(probs.shape[-1])])
    records = []
    for label, p in zip(labels, probs):
        order = np.argsort(p)[::-1]
        others = ", ".join(f"{names[k]} {p[k]:.3f}" for k in order[:top])
        print(f"{label}: {names[order[0]]}  ({others})")
        records.append({"input": label, "prediction": names[order[0]],
                        "probabilities": {n: float(v) for n, v in zip(names, p)}})
    return records


def _write(path: Path, records: list[dict]) -> None:
    if path.suffix.lower() == ".json":
        report.write_json(path, records)
        return
    header = ["input", "prediction"] + [f"p_{n}" for n in records[0].get("probabilities", {})]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for r in records:
        writer.writerow([r["input"], r["prediction"], *r.get("probabilities", {}).values()])
    atomic_write(path, buf.getvalue().encode("utf-8"))
