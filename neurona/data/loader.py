"""``DataLoader``: mini-batches for a PyTorch-style training loop.

>>> loader = DataLoader(x_train, y_train, batch_size=128, shuffle=True)
>>> for epoch in range(5):
...     for xb, yb in loader:
...         opt.zero_grad(); loss = F.cross_entropy(model(xb), yb); loss.backward(); opt.step()
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from .transforms import as_array


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
    """

    def __init__(self, x: Any, y: Any = None, batch_size: int = 32, shuffle: bool = False, drop_last: bool = False,
                 transform: Callable[[Any], Any] | None = None, seed: int | None = None, tensors: bool = False,
                 device: str | None = None) -> None:
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

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.x)} samples, batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, transform={self.transform!r})")
