"""``neurona evaluate``: per-class report and confusion matrix (or regression errors) of a saved model."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from . import report
from .data import BUILTIN_DATA, Dataset, load_dataset
from .device import use_device
from .errors import UserError
from .modelfile import check_input, image_settings, load_model_file


def add_parser(sub: Any, data_args: Any) -> None:
    e = sub.add_parser("evaluate", help="per-class report and confusion matrix of a saved model")
    e.add_argument("model")
    data_args(e, None)
    e.add_argument("--out", help="also write the results as JSON")
    e.set_defaults(run=cmd_evaluate)


def _labels_for_model(ds: Dataset, names: list[str], spec: str) -> np.ndarray:
    """The test labels as the model's class indices, matched by class name."""
    if ds.class_names == names:
        return ds.y_test
    index = {n: i for i, n in enumerate(names)}
    unknown = [n for n in ds.class_names if n not in index]
    if unknown:
        raise UserError(f"--data {spec} has classes the model does not know: {', '.join(unknown[:5])} "
                        f"(the model's classes: {', '.join(names[:20])})")
    return np.array([index[n] for n in ds.class_names], dtype=np.int64)[ds.y_test]


def cmd_evaluate(args: argparse.Namespace) -> int:
    use_device(args.device)
    model = load_model_file(args.model)
    meta = getattr(model, "metadata", {}) or {}
    spec = args.data or meta.get("data")
    if not spec:
        raise UserError(f"--data is needed: {args.model} does not say which data it was trained on")
    if not args.data:
        print(f"data: {spec} (stored in the model; --data to choose other data)")
        if not isinstance(spec, str) or (spec not in BUILTIN_DATA and not Path(spec).exists()):
            raise UserError(f"the model was trained on {spec!r}, which is not here; pass --data")
    same_data = spec == meta.get("data")
    size, color = image_settings(model)
    test_split = args.test_split if args.test_split is not None else meta.get("test_split", 0.2)
    seed = meta.get("seed", 0) if same_data else 0
    task = meta.get("task", "classification")
    ds = load_dataset(spec, size, color, args.target or meta.get("target"), test_split, seed,
                      "regression" if task == "regression" else "classification", args.drop or meta.get("drop"))
    check_input(model, ds.x_test, f"--data {spec}")
    out = model.predict(ds.x_test, batch_size=256)
    if task == "regression":
        summary = report.regression(ds.y_test, out)
        print(f"{len(ds.x_test)} test samples from {ds.name}: MSE {summary['mse']:.4g}, MAE {summary['mae']:.4g}, "
              f"R^2 {summary['r2']:.4f}")
    else:
        names = list(meta.get("class_names") or ds.class_names)
        if out.shape[-1] != len(names):
            raise UserError(f"the model has {out.shape[-1]} outputs but names {len(names)} classes")
        y = _labels_for_model(ds, names, spec) if meta.get("class_names") else ds.y_test
        if y.max() >= out.shape[-1]:
            raise UserError(f"the model has {out.shape[-1]} outputs but --data {spec} has {len(ds.class_names)} "
                            "classes")
        summary = report.classification(y, out, names)
        print(f"{len(ds.x_test)} test samples from {ds.name}: accuracy {summary['accuracy']:.4f}\n")
        report.print_classification(summary, names)
    if args.out:
        report.write_json(Path(args.out), summary)
    return 0
