"""``DataLoader``: mini-batches for a PyTorch-style training loop, over arrays or a ``Dataset``.

>>> loader = DataLoader(x_train, y_train, batch_size=128, shuffle=True)
>>> for epoch in range(5):
...     for xb, yb in loader:
...         opt.zero_grad(); loss = F.cross_entropy(model(xb), yb); loss.backward(); opt.step()

PyTorch's spelling works too (``torch.utils.data``): batches are then Tensors ready for ``.to(device)``.

>>> loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
>>> for X, y in loader: ...
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from .transforms import as_array


class Dataset:
    """A map-style dataset (``torch.utils.data.Dataset``): subclass it and define ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns one sample, usually a tuple ``(x, y)``. ``get_batch(indices)``
    returns a whole batch, collated: override it with a vectorised version when you can
    (``TensorDataset`` and the image datasets do); the default stacks ``self[i]`` for each index.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def get_batch(self, indices: np.ndarray) -> Any:
        """The samples at ``indices`` collated into one batch (see ``collate``)."""
        return collate([self[int(i)] for i in indices])


def collate(samples: list) -> Any:
    """Stack a list of samples into a batch: tuples field by field; arrays, Tensors and numbers into Tensors.

    A field keeps its dtype (Python ints become int64, floats the default float dtype).
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(collate([s[k] for s in samples]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: collate([s[k] for s in samples]) for k in first}
    if isinstance(first, Tensor):
        xp = backend.get_array_module(first.data)
        data = xp.stack([s.data for s in samples])
        return Tensor(data, dtype=data.dtype)
    if isinstance(first, (bool, int, np.integer)):
        return Tensor(np.asarray(samples, dtype=np.int64), dtype=np.int64)
    if isinstance(first, (float, np.floating)):
        return Tensor(np.asarray(samples, dtype=np.float64))
    if hasattr(first, "shape"):
        xp = backend.get_array_module(first)
        data = xp.stack(samples)
        return Tensor(data, dtype=data.dtype)
    raise TypeError(f"collate: expected samples of arrays, Tensors, numbers, or tuples/dicts of them. "
                    f"Received: {type(first).__name__}")


def _array(a: Any) -> Any:
    a = a.data if isinstance(a, Tensor) else a
    return a if hasattr(a, "shape") else np.asarray(a)


class TensorDataset(Dataset):
    """Samples are the i-th rows of the given arrays/Tensors (``torch.utils.data.TensorDataset``).

    ``TensorDataset(x, y)[i] == (x[i], y[i])`` as Tensors; all must have the same length.
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one array or Tensor. Received: none")
        self.tensors = tuple(_array(t) for t in tensors)
        n = len(self.tensors[0]) if self.tensors[0].ndim else 0
        if any(t.ndim == 0 or len(t) != n for t in self.tensors):
            raise ValueError(f"TensorDataset: every array must have the same number of samples (axis 0). "
                             f"Received shapes: {[tuple(t.shape) for t in self.tensors]}")

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index: Any) -> tuple:
        return tuple(Tensor(t[_index(index)], dtype=t.dtype) for t in self.tensors)

    def get_batch(self, indices: np.ndarray) -> tuple:
        return tuple(Tensor(t[_on_device(indices, t)], dtype=t.dtype) for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (``torch.utils.data.Subset``)."""

    def __init__(self, dataset: Any, indices: Any) -> None:
        self.dataset = dataset
        self.indices = np.asarray(_array(indices) if isinstance(indices, Tensor) else indices, dtype=np.int64)
        if self.indices.ndim != 1:
            raise ValueError(f"Subset: expected a 1-D sequence of indices. Received: shape={self.indices.shape}")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices: np.ndarray) -> Any:
        return _get_batch(self.dataset, self.indices[np.asarray(indices)])


def _index(index: Any) -> Any:
    return backend.to_numpy(index.data) if isinstance(index, Tensor) else index


def _on_device(indices: np.ndarray, a: Any) -> Any:
    return backend.to_device(indices, "gpu") if backend.device_of(a) != "cpu" else indices


def _get_batch(dataset: Any, indices: np.ndarray) -> Any:
    if hasattr(dataset, "get_batch"):
        return dataset.get_batch(indices)
    return collate([dataset[int(i)] for i in indices])


def _is_dataset(x: Any) -> bool:
    """A map-style dataset (``__getitem__`` and ``__len__``) rather than an array of samples."""
    return isinstance(x, Dataset) or (not hasattr(x, "shape") and not isinstance(x, (list, tuple, Tensor))
                                      and hasattr(x, "__getitem__") and hasattr(x, "__len__"))


def _batch_to(batch: Any, device: str) -> Any:
    if isinstance(batch, tuple):
        return tuple(_batch_to(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _batch_to(v, device) for k, v in batch.items()}
    return batch.to(device) if isinstance(batch, Tensor) else batch


class DataLoader:
    """Iterate over (x, y) in batches: one new permutation per epoch when ``shuffle``.

    x: an array (N, ...); y: an array (N, ...) or None (then batches are x alone).
    Each ``for`` loop over the loader is one epoch. Batches are arrays (NumPy, or
    CuPy when the data or ``device`` is the GPU); with ``tensors=True`` they are
    Tensors (x in the default float dtype, y keeping its dtype). ``transform`` is
    applied to every x batch at once (vectorised), e.g. augmentation layers or a
    ``transforms.Compose``; labels are left alone. ``drop_last`` skips a final
    smaller batch. ``seed``: an int gives the loader its own generator, None draws
    the permutations from neurona's (seeded by ``nr.manual_seed``).

    PyTorch style: ``DataLoader(dataset, batch_size=1, shuffle=False, num_workers=0, pin_memory=False,
    drop_last=False, persistent_workers=False)`` with a ``Dataset`` (anything with ``__len__`` and
    ``__getitem__``). Batches are then always Tensors, collated from the samples (fetched
    at once through the dataset's ``get_batch`` when it has one), and ``loader.dataset``
    is the dataset. ``num_workers``, ``pin_memory`` and ``persistent_workers`` are accepted and ignored: batches
    are made in the calling thread, vectorised, which on NumPy beats worker processes.
    ``batch_size`` defaults to 1 for a dataset (as PyTorch) and 32 for arrays (as Keras).
    """

    def __init__(self, x: Any, y: Any = None, batch_size: int | None = None, shuffle: bool = False,
                 drop_last: bool = False, transform: Callable[[Any], Any] | None = None, seed: int | None = None,
                 tensors: bool = False, device: str | None = None, num_workers: int = 0,
                 pin_memory: bool = False, persistent_workers: bool = False) -> None:
        if not isinstance(num_workers, (int, np.integer)) or isinstance(num_workers, bool) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an integer >= 0. Received: num_workers={num_workers!r}")
        self.num_workers, self.pin_memory = int(num_workers), bool(pin_memory)
        if _is_dataset(x):
            if isinstance(y, (int, np.integer)) and not isinstance(y, bool) and batch_size is None:
                y, batch_size = None, y  # DataLoader(dataset, 64): PyTorch's second positional argument
            if y is not None:
                raise TypeError(f"DataLoader: with a dataset, pass no y (the dataset holds the labels). "
                                f"Received: y of type {type(y).__name__}")
            self._init_dataset(x, 1 if batch_size is None else batch_size, shuffle, drop_last, transform, seed,
                               device)
            return
        batch_size = 32 if batch_size is None else batch_size
        x = x.data if isinstance(x, Tensor) else x
        y = y.data if isinstance(y, Tensor) else y
        x = x if hasattr(x, "shape") else np.asarray(x)
        if y is not None and not hasattr(y, "shape"):
            y = np.asarray(y)
        if x.ndim == 0:
            raise ValueError(f"DataLoader: expected x with samples along axis 0. Received: shape={x.shape}")
        if y is not None and (y.ndim == 0 or len(y) != len(x)):
            raise ValueError(f"DataLoader: x and y must have the same number of samples. "
                             f"Received: x.shape={tuple(x.shape)}, y.shape={tuple(y.shape)}")
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer. Received: batch_size={batch_size!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"DataLoader: transform must be callable. Received: {type(transform).__name__}")
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), bool(shuffle), bool(drop_last)
        self.transform, self.tensors = transform, bool(tensors)
        self.device = None if device is None else backend.check_device(device)
        self.seed = seed
        self._gen = None if seed is None else np.random.default_rng(seed)
        self.dataset = TensorDataset(x) if y is None else TensorDataset(x, y)
        self._from_dataset = False

    def _init_dataset(self, dataset: Any, batch_size: Any, shuffle: bool, drop_last: bool, transform: Any,
                      seed: int | None, device: str | None) -> None:
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer. Received: batch_size={batch_size!r}")
        if transform is not None:
            raise TypeError("DataLoader: with a dataset, give the transform to the dataset (transform=...), "
                            "not to the loader")
        self.dataset, self.x, self.y = dataset, dataset, None
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), bool(shuffle), bool(drop_last)
        self.transform, self.tensors = None, True
        self.device = None if device is None else backend.check_device(device)
        self.seed = seed
        self._gen = None if seed is None else np.random.default_rng(seed)
        self._from_dataset = True

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n = len(self.x)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> np.ndarray | None:
        if not self.shuffle:
            return None
        gen = self._gen if self._gen is not None else backend.rng()
        return gen.permutation(len(self.x))

    def _take(self, a: Any, order: np.ndarray | None, start: int, stop: int) -> Any:
        if order is None:
            return a[start:stop]
        idx = order[start:stop]
        if backend.device_of(a) != "cpu":
            idx = backend.to_device(idx, "gpu")
        return a[idx]

    def __iter__(self) -> Iterator[Any]:
        if self._from_dataset:
            yield from self._iter_dataset()
            return
        n = len(self.x)
        order = self._order()
        stop_at = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop_at, self.batch_size):
            stop = min(start + self.batch_size, n)
            xb = self._take(self.x, order, start, stop)
            yb = None if self.y is None else self._take(self.y, order, start, stop)
            if self.device is not None:
                xb = backend.to_device(xb, self.device)
                yb = None if yb is None else backend.to_device(yb, self.device)
            if self.transform is not None:
                xb = as_array(self.transform(xb))
            if self.tensors:
                xb = Tensor(xb)
                yb = None if yb is None else Tensor(yb, dtype=yb.dtype)
            yield xb if yb is None else (xb, yb)

    def _iter_dataset(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = self._order()
        order = np.arange(n) if order is None else order
        stop_at = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop_at, self.batch_size):
            batch = _get_batch(self.dataset, order[start:start + self.batch_size])
            yield batch if self.device is None else _batch_to(batch, self.device)

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.x)} samples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, transform={self.transform!r})")
