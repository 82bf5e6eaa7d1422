"""The reference CNN's training step as a graph compiler sees it, pass by pass.

    .venv/bin/python examples/jit_passes.py [--out runs/jit_passes] [--quick]

Traces one training step (forward, cross-entropy, backward, Adam's update) of
``nr.models.get("cnn")`` built with its layers one by one (``nn.set_fusion(False)``,
so the fusion pass has work to do), then writes one picture per stage of the pipeline:

  traced          every op the step ran, as recorded
  dce, fold, cse  dead code, constant subgraphs and repeated computations removed
  fuse            Conv2D + ReLU + MaxPool2D and Dense + ReLU chains as single ops
  backward        the backward graph, built once from the forward one, and the optimizer
  fuse_optimizer  the per-parameter updates as one pass over all parameters
  memory          which arrays take turns in one buffer, and the planned peak memory

It prints the op counts and planned memory of each stage, checks that the traced step
trains like eager mode, and shows the generated program that a replay runs.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim


def cnn() -> nn.Module:
    nr.manual_seed(0)
    with nn.set_fusion(False):  # one op per layer in the trace: the fusion pass will merge them
        model = nr.models.get("cnn", (28, 28, 1), 10)
        model.build((None, 28, 28, 1))
    return model


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/jit_passes", help="folder for the pictures")
    parser.add_argument("--format", default="png", choices=("png", "svg", "dot"), help="dot: the DOT text only")
    parser.add_argument("--quick", action="store_true", help="a batch of 4 (the pictures are the same)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    rs = np.random.default_rng(0)
    n = 4 if args.quick else 16
    x = rs.random((n, 28, 28, 1), dtype=np.float32)
    y = rs.integers(0, 10, n)

    model = cnn()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    with nn.set_fusion(False):
        step = nr.jit.train_step(model, F.cross_entropy, opt)
        first = step(nr.tensor(x), y)  # traced (and run eagerly)
    second = step(nr.tensor(x), y)  # replayed
    print(f"loss: {first.item():.4f} (traced step), {second.item():.4f} (replayed step)\n")

    for k, (name, graph) in enumerate(step.stages):
        plan = graph.plan if graph.plan is not None else nr.graphs.passes.plan_memory(graph).plan
        counts = ", ".join(f"{label} x{n}" if n > 1 else label for label, n in graph.op_counts().most_common())
        print(f"{k}. {name:15s} {graph.summary():45s} planned peak {plan.peak / 2**20:6.2f} MB")
        print(f"   {counts}")
        path = out / f"{k}_{name}.{args.format}"
        if args.format != "dot" and shutil.which("dot"):
            nr.viz.render(nr.viz.graph(step, stage=name), path)
        else:  # the DOT text, for any DOT viewer (Graphviz not installed, or asked for)
            path.with_suffix(".dot").write_text(nr.viz.graph(step, stage=name))
    final = step.graph.plan
    print(f"\nmemory plan: {len(final.sizes)} buffers, {final.peak / 2**20:.2f} MB instead of "
          f"{final.naive / 2**20:.2f} MB; {len(final.shared())} buffers shared by several arrays")

    # the traced step trains as eager mode does (fused ops: within float32 rounding)
    eager = cnn()
    eager_opt = optim.Adam(eager.parameters(), lr=1e-3)
    for _ in range(2):
        eager_opt.zero_grad()
        F.cross_entropy(eager(nr.tensor(x)), y).backward()
        eager_opt.step()
    gap = max(float(np.abs(a.numpy() - b.numpy()).max()) for a, b in zip(eager.parameters(), model.parameters()))
    print(f"largest weight difference from eager mode after two steps: {gap:.2e}")
    print("\nthe program a replay runs (the forward half):\n")
    print(nr.graphs.Program(step.graph).source.split("\n\n")[0])
    print(f"pictures in {out}/")
    return {"weight_gap": gap, "planned_peak_mb": final.peak / 2**20, "unplanned_mb": final.naive / 2**20}


if __name__ == "__main__":
    main()
