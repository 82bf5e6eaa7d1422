"""The ``neurona`` command: train, evaluate and use networks without writing code.

    neurona train                                  # the default MLP on the embedded digits, in seconds
    neurona train --data fashion-mnist --model cnn --epochs 5 --augment
    neurona evaluate runs/<run>/model.neurona --data fashion-mnist
    neurona predict runs/<run>/model.neurona shirt.png boot.jpg
    neurona datasets                               # what is available and where it was found
    neurona models                                 # the zoo with parameter counts

A trained model holds its own input scaling (and, for tables, normalisation), so it
takes raw pixels or raw feature values. Mistakes (an unknown model, a missing file,
an image of the wrong size) end with a one-line error and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import neurona as nr

from . import data, metrics, models, nn, optim
from .data.datasets import DatasetNotFoundError
from .files import atomic_write

BUILTIN_DATA = ("digits", "mnist", "fashion-mnist")
OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop,
              "adagrad": optim.Adagrad}


class UserError(Exception):
    """A mistake in the command line or its inputs: reported in one line, without a traceback."""


@dataclass
class Dataset:
    """A classification dataset as the CLI uses it: raw arrays (images uint8 (N, H, W, C) or table rows)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    kind: str  # "images" or "table"


def _images(x: np.ndarray) -> np.ndarray:
    return x[..., None] if x.ndim == 3 else x


def _split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """A reproducible random train/test split of user data."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = max(1, int(round(len(x) * fraction)))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def load_dataset(spec: str, image_size: tuple[int, int] | None = None, color: str = "grayscale",
                 target: str | None = None, test_split: float = 0.2, seed: int = 0) -> Dataset:
    """digits / mnist / fashion-mnist, a folder of images (one subfolder per class), or a CSV file."""
    if spec in BUILTIN_DATA:
        loader = {"digits": data.load_digits, "mnist": data.load_mnist,
                  "fashion-mnist": data.load_fashion_mnist}[spec]
        (x_train, y_train), (x_test, y_test) = loader()
        names = list(data.FASHION_MNIST_CLASSES) if spec == "fashion-mnist" else [str(i) for i in range(10)]
        return Dataset(spec, _images(x_train), y_train, _images(x_test), y_test, names, "images")
    path = Path(spec)
    if path.is_dir():
        (x, y), names = data.load_image_folder(path, image_size=image_size, color_mode=color)
        x_train, y_train, x_test, y_test = _split(_images(x), y, test_split, seed)
        return Dataset(path.name, x_train, y_train, x_test, y_test, list(names), "images")
    if path.is_file() and path.suffix.lower() in (".csv", ".txt", ".tsv"):
        header = path.read_text(encoding="utf-8").splitlines()[:1]
        if not header:
            raise UserError(f"{path} is empty")
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        column = target or header[0].split(delimiter)[-1].strip()
        x, y, _, names = data.load_csv(path, target=column, delimiter=delimiter, task="classification",
                                       return_names=True)
        x_train, y_train, x_test, y_test = _split(x, y, test_split, seed)
        names = list(names) if names is not None else [str(c) for c in range(int(y.max()) + 1)]
        return Dataset(path.stem, x_train, y_train, x_test, y_test, names, "table")
    if path.exists():
        raise UserError(f"--data {spec}: expected a folder of images (one subfolder per class) or a .csv file")
    raise UserError(f"--data {spec}: no such dataset, folder or file (built in: {', '.join(BUILTIN_DATA)})")


def _augmentation() -> list[nn.Module]:
    """Small random rotations, shifts and zooms: label-preserving for digits and clothes alike."""
    return [nn.RandomRotation(0.05), nn.RandomTranslation(0.1, 0.1), nn.RandomZoom(0.1)]


def build_model(spec: str, ds: Dataset, augment: bool) -> nn.Sequential:
    """A zoo model by name, or the architecture in a JSON config file, behind the input preprocessing."""
    input_shape = ds.x_train.shape[1:]
    num_classes = len(ds.class_names)
    if Path(spec).suffix == ".json":
        try:
            config = json.loads(Path(spec).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"--model {spec}: cannot read the model config ({exc})") from None
        body = nn.deserialize_layer(config)
        layers = list(body.layers) if isinstance(body, nn.Sequential) else [body]
    elif spec in models.available():
        if ds.kind == "table" and spec != "mlp":
            raise UserError(f"--model {spec} needs images; for a table use --model mlp")
        layers = list(models.get(spec, input_shape, num_classes).layers)
    else:
        raise UserError(f"unknown model {spec!r}. Available: {', '.join(models.available())} or a .json config")
    if ds.kind == "images":
        front: list[nn.Module] = [nn.Rescaling(1 / 255)] + (_augmentation() if augment else [])
    else:
        norm = nn.Normalization()
        norm.adapt(ds.x_train)
        front = [norm]
    model = nn.Sequential(front + layers, name=Path(spec).stem)
    model.build((None,) + tuple(input_shape))
    return model


def _report(y_true: np.ndarray, logits: np.ndarray, names: list[str]) -> dict[str, Any]:
    y_pred = logits.argmax(axis=-1)
    labels = list(range(len(names)))
    return {
        "accuracy": float(metrics.accuracy(y_true, y_pred)),
        "confusion_matrix": metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "report": metrics.classification_report(y_true, y_pred, labels=labels, target_names=names, digits=3),
    }


def _print_confusion(matrix: list[list[int]], names: list[str]) -> None:
    width = max(5, max(len(str(v)) for row in matrix for v in row) + 1)
    short = [n[:width - 1] for n in names]
    print("confusion matrix (rows: true class, columns: predicted)")
    print(" " * 12 + "".join(s.rjust(width) for s in short))
    for name, row in zip(short, matrix):
        print(name.ljust(12) + "".join(str(v).rjust(width) for v in row))


def _write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2).encode("utf-8"))


def cmd_train(args: argparse.Namespace) -> int:
    nr.manual_seed(args.seed)
    ds = load_dataset(args.data, _size(args.image_size), args.color, args.target, args.test_split, args.seed)
    model = build_model(args.model, ds, args.augment)
    if args.optimizer not in OPTIMIZERS:
        raise UserError(f"unknown optimizer {args.optimizer!r}. Available: {', '.join(OPTIMIZERS)}")
    opt = OPTIMIZERS[args.optimizer](lr=args.lr) if args.lr is not None else OPTIMIZERS[args.optimizer]()
    model.compile(optimizer=opt, loss="cross_entropy", metrics=["accuracy"])
    epochs = args.epochs if args.epochs is not None else (30 if ds.name == "digits" else 5)
    out = Path(args.out or f"runs/{ds.name}-{Path(args.model).stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    print(f"training {model.name} ({model.count_params():,} parameters) on {ds.name}: "
          f"{len(ds.x_train)} training and {len(ds.x_test)} test samples, {len(ds.class_names)} classes")
    start = time.perf_counter()
    history = model.fit(ds.x_train, ds.y_train, epochs=epochs, batch_size=args.batch_size,
                        validation_split=args.val_split, callbacks=[nr.callbacks.CSVLogger(str(out / "history.csv"))],
                        verbose=args.verbose)
    seconds = time.perf_counter() - start
    test = model.evaluate(ds.x_test, ds.y_test, batch_size=256)
    logits = model.predict(ds.x_test, batch_size=256)
    summary = _report(ds.y_test, logits, ds.class_names)
    summary.update(test_loss=test["loss"], train_seconds=seconds, epochs=len(history.history["loss"]),
                   data=ds.name, model=args.model, parameters=model.count_params())
    model.save(str(out / "model.neurona"), metadata={"class_names": ds.class_names, "data": ds.name,
                                                     "kind": ds.kind})
    _write_json(out / "metrics.json", summary)
    nr.viz.plot_history(history, path=out / "training_curves.png")
    nr.viz.plot_confusion_matrix(ds.y_test, logits.argmax(axis=-1), class_names=ds.class_names,
                                 path=out / "confusion_matrix.png")
    print(f"\ntest loss {test['loss']:.4f}, test accuracy {summary['accuracy']:.4f} "
          f"({seconds:.1f} s of training)\n")
    _print_confusion(summary["confusion_matrix"], ds.class_names)
    print("\n" + summary["report"])
    print(f"run written to {out}/ (model.neurona, history.csv, metrics.json, training_curves.png, "
          "confusion_matrix.png)")
    return 0


def _load(path: str) -> nn.Module:
    if not Path(path).is_file():
        raise UserError(f"no such model file: {path}")
    return nr.load_model(path, compile=False)


def _check_input(model: nn.Module, x: np.ndarray, what: str) -> None:
    expected = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) != expected:
        raise UserError(f"{what} has samples of shape {tuple(x.shape[1:])} but the model expects {expected}")


def cmd_evaluate(args: argparse.Namespace) -> int:
    model = _load(args.model)
    ds = load_dataset(args.data, tuple(model.input_shape[1:3]) if len(model.input_shape) == 4 else None,
                      "rgb" if model.input_shape[-1] == 3 else "grayscale", args.target, test_split=args.test_split)
    x, y = ds.x_test, ds.y_test
    _check_input(model, x, f"--data {args.data}")
    names = getattr(model, "metadata", {}).get("class_names") or ds.class_names
    logits = model.predict(x, batch_size=256)
    if logits.shape[-1] != len(names) or y.max() >= logits.shape[-1]:
        raise UserError(f"the model has {logits.shape[-1]} outputs but --data {args.data} has labels "
                        f"up to {int(y.max())}")
    summary = _report(y, logits, names)
    print(f"{len(x)} test samples from {ds.name}: accuracy {summary['accuracy']:.4f}\n")
    _print_confusion(summary["confusion_matrix"], names)
    print("\n" + summary["report"])
    if args.out:
        _write_json(Path(args.out), summary)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    model = _load(args.model)
    meta = getattr(model, "metadata", {})
    shape = tuple(model.input_shape[1:])
    if meta.get("kind") == "table" or len(shape) == 1:
        rows = [np.loadtxt(f, delimiter=",", ndmin=2, dtype=np.float32) for f in _existing(args.files)]
        x = np.concatenate(rows)
        labels = [f"{f} row {i + 1}" for f, r in zip(args.files, rows) for i in range(len(r))]
    else:
        color = "rgb" if shape[-1] == 3 else "grayscale"
        images = [data.load_image(f, image_size=shape[:2], color_mode=color) for f in _existing(args.files)]
        x, labels = _images(np.stack(images)), list(args.files)
    _check_input(model, x, "the input")
    logits = model.predict(x.astype(np.float32), batch_size=256)
    probs = nr.functional.softmax(logits).numpy()
    names = meta.get("class_names") or [str(i) for i in range(probs.shape[-1])]
    for label, p in zip(labels, probs):
        top = np.argsort(p)[::-1][:args.top]
        others = ", ".join(f"{names[k]} {p[k]:.3f}" for k in top)
        print(f"{label}: {names[top[0]]}  ({others})")
    return 0


def _existing(files: Sequence[str]) -> Sequence[str]:
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise UserError(f"no such file: {missing[0]}")
    return files


def cmd_datasets(args: argparse.Namespace) -> int:
    for d in data.dataset_info():
        state = "available" if d["available"] else "not found"
        print(f"{d['name']:14s} {state:10s} {d['source']:9s} {d['location']}   ({d['title']})")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    shape = tuple(int(s) for s in args.input_shape.split("x"))
    print(f"model       parameters   (for inputs {'x'.join(map(str, shape))}, {args.classes} classes)")
    for name in models.available():
        model = models.get(name, shape, args.classes)
        print(f"{name:10s} {model.count_params():>11,}   {(models.MODELS[name].__doc__ or '').splitlines()[0]}")
    return 0


def _size(text: str | None) -> tuple[int, int] | None:
    if not text:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
        return h, w
    except ValueError:
        raise UserError(f"--image-size must look like 28x28. Received: {text!r}") from None


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurona", description="Train, evaluate and use neural networks.")
    sub = parser.add_subparsers(dest="command", required=True)

    def data_args(p: argparse.ArgumentParser, default: str | None) -> None:
        p.add_argument("--data", default=default, required=default is None,
                       help="digits, mnist, fashion-mnist, a folder of images (one subfolder per class) or a CSV file")
        p.add_argument("--target", help="the CSV column to predict (default: the last)")
        p.add_argument("--test-split", type=float, default=0.2, help="test fraction for folders and CSV files")

    t = sub.add_parser("train", help="train a network and write a run directory")
    data_args(t, "digits")
    t.add_argument("--model", default="mlp", help=f"{', '.join(models.available())} or a JSON model config")
    t.add_argument("--epochs", type=int, default=None, help="default: 30 on digits, 5 otherwise")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=None, help="learning rate (the optimizer's default otherwise)")
    t.add_argument("--optimizer", default="adam", help=", ".join(OPTIMIZERS))
    t.add_argument("--augment", action="store_true", help="random rotations, shifts and zooms in training")
    t.add_argument("--val-split", type=float, default=0.1)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--image-size", help="resize folder images, e.g. 28x28")
    t.add_argument("--color", choices=("grayscale", "rgb"), default="grayscale")
    t.add_argument("--out", help="run directory (default runs/<data>-<model>-<time>)")
    t.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                   help="0 silent, 1 progress bar, 2 one line per epoch (default: bar on a terminal)")
    t.set_defaults(run=cmd_train)

    e = sub.add_parser("evaluate", help="per-class report and confusion matrix of a saved model")
    e.add_argument("model")
    data_args(e, None)
    e.add_argument("--out", help="also write the results as JSON")
    e.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("predict", help="class and probabilities for image files (or CSV rows)")
    p.add_argument("model")
    p.add_argument("files", nargs="+")
    p.add_argument("--top", type=int, default=3)
    p.set_defaults(run=cmd_predict)

    sub.add_parser("datasets", help="the built-in datasets and where they were found").set_defaults(run=cmd_datasets)
    m = sub.add_parser("models", help="the model zoo with parameter counts")
    m.add_argument("--input-shape", default="28x28x1")
    m.add_argument("--classes", type=int, default=10)
    m.set_defaults(run=cmd_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if getattr(args, "verbose", 0) is None:
        args.verbose = "auto"
    try:
        return args.run(args)
    except (UserError, ValueError, OSError, DatasetNotFoundError) as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"neurona: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("neurona: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
