"""The benchmark harness: its tiny smoke mode, and the pieces around the timing (speed is never asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
PEAK = {"gflops": 100.0, "env": {"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None},
        "blas": {"threadpoolctl": [{"internal_api": "openblas", "version": "0.3.31", "architecture": "SkylakeX",
                                    "num_threads": 2, "filepath": "libopenblas.so"}]}}


def _runs(seconds: float, samples: int, blas: dict | None = None) -> list[dict]:
    run = {"seconds": seconds, "samples": samples, "train_mb": 1.0}
    return [run | ({"blas": blas} if blas else {})]


def _row(text: str, title: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("| " + title))


def test_benchmark_harness_smoke(tmp_path):
    out = tmp_path / "PERFORMANCE.md"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--only", "mlp_b128,cnn_b128,cnn_infer,mlp_accuracy",
         "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    for title in ("MLP 784-100-10, Adam, batch 128", "reference CNN, Adam, batch 128", "reference CNN inference",
                  "MLP test accuracy after 5 epochs", "memory for training the CNN", "kernel "):
        assert title in text
    assert text.count("| **") == 3  # one ratio per timed workload


def test_report_scales_a_workload_timed_on_a_few_steps_to_an_epoch():
    """The ResNet row is timed on 60 steps; its title says "scaled to an epoch", so its times must be."""
    from benchmarks.run import report

    results = {"resnet20_b128": {"neurona": _runs(2.0, 7680), "torch": _runs(1.0, 7680)}}
    row = _row(report(results, PEAK, 1, False, "cmd", {}), "ResNet-20")
    assert "(timed on 7,680 samples) | 15.625 s | 7.812 s | **2.00** |" in row


def test_report_rows_for_the_lstm_the_encoder_decoder_and_adam_alone():
    from benchmarks.run import report

    results = {"lstm_b128": {"neurona": _runs(1.0, 7680), "torch": _runs(2.0, 7680)},
               "unet_b128": {"neurona": _runs(3.0, 3840), "torch": _runs(1.5, 3840)},
               "adam_1m": {"neurona": _runs(0.5, 100), "torch": _runs(0.25, 100)}}
    text = report(results, PEAK, 1, False, "cmd", {})
    assert "| 7.812 s | 15.625 s | **0.50** | <= 1.0 |" in _row(text, "LSTM 128 units")   # scaled to 60,000 samples
    assert "| 46.875 s | 23.438 s | **2.00** | <= 1.5 |" in _row(text, "U-Net-style")
    assert "| 0.500 s | 0.250 s | **2.00** | - | - |" in _row(text, "Adam's update alone")  # not scaled, no FLOPs
    assert "ratio 2.00, target <= 1.5: MISSED by 33%" in text


def test_report_records_the_blas_each_framework_ran_with():
    from benchmarks.run import report

    neurona = {"threadpoolctl": [{"internal_api": "openblas", "version": "0.3.31", "architecture": "Zen",
                                  "num_threads": 1, "filepath": "libscipy_openblas.so"}]}
    torch = {"threadpoolctl": [], "torch": {"blas": "mkl", "cpu_capability": "AVX512", "threads": 2}}
    results = {"mlp_b128": {"neurona": _runs(1.0, 60000, neurona), "torch": _runs(2.0, 60000, torch)}}
    text = report(results, PEAK, 1, False, "cmd", {})
    assert "Matrix-multiply peak worker (NumPy): openblas 0.3.31 (libopenblas.so), kernel SkylakeX, 2 threads" in text
    assert "neurona's workers" in text and "kernel Zen, 1 threads" in text
    assert "BLAS mkl, CPU capability AVX512, 2 intra-op threads" in text
    assert "OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE removed" in text


def test_worker_env_removes_only_the_machine_variables(monkeypatch):
    from benchmarks.run import worker_env

    given = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576", "OPENBLAS_NUM_THREADS": "2", "PATH": "/bin"}
    assert worker_env(given) == {"OPENBLAS_NUM_THREADS": "2", "PATH": "/bin"}
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    assert "OPENBLAS_CORETYPE" not in worker_env()
    assert os.environ["OPENBLAS_CORETYPE"] == "Haswell"  # this process (and the tests) keep theirs


def test_a_worker_runs_without_the_machine_variables_and_reports_its_blas(monkeypatch):
    from benchmarks.run import run_worker

    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("OPENBLAS_L2_SIZE", "1048576")
    result = run_worker("neurona", "adam_1m", smoke=True, seed=0)
    assert result["env"] == {"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None}
    assert result["samples"] == 2 and result["seconds"] > 0
    blas = [lib for lib in result["blas"]["threadpoolctl"] if lib["internal_api"] in ("openblas", "mkl")]
    assert blas and all(isinstance(lib["num_threads"], int) and lib["architecture"] for lib in blas)


def test_profiles_print_paths_relative_to_the_repository():
    from benchmarks.worker import ROOT as WORKER_ROOT
    from benchmarks.worker import relative_paths

    line = f"   10    0.5    0.05  {WORKER_ROOT}/neurona/functional/conv.py:300(forward)"
    assert relative_paths(line) == "   10    0.5    0.05  neurona/functional/conv.py:300(forward)"
    import sysconfig

    numpy_line = f"  {sysconfig.get_paths()['purelib']}/numpy/lib/_stride_tricks_impl.py:37(as_strided)"
    assert relative_paths(numpy_line) == "  numpy/lib/_stride_tricks_impl.py:37(as_strided)"
    assert WORKER_ROOT == ROOT.resolve()


def _report_only(tmp_path, *saved: dict) -> str:
    files = []
    for k, run in enumerate(saved):
        files.append(tmp_path / f"r{k}.json")
        files[-1].write_text(json.dumps(run))
    out = tmp_path / "P.md"
    result = subprocess.run([sys.executable, "-m", "benchmarks.run", "--report-only", ",".join(map(str, files)),
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return out.read_text()


def test_report_only_rewrites_the_report_from_saved_results(tmp_path):
    saved = {"peak": PEAK, "command": "python -m benchmarks.run --reps 2", "reps": 2, "smoke": False,
             "results": {"mlp_b10": {"neurona": _runs(3.0, 60000), "torch": _runs(12.0, 60000)}}}
    other = {"peak": PEAK, "command": "python -m benchmarks.run --reps 3 --only mlp_b10,mlp_b128", "reps": 3,
             "smoke": False, "results": {"mlp_b10": {"neurona": _runs(1.0, 60000), "torch": _runs(1.0, 60000)},
                                         "mlp_b128": {"neurona": _runs(1.0, 60000), "torch": _runs(4.0, 60000)}}}
    text = _report_only(tmp_path, saved, other)
    assert ("Command: `python -m benchmarks.run --reps 2` and `python -m benchmarks.run --reps 3 --only "
            "mlp_b10,mlp_b128` (report written from the --save files, each row from one run)") in text
    assert "median of 2 or 3 runs" in text
    assert "| 3.000 s | 12.000 s | **0.25** | <= 0.35 |" in _row(text, "MLP 784-100-10, Adam, batch 10")  # the first's
    assert "| 1.000 s | 4.000 s | **0.25** | <= 0.5 |" in _row(text, "MLP 784-100-10, Adam, batch 128")
    text = _report_only(tmp_path, saved)
    assert "Command: `python -m benchmarks.run --reps 2` (report written from the --save file)" in text
    assert "| 3.000 s | 12.000 s | **0.25** | <= 0.35 |" in _row(text, "MLP 784-100-10, Adam, batch 10")
