"""Run the benchmark suite and write docs/PERFORMANCE.md.

    .venv/bin/python -m benchmarks.run                      # everything, 3 alternating repetitions (about 15 min)
    .venv/bin/python -m benchmarks.run --only cnn_b128 --reps 5
    .venv/bin/python -m benchmarks.run --smoke --out /tmp/p.md   # tiny data: checks that the harness works

Each (workload, framework) run is a fresh process; neurona and PyTorch alternate, and
the median of the repetitions is reported, as the ratio neurona / PyTorch (lower is
better), beside the fraction of the machine's float32 matrix-multiply peak (measured
with NumPy in the same run) and the peak memory of each process.

The worker processes run as on a user's machine: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE,
which build machines set to pin OpenBLAS to an older CPU's kernel, are removed from
their environment (this process and the tests keep theirs). The report records the CPU
and, for NumPy and PyTorch, the BLAS library, kernel and threads each worker ran with.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .worker import MACHINE_VARIABLES
from .workloads import EPOCH, WORKLOADS

# Issue 11's targets for the ratio neurona / PyTorch (ResNet-20 also: training memory <= PyTorch's).
TARGETS = {"cnn_b128": 0.8, "lenet5_b128": 1.0, "resnet20_b128": 1.2, "lstm_b128": 1.0, "unet_b128": 1.5,
           "mlp_b128": 0.5, "mlp_b10": 0.35, "mlp_infer": 0.6, "cnn_infer": 0.3}
MEMORY_TARGETS = ("resnet20_b128", "cnn_b128")  # neurona's training memory <= PyTorch's
AUGMENT_BUDGET = 1.2  # augmentation may add at most 20% to the CNN's epoch time
ACCURACY_GAP = 0.5  # points of test accuracy


def worker_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a worker process: this one's, less OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE."""
    env = dict(os.environ if environ is None else environ)
    for var in MACHINE_VARIABLES:
        env.pop(var, None)
    return env


def _worker(args: list[str], what: str) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.worker", *args]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=3600,
                         env=worker_env())
    if out.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def matmul_peak() -> dict:
    """NumPy's float32 GFLOP/s on a 2048x2048 product in a worker process, with its BLAS (see worker.peak)."""
    return _worker(["peak"], "the matrix-multiply peak")


def run_worker(framework: str, workload: str, smoke: bool, seed: int, profile: bool = False) -> dict:
    args = [framework, workload, "--seed", str(seed)]
    args += ["--smoke"] if smoke else []
    args += ["--profile"] if profile else []
    args += ["--numpy-first"] if WORKLOADS[workload].numpy_first and framework == "neurona" else []
    return _worker(args, f"{framework} {workload}")


def measure(names: list[str], reps: int, smoke: bool, save: Path | None = None,
            meta: dict | None = None) -> dict[str, dict[str, list[dict]]]:
    """Every workload's runs; with ``save``, the results so far are written there (JSON) after each workload."""
    results: dict[str, dict[str, list[dict]]] = {}
    for name in names:
        w = WORKLOADS[name]
        frameworks = ["neurona"] if w.augment else ["neurona", "torch"]
        runs: dict[str, list[dict]] = {f: [] for f in frameworks}
        for rep in range(reps):
            order = frameworks if rep % 2 == 0 else frameworks[::-1]  # alternate who goes first
            for f in order:
                seed = rep if w.kind == "accuracy" else 0
                runs[f].append(run_worker(f, name, smoke, seed))
        results[name] = runs
        if save is not None:
            save.write_text(json.dumps({**(meta or {}), "reps": reps, "smoke": smoke, "results": results}))
        print(f"{name}: " + ", ".join(f"{f} {statistics.median(r['seconds'] for r in rs):.3f} s"
                                      for f, rs in runs.items()), flush=True)
    return results


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import numpy as np
    import torch

    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, NumPy {np.__version__}, "
            f"PyTorch {torch.__version__} (2 threads each)")


def _blas_lines(results: dict, peak: dict) -> list[str]:
    """How each framework's workers ran their matrix products, from the first run that reported it."""
    def libs(info: dict) -> str:
        found = [f"{lib['internal_api']} {lib['version']} ({lib['filepath']}), kernel {lib['architecture']}, "
                 f"{lib['num_threads']} threads" for lib in info.get("threadpoolctl", []) if lib.get("internal_api")
                 in ("openblas", "mkl", "blis")]
        return "; ".join(found) or "no BLAS library found by threadpoolctl"

    first = {}
    for runs in results.values():
        for framework, rs in runs.items():
            if rs and "blas" in rs[0]:
                first.setdefault(framework, rs[0])
    lines = ["", "## How the matrix products ran (threadpoolctl, in the worker processes)", ""]
    env = peak.get("env", {})
    parent = ", ".join(f"{v}={os.environ[v]}" for v in MACHINE_VARIABLES if v in os.environ) or "neither set"
    lines.append(f"- Worker environment: {', '.join(MACHINE_VARIABLES)} removed "
                 f"(in the workers: {', '.join(f'{k}={v}' for k, v in env.items())}; in the harness: {parent}).")
    lines.append(f"- Matrix-multiply peak worker (NumPy): {libs(peak.get('blas', {}))}.")
    if "neurona" in first:
        lines.append(f"- neurona's workers (NumPy, inside `neurona.performance()`, as in fit/predict): "
                     f"{libs(first['neurona']['blas'])}.")
    if "torch" in first:
        info = first["torch"]["blas"]
        t = info.get("torch", {})
        lines.append(f"- PyTorch's workers: its build's BLAS {t.get('blas', '?')}, CPU capability "
                     f"{t.get('cpu_capability', '?')}, {t.get('threads', '?')} intra-op threads; threadpoolctl sees: "
                     f"{libs(info)}.")
    return lines


def report(results: dict, peak: dict, reps: int, smoke: bool, command: str, profiles: dict[str, str],
           notes: str = "") -> str:
    peak_gflops = peak["gflops"]
    lines = [
        "# Performance: neurona against PyTorch on the CPU",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {_machine()}.",
        f"Command: {command}" + (" (smoke mode: tiny data, numbers meaningless)" if smoke else ""),
        f"Each figure is the median of {reps} runs, each in a fresh process; neurona and PyTorch alternate.",
        "Within a run, the short workloads (the MLPs, inference) time several epochs or passes and take",
        "their median (the `repeats` of each workload in benchmarks/workloads.py).",
        f"NumPy float32 matrix-multiply peak in this run: {peak_gflops:.0f} GFLOP/s.",
        "",
        "Ratio = neurona time / PyTorch time (lower is better). Training workloads time one epoch of",
        "60,000 Fashion-MNIST images with Adam (lr 1e-3); neurona trains with `model.fit`, PyTorch with its usual",
        "loop. \"% of peak\" counts the network's multiply-adds (training: 3x the forward pass) per second.",
        "The Adam row times the optimizer's update alone (fixed gradients), no model; the LSTM, U-Net and",
        "ResNet rows time a few dozen steps and scale them to an epoch.",
        "\"Memory for training\" is the peak rise of the process's resident memory above its level once the data",
        "is loaded (Linux's exact peak, reset after loading): model, activations, gradients, optimizer state and",
        "allocator caches.",
        "",
        "This machine is shared and its speed drifts: on 2026-11-23 the same PyTorch reference-CNN epoch",
        "measured 19.0 s, 14.5 s, 13.7 s and 11.8 s in four runs of this harness.",
        "Compare ratios within one run, and repeat before drawing conclusions from a difference under 30%.",
        "",
        "| workload | neurona | PyTorch | ratio | target | % of peak (neurona / PyTorch) "
        "| memory for training (neurona / PyTorch) |",
        "|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for name, runs in results.items():
        w = WORKLOADS[name]
        if w.kind == "accuracy" or w.augment:
            continue
        ours, theirs = _median(runs["neurona"], "seconds"), _median(runs["torch"], "seconds")
        samples = runs["neurona"][0]["samples"]
        epoch_note = ""
        if w.steps:  # timed on a few steps: scale to an epoch
            epoch_note = f" (timed on {samples:,} samples)"
            ours, theirs, samples = ours * EPOCH / samples, theirs * EPOCH / samples, EPOCH
        scale = 1 if w.kind == "infer" else 3
        pct = [100 * w.flops_per_sample * scale * samples / t / 1e9 / peak_gflops for t in (ours, theirs)]
        pct_text = f"{pct[0]:.0f}% / {pct[1]:.0f}%" if w.flops_per_sample else "-"
        unit = "s"
        ratio = ours / theirs
        target = TARGETS.get(name)
        mem = (_median(runs["neurona"], "train_mb"), _median(runs["torch"], "train_mb"))
        lines.append(f"| {w.title}{epoch_note} | {ours:.3f} {unit} | {theirs:.3f} {unit} | **{ratio:.2f}** | "
                     f"{'<= ' + str(target) if target else '-'} | {pct_text} | "
                     f"{mem[0]:.0f} / {mem[1]:.0f} MB |")
        if target:
            verdicts.append(f"- {w.title}: ratio {ratio:.2f}, target <= {target}: "
                            f"{'met' if ratio <= target else f'MISSED by {ratio / target - 1:.0%}'}")
        if name in MEMORY_TARGETS:
            what = "the CNN" if name == "cnn_b128" else w.title.split(",")[0]
            verdicts.append(f"- memory for training {what}: neurona {mem[0]:.0f} MB, PyTorch {mem[1]:.0f} MB: "
                            + ("met" if mem[0] <= mem[1] else f"MISSED by {mem[0] / mem[1] - 1:.0%}"))
    if "cnn_aug_b128" in results and "cnn_b128" in results:
        aug = _median(results["cnn_aug_b128"]["neurona"], "seconds")
        plain = _median(results["cnn_b128"]["neurona"], "seconds")
        verdicts.append(f"- augmentation (flip, rotation, translation, zoom) on the reference CNN: {aug:.2f} s against "
                        f"{plain:.2f} s per epoch, x{aug / plain:.2f}, budget x{AUGMENT_BUDGET}: "
                        f"{'met' if aug / plain <= AUGMENT_BUDGET else 'MISSED'}")
    lines += _blas_lines(results, peak)
    lines += ["", "## Targets", ""] + verdicts
    accuracy = [(n, r) for n, r in results.items() if WORKLOADS[n].kind == "accuracy"]
    if accuracy:
        lines += ["", "## Accuracy parity (same model, data, optimizer and epochs; mean over seeds 0..reps-1)", "",
                  "| workload | neurona | PyTorch | difference (points) |", "|---|---|---|---|"]
        for name, runs in accuracy:
            ours = 100 * statistics.mean(r["accuracy"] for r in runs["neurona"])
            theirs = 100 * statistics.mean(r["accuracy"] for r in runs["torch"])
            ok = "within" if abs(ours - theirs) <= ACCURACY_GAP else "NOT within"
            lines.append(f"| {WORKLOADS[name].title} | {ours:.2f}% | {theirs:.2f}% | {ours - theirs:+.2f} "
                         f"({ok} {ACCURACY_GAP}) |")
    if notes:
        lines += ["", notes.strip()]
    lines += ["", "## GPU", "",
              "Unmeasured: no NVIDIA GPU was available to this run (the CuPy backend and PyTorch CUDA rows are empty)."]
    if profiles:
        lines += ["", "## Where the time goes (cProfile of neurona, top functions by own time)", ""]
        for name, text in profiles.items():
            lines += [f"### {WORKLOADS[name].title}", "", "```", text.rstrip(), "```", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated workloads (default: all): " + ", ".join(WORKLOADS))
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="tiny data, one repetition: checks the harness")
    parser.add_argument("--out", default="docs/PERFORMANCE.md")
    parser.add_argument("--profile", action="store_true", help="profile neurona on workloads that miss their target")
    parser.add_argument("--notes", help="a Markdown file whose text goes into the report after the targets")
    parser.add_argument("--save", help="write the raw results (JSON) here after each workload")
    parser.add_argument("--report-only", help="write the report from results saved with --save (comma-separated "
                                              "files: each row from the first that has it); measure nothing")
    parser.add_argument("--jit", action="store_true", help="only the execution-graph rows (benchmarks/jit_speed.py: "
                                                           "eager vs jit vs PyTorch) into their section of --out")
    args = parser.parse_args()
    if args.jit:  # a separate process: jit_speed sets its BLAS variables before NumPy loads
        subprocess.run([sys.executable, "-m", "benchmarks.jit_speed", "--write", "--out", args.out], check=True,
                       cwd=Path(__file__).parent.parent, env=worker_env())
        return
    names = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    if args.report_only:
        saved = [json.loads(Path(f).read_text()) for f in args.report_only.split(",")]
        results: dict = {}
        for run in saved:  # rows of several runs: each row from the first file that has it
            results.update({k: v for k, v in run["results"].items() if k not in results})
        reps = " or ".join(sorted({str(run["reps"]) for run in saved}))
        command = " and ".join(f"`{run.get('command', 'python -m benchmarks.run')}`" for run in saved)
        command += " (report written from the --save file" + ("s, each row from one run)" if len(saved) > 1 else ")")
        notes = Path(args.notes).read_text() if args.notes else ""
        _write(Path(args.out), report(results, saved[0]["peak"], reps, saved[0]["smoke"], command, {}, notes))
        return
    reps = 1 if args.smoke else args.reps
    command = ("python -m benchmarks.run " + " ".join(sys.argv[1:])).strip()
    peak = matmul_peak()
    results = measure(names, reps, args.smoke, Path(args.save) if args.save else None,
                      {"peak": peak, "command": command})
    profiles = {}
    if args.profile:
        for name in names:
            runs = results[name]
            target = TARGETS.get(name)
            if target and "torch" in runs and _median(runs["neurona"], "seconds") / \
                    _median(runs["torch"], "seconds") > target:
                profiles[name] = run_worker("neurona", name, args.smoke, 0, profile=True)["profile"]
    notes = Path(args.notes).read_text() if args.notes else ""
    _write(Path(args.out), report(results, peak, reps, args.smoke, f"`{command}`", profiles, notes))


def _write(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    jit_section = "## Execution graphs (jit)"  # written by --jit (benchmarks/jit_speed.py): kept across rewrites
    old = out.read_text() if out.exists() else ""
    if jit_section in old and jit_section not in text:
        kept = old.split(jit_section, 1)[1]
        kept = kept[:kept.find("\n## ")] if "\n## " in kept else kept
        text = text.rstrip("\n") + "\n\n" + jit_section + kept.rstrip("\n") + "\n"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
