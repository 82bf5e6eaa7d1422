"""One training step of the reference CNN, neurona against PyTorch, side by side.

    .venv/bin/python benchmarks/conv_speed.py [--batch 128] [--rounds 15] [--threads 2]

(the whole comparison runs inside nr.performance(), as fit does: neurona keeps freed memory for
reuse, see neurona.kernels.platform; run with NEURONA_RETAIN_MEMORY=0 to see glibc's default behaviour.)

Network (Fashion-MNIST sized input, 28x28x1): Conv2D(32, 3, same, relu) -> MaxPool2D(2)
-> Conv2D(64, 3, same, relu) -> MaxPool2D(2) -> Flatten -> Dense(128, relu) -> Dense(10),
cross-entropy, Adam. Steps of the two frameworks alternate so that both see the same
machine load; the medians are compared. Then neurona's time is broken down per op
(forward and backward of each Function) and, for each convolution, per piece (each timed alone).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections import defaultdict

# isort: off
import neurona as nr  # before NumPy, as in the benchmark harness's main rows (see neurona/__init__.py)
import numpy as np
import torch

# isort: on
from neurona import functional as F
from neurona import nn, optim
from neurona.autograd import Function
from neurona.kernels import fused
from neurona.kernels import im2col as K


def neurona_step_fn(x: np.ndarray, t: np.ndarray):
    nr.manual_seed(0)
    model = nn.Sequential([
        nn.Conv2D(32, 3, padding="same", activation="relu"), nn.MaxPool2D(2),
        nn.Conv2D(64, 3, padding="same", activation="relu"), nn.MaxPool2D(2),
        nn.Flatten(), nn.Dense(128, activation="relu"), nn.Dense(10),
    ])
    opt = optim.Adam(model.parameters(), lr=1e-3)
    xb = nr.tensor(x)

    def step() -> float:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), t)
        loss.backward()
        opt.step()
        return loss.item()

    return step, opt


def torch_step_fn(x: np.ndarray, t: np.ndarray):
    torch.manual_seed(0)
    tn = torch.nn
    model = tn.Sequential(
        tn.Conv2d(1, 32, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
        tn.Conv2d(32, 64, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
        tn.Flatten(), tn.Linear(64 * 7 * 7, 128), tn.ReLU(), tn.Linear(128, 10),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xb = torch.tensor(x).permute(0, 3, 1, 2).contiguous()
    tb = torch.tensor(t)

    def step() -> float:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xb), tb)
        loss.backward()
        opt.step()
        return loss.item()

    return step


CLOCK = time.perf_counter


def side_by_side(ours, theirs, rounds: int, steps: int = 3) -> tuple[list[float], list[float]]:
    """Per-step seconds of each, measured in alternating blocks of ``steps`` steps."""
    for _ in range(3):
        ours()
        theirs()
    a, b = [], []
    for _ in range(rounds):
        for fn, out in ((ours, a), (theirs, b)):
            start = CLOCK()
            for _ in range(steps):
                fn()
            out.append((CLOCK() - start) / steps)
    return a, b


def page_faults(step, steps: int = 5) -> str:
    """Minor page faults and kernel time per step, over consecutive steps: fresh memory the kernel
    had to map (and zero) because the previous step gave it back."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(steps):
        step()
    after = resource.getrusage(resource.RUSAGE_SELF)
    faults = (after.ru_minflt - before.ru_minflt) / steps
    return f"{faults:.0f} faults, {(after.ru_stime - before.ru_stime) / steps * 1e3:.1f} ms kernel time"


def per_op_breakdown(step, opt, steps: int = 10) -> dict[str, float]:
    """Milliseconds per training step spent in each Function's forward and backward, and in Adam."""
    totals: dict[str, float] = defaultdict(float)

    def timed(cls, method):
        inner = getattr(cls, method)

        def wrapper(self, *args):
            start = CLOCK()
            try:
                return inner(self, *args)
            finally:
                totals[f"{cls.__name__}.{method}"] += CLOCK() - start

        return wrapper

    classes, stack = [], [Function]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        classes.append(cls)
    saved = []
    for cls in classes:
        for method in ("forward", "backward"):
            if method in cls.__dict__:
                saved.append((cls, method, cls.__dict__[method]))
                setattr(cls, method, timed(cls, method))
    opt_step = opt.step

    def timed_step(*a, **k):
        start = CLOCK()
        try:
            return opt_step(*a, **k)
        finally:
            totals["Adam.step"] += CLOCK() - start

    opt.step = timed_step
    try:
        step()
        totals.clear()
        wall = CLOCK()
        for _ in range(steps):
            step()
        wall = CLOCK() - wall
    finally:
        for cls, method, fn in saved:
            setattr(cls, method, fn)
        opt.step = opt_step
    out = {k: v / steps * 1e3 for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}
    out["(whole step)"] = wall / steps * 1e3
    return out


def _conv_pieces(batch: int, H: int, Cin: int, Cout: int) -> dict:
    """The steps of one 3x3 "same" Conv2d with bias and ReLU, forward and backward, as callables."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, H, H, Cin), dtype=np.float32)
    W = rng.standard_normal((3, 3, Cin, Cout), dtype=np.float32)
    b = rng.standard_normal(Cout, dtype=np.float32)
    pads = (1, 1, 1, 1)
    xpad = K.pad(x, pads)
    cols = K.im2col(xpad, (3, 3), (H, H), (1, 1), (1, 1), ones_column=True)
    Wb = np.concatenate([W.reshape(-1, Cout), b[None]])
    y = np.maximum(cols @ Wb, 0)
    g = rng.standard_normal(y.shape, dtype=np.float32)
    W2T = W.reshape(9 * Cin, Cout).T
    taps = np.moveaxis((g @ W2T).reshape(batch, H, H, 9, Cin), 3, 0)
    pieces = {
        "pad": lambda: K.pad(x, pads),
        "im2col": lambda: K.im2col(xpad, (3, 3), (H, H), (1, 1), (1, 1), ones_column=True),
        "GEMM y": lambda: cols @ Wb,
        "relu": lambda: np.maximum(y, 0, out=y),
        "relu mask": lambda: fused.relu_mask(g, y),
        "GEMM gW,gb": lambda: cols.T @ g,
        "GEMM gx cols": lambda: g @ W2T,
        "col2im": lambda: K.col2im(taps, x.shape, (3, 3), (1, 1), (1, 1), (1, 1)),
    }
    if Cin == 1:  # the first layer needs no input gradient
        del pieces["GEMM gx cols"], pieces["col2im"]
    return pieces


def conv_pieces(batch: int, reps: int = 10) -> None:
    """Inside each convolution of the network: im2col, GEMMs, col2im, ReLU (ms, median)."""

    def ms(fn) -> float:
        fn()
        ts = []
        for _ in range(reps):
            start = CLOCK()
            fn()
            ts.append(CLOCK() - start)
        return statistics.median(ts) * 1e3

    for H, Cin, Cout in ((28, 1, 32), (14, 32, 64)):
        pieces = _conv_pieces(batch, H, Cin, Cout)
        print(f"  conv {H}x{H}x{Cin} -> {Cout}: " + ", ".join(f"{k} {ms(f):.2f}" for k, f in pieces.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2, help="threads for PyTorch, for neurona and for NumPy's BLAS")
    parser.add_argument("--cpu-time", action="store_true",
                        help="with --threads 1: time the main thread's CPU time, which other processes on a "
                             "shared machine disturb far less than wall time")
    args = parser.parse_args()
    if args.cpu_time:
        if args.threads != 1:
            parser.error("--cpu-time needs --threads 1 (the CPU time of other threads is not counted)")
        global CLOCK
        CLOCK = time.thread_time
    torch.set_num_threads(args.threads)
    nr.backend.set_num_threads(args.threads)  # neurona's own threads too (--cpu-time counts only the main one)
    try:  # NumPy's BLAS pool (OpenBLAS) gets the same number of threads as PyTorch
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads, user_api="blas")
    except ImportError:
        pass
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 28, 28, 1), dtype=np.float32)
    t = rng.integers(0, 10, args.batch)

    with nr.performance():
        report(args, x, t)


def report(args: argparse.Namespace, x: np.ndarray, t: np.ndarray) -> None:
    ours, opt = neurona_step_fn(x, t)
    theirs = torch_step_fn(x, t)
    a, b = side_by_side(ours, theirs, args.rounds)
    ma, mb = statistics.median(a) * 1e3, statistics.median(b) * 1e3
    epoch = 60000 / args.batch
    print(f"batch {args.batch}, median of {args.rounds} rounds of 3 steps, {args.threads} threads, "
          f"{'CPU' if args.cpu_time else 'wall'} time")
    print(f"  neurona {ma:7.2f} ms/step  (~{ma * epoch / 1e3:.1f} s/epoch)")
    print(f"  pytorch {mb:7.2f} ms/step  (~{mb * epoch / 1e3:.1f} s/epoch)")
    print(f"  ratio neurona/pytorch = {ma / mb:.2f}")
    print(f"per step: neurona {page_faults(ours)}; pytorch {page_faults(theirs)}")
    print("neurona per op (ms/step, instrumented run):")
    for k, v in per_op_breakdown(ours, opt).items():
        if v >= 0.05:
            print(f"  {k:28s} {v:6.2f}")
    print("the pieces of F.conv2d(relu) for each layer, each timed alone over the whole batch (ms, median):")
    conv_pieces(args.batch)


if __name__ == "__main__":
    main()
