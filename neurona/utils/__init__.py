"""``nr.utils``: PyTorch's ``torch.utils.data`` path (``nr.utils.data.DataLoader``) and Keras's utilities."""

from . import data
from .categorical import to_categorical
from .plot import plot_model

__all__ = ["data", "plot_model", "to_categorical"]
