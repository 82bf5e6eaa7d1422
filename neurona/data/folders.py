"""Your own images: a folder with one subfolder per class, read with Pillow.

::

    pets/
      cat/  001.png  002.jpg ...
      dog/  001.png ...

    (x, y), class_names = nr.data.load_image_folder("pets", image_size=(64, 64), color_mode="rgb")
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_MODES = {"grayscale": "L", "rgb": "RGB"}
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def _class_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        raise FileNotFoundError(f"load_image_folder: no such folder: {root}")
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")), key=lambda p: p.name)
    if not folders:
        raise ValueError(f"load_image_folder: expected one subfolder per class in {root}, found none "
                         "(e.g. pets/cat/*.png, pets/dog/*.png)")
    return folders


def _image_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise ValueError(f"load_image_folder: class folder {folder} holds no images "
                         f"(expected files ending in {', '.join(IMAGE_EXTENSIONS)})")
    return files


def _eight_bit(img: Any) -> Any:
    """16-bit grayscale (Pillow's "I;16*" and "I" modes) scaled to 0..255, not clipped at 255."""
    from PIL import Image

    if img.mode not in _SIXTEEN_BIT:
        return img
    a = np.clip(np.asarray(img).astype(np.int64), 0, 65535)
    return Image.fromarray(((a * 255 + 32767) // 65535).astype(np.uint8), mode="L")


def _check_file(path: str | os.PathLike, what: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise FileNotFoundError(f"{what}: no such file: {path} ({exc.strerror})") from None
    if not stat.S_ISREG(mode):  # a folder, a FIFO (which would block) or a device
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise ValueError(f"{what}: {path} is {kind}; expected an image file")


def load_image(path: str | os.PathLike, image_size: tuple[int, int] | None = None,
               color_mode: str = "grayscale") -> np.ndarray:
    """One image file as uint8 (H, W) for grayscale or (H, W, 3) for rgb, resized when image_size=(h, w).

    16-bit images are scaled to 8 bits (v * 255 / 65535, rounded). Images over Pillow's
    decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``) are refused.
    """
    from PIL import Image, UnidentifiedImageError

    if color_mode not in _MODES:
        raise ValueError(f"load_image: color_mode must be one of {tuple(_MODES)}. Received: {color_mode!r}")
    _check_file(path, "load_image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img = _eight_bit(img).convert(_MODES[color_mode])
                if image_size is not None and img.size != (image_size[1], image_size[0]):
                    img = img.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
                return np.asarray(img, dtype=np.uint8)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"load_image: {path} is too large to open safely ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # damaged files raise any of these from inside Pillow's decoders
        raise ValueError(f"load_image: cannot read {path} as an image ({exc})") from None


def load_image_folder(path: str | os.PathLike, image_size: tuple[int, int] | None = None,
                      color_mode: str = "grayscale", validation_split: float = 0.0,
                      seed: int | None = None) -> tuple:
    """Load a folder of images, one subfolder per class (class names sorted, label = position).

    Returns ``(x, y), class_names`` or, with ``validation_split > 0``,
    ``(x_train, y_train), (x_val, y_val), class_names``. x is uint8 (N, H, W) for
    ``color_mode="grayscale"`` and (N, H, W, 3) for ``"rgb"``; y is int64 (N,).
    ``image_size=(h, w)`` resizes every image (bilinear); without it all images must
    have the same size. The validation set is a stratified random fraction of each
    class, drawn with ``seed`` (neurona's generator, seeded by ``nr.manual_seed``, when None).
    """
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"load_image_folder: validation_split must be in [0, 1). "
                         f"Received: validation_split={validation_split}")
    if color_mode not in _MODES:
        raise ValueError(f"load_image_folder: color_mode must be one of {tuple(_MODES)}. "
                         f"Received: color_mode={color_mode!r}")
    if image_size is not None:
        if len(image_size) != 2 or any(int(s) < 1 for s in image_size):
            raise ValueError(f"load_image_folder: image_size must be (height, width), both positive. "
                             f"Received: image_size={image_size!r}")
        image_size = (int(image_size[0]), int(image_size[1]))
    root = Path(path)
    folders = _class_folders(root)
    images, labels, first = [], [], None
    for label, folder in enumerate(folders):
        for f in _image_files(folder):
            img = load_image(f, image_size, color_mode)
            if first is None:
                first = (f, img.shape)
            elif img.shape != first[1]:
                raise ValueError(f"load_image_folder: images differ in size: {first[0]} is {first[1][:2]}, "
                                 f"{f} is {img.shape[:2]}; pass image_size=(height, width) to resize them all")
            images.append(img)
            labels.append(label)
    x = np.stack(images)
    y = np.asarray(labels, dtype=np.int64)
    class_names = [f.name for f in folders]
    if validation_split == 0.0:
        return (x, y), class_names
    gen = np.random.default_rng(seed) if seed is not None else backend.rng()
    val = np.zeros(len(y), dtype=bool)
    for c in range(len(folders)):
        idx = np.flatnonzero(y == c)
        val[gen.permutation(idx)[:int(round(len(idx) * validation_split))]] = True
    return (x[~val], y[~val]), (x[val], y[val]), class_names
