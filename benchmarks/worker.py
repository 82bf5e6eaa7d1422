"""Run one workload in one framework in this process and print its result as one JSON line.

    python -m benchmarks.worker neurona cnn_b128 [--smoke] [--seed 0] [--threads 2]
    python -m benchmarks.worker peak      # NumPy's float32 matrix-multiply peak and its BLAS, as the workers see them

Besides the timing, the line says how the process's BLAS ran (``blas``: library, version,
kernel "architecture" and threads, as threadpoolctl reports them; for PyTorch also its own
build information) and the OPENBLAS_* variables it saw (run.py unsets two of them).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import resource
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Variables some build machines set and a user's machine does not: OPENBLAS_CORETYPE pins OpenBLAS
# to an older CPU's kernel (on an AVX-512 machine about half the float32 GEMM speed).
MACHINE_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


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


def blas_info(framework: str) -> dict[str, Any]:
    """The BLAS libraries loaded in this process as threadpoolctl reports them, and PyTorch's build's.

    For neurona, inside ``neurona.performance()`` when it exists: the settings fit/predict work under.
    """
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")
    work = contextlib.nullcontext()
    if framework == "neurona":
        import neurona

        work = getattr(neurona, "performance", contextlib.nullcontext)()
    with work:
        libs = [{k: lib.get(k) for k in keys} for lib in threadpool_info()]
    for lib in libs:
        if lib["filepath"]:
            lib["filepath"] = os.path.basename(lib["filepath"])
    info: dict[str, Any] = {"threadpoolctl": libs}
    if framework == "torch":
        import torch

        config = torch.__config__.show()
        blas = next((part.split("=", 1)[1] for line in config.splitlines() for part in line.replace(",", " ").split()
                     if part.startswith("BLAS_INFO=")), "?")
        info["torch"] = {"blas": blas, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                         "threads": torch.get_num_threads()}
    return info


def relative_paths(text: str, root: Path = ROOT) -> str:
    """Profile text with the repository's absolute path (and the installed packages' folder) taken
    out of every file name."""
    import sysconfig

    return text.replace(sysconfig.get_paths()["purelib"] + os.sep, "").replace(str(root) + os.sep, "")


def peak() -> dict[str, Any]:
    """float32 GFLOP/s of a 2048x2048 matrix product in NumPy (best of five), with the BLAS that ran it."""
    import numpy as np

    a = np.random.default_rng(0).random((2048, 2048), dtype=np.float32)
    a @ a
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return {"gflops": 2 * 2048**3 / best / 1e9, "blas": blas_info("numpy"), "env": _machine_variables()}


def _machine_variables() -> dict[str, str | None]:
    return {v: os.environ.get(v) for v in MACHINE_VARIABLES}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("framework", choices=("neurona", "torch", "peak"))
    parser.add_argument("workload", nargs="?")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="add the top functions by own time (cProfile)")
    parser.add_argument("--numpy-first", action="store_true", help="import NumPy before neurona")
    args = parser.parse_args()
    if args.framework == "peak":
        print(json.dumps(peak()))
        return
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
        # Its compiled kernels' library (numba, ~57 MB resident) loaded now, as PyTorch's libraries are
        # by `import torch`: library code is not training memory. LLVM's start at the first compiled
        # call (~55 MB) still counts in the run's peak.
        neurona.kernels.compiled.enabled()
    from .workloads import RUNNERS, WORKLOADS, load_data

    data = load_data(args.smoke)
    sampler = PeakMemory()
    run = RUNNERS[args.framework]
    if args.profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(run, WORKLOADS[args.workload], data, args.seed)
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
        result["profile"] = relative_paths("\n".join(
            line for line in text.getvalue().splitlines()
            if line.strip() and not line.startswith(("   Ordered", "   List"))))
    else:
        result = run(WORKLOADS[args.workload], data, args.seed)
    result["train_mb"] = sampler.stop()  # model, activations, gradients, optimizer state, caches
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["blas"] = blas_info(args.framework)
    result["env"] = _machine_variables()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
