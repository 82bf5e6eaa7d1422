"""``nr.utils``: PyTorch's ``torch.utils.data`` path (``nr.utils.data.DataLoader``) and Keras's utilities."""

from . import data

__all__ = ["data"]
