"""Data: datasets and their download, your own images and tables, teaching sets, the DataLoader,
preprocessing and augmentation transforms.

>>> (x_train, y_train), (x_test, y_test) = nr.data.load_digits()       # embedded, no download
>>> (x_train, y_train), (x_test, y_test) = nr.data.load_fashion_mnist()
>>> loader = nr.data.DataLoader(x_train, y_train, batch_size=128, shuffle=True)
"""

from . import transforms
from .datasets import (
    DATASETS,
    FASHION_MNIST_CLASSES,
    DatasetLocation,
    DatasetNotFoundError,
    dataset_info,
    find_dataset,
    load_digits,
    load_fashion_mnist,
    load_idx_dataset,
    load_mnist,
    search_dirs,
)
from .download import DownloadError, cache_dir, download_file, file_checksum
from .folders import load_image, load_image_folder
from .idx import IDXError, read_idx, write_idx
from .loader import DataLoader, Dataset, Subset, TensorDataset, collate
from .preprocessing import MeanImageSubtraction, MinMaxScaler, PCAWhitening, StandardScaler, ZCAWhitening
from .splits import train_val_test_split
from .tables import load_csv
from .toy import make_and, make_blobs, make_circles, make_moons, make_or, make_spirals, make_xor, truth_table
from .transforms import Compose, Normalize, Rescale, ToTensor

__all__ = [
    "DATASETS", "FASHION_MNIST_CLASSES", "Compose", "DataLoader", "Dataset", "DatasetLocation", "DatasetNotFoundError",
    "DownloadError", "IDXError", "MeanImageSubtraction", "MinMaxScaler", "Normalize", "PCAWhitening", "Rescale",
    "StandardScaler", "Subset", "TensorDataset", "ToTensor", "ZCAWhitening", "cache_dir", "collate", "dataset_info",
    "download_file", "file_checksum", "find_dataset",
    "load_csv", "load_digits", "load_fashion_mnist", "load_idx_dataset", "load_image", "load_image_folder",
    "load_mnist", "make_and", "make_blobs", "make_circles", "make_moons", "make_or", "make_spirals", "make_xor",
    "read_idx", "search_dirs", "train_val_test_split", "transforms", "truth_table", "write_idx",
]
