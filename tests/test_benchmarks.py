"""The benchmark harness in its tiny smoke mode, so the script keeps working (speed is never asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_benchmark_harness_smoke(tmp_path):
    out = tmp_path / "PERFORMANCE.md"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--only", "mlp_b128,cnn_b128,cnn_infer,mlp_accuracy",
         "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    text = out.read_text()
    for title in ("MLP 784-100-10, Adam, batch 128", "reference CNN, Adam, batch 128", "reference CNN inference",
                  "MLP test accuracy after 5 epochs", "memory for training the CNN"):
        assert title in text
    assert text.count("| **") == 3  # one ratio per timed workload


def test_report_scales_a_workload_timed_on_a_few_steps_to_an_epoch():
    """The ResNet row is timed on 60 steps; its title says "scaled to an epoch", so its times must be."""
    from benchmarks.run import report

    results = {"resnet20_b128": {"neurona": [{"seconds": 2.0, "samples": 7680, "train_mb": 1.0}],
                                 "torch": [{"seconds": 1.0, "samples": 7680, "train_mb": 1.0}]}}
    row = next(line for line in report(results, 100.0, 1, False, "cmd", {}).splitlines() if "ResNet-20" in line)
    assert "(timed on 7,680 samples) | 15.625 s | 7.812 s | **2.00** |" in row
