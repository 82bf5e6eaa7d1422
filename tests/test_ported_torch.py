"""The PyTorch example scripts ported to neurona (examples/ported/pytorch_*.py) run, shortened.

Shortened without editing the scripts: ``nr.datasets.FashionMNIST`` is replaced by a subclass
that serves the first few hundred images (read once from the real IDX files), and the mnist
example gets ``--epochs 1`` on its command line. Each run must learn: accuracy above chance.
"""

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


@pytest.fixture(scope="module")
def fashion():
    return nr.data.load_fashion_mnist(download=False)


@pytest.fixture
def small_fashion_mnist(fashion, monkeypatch):
    """Make ``datasets.FashionMNIST(...)`` serve n_train / n_test images; record how it was called."""
    calls = []
    sizes = {"train": 1024, "test": 500}

    class SmallFashionMNIST(nr.datasets.FashionMNIST):
        def __init__(self, root="data", train=True, transform=None, target_transform=None, download=False):
            calls.append({"root": root, "train": train, "download": download})
            (xt, yt), (xv, yv) = fashion
            x, y = (xt, yt) if train else (xv, yv)
            n = sizes["train" if train else "test"]
            self.root, self.train = root, train
            nr.datasets.ImageDataset.__init__(self, x[:n], y[:n], transform, target_transform,
                                              classes=nr.data.FASHION_MNIST_CLASSES)

    monkeypatch.setattr(nr.datasets, "FashionMNIST", SmallFashionMNIST)
    return calls, sizes


def _run(script, monkeypatch, tmp_path, argv=()):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [script, *argv])
    nr.manual_seed(0)
    return runpy.run_path(str(PORTED / script), run_name="__main__")


def test_pytorch_mnist_example(small_fashion_mnist, monkeypatch, tmp_path, capsys):
    calls, sizes = small_fashion_mnist
    sizes["train"], sizes["test"] = 256, 200
    _run("pytorch_mnist.py", monkeypatch, tmp_path, ["--epochs", "1", "--save-model"])
    out = capsys.readouterr().out
    assert [c["train"] for c in calls] == [True, False]
    losses = [float(v) for v in re.findall(r"Loss: ([0-9.]+)", out)]
    assert len(losses) == 1 and all(np.isfinite(losses))  # batch 0 of 4 (log interval 10)
    correct = int(re.search(r"Accuracy: (\d+)/200", out).group(1))
    assert correct > 60, out  # well above chance (20/200) after 256 images
    state = nr.load(tmp_path / "mnist_cnn.pt")
    assert state["conv1.kernel"].shape == (3, 3, 1, 32) and state["fc1.kernel"].shape == (9216, 128)


def test_pytorch_quickstart_tutorial(small_fashion_mnist, monkeypatch, tmp_path, capsys):
    calls, _ = small_fashion_mnist
    ns = _run("pytorch_quickstart_tutorial.py", monkeypatch, tmp_path)
    out = capsys.readouterr().out
    assert calls[0] == {"root": "data", "train": True, "download": True}
    assert "Shape of X [N, C, H, W]: (64, 28, 28, 1)" in out
    losses = [float(v) for v in re.findall(r"Avg loss: ([0-9.]+)", out)]
    # SGD(lr=1e-3) for 5 x 16 steps moves slowly (as in PyTorch): the test loss must fall every epoch
    assert len(losses) == 5 and all(b < a for a, b in zip(losses, losses[1:])), out
    assert (tmp_path / "model.pth").is_file()
    assert re.search(r'Predicted: "[^"]+", Actual: "Ankle boot"', out)
    assert ns["predicted"] in ns["classes"]


def test_pytorch_optimization_tutorial(small_fashion_mnist, monkeypatch, tmp_path, capsys):
    calls, sizes = small_fashion_mnist
    sizes["train"] = 640
    _run("pytorch_optimization_tutorial.py", monkeypatch, tmp_path)
    out = capsys.readouterr().out
    losses = [float(v) for v in re.findall(r"Avg loss: ([0-9.]+)", out)]
    assert len(losses) == 10 and losses[-1] < losses[0], out  # 10 epochs, the test loss falls
