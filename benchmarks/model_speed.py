"""Training steps (or inference) of the zoo's CNNs and the LSTM row, neurona against PyTorch, side by side.

    .venv/bin/python benchmarks/model_speed.py [--models cnn,lenet5,resnet20,lstm,cnn_infer] [--rounds 5]
                                               [--threads 1] [--cpu-time]

The same networks as the harness's rows (``python -m benchmarks.run``: the zoo's models and
benchmarks/torch_models.py), Adam, batch 128 (inference: batch 1000), random Fashion-MNIST-sized
data. Steps alternate between the two frameworks in blocks, so that both see the same load, and
the medians are compared. With ``--threads 1 --cpu-time`` each framework runs on one thread and
the main thread's CPU time is measured, which the other processes of a shared machine disturb
far less than wall time (the harness's rows are wall time on two threads).
"""

from __future__ import annotations

import argparse
import statistics
import time

# isort: off
import neurona as nr  # before NumPy, as the harness's rows
import numpy as np
import torch

# isort: on
from neurona import functional as F
from neurona import optim

from .neurona_models import neurona_model
from .torch_models import torch_model


def steps(name: str, batch: int, infer: bool):
    """(neurona step, torch step): one training step, or one inference batch, of the same network."""
    rng = np.random.default_rng(0)
    x = rng.random((batch, 28, 28, 1), dtype=np.float32)
    t = rng.integers(0, 10, batch)
    nr.manual_seed(0)
    torch.manual_seed(0)
    model, tmodel = neurona_model(name), torch_model(name)  # the harness's models, the zoo's or its own (lstm)
    xt, tt = torch.from_numpy(x.transpose(0, 3, 1, 2)), torch.from_numpy(t)
    if infer:
        model.eval()
        tmodel.eval()

        def ours() -> None:
            with nr.no_grad():
                model(nr.tensor(x))

        def theirs() -> None:
            with torch.no_grad():
                tmodel(xt)

        return ours, theirs
    opt, topt = optim.Adam(model.parameters(), lr=1e-3), torch.optim.Adam(tmodel.parameters(), lr=1e-3)

    def ours() -> None:
        opt.zero_grad()
        F.cross_entropy(model(nr.tensor(x)), t).backward()
        opt.step()

    def theirs() -> None:
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(xt), tt).backward()
        topt.step()

    return ours, theirs


def side_by_side(ours, theirs, rounds: int, clock, block: int = 2) -> tuple[float, float]:
    for _ in range(2):
        ours()
        theirs()
    a, b = [], []
    for _ in range(rounds):
        for fn, out in ((ours, a), (theirs, b)):
            start = clock()
            for _ in range(block):
                fn()
            out.append((clock() - start) / block)
    return statistics.median(a), statistics.median(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="cnn,lenet5,resnet20,cnn_infer")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cpu-time", action="store_true", help="the main thread's CPU time (needs --threads 1)")
    args = parser.parse_args()
    if args.cpu_time and args.threads != 1:
        parser.error("--cpu-time needs --threads 1")
    clock = time.thread_time if args.cpu_time else time.perf_counter
    torch.set_num_threads(args.threads)
    nr.backend.set_num_threads(args.threads)
    print(f"{args.threads} thread(s), {'CPU' if args.cpu_time else 'wall'} time, median of {args.rounds} rounds")
    with nr.performance():  # as fit/evaluate/predict run
        for row in args.models.split(","):
            name, infer = row.removesuffix("_infer"), row.endswith("_infer")
            ours, theirs = steps(name, 1000 if infer else 128, infer)
            a, b = side_by_side(ours, theirs, args.rounds, clock)
            what = "inference, batch 1000" if infer else "training step, batch 128"
            print(f"  {row:10s} {what:25s} neurona {a * 1e3:8.1f} ms  pytorch {b * 1e3:8.1f} ms  "
                  f"ratio {a / b:.2f}", flush=True)


if __name__ == "__main__":
    main()
