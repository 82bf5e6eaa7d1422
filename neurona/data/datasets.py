"""The built-in datasets: digits (embedded), MNIST and Fashion-MNIST (IDX files, found or downloaded).

Every loader returns Keras's shape of data::

    (x_train, y_train), (x_test, y_test) = nr.data.load_fashion_mnist()
    # x: uint8 (N, 28, 28), values 0..255; y: int64 (N,), values 0..9

MNIST and Fashion-MNIST are looked up, in this order, in

1. ``$NEURONA_DATA/<name>/`` (a folder you choose),
2. the cache, ``~/.cache/neurona/<name>/`` (``$XDG_CACHE_HOME`` is honoured),
3. system dataset folders, ``/usr/share/datasets/<name>/`` (Debian's ``dataset-fashion-mnist``
   package installs Fashion-MNIST there) and ``/usr/local/share/datasets/<name>/``,

where ``<name>`` is ``mnist`` or ``fashion-mnist``; the four files may be gzip-compressed
(``.gz``) or not. When none has them they are downloaded into the cache from the
official URLs, verified against the published checksums. ``dataset_info()`` says
what is available and where it was found.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .download import DownloadError, cache_dir, download_file
from .idx import read_idx

SYSTEM_DATA_DIRS: tuple[str, ...] = ("/usr/share/datasets", "/usr/local/share/datasets")
ROLES = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class DatasetSpec:
    """Where an IDX dataset's four files are published, and their checksums."""

    name: str
    title: str
    files: dict[str, tuple[str, str]]  # role -> (file name, "md5:<hex>" of the .gz file)
    mirrors: tuple[str, ...]
    classes: tuple[str, ...]
    sizes: dict[str, int] = field(default_factory=dict)  # role -> bytes of the published .gz file


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", "MNIST",
        {"train_images": ("train-images-idx3-ubyte.gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873"),
         "train_labels": ("train-labels-idx1-ubyte.gz", "md5:d53e105ee54ea40749a09fcbcd1e9432"),
         "test_images": ("t10k-images-idx3-ubyte.gz", "md5:9fb629c4189551a2d022fa330f9573f3"),
         "test_labels": ("t10k-labels-idx1-ubyte.gz", "md5:ec29112dd5afa0611ce80d1b7f02629c")},
        ("https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        tuple(str(d) for d in range(10)),
        {"train_images": 9912422, "train_labels": 28881, "test_images": 1648877, "test_labels": 4542},
    ),
    # Zalando publishes only MD5 sums for these files
    "fashion-mnist": DatasetSpec(
        "fashion-mnist", "Fashion-MNIST",
        {"train_images": ("train-images-idx3-ubyte.gz", "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
         "train_labels": ("train-labels-idx1-ubyte.gz", "md5:25c81989df183df01b3e8a0aad5dffbe"),
         "test_images": ("t10k-images-idx3-ubyte.gz", "md5:bef4ecab320f06d8554ea6380940ec79"),
         "test_labels": ("t10k-labels-idx1-ubyte.gz", "md5:bb300cfdad3c16e7a12a480ee83cd310")},
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
         "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        {"train_images": 26421880, "train_labels": 29515, "test_images": 4422102, "test_labels": 5148},
    ),
}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are nowhere on disk and could not be downloaded (the message says where to put them)."""


@dataclass(frozen=True)
class DatasetLocation:
    """Where a dataset was found: its folder, how that folder was chosen, and the path of each file."""

    name: str
    directory: Path
    source: str  # "NEURONA_DATA", "cache", "system" or "path"
    files: dict[str, Path]


def _spec(name: str) -> DatasetSpec:
    key = name.lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    return DATASETS[key]


def search_dirs(name: str) -> list[tuple[str, Path]]:
    """The folders searched for a dataset, in order, each with its source label."""
    spec = _spec(name)
    dirs = []
    if os.environ.get("NEURONA_DATA"):
        dirs.append(("NEURONA_DATA", Path(os.environ["NEURONA_DATA"]) / spec.name))
    dirs.append(("cache", cache_dir() / spec.name))
    dirs.extend(("system", Path(d) / spec.name) for d in SYSTEM_DATA_DIRS)
    return dirs


def _files_in(spec: DatasetSpec, directory: Path) -> dict[str, Path] | None:
    """Each role's file in directory (compressed or not), or None when any is missing."""
    found = {}
    for role, (fname, _) in spec.files.items():
        candidates = [directory / fname, directory / fname.removesuffix(".gz")]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            return None
        found[role] = path
    return found


def find_dataset(name: str, path: str | os.PathLike | None = None) -> DatasetLocation | None:
    """Where the dataset's four files are (the first complete folder in the search order), or None.

    With ``path``, only that folder (or its ``<name>`` subfolder) is looked at.
    """
    spec = _spec(name)
    if path is not None:
        candidates = [("path", Path(path)), ("path", Path(path) / spec.name)]
    else:
        candidates = search_dirs(name)
    for source, directory in candidates:
        files = _files_in(spec, directory)
        if files is not None:
            return DatasetLocation(spec.name, directory, source, files)
    return None


def dataset_info() -> list[dict]:
    """What each built-in dataset is, whether it is available, and where it was found."""
    info = [{"name": "digits", "title": "scikit-learn digits (8x8)", "available": True,
             "source": "embedded", "location": "bundled with scikit-learn"}]
    for spec in DATASETS.values():
        loc = find_dataset(spec.name)
        info.append({"name": spec.name, "title": spec.title, "available": loc is not None,
                     "source": loc.source if loc else "download",
                     "location": str(loc.directory) if loc else f"{cache_dir() / spec.name} (downloaded on first use)"})
    return info


def _not_found_message(spec: DatasetSpec, loader: str, reason: str) -> str:
    files = "\n".join(f"    {fname}" for fname, _ in spec.files.values())
    dirs = [f"    {d}" for _, d in search_dirs(spec.name)]
    if not os.environ.get("NEURONA_DATA"):
        dirs.insert(0, f"    $NEURONA_DATA/{spec.name} (set NEURONA_DATA to a folder of your choice)")
    return (f"{loader}: the {spec.title} files were not found and could not be downloaded ({reason}).\n"
            f"Put these files:\n{files}\ninto one of:\n" + "\n".join(dirs)
            + f"\nThey are published at {spec.mirrors[0]}")


def _download(spec: DatasetSpec, target: Path, mirrors: Sequence[str], progress: bool) -> dict[str, Path]:
    files = {}
    for role, (fname, checksum) in spec.files.items():
        dest = target / fname
        if not dest.is_file():
            download_file([m.rstrip("/") + "/" + fname for m in mirrors], dest, checksum, progress=progress,
                          size=spec.sizes.get(role))
        files[role] = dest
    return files


def load_idx_dataset(name: str, path: str | os.PathLike | None = None, download: bool = True,
                     mirrors: Sequence[str] | None = None, progress: bool = True) -> tuple:
    """Load an IDX dataset by name ('mnist', 'fashion-mnist'): find it, else download it into the cache."""
    spec = _spec(name)
    loader = f"load_{spec.name.replace('-', '_')}"
    loc = find_dataset(spec.name, path)
    if loc is not None:
        files = loc.files
    elif path is not None:
        raise DatasetNotFoundError(f"{loader}: {path} does not hold the {spec.title} files "
                                   f"({', '.join(f for f, _ in spec.files.values())})")
    elif not download:
        raise DatasetNotFoundError(_not_found_message(spec, loader, "download=False"))
    else:
        try:
            files = _download(spec, cache_dir() / spec.name, mirrors or spec.mirrors, progress)
        except (DownloadError, OSError) as exc:
            raise DatasetNotFoundError(_not_found_message(spec, loader, str(exc))) from None
    arrays = {role: read_idx(p) for role, p in files.items()}
    return (_check_split(arrays, "train", files, loader), _check_split(arrays, "test", files, loader))


def _check_split(arrays: dict, split: str, files: dict, loader: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = arrays[f"{split}_images"], arrays[f"{split}_labels"]
    if x.ndim != 3 or x.dtype != np.uint8:
        raise ValueError(f"{loader}: {files[f'{split}_images']} should hold uint8 images (N, H, W). "
                         f"Received: {x.dtype} array of shape {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"{loader}: {files[f'{split}_labels']} should hold {len(x)} labels (one per image). "
                         f"Received: shape {y.shape}")
    return x, y.astype(np.int64)


def load_mnist(path: str | os.PathLike | None = None, download: bool = True,
               mirrors: Sequence[str] | None = None, progress: bool = True) -> tuple:
    """MNIST handwritten digits: 60000 training and 10000 test images, uint8 (N, 28, 28), labels 0..9.

    ``path``: a folder holding the four IDX files (skips the search); ``download=False``
    raises instead of downloading; ``mirrors``: base URLs to download from instead of the official ones.

    >>> (x_train, y_train), (x_test, y_test) = nr.data.load_mnist()
    """
    return load_idx_dataset("mnist", path, download, mirrors, progress)


def load_fashion_mnist(path: str | os.PathLike | None = None, download: bool = True,
                       mirrors: Sequence[str] | None = None, progress: bool = True) -> tuple:
    """Fashion-MNIST (Zalando's clothing images): 60000/10000 images, uint8 (N, 28, 28), labels 0..9.

    Class names are in ``nr.data.FASHION_MNIST_CLASSES``. Arguments as ``load_mnist``.
    """
    return load_idx_dataset("fashion-mnist", path, download, mirrors, progress)


FASHION_MNIST_CLASSES = DATASETS["fashion-mnist"].classes

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


def load_digits() -> tuple:
    """scikit-learn's 1797 handwritten digits, 8x8, embedded (no download).

    Pixel values 0..16 are rescaled to uint8 0..255 (``round(v * 255 / 16)``), so the
    images look like MNIST's. The split is fixed and stratified: of each class,
    round(20%) of the images, chosen with ``numpy.random.default_rng(0)``, form the test
    set (359 images); the other 1438 form the training set, both in the original order.

    >>> (x_train, y_train), (x_test, y_test) = nr.data.load_digits()   # (1438, 8, 8), (359, 8, 8)
    """
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    gen = np.random.default_rng(DIGITS_SPLIT_SEED)
    test = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        n_test = int(round(len(idx) * DIGITS_TEST_FRACTION))
        test[gen.permutation(idx)[:n_test]] = True
    return (images[~test], labels[~test]), (images[test], labels[test])
