"""What the compiled (numba) kernels cost a process's first steps: cold cache, warm cache, numba off.

    .venv/bin/python -m benchmarks.compile_cost [--model resnet20] [--batch 128] [--steps 3]

Runs the same few training steps of a zoo model in three fresh processes: with an empty numba
cache (the very first run on a machine: numba compiles each kernel), with the cache that run
left (every later run: numba loads the kernels from disk), and with ``NEURONA_NUMBA=0`` (the
array twins, numba never imported). Each prints its steps' process CPU times (BLAS on one
thread); the first step's excess over the later ones is the one-off cost. Also checks that
``neurona train`` (``make run``'s job) never imports numba. Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

STEPS = """
import json, sys, time
import numpy as np
import neurona as nr
from neurona import functional as F, optim
name, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
nr.manual_seed(0)
shape = (32, 32, 3) if name.startswith("resnet") else (28, 28, 1)
model = nr.models.get(name, shape, 10)
model.build((None, *shape))
opt = optim.Adam(model.parameters(), lr=1e-3)
x = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
y = np.random.default_rng(1).integers(0, 10, batch)
times = []
with nr.performance():
    for _ in range(steps):
        start = time.process_time()
        loss = F.cross_entropy(model(nr.Tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.process_time() - start)
print(json.dumps({"steps": times, "numba": "numba" in sys.modules}))
"""

CLI = """
import sys
from neurona.cli import main
sys.argv = ["neurona", "train", "--out", sys.argv[1]]
try:
    main()
finally:
    print("numba imported:", "numba" in sys.modules, file=sys.stderr)
"""


def _steps(model: str, batch: int, steps: int, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, "-c", STEPS, model, str(batch), str(steps)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--skip-cli", action="store_true", help="do not run `neurona train`")
    args = parser.parse_args(argv)
    base = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    base["OPENBLAS_NUM_THREADS"] = "1"
    with tempfile.TemporaryDirectory() as cache:
        runs = [("cold cache", {"NUMBA_CACHE_DIR": cache}), ("warm cache", {"NUMBA_CACHE_DIR": cache}),
                ("numba off", {"NEURONA_NUMBA": "0"})]
        for label, extra in runs:
            result = _steps(args.model, args.batch, args.steps, {**base, **extra})
            steps = ", ".join(f"{t:.2f}" for t in result["steps"])
            print(f"{args.model} batch {args.batch}, {label}: step CPU times {steps} s "
                  f"(numba loaded: {result['numba']})")
    if not args.skip_cli:
        with tempfile.TemporaryDirectory() as out:
            run = subprocess.run([sys.executable, "-c", CLI, os.path.join(out, "run")], env=base,
                                 capture_output=True, text=True)
            print("neurona train:", run.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
