"""Run one workload in one framework in this process and print its result as one JSON line.

    python -m benchmarks.worker neurona cnn_b128 [--smoke] [--seed 0] [--threads 2]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import threading
import time


class MemorySampler(threading.Thread):
    """The process's resident memory, sampled every 2 ms: its peak above the level at the start."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.start_rss = self.peak = self.rss()
        self.running = True

    def rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.002)

    def stop(self) -> float:
        """The peak increase in MB."""
        self.running = False
        self.join()
        return (max(self.peak, self.rss()) - self.start_rss) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("framework", choices=("neurona", "torch"))
    parser.add_argument("workload")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="add the top functions by own time (cProfile)")
    parser.add_argument("--numpy-first", action="store_true", help="import NumPy before neurona")
    args = parser.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    if args.framework == "torch":
        import torch

        torch.set_num_threads(args.threads)
    elif args.numpy_first:
        import numpy  # noqa: F401 (before neurona: OpenBLAS keeps its default thread spinning)
    else:
        import neurona  # noqa: F401 (before NumPy, as the `neurona` command and isort-ordered scripts do)
    from .workloads import RUNNERS, WORKLOADS, load_data

    data = load_data(args.smoke)
    sampler = MemorySampler()
    sampler.start()
    run = RUNNERS[args.framework]
    if args.profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(run, WORKLOADS[args.workload], data, args.seed)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
        result["profile"] = "\n".join(line for line in text.getvalue().splitlines()
                                      if line.strip() and not line.startswith(("   Ordered", "   List")))
    else:
        result = run(WORKLOADS[args.workload], data, args.seed)
    result["train_mb"] = sampler.stop()  # model, activations, gradients, optimizer state, caches
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
