"""The engine's cost per op and per small backward, neurona against PyTorch, side by side.

    .venv/bin/python benchmarks/op_overhead.py

Tiny arrays (10 elements), so the arithmetic is negligible and what is timed is the
bookkeeping: making the output, recording the graph node, walking it backward.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import neurona as nr  # before NumPy: see neurona/__init__.py

# isort: split
import numpy as np
import torch


def per_call_us(fn: Callable[[], object], n: int = 20000) -> float:
    fn()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def main() -> None:
    torch.set_num_threads(1)
    a = nr.tensor(np.ones(10), requires_grad=True)
    at = torch.ones(10, requires_grad=True)

    def ours_backward() -> None:
        (a * a).sum().backward()

    def theirs_backward() -> None:
        (at * at).sum().backward()

    rows = [("add, recorded", lambda: a + a, lambda: at + at),
            ("add, under no_grad", None, None),
            ("mul + sum + backward", ours_backward, theirs_backward)]
    print(f"{'':24s} {'neurona':>9s} {'PyTorch':>9s}   (microseconds per call, best of 3)")
    for name, ours, theirs in rows:
        if ours is None:
            with nr.no_grad():
                o = per_call_us(lambda: a + a)
            with torch.no_grad():
                t = per_call_us(lambda: at + at)
        else:
            o, t = per_call_us(ours), per_call_us(theirs)
        print(f"{name:24s} {o:9.2f} {t:9.2f}")


if __name__ == "__main__":
    main()
