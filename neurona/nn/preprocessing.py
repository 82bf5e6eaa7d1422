"""Preprocessing inside the model: ``Normalization`` (z-score with adapted statistics) and ``Rescaling``.

Putting the input scaling in the model, rather than in a script beside it, means a
saved model takes raw inputs: the mean and variance are buffers, saved in the
model's state with its weights.

>>> norm = nn.Normalization()
>>> norm.adapt(x_train)                       # per-feature mean and variance of the training set
>>> model = nn.Sequential([norm, nn.Dense(64, activation="relu"), nn.Dense(10)])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from .module import Module

_EPSILON = 1e-7  # Keras's backend.epsilon(): the smallest standard deviation divided by


def _as_numpy(batch: Any) -> np.ndarray:
    if isinstance(batch, Tensor):
        batch = batch.data
    return backend.to_numpy(batch)


class Normalization(Module):
    """Feature-wise z-score: y = (x - mean) / max(sqrt(variance), 1e-7) (Keras's ``Normalization``).

    ``axis``: the axis (or axes) that keep a separate mean and variance per index;
    -1 (default) normalises each feature of the last axis (each channel of
    (N, H, W, C) images), None uses one scalar mean and variance. Either give
    ``mean`` and ``variance`` (numbers or arrays broadcastable to the kept axes) or
    call ``adapt(x_train)``; until then the layer is the identity, as in Keras.
    ``invert=True`` applies the inverse, y = x * sqrt(variance) + mean.
    """

    def __init__(self, axis: int | tuple[int, ...] | None = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, name: str | None = None, input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        if (mean is None) != (variance is None):
            raise ValueError("Normalization: pass both mean and variance, or neither (and call adapt())")
        if isinstance(axis, (list, tuple)):
            axis = tuple(int(a) for a in axis)
        elif axis is not None:
            axis = (int(axis),)
        self.axis = axis
        self.invert = bool(invert)
        self.init_mean = None if mean is None else np.asarray(mean, dtype=np.float64)
        self.init_variance = None if variance is None else np.asarray(variance, dtype=np.float64)
        if self.init_variance is not None and (self.init_variance < 0).any():
            raise ValueError("Normalization: variance must be >= 0")
        self.register_buffer("mean", None)
        self.register_buffer("variance", None)

    # ---------------------------------------------------------------- shapes
    def _kept_axes(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.axis is None:
            return ()
        kept = []
        for a in self.axis:
            if not -len(shape) <= a < len(shape) or a % len(shape) == 0:
                raise ValueError(f"Normalization layer '{self.name}': axis {a} is not a feature axis of inputs "
                                 f"with shape {shape} (the batch axis 0 cannot be normalised separately)")
            kept.append(a % len(shape))
        return tuple(sorted(kept))

    def _stats_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The statistics' shape: the input's size on the kept axes, 1 elsewhere (batch axis included)."""
        kept = self._kept_axes(shape)
        return tuple(int(s) if i in kept else 1 for i, s in enumerate(shape))

    def _check_shape(self, shape: tuple[int, ...]) -> None:
        if self.mean is None:
            return
        stats = tuple(self.mean.shape)
        expected = self._stats_shape(shape) if len(shape) == len(stats) else None
        if expected != stats:
            kept = self._kept_axes(stats)
            want = ", ".join("N" if i == 0 else str(d) if i in kept else "*" for i, d in enumerate(stats))
            raise ValueError(f"Normalization layer '{self.name}': expected inputs of shape ({want}), as it was "
                             f"adapted or built for. Received: shape={tuple(shape)}")

    def build(self, input_shape: tuple[int, ...]) -> None:
        shape = tuple(1 if s is None else int(s) for s in input_shape)
        if self.mean is not None:
            self._check_shape(shape)
            return
        target = self._stats_shape(shape)
        if self.init_mean is not None:
            try:
                mean = np.broadcast_to(self.init_mean, target)
                variance = np.broadcast_to(self.init_variance, target)
            except ValueError:
                raise ValueError(f"Normalization layer '{self.name}': mean of shape {self.init_mean.shape} and "
                                 f"variance of shape {self.init_variance.shape} do not fit the statistics' shape "
                                 f"{target} for inputs {shape}") from None
        else:
            mean, variance = np.zeros(target), np.ones(target)
        self._set_stats(mean, variance)

    def _set_stats(self, mean: np.ndarray, variance: np.ndarray) -> None:
        # stay on the device the layer was moved to (model.to("gpu")), else the default one
        xp = backend.array_module(None if self.mean is None else backend.device_of(self.mean))
        dt = backend.get_default_dtype()
        self.mean = xp.asarray(np.ascontiguousarray(mean, dtype=dt))
        self.variance = xp.asarray(np.ascontiguousarray(variance, dtype=dt))

    # ---------------------------------------------------------------- adapt
    def adapt(self, data: Any) -> Normalization:
        """Compute the mean and variance from data: an array (N, ...), a Tensor, or an iterable of
        batches (arrays, or (x, y) pairs such as a DataLoader's). Statistics accumulate in float64."""
        batches = [data] if hasattr(data, "shape") else data
        if not isinstance(batches, Iterable):
            raise TypeError(f"Normalization layer '{self.name}': adapt() takes an array or an iterable of batches. "
                            f"Received: {type(data).__name__}")
        count, mean, m2, shape = 0, None, None, None
        for batch in batches:
            if isinstance(batch, (tuple, list)) and not hasattr(batch, "shape"):
                batch = batch[0]
            x = _as_numpy(batch).astype(np.float64)
            if x.ndim < 1 or x.shape[0] == 0:
                continue
            if shape is None:
                shape = x.shape
                target = self._stats_shape(shape)
                axes = tuple(i for i, s in enumerate(target) if s == 1)
            elif x.shape[1:] != shape[1:]:
                raise ValueError(f"Normalization layer '{self.name}': adapt() batches differ in shape: "
                                 f"{shape} then {x.shape}")
            n = x.size // int(np.prod(target))
            bmean = x.mean(axis=axes, keepdims=True)
            bm2 = ((x - bmean) ** 2).sum(axis=axes, keepdims=True)
            if mean is None:
                count, mean, m2 = n, bmean, bm2
            else:  # Chan et al.'s parallel update: merge two batches' means and squared deviations
                total = count + n
                delta = bmean - mean
                mean = mean + delta * (n / total)
                m2 = m2 + bm2 + delta**2 * (count * n / total)
                count = total
        if mean is None:
            raise ValueError(f"Normalization layer '{self.name}': adapt() received no data")
        self._check_shape(shape)
        self._set_stats(mean, m2 / count)
        return self

    # ---------------------------------------------------------------- call
    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if self.mean is None:
            self.build(x.shape)
        elif x.ndim != self.mean.ndim or any(s not in (1, d) for s, d in zip(self.mean.shape, x.shape, strict=True)):
            self._check_shape(tuple(x.shape))
        xp = backend.get_array_module(x.data)
        mean = self.mean.astype(x.dtype, copy=False)
        std = xp.maximum(xp.sqrt(self.variance), _EPSILON).astype(x.dtype, copy=False)
        if self.invert:
            return x * std + mean
        return (x - mean) * (1 / std)

    def get_config(self) -> dict[str, Any]:
        listed = None if self.init_mean is None else self.init_mean.tolist()
        return {"axis": list(self.axis) if self.axis is not None else None, "mean": listed,
                "variance": None if self.init_variance is None else self.init_variance.tolist(),
                "invert": self.invert, "name": self.name}

    def extra_repr(self) -> str:
        return f"axis={self.axis}, invert={self.invert}"


class Rescaling(Module):
    """y = x * scale + offset, e.g. ``nn.Rescaling(1 / 255)`` for uint8 images (Keras's ``Rescaling``)."""

    def __init__(self, scale: float, offset: float = 0.0, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.scale, self.offset = float(scale), float(offset)

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        return x * self.scale + self.offset if self.offset else x * self.scale

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "offset": self.offset, "name": self.name}
