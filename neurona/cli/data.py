"""The data a command works on: a built-in dataset, a folder of images (one subfolder per class) or a CSV table."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import data
from .errors import UserError, as_flags, did_you_mean

BUILTIN_DATA = ("digits", "mnist", "fashion-mnist")
TABLE_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass
class Dataset:
    """Raw arrays (images uint8 (N, H, W, C), or table rows float32 (N, F)) split into train and test.

    ``task`` is "classification" (y int64 0..K-1, ``class_names[k]`` the name of class k) or
    "regression" (y float32, ``class_names`` empty).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    kind: str  # "images" or "table"
    task: str = "classification"
    feature_names: list[str] = field(default_factory=list)
    target: str | None = None
    note: str = ""  # what was decided on the user's behalf (regression detected, ...)


def _images(x: np.ndarray) -> np.ndarray:
    return x[..., None] if x.ndim == 3 else x


def _split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int, what: str) -> tuple[np.ndarray, ...]:
    """A reproducible random train/test split of user data."""
    if len(x) < 2:
        raise UserError(f"--data {what}: {len(x)} sample; need at least 2 (some to train on, some to test)")
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = min(len(x) - 1, max(1, int(round(len(x) * fraction))))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def _check_classes(names: list[str], what: str) -> None:
    if len(names) < 2:
        found = f"1 ({names[0]})" if names else "none"
        raise UserError(f"--data {what}: need at least 2 classes to classify, found {found}")


def data_path(spec: str) -> str:
    """How a --data value is stored in a model: built-in names as they are, existing paths made absolute."""
    return spec if spec in BUILTIN_DATA or not os.path.exists(spec) else os.path.abspath(spec)


def load_dataset(spec: str, image_size: tuple[int, int] | None = None, color: str = "grayscale",
                 target: str | None = None, test_split: float = 0.2, seed: int = 0,
                 task: str = "auto", drop: list[str] | None = None) -> Dataset:
    """digits / mnist / fashion-mnist, a folder of images (one subfolder per class), or a CSV file."""
    if spec in BUILTIN_DATA:
        loader = {"digits": data.load_digits, "mnist": data.load_mnist,
                  "fashion-mnist": data.load_fashion_mnist}[spec]
        (x_train, y_train), (x_test, y_test) = loader()
        names = list(data.FASHION_MNIST_CLASSES) if spec == "fashion-mnist" else [str(i) for i in range(10)]
        return Dataset(spec, _images(x_train), y_train, _images(x_test), y_test, names, "images")
    path = Path(spec)
    if path.is_dir():
        try:
            (x, y), names = data.load_image_folder(path, image_size=image_size, color_mode=color)
        except ValueError as exc:
            raise UserError(as_flags(str(exc))) from None
        _check_classes(list(names), spec)
        x_train, y_train, x_test, y_test = _split(_images(x), y, test_split, seed, spec)
        return Dataset(path.name, x_train, y_train, x_test, y_test, list(names), "images")
    if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES:
        return _table(path, target, test_split, seed, task, drop or [])
    if path.exists():
        raise UserError(f"--data {spec}: expected a folder of images (one subfolder per class) or a "
                        f"{'/'.join(TABLE_SUFFIXES)} file")
    raise UserError(f"--data {spec}: no such dataset, folder or file (built in: {', '.join(BUILTIN_DATA)})."
                    + did_you_mean(spec, BUILTIN_DATA))


def _table(path: Path, target: str | None, test_split: float, seed: int, task: str, drop: list[str]) -> Dataset:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        x, y, features, text_classes = data.load_csv(path, target=target if target else -1, delimiter=delimiter,
                                                      drop=drop, task=task, return_names=True)
    except ValueError as exc:
        message = as_flags(str(exc))
        if target and "no column" in message:
            message += "." + did_you_mean(target, _header(path, delimiter))
        raise UserError(message) from None
    column = target or _header(path, delimiter)[-1]
    note = ""
    if y.dtype.kind == "f":
        names: list[str] = []
        if task == "auto":
            note = (f"regression: the target {column!r} has {len(np.unique(y))} distinct values, not all whole "
                    "numbers >= 0 (--task classification to treat them as classes)")
    else:
        # class labels 0..K-1 whatever their values: labels {0, 1000} are two classes, not 1001
        values, y = np.unique(y, return_inverse=True)
        y = y.astype(np.int64)
        names = list(text_classes) if text_classes is not None else [str(v) for v in values]
        _check_classes(names, str(path))
    x_train, y_train, x_test, y_test = _split(x, y, test_split, seed, str(path))
    return Dataset(path.stem, x_train, y_train, x_test, y_test, names, "table",
                   "regression" if y.dtype.kind == "f" else "classification", list(features), column, note)


def _header(path: Path, delimiter: str) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [h.strip() for h in next(csv.reader(f, delimiter=delimiter), [])]
