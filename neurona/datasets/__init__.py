"""Datasets by name, as ``torchvision.datasets`` and ``keras.datasets`` spell them.

PyTorch style, a ``Dataset`` of (image, label) samples for a ``DataLoader``::

    from neurona import datasets
    from neurona.data.transforms import ToTensor
    training_data = datasets.FashionMNIST(root="data", train=True, download=True, transform=ToTensor())

Keras style, arrays (the same as ``nr.data.load_fashion_mnist()``)::

    (x_train, y_train), (x_test, y_test) = nr.datasets.fashion_mnist.load_data()
"""

from . import fashion_mnist, mnist
from .vision import MNIST, FashionMNIST, ImageDataset

__all__ = ["FashionMNIST", "ImageDataset", "MNIST", "fashion_mnist", "mnist"]
