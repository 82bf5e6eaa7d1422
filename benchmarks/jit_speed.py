"""Execution graphs (jit) against eager mode and PyTorch, side by side in one process.

    .venv/bin/python -m benchmarks.jit_speed [--rounds 7] [--only mlp_b10_sgd,mlp_b1_infer] [--write]

Each row times one call (a training step: forward, loss, backward, optimizer update; or an
inference) three ways: neurona eager, the same model through ``nr.jit`` (a traced, optimised
graph replayed), and PyTorch eager. One thread everywhere (neurona's threads, BLAS, torch),
inside ``nr.performance()`` as ``fit`` runs. The three alternate within every round so they
see the same machine load; each figure is the best round's CPU time (``time.process_time``)
per call, and the ratios divide those. ``--write`` puts the table into docs/PERFORMANCE.md,
section "Execution graphs (jit)" (``python -m benchmarks.run --jit`` does the same).
"""

from __future__ import annotations

import os

# As the harness's workers (benchmarks/run.py, worker_env): no OpenBLAS kernel pinned to an older CPU,
# one BLAS thread; set before NumPy loads OpenBLAS.
for _var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    os.environ.pop(_var, None)
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"

# isort: off
import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import neurona as nr  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

# isort: on
from neurona import functional as F  # noqa: E402
from neurona import nn, optim  # noqa: E402

SECTION = "## Execution graphs (jit)"
# Issue 15's targets for jit / eager
TARGETS = {"mlp_b10_sgd": 0.6, "mlp_b10_adam": 0.6, "mlp_b1_infer": 0.5, "cnn_b128": 1.0, "cnn_b1_infer": 1.0}
Trio = tuple[Callable[[], object], Callable[[], object], Callable[[], object]]


def _mlp() -> nn.Sequential:
    nr.manual_seed(0)
    model = nn.Sequential([nn.Dense(100, activation="relu"), nn.Dense(10)])
    model.build((None, 784))
    return model


def _cnn() -> nn.Module:
    nr.manual_seed(0)
    model = nr.models.get("cnn", (28, 28, 1), 10)
    model.build((None, 28, 28, 1))
    return model


def _torch_model(name: str) -> torch.nn.Module:
    tn = torch.nn
    if name == "mlp":
        return tn.Sequential(tn.Linear(784, 100), tn.ReLU(), tn.Linear(100, 10))
    return tn.Sequential(tn.Conv2d(1, 32, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2),
                         tn.Conv2d(32, 64, 3, padding=1), tn.ReLU(), tn.MaxPool2d(2), tn.Flatten(),
                         tn.Linear(3136, 128), tn.ReLU(), tn.Linear(128, 10))


def _optimizer(kind: str, params: object, torch_params: object = None) -> object:
    if torch_params is not None:
        return torch.optim.SGD(torch_params, lr=0.01) if kind == "sgd" else torch.optim.Adam(torch_params, lr=1e-3)
    return optim.SGD(params, lr=0.01) if kind == "sgd" else optim.Adam(params, lr=1e-3)


def training_row(name: str, batch: int, opt_kind: str) -> Trio:
    """Eager, jit and PyTorch training steps on one fixed batch (x, integer labels)."""
    rs = np.random.default_rng(0)
    shape = (batch, 784) if name == "mlp" else (batch, 28, 28, 1)
    x = rs.random(shape, dtype=np.float32)
    y = rs.integers(0, 10, batch)
    build = _mlp if name == "mlp" else _cnn
    eager_model, jit_model = build(), build()
    eager_opt, jit_opt = _optimizer(opt_kind, eager_model.parameters()), _optimizer(opt_kind, jit_model.parameters())
    xb = nr.tensor(x)

    def eager() -> float:
        eager_opt.zero_grad()
        loss = F.cross_entropy(eager_model(xb), y)
        loss.backward()
        eager_opt.step()
        return float(nr.backend.item(loss.data))

    step = nr.jit.train_step(jit_model, F.cross_entropy, jit_opt)

    def jitted() -> float:
        return float(nr.backend.item(step(xb, y).data))

    tm = _torch_model(name)
    topt = _optimizer(opt_kind, None, tm.parameters())
    xt = torch.from_numpy(x if name == "mlp" else np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y)

    def theirs() -> float:
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tm(xt), yt)
        loss.backward()
        topt.step()
        return loss.item()

    return eager, jitted, theirs


def inference_row(name: str, batch: int) -> Trio:
    rs = np.random.default_rng(0)
    shape = (batch, 784) if name == "mlp" else (batch, 28, 28, 1)
    x = rs.random(shape, dtype=np.float32)
    model = _mlp() if name == "mlp" else _cnn()
    model.eval()
    fast = nr.jit(model)
    xb = nr.tensor(x)

    def eager() -> object:
        with nr.no_grad():
            return model(xb)

    def jitted() -> object:
        return fast(xb)

    tm = _torch_model(name).eval()
    xt = torch.from_numpy(x if name == "mlp" else np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    def theirs() -> object:
        with torch.no_grad():
            return tm(xt)

    return eager, jitted, theirs


ROWS: dict[str, tuple[str, Callable[[], Trio], int]] = {
    # name: (title, make the three callables, calls per timed round)
    "mlp_b10_sgd": ("MLP 784-100-10, batch 10, training step (SGD)", lambda: training_row("mlp", 10, "sgd"), 400),
    "mlp_b10_adam": ("MLP 784-100-10, batch 10, training step (Adam)", lambda: training_row("mlp", 10, "adam"),
                     400),
    "mlp_b1_infer": ("MLP 784-100-10, batch 1, inference", lambda: inference_row("mlp", 1), 2000),
    "cnn_b128": ("reference CNN, batch 128, training step (Adam)", lambda: training_row("cnn", 128, "adam"), 3),
    "cnn_b1_infer": ("reference CNN, batch 1, inference", lambda: inference_row("cnn", 1), 200),
}


def time_row(trio: Trio, calls: int, rounds: int) -> list[float]:
    """Best CPU seconds per call of each of the three, alternating them within every round."""
    for fn in trio:  # warm up: traces the jit graphs, fills caches
        for _ in range(3):
            fn()
    best = [float("inf")] * 3
    for _ in range(rounds):
        for i, fn in enumerate(trio):
            start = time.process_time()
            for _ in range(calls):
                fn()
            best[i] = min(best[i], (time.process_time() - start) / calls)
    return best


def table(results: dict[str, list[float]], command: str) -> str:
    lines = [SECTION, "",
             f"Measured {time.strftime('%Y-%m-%d')} with `{command}`: one thread (neurona, BLAS, PyTorch), inside",
             "`nr.performance()`; eager, jit and PyTorch alternate within each round, and each figure is the best",
             "round's CPU time per call. jit = `nr.jit.train_step(model, F.cross_entropy, optimizer)` for training",
             "steps, `nr.jit(model)` for inference: the traced graph after all passes, replayed.", "",
             "| workload | eager | jit | PyTorch | jit / eager | target | jit / PyTorch | eager / PyTorch |",
             "|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for name, (eager, jitted, theirs) in results.items():
        title = ROWS[name][0]
        target = TARGETS.get(name)
        ratio = jitted / eager
        lines.append(f"| {title} | {eager * 1e6:.0f} us | {jitted * 1e6:.0f} us | {theirs * 1e6:.0f} us | "
                     f"**{ratio:.2f}** | {'<= ' + str(target) if target else '-'} | {jitted / theirs:.2f} | "
                     f"{eager / theirs:.2f} |")
        if target:
            verdicts.append(f"- {title}: jit / eager {ratio:.2f}, target <= {target}: "
                            + ("met" if ratio <= target else f"MISSED by {ratio / target - 1:.0%}"))
    return "\n".join(lines + [""] + verdicts) + "\n"


def write_section(text: str, path: Path = Path("docs/PERFORMANCE.md")) -> None:
    """Put ``text`` (a section starting with SECTION) into the report, replacing the old one, atomically."""
    old = path.read_text() if path.exists() else ""
    if SECTION in old:
        head, rest = old.split(SECTION, 1)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        new = head + text.rstrip("\n") + "\n" + tail
    else:
        new = old.rstrip("\n") + "\n\n" + text
    tmp = path.with_suffix(".tmp")
    tmp.write_text(new)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", help="comma-separated rows: " + ", ".join(ROWS))
    parser.add_argument("--write", action="store_true", help="write the table into --out")
    parser.add_argument("--out", default="docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(ROWS)
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    torch.set_num_threads(1)
    nr.backend.set_num_threads(1)
    shown = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--write"]
    command = "python -m benchmarks.jit_speed " + " ".join(shown)
    results = {}
    with nr.performance():
        for name in names:
            title, make, calls = ROWS[name]
            results[name] = time_row(make(), calls, args.rounds)
            e, j, t = results[name]
            print(f"{title:52s} eager {e * 1e6:9.1f} us  jit {j * 1e6:9.1f} us  torch {t * 1e6:9.1f} us  "
                  f"jit/eager {j / e:.2f}", flush=True)
    text = table(results, command.strip())
    if args.write:
        write_section(text, Path(args.out))
    return text


if __name__ == "__main__":
    print(main())
