"""One row of the Fashion-MNIST reproduction table: a zoo model trained and tested on this machine.

    python -m benchmarks.zoo_fashion --model resnet18 --width 0.25 --epochs 10 --augment --minutes 30

trains ``nr.models.<model>`` (inputs rescaled to [0, 1]; with --augment random horizontal flips
and shifts of up to 10%) with Adam and a cosine learning-rate decay, stops after --epochs or
when the next epoch would pass --minutes (when an epoch shows that fewer than --epochs fit, the
cosine decay is shortened to end with the epochs that fit; ``--budget cpu`` counts the process's
CPU time instead of wall time, for a machine loaded by other work), and prints the row:
parameters, epochs, wall time, test accuracy and the command. ``--dataset mnist`` runs the same
row on MNIST's digits (the course compares the baselines on MNIST), found where
``nr.data.load_mnist`` looks or in ``--data-dir``. Baselines: ``--model random`` and ``--model
darkness`` (the course's guess from the mean brightness: the class whose mean darkness is
nearest), and ``--model svm`` (scikit-learn's SVC on --train-limit images). Besides the zoo,
``--model cnn_bn`` is the published row's "2 conv + pooling + batch norm" network (``cnn_bn``
below); ``--hidden 256,128,100`` gives the zoo's ``mlp`` the published MLP's layers. The row's
wall time is inflated when other work shares the machine; the process CPU time is printed beside
it. Not part of the test run.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time

import numpy as np

LOADERS = {"fashion-mnist": "load_fashion_mnist", "mnist": "load_mnist"}


def _baseline(name: str, x: np.ndarray, y: np.ndarray, xt: np.ndarray, yt: np.ndarray) -> float:
    if name == "random":
        return float((np.random.default_rng(0).integers(0, 10, len(yt)) == yt).mean())
    if name == "darkness":
        dark = x.reshape(len(x), -1).mean(axis=1)
        means = np.array([dark[y == k].mean() for k in range(10)])
        guess = np.abs(xt.reshape(len(xt), -1).mean(axis=1)[:, None] - means[None]).argmin(axis=1)
        return float((guess == yt).mean())
    from sklearn.svm import SVC

    svm = SVC().fit(x.reshape(len(x), -1), y)
    return float((svm.predict(xt.reshape(len(xt), -1)) == yt).mean())


def cnn_bn(num_classes: int = 10):
    """Two convolutions with batch norm and pooling, then a dense layer: the published "2 Conv+pooling+BN".

    Conv 32@3x3 ("same", no bias), BatchNorm, ReLU, 2x2 max pool; the same with 64 filters;
    Flatten, Dropout 0.4, Dense 256 (ReLU), Dropout 0.4, Dense(num_classes)."""
    from neurona import nn

    layers = []
    for filters in (32, 64):
        layers += [nn.Conv2D(filters, 3, padding="same", use_bias=False), nn.BatchNorm(),
                   nn.Activation("relu"), nn.MaxPool2D(2)]
    layers += [nn.Flatten(), nn.Dropout(0.4), nn.Dense(256, activation="relu"), nn.Dropout(0.4),
               nn.Dense(num_classes)]
    model = nn.Sequential(layers, name="cnn_bn")
    model.build((None, 28, 28, 1))
    return model


def main(argv: list[str] | None = None) -> None:
    import neurona as nr
    from neurona import nn

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="lenet5", help="a zoo model, or random / darkness / svm")
    ap.add_argument("--width", type=float, default=None, help="the width factor (zoo models that take one)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--minutes", type=float, default=30.0, help="stop before the epoch that would pass this")
    ap.add_argument("--budget", choices=("wall", "cpu"), default="wall",
                    help="what --minutes counts: wall time, or this process's CPU time (on a machine shared "
                         "with other work: about the time the run would take on it alone)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--augment", action="store_true")
    ap.add_argument("--hidden", default=None, help="mlp only: hidden layer sizes, e.g. 256,128,100")
    ap.add_argument("--dropout", type=float, default=None, help="mlp only: dropout after each hidden layer")
    ap.add_argument("--train-limit", type=int, default=None, help="use only the first N training images")
    ap.add_argument("--dataset", choices=tuple(LOADERS), default="fashion-mnist")
    ap.add_argument("--data-dir", default=None, help="a folder holding the dataset's four IDX files "
                    "(default: where nr.data finds them, else a download)")
    args = ap.parse_args(argv)
    command = "python -m benchmarks.zoo_fashion " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    (x, y), (xt, yt) = getattr(nr.data, LOADERS[args.dataset])(args.data_dir)
    if args.train_limit:
        x, y = x[:args.train_limit], y[:args.train_limit]
    on = "" if args.dataset == "fashion-mnist" else f" on {args.dataset}"
    if args.model in ("random", "darkness", "svm"):
        start, cpu = time.perf_counter(), time.process_time()
        acc = _baseline(args.model, x / 255.0, y, xt / 255.0, yt)
        print(f"| {args.model}{on} | - | - | {time.perf_counter() - start:.0f} s | {acc:.4f} | `{command}` |")
        print(f"CPU time {time.process_time() - cpu:.0f} s")
        return
    nr.manual_seed(0)
    kwargs: dict = {} if args.width is None else {"width": args.width}
    if args.hidden:
        kwargs["hidden"] = tuple(int(h) for h in args.hidden.split(","))
    if args.dropout is not None:
        kwargs["dropout"] = args.dropout
    net = cnn_bn(10) if args.model == "cnn_bn" else nr.models.get(args.model, (28, 28, 1), 10, **kwargs)
    front: list[nn.Module] = [nn.Rescaling(1 / 255)]
    if args.augment:
        front += [nn.RandomFlip("horizontal"), nn.RandomTranslation(0.1, 0.1)]
    model = nn.Sequential(front + [net])
    model.build((None, 28, 28, 1))
    per_epoch = math.ceil(len(x) / args.batch_size)
    schedule = nr.optim.schedules.CosineDecay(args.lr, args.epochs * per_epoch)
    model.compile(nr.optim.Adam(lr=schedule), "cross_entropy", ["accuracy"])
    xs, xts = x[..., None], xt[..., None]
    start, cpu, done, epochs = time.perf_counter(), time.process_time(), 0, args.epochs
    clock = time.process_time if args.budget == "cpu" else time.perf_counter
    begun = clock()
    while done < epochs:
        t0 = clock()
        model.fit(xs, y, epochs=done + 1, initial_epoch=done, batch_size=args.batch_size, verbose=0)
        acc = model.evaluate(xts, yt, batch_size=500)
        acc = acc["accuracy"] if isinstance(acc, dict) else acc[1]
        done, last = done + 1, clock() - t0
        print(f"epoch {done}: {last:.0f} s ({args.budget}) with the test, test accuracy {acc:.4f}", flush=True)
        # epochs still within the budget, with a 15% margin for epochs that run slower than this one
        fit = done + int((args.minutes * 60 - (clock() - begun)) // (1.15 * last))
        if done < epochs and fit < epochs:  # fewer fit than planned: end the cosine decay with them
            epochs = max(fit, done)
            schedule.decay_steps = epochs * per_epoch
            print(f"--minutes {args.minutes:g} ({args.budget}) fits {epochs} epoch(s) at this speed: "
                  f"cosine decay over {epochs}")
    wall = time.perf_counter() - start
    name = args.model + on + ("" if args.width is None else f" (width {args.width})")
    name += " + aug" if args.augment else ""
    if args.hidden:
        name += f" ({args.hidden.replace(',', '-')})"
    print(f"| {name} | {net.count_params():,} | {done} | {wall / 60:.1f} min | {acc:.4f} | `{command}` |")
    print(f"CPU time {(time.process_time() - cpu) / 60:.1f} min (wall {wall / 60:.1f} min)")


if __name__ == "__main__":
    main()
