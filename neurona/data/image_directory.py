"""Keras's ``image_dataset_from_directory``: batches of (images, labels) read from image files.

::

    PetImages/
      Cat/  1.jpg  2.jpg ...
      Dog/  1.jpg ...

    train_ds, val_ds = nr.utils.image_dataset_from_directory(
        "PetImages", validation_split=0.2, subset="both", seed=1337, image_size=(180, 180), batch_size=128)
    model.fit(train_ds, epochs=25, validation_data=val_ds)

The files are listed (and their headers checked) once; each pass over the dataset reads
and resizes one batch of files at a time with Pillow (``nr.data.load_image``), so a folder
larger than memory works. Batches are CPU Tensors: images float32 (B, h, w, C) with values in
[0, 255], channels-last; labels as Keras's ``label_mode`` says. ``.cache()`` keeps the decoded
images in memory after the first pass.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from .folders import IMAGE_EXTENSIONS, load_image

_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}
_WHERE = "image_dataset_from_directory"


class BatchDataset:
    """An iterable of batches, re-read on every pass (every epoch), with tf.data's chaining methods.

    ``take(n)``, ``map(fn)``, ``cache()``, ``prefetch(buffer_size)``; ``len()`` is the number
    of batches. ``class_names`` and ``file_paths`` pass through the chain.
    """

    class_names: list[str] | None = None
    file_paths: list[str] = []

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def _inherit(self, parent: BatchDataset) -> None:
        self.class_names, self.file_paths = parent.class_names, parent.file_paths

    def take(self, count: int) -> BatchDataset:
        """The first ``count`` batches (all of them when count is -1)."""
        return _Take(self, count)

    def map(self, fn: Callable[..., Any], num_parallel_calls: Any = None, deterministic: Any = None) -> BatchDataset:
        """``fn`` applied to each batch: ``fn(images, labels)`` (or ``fn(images)`` without labels).

        ``num_parallel_calls`` and ``deterministic`` are accepted and ignored: batches are made in
        the calling thread (each batch is one vectorised call).
        """
        if not callable(fn):
            raise TypeError(f"map: fn must be callable. Received: {type(fn).__name__}")
        return _Map(self, fn)

    def cache(self) -> BatchDataset:
        """The same batches, kept in memory after the first complete pass (read the files once)."""
        return _Cache(self)

    def prefetch(self, buffer_size: Any = None) -> BatchDataset:
        """This dataset: batches are made when asked for (kept for tf.data-style scripts)."""
        return self


class _Take(BatchDataset):
    def __init__(self, parent: BatchDataset, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < -1:
            raise ValueError(f"take: count must be an int >= 0 (or -1 for all). Received: count={count!r}")
        self.parent, self.count = parent, len(parent) if count == -1 else min(int(count), len(parent))
        self._inherit(parent)

    def __iter__(self) -> Iterator[Any]:
        for i, batch in enumerate(self.parent):
            if i >= self.count:
                return
            yield batch

    def __len__(self) -> int:
        return self.count


class _Map(BatchDataset):
    def __init__(self, parent: BatchDataset, fn: Callable[..., Any]) -> None:
        self.parent, self.fn = parent, fn
        self._inherit(parent)

    def __iter__(self) -> Iterator[Any]:
        for batch in self.parent:
            yield self.fn(*batch) if isinstance(batch, tuple) else self.fn(batch)

    def __len__(self) -> int:
        return len(self.parent)


class _Cache(BatchDataset):
    def __init__(self, parent: BatchDataset) -> None:
        self.parent, self.batches = parent, None
        self._inherit(parent)

    def __iter__(self) -> Iterator[Any]:
        if self.batches is not None:
            yield from self.batches
            return
        seen = []
        for batch in self.parent:
            seen.append(batch)
            yield batch
        self.batches = seen  # only a complete pass is kept

    def __len__(self) -> int:
        return len(self.parent)


class ImageDirectoryDataset(BatchDataset):
    """Image files and their labels, read a batch at a time (what ``image_dataset_from_directory`` returns).

    Iterating gives (images, labels) Tensors, or images alone when there are no labels;
    ``shuffle`` draws a new order on every pass.
    """

    def __init__(self, file_paths: list[str], labels: np.ndarray | None, label_mode: str | None,
                 class_names: list[str] | None, num_classes: int, color_mode: str, batch_size: int | None,
                 image_size: tuple[int, int], shuffle: bool, seed: int | None) -> None:
        self.file_paths, self.labels, self.label_mode = list(file_paths), labels, label_mode
        self.class_names, self.num_classes = class_names, num_classes
        self.color_mode, self.image_size = color_mode, image_size
        self.batch_size, self.shuffle = batch_size, shuffle
        self._gen = None if seed is None else np.random.default_rng(seed)

    def __len__(self) -> int:
        if self.batch_size is None:
            return len(self.file_paths)
        return -(-len(self.file_paths) // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.file_paths)
        if not self.shuffle:
            return np.arange(n)
        return (self._gen if self._gen is not None else backend.rng()).permutation(n)

    def _images(self, index: np.ndarray) -> np.ndarray:
        out = np.empty((len(index), *self.image_size, _CHANNELS[self.color_mode]), dtype=np.float32)
        for row, i in enumerate(index):
            img = read_image(self.file_paths[i], self.image_size, self.color_mode)
            out[row] = img[..., None] if img.ndim == 2 else img
        return out

    def _labels(self, index: np.ndarray) -> np.ndarray:
        y = self.labels[index]
        if self.label_mode == "categorical":
            return np.eye(self.num_classes, dtype=np.float32)[y]
        if self.label_mode == "binary":
            return y.astype(np.float32)[:, None]
        return y.astype(np.int32)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        step = self.batch_size or 1
        for start in range(0, len(order), step):
            index = order[start:start + step]
            x = Tensor(self._images(index), dtype=np.float32, device="cpu")  # host batches, as tf.data
            if self.batch_size is None:
                x = x[0]
            if self.label_mode is None:
                yield x
                continue
            y = self._labels(index)
            y = Tensor(y if self.batch_size else y[0], dtype=y.dtype, device="cpu")
            yield x, y

    def __repr__(self) -> str:
        return (f"ImageDirectoryDataset({len(self.file_paths)} files, {len(self)} batches of {self.batch_size}, "
                f"image_size={self.image_size}, color_mode={self.color_mode!r}, class_names={self.class_names})")


def read_image(path: str, image_size: tuple[int, int], color_mode: str) -> np.ndarray:
    """One file as uint8 (h, w) (grayscale), (h, w, 3) (rgb) or (h, w, 4) (rgba), resized bilinearly."""
    if color_mode != "rgba":
        return load_image(path, image_size, color_mode)
    from PIL import Image

    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGBA").resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR),
                              dtype=np.uint8)
    except (OSError, SyntaxError, ValueError) as exc:  # what Pillow's decoders raise on damaged files
        raise ValueError(f"load_image: cannot read {path} as an image ({exc})") from None


def _files_under(folder: str, follow_links: bool) -> list[str]:
    """Image files below ``folder`` (recursively), in the sorted order Keras lists them."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=follow_links):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(found)


def _unreadable(paths: list[str]) -> list[str]:
    """The files whose header Pillow does not recognise as an image (reads a few bytes of each)."""
    from PIL import Image

    bad = []
    for p in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with Image.open(p):
                    pass
        except Exception:  # noqa: BLE001 - anything Pillow raises means "not an image we can read"
            bad.append(p)
    return bad


def _check_arguments(labels: Any, label_mode: Any, class_names: Any, color_mode: Any, batch_size: Any,
                     image_size: Any, validation_split: Any, subset: Any, shuffle: bool, seed: Any) -> tuple[int, int]:
    if not (labels in ("inferred", None) or isinstance(labels, (list, tuple, np.ndarray))):
        raise ValueError(f"{_WHERE}: labels must be 'inferred', None or a list of integer labels, one per image "
                         f"file in sorted path order. Received: labels={labels!r}")
    if class_names is not None and not (isinstance(labels, str) and labels == "inferred"):
        raise ValueError(f"{_WHERE}: class_names can only be passed with labels='inferred'. "
                         f"Received: class_names={class_names!r}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"{_WHERE}: label_mode must be 'int', 'categorical', 'binary' or None. "
                         f"Received: label_mode={label_mode!r}")
    if color_mode not in _CHANNELS:
        raise ValueError(f"{_WHERE}: color_mode must be one of {tuple(_CHANNELS)}. Received: color_mode={color_mode!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise ValueError(f"{_WHERE}: batch_size must be a positive integer or None. "
                         f"Received: batch_size={batch_size!r}")
    size = (image_size, image_size) if isinstance(image_size, int) else image_size
    if not isinstance(size, (tuple, list)) or len(size) != 2 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in size):
        raise ValueError(f"{_WHERE}: image_size must be (height, width), two positive ints. "
                         f"Received: image_size={image_size!r}")
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"{_WHERE}: validation_split must be between 0 and 1. "
                         f"Received: validation_split={validation_split!r}")
    if subset not in (None, "training", "validation", "both"):
        raise ValueError(f"{_WHERE}: subset must be 'training', 'validation', 'both' or None. "
                         f"Received: subset={subset!r}")
    if (validation_split is None) != (subset is None):
        raise ValueError(f"{_WHERE}: validation_split and subset go together: pass both or neither. "
                         f"Received: validation_split={validation_split!r}, subset={subset!r}")
    if validation_split is not None and shuffle and seed is None:
        raise ValueError(f"{_WHERE}: with validation_split and shuffle=True, pass a seed, so that the training and "
                         "validation subsets (made by separate calls) do not overlap. Received: seed=None")
    return int(size[0]), int(size[1])


def image_dataset_from_directory(directory: str | os.PathLike, labels: Any = "inferred", label_mode: str | None = "int",
                                 class_names: list[str] | None = None, color_mode: str = "rgb",
                                 batch_size: int | None = 32, image_size: Any = (256, 256), shuffle: bool = True,
                                 seed: int | None = None, validation_split: float | None = None,
                                 subset: str | None = None, follow_links: bool = False) -> Any:
    """Batches of (images, labels) from a folder of image files, as Keras's function of the same name.

    labels "inferred": one subfolder per class (``class_names`` fixes their order, else sorted),
    the label of a file its class's index; a list: one integer label per file, in sorted path
    order; None: images only. label_mode "int" (int32 (B,)), "categorical" (one-hot float32
    (B, classes)), "binary" (float32 (B, 1), exactly two classes) or None. Images are float32
    (B, h, w, C) in [0, 255] with C 1, 3 or 4 for color_mode "grayscale", "rgb", "rgba",
    resized bilinearly to ``image_size`` (aspect ratio not kept). Files ending in .png, .jpg,
    .jpeg, .bmp, .gif are read (a gif's first frame); other files are ignored. A file with one
    of those endings that Pillow cannot read is an error naming it (Keras fails on it too).

    shuffle: the file order is shuffled once with ``seed`` (then split), and the training
    batches are reshuffled on every pass. validation_split with subset "training", "validation"
    or "both" (a pair of datasets) takes the last fraction of the shuffled files for validation.
    Returns an ``ImageDirectoryDataset`` (``class_names``, ``file_paths``), which ``model.fit``
    takes as x (and as ``validation_data``).

    >>> train_ds = nr.utils.image_dataset_from_directory("pets", image_size=(64, 64), batch_size=32)
    """
    size = _check_arguments(labels, label_mode, class_names, color_mode, batch_size, image_size,
                            validation_split, subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels = label_mode = None
    root = os.fspath(directory)
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{_WHERE}: no such directory: {root!r}")
    inferred = isinstance(labels, str)
    if inferred:
        found = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)) and not d.startswith("."))
        if class_names is not None:
            if sorted(class_names) != found:
                raise ValueError(f"{_WHERE}: class_names must be the names of the subfolders of {root!r}. "
                                 f"Expected (in any order): {found}. Received: class_names={list(class_names)}")
            found = list(class_names)
        class_names = found
        paths, label_list = [], []
        for k, name in enumerate(class_names):
            files = _files_under(os.path.join(root, name), follow_links)
            paths += files
            label_list += [k] * len(files)
        label_array = np.asarray(label_list, dtype=np.int64)
    else:
        paths = _files_under(root, follow_links)
        label_array = None
        if labels is not None:
            label_array = np.asarray(labels)
            if label_array.ndim != 1 or len(label_array) != len(paths) or label_array.dtype.kind not in "iu":
                raise ValueError(f"{_WHERE}: labels must be a list of {len(paths)} integer labels, one per image file "
                                 f"found in {root!r}. Received: {len(label_array)} labels of dtype {label_array.dtype}")
            label_array = label_array.astype(np.int64)
    if not paths:
        raise ValueError(f"{_WHERE}: no images found in directory {root!r}"
                         + (" (expected one subfolder of images per class)" if inferred else "")
                         + f". Allowed formats: {IMAGE_EXTENSIONS}")
    num_classes = len(class_names) if class_names else (int(label_array.max()) + 1 if label_array is not None else 0)
    if label_mode == "binary" and num_classes != 2:
        raise ValueError(f"{_WHERE}: label_mode='binary' needs exactly 2 classes. Received: class_names={class_names}"
                         if class_names else f"{_WHERE}: label_mode='binary' needs labels 0 and 1. "
                         f"Received: labels up to {num_classes - 1}")
    if label_array is not None and label_array.min() < 0:
        raise ValueError(f"{_WHERE}: labels must be >= 0. Received: {int(label_array.min())}")
    bad = _unreadable(paths)
    if bad:
        raise ValueError(f"{_WHERE}: {len(bad)} of the {len(paths)} image files cannot be read as images, e.g. "
                         f"{bad[:3]}: remove or repair them first")
    if shuffle:
        gen = np.random.default_rng(seed) if seed is not None else backend.rng()
        order = gen.permutation(len(paths))
        paths = [paths[i] for i in order]
        label_array = None if label_array is None else label_array[order]

    def make(part: slice, reshuffle: bool) -> ImageDirectoryDataset:
        chosen = paths[part]
        if not chosen:
            which = "training" if part.start is None else "validation"
            raise ValueError(f"{_WHERE}: no {which} images: {len(paths)} files and validation_split={validation_split}")
        return ImageDirectoryDataset(chosen, None if label_array is None else label_array[part], label_mode,
                                     class_names, num_classes, color_mode, batch_size, size, reshuffle,
                                     None if seed is None else seed + 1)

    if validation_split is None:
        return make(slice(None), shuffle)
    n_val = int(validation_split * len(paths))
    train, val = slice(None, len(paths) - n_val), slice(len(paths) - n_val, None)
    if subset == "both":
        return [make(train, shuffle), make(val, False)]
    return make(train, shuffle) if subset == "training" else make(val, shuffle)


__all__ = ["BatchDataset", "ImageDirectoryDataset", "image_dataset_from_directory", "read_image"]
