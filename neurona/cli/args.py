"""Argument types and the parser: each value checked where it is read, each mistake named by its flag."""

from __future__ import annotations

import argparse
import math
import re
import sys
from typing import NoReturn

from .errors import did_you_mean

MAX_IMAGE_SIDE = 4096  # --image-size: larger images would need gigabytes per batch


def positive_int(text: str) -> int:
    """A whole number >= 1 (epochs, batch size, --top, patience)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1. Received: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1. Received: {text!r}")
    return value


def seed(text: str) -> int:
    """A whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0. Received: {text!r}")
    return value


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number. Received: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number. Received: {text!r}")
    return value


def open_fraction(text: str) -> float:
    """A fraction strictly between 0 and 1 (--test-split)."""
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1 (exclusive). Received: {text!r}")
    return value


def val_fraction(text: str) -> float:
    """A fraction in [0, 1) (--val-split: 0 turns validation off)."""
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction >= 0 and < 1. Received: {text!r}")
    return value


def learning_rate(text: str) -> float:
    """A finite number > 0."""
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0. Received: {text!r}")
    return value


def columns(text: str) -> list[str]:
    """Comma-separated column names (--drop id,name)."""
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected column names separated by commas. Received: {text!r}")
    return names


def image_size(text: str) -> tuple[int, int]:
    """HxW, e.g. 28x28, each side 1..MAX_IMAGE_SIDE."""
    match = re.fullmatch(r"\s*(\d{1,9})\s*[xX]\s*(\d{1,9})\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected HxW, e.g. 28x28. Received: {text!r}")
    h, w = int(match[1]), int(match[2])
    if not (1 <= h <= MAX_IMAGE_SIDE and 1 <= w <= MAX_IMAGE_SIDE):
        raise argparse.ArgumentTypeError(f"each side must be 1..{MAX_IMAGE_SIDE} pixels. Received: {text!r}")
    return h, w


MAX_SHAPE_VALUES = 256 * 256 * 3  # neurona models builds every zoo model for this shape
MAX_CLASSES = 10_000


def input_shape(text: str) -> tuple[int, ...]:
    """A sample's shape, e.g. 28x28x1 or 64 (for `neurona models`)."""
    parts = text.lower().split("x")
    if not 1 <= len(parts) <= 3 or not all(p.strip().isdigit() and len(p.strip()) <= 6 for p in parts):
        raise argparse.ArgumentTypeError(f"expected a shape such as 28x28x1 or 64. Received: {text!r}")
    shape = tuple(int(p) for p in parts)
    if min(shape) < 1 or math.prod(shape) > MAX_SHAPE_VALUES:
        raise argparse.ArgumentTypeError(f"each size must be >= 1, with at most {MAX_SHAPE_VALUES} values "
                                         f"in all. Received: {text!r}")
    return shape


def classes(text: str) -> int:
    """A number of classes, 1..MAX_CLASSES."""
    value = positive_int(text)
    if value > MAX_CLASSES:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_CLASSES} classes. Received: {text!r}")
    return value


class Parser(argparse.ArgumentParser):
    """argparse with "did you mean" for misspelt commands and flags."""

    def error(self, message: str) -> NoReturn:
        hint = ""
        wrong = re.search(r"invalid choice: '([^']*)'", message)
        if wrong:
            hint = did_you_mean(wrong[1], re.findall(r"'([^']*)'", message.split("choose from", 1)[-1]))
        unknown = re.search(r"unrecognized arguments: (.*)", message)
        if unknown:
            options = {o for p in _all_parsers(self) for a in p._actions for o in a.option_strings}
            for token in unknown[1].split():
                if token.startswith("--"):
                    hint = hint or did_you_mean(token.split("=")[0], options)
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}{hint}\n")


def _all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found.extend(_all_parsers(sub))
    return found
