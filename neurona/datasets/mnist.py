"""``keras.datasets.mnist``: ``load_data()`` over ``nr.data.load_mnist``."""

from __future__ import annotations

import os

from ..data.datasets import load_mnist


def load_data(path: str | os.PathLike | None = None) -> tuple:
    """MNIST as ``(x_train, y_train), (x_test, y_test)``: uint8 (N, 28, 28), int labels (N,).

    ``path``: a folder holding the four IDX files (unlike Keras's ``mnist.npz`` file name);
    else neurona's data folders are searched, then the files downloaded (see ``nr.data.load_mnist``).
    """
    return load_mnist(path)
