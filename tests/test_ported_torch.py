"""The PyTorch-style scripts under examples/ported/pytorch_*.py run, shortened (NEURONA_PORT_QUICK=1), and learn.

They read the real Fashion-MNIST IDX files (a subset of them in quick mode); ``datasets.FashionMNIST``
is wrapped to record how the scripts call it (torchvision's signature).
"""

import math
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

import neurona as nr

PORTED = Path(__file__).resolve().parents[1] / "examples" / "ported"
pytestmark = pytest.mark.skipif(nr.data.find_dataset("fashion-mnist") is None,
                                reason="Fashion-MNIST IDX files not installed")


@pytest.fixture
def calls(monkeypatch):
    """Record the arguments of every ``datasets.FashionMNIST(...)`` the scripts make."""
    seen = []

    class RecordingFashionMNIST(nr.datasets.FashionMNIST):
        def __init__(self, root="data", train=True, transform=None, target_transform=None, download=False):
            seen.append({"root": root, "train": train, "download": download})
            super().__init__(root, train, transform, target_transform, download)

    monkeypatch.setattr(nr.datasets, "FashionMNIST", RecordingFashionMNIST)
    return seen


def _run(script, monkeypatch, tmp_path, argv=()):
    monkeypatch.setenv("NEURONA_PORT_QUICK", "1")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [script, *argv])
    nr.manual_seed(0)
    return runpy.run_path(str(PORTED / script), run_name="__main__")


def test_pytorch_mnist_example(calls, monkeypatch, tmp_path, capsys):
    g = _run("pytorch_mnist.py", monkeypatch, tmp_path, ["--save-model"])
    out = capsys.readouterr().out
    assert [c["train"] for c in calls] == [True, False]
    losses = [float(v) for v in re.findall(r"step \d+/\d+  loss (\S+)", out)]
    assert len(losses) == 1 and math.isfinite(losses[0]), out  # step 0 of 4 (a line every 20 steps)
    correct = int(re.search(r"correct (\d+)/200", out).group(1))
    assert correct > 40, out  # chance is 20/200; one seeded epoch on 256 images gets ~70
    state = nr.load(tmp_path / "fashion_convnet.pt")
    assert state["conv1.kernel"].shape == (3, 3, 1, 16) and state["fc1.kernel"].shape == (4608, 64)
    # the saved weights, loaded into a fresh model, score what the script printed
    model = g["SmallConvNet"]()
    model.load_state_dict(state)
    model.to("cpu")  # built on the default device, which --device strict makes the stand-in GPU
    prepare = nr.data.transforms.Compose([nr.data.transforms.ToTensor(),
                                          nr.data.transforms.Normalize((0.2860,), (0.3530,))])
    test_set = nr.utils.data.Subset(nr.datasets.FashionMNIST("data", train=False, transform=prepare), range(200))
    assert g["evaluate"](model, "cpu", nr.utils.data.DataLoader(test_set, batch_size=1000)) == correct


def test_pytorch_quickstart_tutorial(calls, monkeypatch, tmp_path, capsys):
    ns = _run("pytorch_quickstart_tutorial.py", monkeypatch, tmp_path)
    out = capsys.readouterr().out
    assert calls[0] == {"root": "data", "train": True, "download": True}
    assert "one batch: images (64, 28, 28, 1)" in out
    losses = [float(v) for v in re.findall(r"mean loss (\S+)", out)]
    accuracies = [float(v) for v in re.findall(r"accuracy (\S+)%", out)]
    assert len(losses) == 5 and losses[-1] < losses[0], out  # the test loss falls over five epochs
    assert accuracies[-1] > 30, out  # chance is 10%
    assert (tmp_path / "quickstart_model.pth").is_file()
    x = next(iter(nr.utils.data.DataLoader(ns["test_set"], batch_size=16)))[0]
    with nr.no_grad():
        np.testing.assert_array_equal(ns["reloaded"](x).numpy(), ns["model"](x).numpy())
    assert ns["actual"] == "Ankle boot" and ns["predicted"] in ns["classes"]
    assert f"predicted {ns['predicted']!r}, actually 'Ankle boot'" in out


def test_pytorch_optimization_tutorial(calls, monkeypatch, tmp_path, capsys):
    ns = _run("pytorch_optimization_tutorial.py", monkeypatch, tmp_path)
    out = capsys.readouterr().out
    results = ns["results"]
    assert set(results) == {0.0, 0.9} and all(len(r) == 3 for r in results.values())
    for per_epoch in results.values():
        train_losses = [r[0] for r in per_epoch]
        assert all(math.isfinite(v) for v in train_losses) and train_losses[-1] < train_losses[0], out
    rows = re.findall(r"^\s+\d+\s+(\S+)\s+(\S+)\s+(\S+)%$", out, flags=re.M)
    assert len(rows) == 6
    # momentum 0.9 gets further than plain SGD in the same three epochs at the same learning rate
    assert results[0.9][-1][1] < results[0.0][-1][1], out
    assert results[0.9][-1][2] > 0.3
