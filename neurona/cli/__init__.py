"""The ``neurona`` command: train, evaluate and use networks without writing code.

    neurona train                                  # the default MLP on the embedded digits, in seconds
    neurona train --data fashion-mnist --model cnn --epochs 5 --augment
    neurona train --data table.csv --target price  # a regression when the target is continuous
    neurona train --resume runs/<run>              # continue an interrupted run
    neurona evaluate runs/<run>/model.neurona      # on the test split of the data it was trained on
    neurona predict runs/<run>/model.neurona photos/ --output predictions.csv
    neurona datasets                               # what is available and where it was found
    neurona models                                 # the zoo with parameter counts
    neurona export runs/<run> model.onnx           # the model as an ONNX file (onnxruntime, other tools)
    neurona playground                             # a web page where a network learns 2-D data live

A trained model holds its own input scaling (and, for tables, normalisation), so it
takes raw pixels or raw feature values. A user's mistake (an unknown model, a missing
file, a value out of range) ends with the whole error message, no traceback, and exit
status 2. One module per command; each has an ``add_parser`` that registers it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..tune import cli as tune_cli  # optuna is imported only when `tune` runs
from . import args as types
from . import evaluate, export, listings, playground, predict, train
from .data import BUILTIN_DATA, Dataset, load_dataset
from .device import DEVICES
from .errors import UserError

__all__ = ["BUILTIN_DATA", "Dataset", "UserError", "load_dataset", "main", "make_parser"]


def _data_args(p: argparse.ArgumentParser, default: str | None) -> None:
    p.add_argument("--data", default=default,
                   help="digits, mnist, fashion-mnist, a folder of images (one subfolder per class) or a CSV file"
                        + ("" if default else " (default: the data stored in the model)"))
    p.add_argument("--target", help="the CSV column to predict (default: the last)")
    p.add_argument("--drop", type=types.columns, default=None, metavar="COL[,COL...]",
                   help="CSV columns to leave out (ids, free text)")
    p.add_argument("--test-split", type=types.open_fraction, default=0.2 if default else None,
                   help="test fraction for folders and CSV files (default 0.2)")
    p.add_argument("--image-size", type=types.image_size, metavar="HxW", help="resize folder images, e.g. 28x28")
    p.add_argument("--color", choices=("grayscale", "rgb"), default="grayscale")
    p.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                   help="for CSV targets: auto picks regression when the values are not class labels")
    p.add_argument("--device", choices=DEVICES, default=None, help="cpu or gpu (default: $NEURONA_DEVICE or cpu)")


def make_parser() -> argparse.ArgumentParser:
    parser = types.Parser(prog="neurona", description="Train, evaluate and use neural networks.")
    parser.add_argument("--version", action="version", version=f"neurona {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    train.add_parser(sub, _data_args)
    evaluate.add_parser(sub, _data_args)
    predict.add_parser(sub)
    listings.add_parsers(sub)
    tune_cli.add_parser(sub)
    export.add_parser(sub)
    playground.add_parser(sub)  # starlette is imported only when `playground` runs
    return parser


def _message(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "not enough memory for this (a smaller --batch-size or --image-size needs less)"
    text = str(exc).strip()
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = f"missing key {exc.args[0]!r}"
    return text or type(exc).__name__


def _quiet_broken_pipe() -> int:
    """The reader went away (``neurona ... | head``): stop quietly, as other Unix tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass
    return 141  # 128 + SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 2 for a user's mistake, 130 when interrupted)."""
    try:
        args = make_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error already printed by argparse
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if getattr(args, "verbose", 0) is None:
        args.verbose = "auto"
    try:
        return args.run(args)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("neurona: interrupted", file=sys.stderr)
        return 130
    except (UserError, ValueError, OSError, RuntimeError, MemoryError) as exc:
        try:
            print(f"neurona: error: {_message(exc)}", file=sys.stderr)
        except BrokenPipeError:
            return _quiet_broken_pipe()
        return 2
