"""``nr.utils``: PyTorch's ``torch.utils.data`` path (``nr.utils.data.DataLoader``) and Keras's utilities."""

from . import data
from .categorical import to_categorical

__all__ = ["data", "to_categorical"]
