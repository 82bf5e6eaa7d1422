"""``torch.utils.data`` spelled ``nr.utils.data``: the same objects as ``nr.data``'s loader and datasets."""

from ..data.loader import DataLoader, Dataset, Subset, TensorDataset, collate

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "collate"]
