"""benchmarks/zoo_fashion.py on a small IDX dataset written here: --dataset/--data-dir, baselines, a row."""

from pathlib import Path

import numpy as np
import pytest

from benchmarks import zoo_fashion
from neurona.data import DatasetNotFoundError
from neurona.data.idx import write_idx


def brightness_dataset(folder: Path, n_train: int = 200, n_test: int = 50) -> Path:
    """MNIST-named IDX files whose class k is an image of constant brightness 20k (plus a little noise):
    the nearest-mean-darkness baseline gets every test image right."""
    r = np.random.default_rng(0)

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        y = r.integers(0, 10, n).astype(np.uint8)
        x = (20 * y[:, None, None] + r.integers(0, 3, (n, 28, 28))).astype(np.uint8)
        return x, y

    folder.mkdir(parents=True, exist_ok=True)
    (x, y), (xt, yt) = split(n_train), split(n_test)
    for name, a in {"train-images-idx3-ubyte": x, "train-labels-idx1-ubyte": y,
                    "t10k-images-idx3-ubyte": xt, "t10k-labels-idx1-ubyte": yt}.items():
        write_idx(folder / name, a)
    return folder


def test_darkness_baseline_reads_the_dataset_named(tmp_path, capsys):
    data = brightness_dataset(tmp_path / "digits")
    zoo_fashion.main(["--model", "darkness", "--dataset", "mnist", "--data-dir", str(data)])
    row = capsys.readouterr().out.splitlines()[0]
    assert row.startswith("| darkness on mnist |")
    assert "| 1.0000 |" in row  # class k is brightness 20k: the darkness guess is always right


def test_a_missing_dataset_folder_is_named(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="empty"):
        zoo_fashion.main(["--model", "random", "--dataset", "mnist", "--data-dir", str(tmp_path / "empty")])


def test_a_network_row_on_mnist_files(tmp_path, capsys):
    data = brightness_dataset(tmp_path / "digits")
    zoo_fashion.main(["--model", "mlp", "--hidden", "32", "--epochs", "2", "--dataset", "mnist",
                      "--data-dir", str(data)])
    out = capsys.readouterr().out
    assert out.count("test accuracy") == 2  # one line per epoch
    row = next(line for line in out.splitlines() if line.startswith("| mlp on mnist (32) |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "2"  # epochs
    assert 0.0 <= float(cells[4]) <= 1.0
