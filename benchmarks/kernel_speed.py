"""Each compiled kernel against its array-expression twin, side by side in one process.

    .venv/bin/python benchmarks/kernel_speed.py [--reps 15] [--threads 1]

First the cost of the first compiled call in this process (numba's import, and loading
the kernel from numba's cache, or compiling it the very first time), then, for the layer
shapes of LeNet-5, the reference CNN and ResNet-20 at batch 128 (col2im) or of one chunk
of such a batch (im2col), the median time of the twin and of the compiled kernel, calls
alternating so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import neurona as nr
from neurona.kernels.im2col import col2im, patches

# (what, N, H, C_in, kernel, stride, pad): col2im of a convolution's dL/dx onto (N, H, H, C_in)
COL2IM = [
    ("LeNet-5 conv 2 (14x14x6, 5x5 valid)", 128, 14, 6, 5, 1, 0),
    ("reference CNN conv 2 (14x14x32, 3x3 same)", 128, 14, 32, 3, 1, 1),
    ("ResNet-20 16->32 (28x28x16, 3x3 stride 2)", 128, 28, 16, 3, 2, 1),
    ("ResNet-20 32->64 (14x14x32, 3x3 stride 2)", 128, 14, 32, 3, 2, 1),
]
# (what, N, H, C_in, kernel, stride, pad): the patch matrix (im2col) of x (N, H, H, C_in), a chunk of the batch
IM2COL = [
    ("ResNet-20 stage 1 (5 x 28x28x16, 3x3 same)", 5, 28, 16, 3, 1, 1),
    ("ResNet-20 stage 2 (10 x 14x14x32, 3x3 same)", 10, 14, 32, 3, 1, 1),
    ("ResNet-20 stage 3 (20 x 7x7x64, 3x3 same)", 20, 7, 64, 3, 1, 1),
    ("ResNet-20 16->32 (10 x 28x28x16, 3x3 stride 2)", 10, 28, 16, 3, 2, 1),
    ("reference CNN conv 2 (14 x 14x14x32, 3x3 same)", 14, 14, 32, 3, 1, 1),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    nr.backend.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    tiny = np.moveaxis(rng.standard_normal((1, 2, 2, 9, 3)).astype(np.float32), 3, 0)
    start = time.perf_counter()
    col2im(tiny, (1, 2, 2, 3), (3, 3), (1, 1), (1, 1), (1, 1), compiled=True)
    print(f"first compiled call in this process: {time.perf_counter() - start:.2f} s")
    print(f"col2im, batch shapes as in training, {args.threads} thread(s), median of {args.reps} (ms):")
    with nr.performance():
        for what, N, H, C, k, s, p in COL2IM:
            Ho = (H + 2 * p - k) // s + 1
            taps = np.moveaxis(rng.standard_normal((N, Ho, Ho, k * k, C), dtype=np.float32), 3, 0)
            times: dict[bool, list[float]] = {False: [], True: []}
            for _ in range(args.reps + 1):
                for flag in (False, True):
                    t0 = time.perf_counter()
                    col2im(taps, (N, H, H, C), (k, k), (s, s), (1, 1), (p, p), compiled=flag)
                    times[flag].append(time.perf_counter() - t0)
            twin, fast = (statistics.median(times[f][1:]) * 1e3 for f in (False, True))
            print(f"  {what:45s} twin {twin:7.2f}  compiled {fast:7.2f}  ({twin / fast:.1f}x)")
        print(f"im2col of one chunk, median of {args.reps * 10} (ms):")
        for what, N, H, C, k, s, p in IM2COL:
            Ho = (H + 2 * p - k) // s + 1
            x = rng.standard_normal((N, H, H, C), dtype=np.float32)
            times = {False: [], True: []}
            for _ in range(args.reps * 10 + 1):
                for flag in (False, True):
                    t0 = time.perf_counter()
                    patches(x, (p, p, p, p), (k, k), (Ho, Ho), (s, s), (1, 1), compiled=flag)
                    times[flag].append(time.perf_counter() - t0)
            twin, fast = (statistics.median(times[f][1:]) * 1e3 for f in (False, True))
            print(f"  {what:48s} twin {twin:7.3f}  compiled {fast:7.3f}  ({twin / fast:.1f}x)")


if __name__ == "__main__":
    main()
