"""Keras's image utilities: ``load_img`` (a Pillow image) and ``img_to_array`` (float32 (H, W, C))."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

_MODES = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
_FILTERS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def load_img(path: str | os.PathLike, color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest") -> Any:
    """One image file as a Pillow image in ``color_mode``, resized to ``target_size=(height, width)``.

    >>> img_array = nr.utils.img_to_array(nr.utils.load_img("cat.jpg", target_size=(180, 180)))
    """
    from PIL import Image

    if color_mode not in _MODES:
        raise ValueError(f"load_img: color_mode must be one of {tuple(_MODES)}. Received: color_mode={color_mode!r}")
    if interpolation not in _FILTERS:
        raise ValueError(f"load_img: interpolation must be one of {_FILTERS}. "
                         f"Received: interpolation={interpolation!r}")
    with Image.open(os.fspath(path)) as img:
        img = img.convert(_MODES[color_mode])
    if target_size is not None and img.size != (target_size[1], target_size[0]):
        img = img.resize((int(target_size[1]), int(target_size[0])), Image.Resampling[interpolation.upper()])
    return img


def img_to_array(img: Any, dtype: Any = "float32") -> np.ndarray:
    """A Pillow image (or an array) as an (H, W, C) array of ``dtype``, channels-last as Keras."""
    a = np.asarray(img, dtype=dtype)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"img_to_array: expected an image of shape (H, W) or (H, W, C). Received: shape={a.shape}")
    return a
