"""``torchvision.datasets``-style image datasets reading the IDX files through ``nr.data``.

Images are uint8 (28, 28) samples; with ``transform=ToTensor()`` a sample becomes a
float32 Tensor (28, 28, 1), channels-last as everywhere in neurona (torchvision gives (1, 28, 28)).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..data.datasets import DATASETS, find_dataset, load_idx_dataset
from ..data.loader import Dataset, collate
from ..data.transforms import as_array, batchable


class ImageDataset(Dataset):
    """Images (N, H, W) or (N, H, W, C) with integer labels as a Dataset of ``(transform(image), label)``.

    Fetching a batch transforms it at once when the transform allows it (``ToTensor``,
    ``Normalize``, ``Rescale`` and ``Compose`` of them), else image by image.
    """

    def __init__(self, data: np.ndarray, targets: np.ndarray, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None, classes: list[str] | None = None) -> None:
        if len(data) != len(targets):
            raise ValueError(f"{type(self).__name__}: images and labels differ in number. "
                             f"Received: {len(data)} images, {len(targets)} labels")
        for name, f in (("transform", transform), ("target_transform", target_transform)):
            if f is not None and not callable(f):
                raise TypeError(f"{type(self).__name__}: {name} must be callable. Received: {type(f).__name__}")
        self.data, self.targets = data, targets
        self.transform, self.target_transform = transform, target_transform
        self.classes = list(classes) if classes is not None else [str(c) for c in range(int(targets.max()) + 1)]

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: Any) -> tuple[Any, Any]:
        index = int(as_array(index)) if isinstance(index, Tensor) else int(index)
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
            img = Tensor(img) if hasattr(img, "shape") and not isinstance(img, Tensor) else img
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def get_batch(self, indices: np.ndarray) -> tuple[Any, Any]:
        if not batchable(self.transform):
            return collate([self[int(i)] for i in indices])
        imgs = self.data[indices]
        if self.transform is None:
            x = Tensor(imgs, dtype=imgs.dtype)
        else:
            x = self.transform(imgs[..., None] if imgs.ndim == 3 else imgs)  # a batch of HWC images
            x = x if isinstance(x, Tensor) else Tensor(x)
        if self.target_transform is None:
            y = Tensor(self.targets[indices], dtype=np.int64)
        else:
            y = collate([self.target_transform(int(t)) for t in self.targets[indices]])
        return x, y

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} samples, transform={self.transform!r})"


class _IDXImages(ImageDataset):
    """An IDX dataset by name, looked for in ``root`` first, then in neurona's data folders."""

    _name = ""

    def __init__(self, root: str | os.PathLike = "data", train: bool = True,
                 transform: Callable[[Any], Any] | None = None, target_transform: Callable[[Any], Any] | None = None,
                 download: bool = False) -> None:
        self.root, self.train = root, bool(train)
        path = _in_root(self._name, Path(os.path.expanduser(root)), type(self).__name__)
        train_split, test_split = load_idx_dataset(self._name, path, download=download)
        data, targets = train_split if self.train else test_split
        super().__init__(data, targets, transform, target_transform, classes=DATASETS[self._name].classes)


def _in_root(name: str, root: Path, title: str) -> Path | None:
    """The folder under ``root`` holding the files (also torchvision's ``<root>/<Title>/raw``), or None."""
    for folder in (root, root / title / "raw", root / title):
        if find_dataset(name, folder) is not None:
            return folder
    return None


class FashionMNIST(_IDXImages):
    """Fashion-MNIST (``torchvision.datasets.FashionMNIST``): 60000 training / 10000 test images (28, 28).

    ``root``: a folder holding the four IDX files (or torchvision's ``root/FashionMNIST/raw``);
    when they are not there, neurona's data folders are searched, and with ``download=True``
    the files are downloaded into neurona's cache. ``train`` picks the split.
    ``data`` (uint8 (N, 28, 28)), ``targets`` (int64 (N,)) and ``classes`` as torchvision.
    """

    _name = "fashion-mnist"


class MNIST(_IDXImages):
    """MNIST digits (``torchvision.datasets.MNIST``): arguments and attributes as ``FashionMNIST``."""

    _name = "mnist"
