"""``nr.utils``: PyTorch's ``torch.utils.data`` path (``nr.utils.data.DataLoader``) and Keras's utilities."""

from ..data.image_directory import image_dataset_from_directory
from . import data
from .categorical import to_categorical
from .images import img_to_array, load_img
from .plot import plot_model

__all__ = ["data", "image_dataset_from_directory", "img_to_array", "load_img", "plot_model", "to_categorical"]
