"""The graph being written: ONNX nodes, weights and the layout of every value.

neurona's images are channels-last (N, H, W, C); ONNX's image operators (Conv, MaxPool,
BatchNormalization, Resize...) want channels-first (N, C, H, W). A ``Value`` remembers in
which layout the graph holds it, and ``GraphBuilder.nchw`` / ``nhwc`` insert a Transpose
only where an operator needs the other one (once per value). A chain of convolutions and
pools therefore runs channels-first with one Transpose after the input and one before a
Flatten or the output, and the graph's inputs and outputs keep neurona's layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import backend
from ...autograd import Tensor

TO_NCHW = (0, 3, 1, 2)
TO_NHWC = (0, 2, 3, 1)


class ExportError(ValueError):
    """A model (or one of its layers) that the ONNX exporter cannot write."""


@dataclass
class Value:
    """A tensor of the graph: its ONNX name, neurona's example of it (batch of one) and its layout.

    ``layout`` is "nchw" only for 4-D images the graph holds channels-first; ``shape`` is
    always neurona's (channels-last) shape, with the batch axis None.
    """

    name: str
    example: Tensor
    layout: str = "nhwc"

    @property
    def shape(self) -> tuple[Any, ...]:
        return (None,) + tuple(self.example.shape[1:])

    @property
    def ndim(self) -> int:
        return len(self.example.shape)


def host(a: Any, dtype: Any = None) -> np.ndarray:
    """A parameter, buffer or array as a host NumPy array (an explicit transfer from the GPU)."""
    if isinstance(a, Tensor):
        a = a.data
    a = backend.to_numpy(a)
    return np.array(a, dtype=dtype, order="C")  # a copy; a 0-d array stays a scalar (ascontiguousarray would not)


class GraphBuilder:
    """Collects nodes and initializers; names are unique and readable (``dense_1/Gemm``)."""

    def __init__(self, onnx: Any, opset: int, dtype: Any) -> None:
        self.onnx = onnx
        self.opset = opset
        self.dtype = np.dtype(dtype)
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self._used: set[str] = set()
        self._layout_cache: dict[tuple[str, str], str] = {}
        self.scope = "graph"

    def fresh(self, hint: str) -> str:
        """A name not used yet, made from ``hint``."""
        hint = hint.replace(" ", "_")
        name, k = hint, 1
        while name in self._used:
            name = f"{hint}_{k}"
            k += 1
        self._used.add(name)
        return name

    def node(self, op: str, inputs: list[str], outputs: int = 1, **attrs: Any) -> Any:
        """Add one node; returns its output name (or the list of names when ``outputs`` > 1)."""
        names = [self.fresh(f"{self.scope}/{op}" + (f":{i}" if i else "")) for i in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.onnx.helper.make_node(op, inputs, names, name=self.fresh(f"{self.scope}/{op}#"),
                                                     **attrs))
        return names[0] if outputs == 1 else names

    def const(self, array: Any, hint: str, dtype: Any = None) -> str:
        """A weight or constant as an initializer (float arrays in the model's dtype unless ``dtype`` says)."""
        a = host(array)
        if dtype is not None:
            a = a.astype(dtype)
        elif a.dtype.kind == "f":
            a = a.astype(self.dtype)
        name = self.fresh(f"{self.scope}/{hint}")
        self.initializers.append(self.onnx.numpy_helper.from_array(a, name))
        return name

    def ints(self, values: Any, hint: str = "shape") -> str:
        """An int64 constant (shapes, pads, axes)."""
        return self.const(np.asarray(values, dtype=np.int64), hint, np.int64)

    def _transposed(self, v: Value, perm: tuple[int, ...], layout: str) -> str:
        key = (v.name, layout)
        if key not in self._layout_cache:
            self._layout_cache[key] = self.node("Transpose", [v.name], perm=list(perm))
        return self._layout_cache[key]

    def nchw(self, v: Value) -> str:
        """The name of ``v`` channels-first (a 4-D image), adding a Transpose if the graph holds it channels-last."""
        if v.ndim != 4:
            raise ExportError(f"ONNX export: expected a 4-D image batch (N, H, W, C). Received: shape={v.shape}")
        return v.name if v.layout == "nchw" else self._transposed(v, TO_NCHW, "nchw")

    def nhwc(self, v: Value) -> str:
        """The name of ``v`` in neurona's layout, adding a Transpose if the graph holds it channels-first."""
        return v.name if v.layout != "nchw" else self._transposed(v, TO_NHWC, "nhwc")

    def same_layout(self, values: list[Value]) -> tuple[list[str], str]:
        """Names of ``values`` all in one layout (the first's), for elementwise merges and concatenation."""
        layout = values[0].layout if all(v.ndim == 4 for v in values) else "nhwc"
        names = [self.nchw(v) if layout == "nchw" else self.nhwc(v) for v in values]
        return names, layout
