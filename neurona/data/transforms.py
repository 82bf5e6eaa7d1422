"""Batch transforms for ``DataLoader(..., transform=...)``: any callable from a batch array to a batch array.

The augmentations are the ``nn`` augmentation layers themselves (vectorised over the
batch, drawing from neurona's generator), so the same object works in a model and
in a loader::

    aug = Compose([nn.RandomFlip("horizontal"), nn.RandomRotation(0.05), Rescale(1 / 255)])
    loader = DataLoader(x_train, y_train, batch_size=128, shuffle=True, transform=aug)

A layer returns a Tensor; the loader and ``Compose`` hand the next step its array.
Used as a transform, a layer stays in training mode (random) unless you call ``.eval()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autograd import Tensor
from ..backend import get_array_module
from ..functional.augmentation import (
    affine_transform,
    random_affine,
    random_brightness,
    random_contrast,
    random_crop,
    random_erasing,
    random_flip,
    random_rotation,
    random_translation,
    random_zoom,
)
from ..nn.augmentation import (
    RandomAffine,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomErasing,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)

__all__ = [
    "Compose", "Normalize", "Rescale", "ToTensor", "as_array", "batchable", "RandomAffine", "RandomBrightness",
    "RandomContrast",
    "RandomCrop", "RandomErasing", "RandomFlip", "RandomRotation", "RandomTranslation", "RandomZoom",
    "affine_transform", "random_affine", "random_brightness", "random_contrast", "random_crop", "random_erasing",
    "random_flip", "random_rotation", "random_translation", "random_zoom",
]


def as_array(batch: Any) -> Any:
    """A transform's result as a backend array (a Tensor gives its data)."""
    return batch.data if isinstance(batch, Tensor) else batch


class Compose:
    """Apply transforms one after the other: ``Compose([t1, t2])(x) == t2(t1(x))``."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        for t in transforms:
            if not callable(t):
                raise TypeError(f"Compose: every transform must be callable. Received: {type(t).__name__}")
        self.transforms = list(transforms)

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = as_array(t(x))
        return x

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(repr(t) for t in self.transforms) + "])"


class Rescale:
    """x * scale + offset as float32, e.g. ``Rescale(1 / 255)`` for uint8 images (Keras's Rescaling)."""

    def __init__(self, scale: float, offset: float = 0.0) -> None:
        self.scale, self.offset = np.float32(scale), np.float32(offset)

    def __call__(self, x: Any) -> Any:
        x = x if x.dtype.kind == "f" else x.astype(np.float32)
        return x * x.dtype.type(self.scale) + x.dtype.type(self.offset)

    def __repr__(self) -> str:
        return f"Rescale({self.scale}, offset={self.offset})"


class ToTensor:
    """An image or batch as a float32 Tensor, uint8 scaled to [0, 1] (torchvision's ToTensor, channels-last).

    Unlike torchvision, the layout stays channels-last, as everywhere in neurona:
    (H, W) -> (H, W, 1); (H, W, C) and a batch (N, H, W, C) keep their shape.
    Float input keeps its values (as float32), other integer input is cast.
    """

    def __call__(self, pic: Any) -> Tensor:
        x = as_array(pic)
        x = x if hasattr(x, "shape") else np.asarray(x)
        if x.ndim not in (2, 3, 4):
            raise ValueError(f"ToTensor: expected an image (H, W) or (H, W, C), or a batch (N, H, W, C). "
                             f"Received: shape={tuple(x.shape)}")
        if x.ndim == 2:
            x = x[:, :, None]
        if x.dtype == np.uint8:
            x = x.astype(np.float32) * np.float32(1 / 255)
        elif x.dtype != np.float32:
            x = x.astype(np.float32)
        return Tensor(x)

    def __repr__(self) -> str:
        return "ToTensor()"


def batchable(transform: Any) -> bool:
    """True when ``transform`` gives the same result on a batch (N, H, W, C) as on each image (H, W, C).

    Image datasets use it to transform a whole batch at once instead of one sample at a time.
    """
    if transform is None or isinstance(transform, (ToTensor, Normalize, Rescale)):
        return True
    return isinstance(transform, Compose) and all(batchable(t) for t in transform.transforms)


class Normalize:
    """(x - mean) / std per channel (the last axis), as float32 (torchvision's Normalize, channels-last).

    A Tensor in gives a Tensor out (as after ``ToTensor``), an array gives an array.
    """

    def __init__(self, mean: Any, std: Any) -> None:
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        if (self.std <= 0).any():
            raise ValueError(f"Normalize: std must be > 0. Received: std={std}")

    def __call__(self, x: Any) -> Any:
        if isinstance(x, Tensor):
            return Tensor(self(x.data))
        xp = get_array_module(x)
        x = x if x.dtype.kind == "f" else x.astype(np.float32)
        return (x - xp.asarray(self.mean, dtype=x.dtype)) / xp.asarray(self.std, dtype=x.dtype)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"
