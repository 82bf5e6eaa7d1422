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


def _status_kb(field: str) -> int:
    """A field of /proc/self/status in kB (VmRSS: resident memory now, VmHWM: its peak)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


class PeakMemory:
    """The process's peak resident memory above its level at the start, in MB.

    Linux resets the peak ("high water mark") on writing 5 to /proc/self/clear_refs, and
    keeps it exactly from then on: nothing runs during the timed work. Where that is not
    possible, a thread samples the resident memory every 2 ms instead (its wake-ups cost
    the timed work a few percent).
    """

    def __init__(self) -> None:
        self.thread = None
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
            self.start_kb = _status_kb("VmRSS")
        except OSError:
            self.page = os.sysconf("SC_PAGE_SIZE")
            self.start_kb = self.peak_kb = self.rss_kb()
            self.running = True
            self.thread = threading.Thread(target=self.sample, daemon=True)
            self.thread.start()

    def rss_kb(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page // 1024

    def sample(self) -> None:
        while self.running:
            self.peak_kb = max(self.peak_kb, self.rss_kb())
            time.sleep(0.002)

    def stop(self) -> float:
        if self.thread is None:
            peak = _status_kb("VmHWM")
        else:
            self.running = False
            self.thread.join()
            peak = max(self.peak_kb, self.rss_kb())
        return (peak - self.start_kb) / 1024


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
    # Each framework runs on args.threads threads its own way: PyTorch through its OpenMP/MKL
    # settings, neurona through its own threads (with BLAS on one thread, its default).
    if args.framework == "torch":
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
        import torch

        torch.set_num_threads(args.threads)
    else:
        if args.numpy_first:
            import numpy  # noqa: F401 (before neurona: OpenBLAS keeps its default thread spinning)
        import neurona  # (otherwise before NumPy, as the `neurona` command and isort-ordered scripts do)

        neurona.backend.set_num_threads(args.threads)
    from .workloads import RUNNERS, WORKLOADS, load_data

    data = load_data(args.smoke)
    sampler = PeakMemory()
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
