"""``neurona datasets`` and ``neurona models``: what is available."""

from __future__ import annotations

import argparse
from typing import Any

from .. import data, models, nn
from . import args as types


def add_parsers(sub: Any) -> None:
    sub.add_parser("datasets", help="the built-in datasets and where they were found").set_defaults(run=cmd_datasets)
    m = sub.add_parser("models", help="the model zoo with parameter counts")
    m.add_argument("--input-shape", type=types.input_shape, default=(28, 28, 1), metavar="HxWxC",
                   help="e.g. 28x28x1 (images) or 64 (table rows)")
    m.add_argument("--classes", type=types.classes, default=10)
    m.set_defaults(run=cmd_models)


def cmd_datasets(args: argparse.Namespace) -> int:
    for d in data.dataset_info():
        state = "available" if d["available"] else "not found"
        print(f"{d['name']:14s} {state:10s} {d['source']:9s} {d['location']}   ({d['title']})")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    shape = args.input_shape
    print(f"model       parameters   (for inputs {'x'.join(map(str, shape))}, {args.classes} classes)")
    for name in models.available():
        try:
            with nn.shapes_only():  # counting needs shapes, not 100M random weights
                count = f"{models.get(name, shape, args.classes).count_params():>11,}"
        except (ValueError, TypeError) as exc:  # e.g. a CNN on table rows, or images too small to pool
            count = f"{'-':>11}"
            note = f"does not fit these inputs ({str(exc).splitlines()[0][:60]})"
        else:
            note = (models.MODELS[name].__doc__ or "").splitlines()[0]
        print(f"{name:10s} {count}   {note}")
    return 0
