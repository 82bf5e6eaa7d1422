"""``Embedding``: a trainable look-up table from integer ids to dense vectors (word embeddings)."""

from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Tensor
from .core import _serial
from .initializers import serialize_initializer
from .module import Module
from .regularizers import serialize_regularizer


class Embedding(Module):
    """Map integer ids (any shape, typically (N, T)) to rows of ``embeddings`` (input_dim, output_dim).

    y = embeddings[ids], shape ids.shape + (output_dim,). It equals a Dense layer without bias
    applied to one-hot vectors, without building them. The gradient is scattered back
    with adds, so an id used several times in a batch sums its gradients; rows of ids
    absent from the batch get zero. input_dim * output_dim parameters.

    >>> nn.Embedding(10000, 64)(ids)      # ids (N, T) ints in [0, 10000) -> (N, T, 64)
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> None:
        super().__init__(name=name, input_shape=input_shape)
        for what, v in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Embedding: {what} must be a positive integer. Received: {what}={v!r}")
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer, self.embeddings_regularizer = embeddings_initializer, embeddings_regularizer
        self.embeddings = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer,
                        self.embeddings_regularizer)

    def _ids(self, ids: Any) -> Any:
        """The ids as an integer array on the table's device, checked to lie in [0, input_dim)."""
        ids = ids.data if isinstance(ids, Tensor) else ids
        xp = backend.get_array_module(self.embeddings.data)
        ids = xp.asarray(ids) if backend.get_array_module(ids) is xp else backend.to_device(ids, self.embeddings.device)
        where = f"Embedding layer '{self.name}'"
        if ids.dtype.kind == "f":  # a float batch (a default-dtype tensor) holding whole numbers is fine
            as_int = ids.astype(xp.int64)
            if ids.size and bool((as_int != ids).any()):
                raise ValueError(f"{where}: expected integer ids. Received: non-integer values of dtype {ids.dtype}")
            ids = as_int
        elif ids.dtype.kind not in "iu":
            raise TypeError(f"{where}: expected integer ids. Received: dtype={ids.dtype}")
        if ids.size:
            low, high = backend.item(ids.min()), backend.item(ids.max())
            if low < 0 or high >= self.input_dim:
                raise ValueError(f"{where}: expected ids in [0, {self.input_dim}) (input_dim={self.input_dim}). "
                                 f"Received: min={low}, max={high}, shape={tuple(ids.shape)}")
        return ids

    def forward(self, ids: Any) -> Tensor:
        return self.embeddings[self._ids(ids)]

    def get_config(self) -> dict[str, Any]:
        return {
            "input_dim": self.input_dim, "output_dim": self.output_dim,
            "embeddings_initializer": _serial(self.embeddings_initializer, serialize_initializer),
            "embeddings_regularizer": _serial(self.embeddings_regularizer, serialize_regularizer),
            "name": self.name,
        }

    def extra_repr(self) -> str:
        return f"{self.input_dim}, {self.output_dim}"
