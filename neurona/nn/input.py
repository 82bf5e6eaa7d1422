"""``nn.Input``: the start of a functional model, and the first layer of a Sequential.

``x = nn.Input((28, 28, 1))`` declares batches of (None, 28, 28, 1) samples. It is a layer
(inside a Sequential it checks and passes the batch through) that also stands for its own
output, a ``SymbolicTensor``: layers called on it build for that shape and return symbolic
tensors, and ``nn.Model(x, y)`` collects the layers between them (see ``graph_model.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from .module import Module
from .symbolic import Node, SymbolicTensor, _misuse


class Input(Module):
    """Declares the shape of one sample (no batch axis), as ``keras.Input``.

    ``shape``: the sample shape, e.g. (28, 28, 1); ``dtype``: the data type of the batches
    (the default float type when omitted; "int64" for token ids). As a symbolic tensor,
    ``x.shape`` is (None, *shape) and ``x.dtype`` the dtype, as in Keras.

    >>> x = nn.Input((784,)); model = nn.Model(x, nn.Dense(10)(x))
    """

    def __init__(self, shape: tuple[int, ...], dtype: Any = None, name: str | None = None) -> None:
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        if not isinstance(shape, (list, tuple)) or not all(isinstance(s, (int, np.integer)) and s > 0
                                                           for s in shape):
            raise ValueError(f"Input: shape must be a tuple of positive integers (one sample, no batch axis). "
                             f"Received: shape={shape!r}")
        super().__init__(name=name, input_shape=tuple(shape))
        d = self.__dict__
        d["sample_shape"] = tuple(int(s) for s in shape)
        d["dtype"] = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
        node = Node(self, None, {})
        xp = backend.array_module()
        zeros = Tensor(xp.zeros((1,) + self.sample_shape, dtype=self.dtype))
        out = SymbolicTensor((None,) + self.sample_shape, self.dtype, node, 0, zeros)
        node.outputs.append(out)
        node.out_structure = out
        d["_nodes"] = [node]
        d["symbolic_output"] = out
        d["built"] = True
        d["input_shape"] = d["output_shape"] = (None,) + self.sample_shape

    @property
    def shape(self) -> tuple[Any, ...]:
        """(None, *sample shape): the shape of the batches this input stands for."""
        return (None,) + self.sample_shape

    @property
    def ndim(self) -> int:
        return len(self.sample_shape) + 1

    def forward(self, x: Any) -> Any:
        if tuple(x.shape[1:]) != self.sample_shape:
            raise ValueError(f"Input '{self.name}': expected samples of shape {self.sample_shape}. "
                             f"Received: batch of shape {tuple(x.shape)}")
        return x if isinstance(x, Tensor) else Tensor(x)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"shape": list(self.sample_shape), "name": self.name}
        if self.dtype != backend.get_default_dtype():
            config["dtype"] = self.dtype.name
        return config

    # An Input stands for a symbolic tensor: it refuses NumPy the same way (see symbolic.py).
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise _misuse(self.symbolic_output, "a NumPy function (or np.asarray)")

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        raise _misuse(self.symbolic_output, f"numpy.{ufunc.__name__}")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise _misuse(self.symbolic_output, f"numpy.{func.__name__}")

    def __repr__(self) -> str:
        return f"Input(shape={self.shape}, dtype={self.dtype}, name='{self.name}')"
