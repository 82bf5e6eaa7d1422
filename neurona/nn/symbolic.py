"""Symbolic tensors: what ``nn.Input`` stands for and what a layer returns when called on one.

A functional model is written by calling layers on placeholders instead of data::

    x = nn.Input((28, 28, 1))                 # a batch of (None, 28, 28, 1) images, none yet
    y = nn.Dense(10)(nn.Flatten()(x))         # SymbolicTensor (None, 10), made by 'dense'
    model = nn.Model(x, y)

Each call records a ``Node`` (the layer, the symbolic tensors it was called on, its
keyword arguments) and returns ``SymbolicTensor``s that remember the node. To learn the
output shapes, the layer runs once, in eval mode without gradients, on an example batch of
one sample (zeros for the inputs, the upstream layers' example outputs after them); that
first call builds the layer's weights with the known shapes, as Keras does.

A symbolic tensor holds no values: arithmetic, indexing or a NumPy function on it raises a
TypeError that says to use layers (``nn.Add()([a, b])``, ``nn.add(a, b)``) instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Tensor, no_grad


class Node:
    """One call of a layer in a graph: ``layer(inputs, **kwargs) -> outputs``.

    ``inputs`` keeps the structure the layer was called with (a SymbolicTensor, or a list,
    tuple or dict of them); ``outputs`` is the flat list of the SymbolicTensors it returned,
    ``out_structure`` how to put them back together (see ``flatten``/``pack``).
    """

    def __init__(self, layer: Any, inputs: Any, kwargs: dict[str, Any]) -> None:
        self.layer = layer
        self.inputs = inputs
        self.kwargs = dict(kwargs)
        self.outputs: list[SymbolicTensor] = []
        self.out_structure: Any = None

    @property
    def parents(self) -> list[SymbolicTensor]:
        """The symbolic tensors this call reads, in order."""
        return [] if self.inputs is None else flatten(self.inputs)


def _misuse(t: SymbolicTensor, what: str) -> TypeError:
    return TypeError(
        f"{what} on a symbolic tensor ({t!r}): it holds no values, only the shape of the batches a model "
        "will see. Build the computation from layers instead: nn.Add()([a, b]) or nn.add(a, b), "
        "nn.Multiply, nn.Concatenate, nn.Activation, nn.Reshape...; then make the model with "
        "nn.Model(inputs, outputs) and call it (or predict) on arrays"
    )


class SymbolicTensor:
    """A placeholder for the batches a functional model will compute (Keras's ``KerasTensor``).

    ``shape``: (None, ...) with the batch axis unknown; ``dtype``; ``node``: the layer call that
    produced it (``node.layer`` is the layer); ``index``: which of that call's outputs it is.
    """

    __array_priority__ = 1000

    def __init__(self, shape: tuple[Any, ...], dtype: Any, node: Node, index: int = 0,
                 example: Tensor | None = None) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.index = index
        self.example = example  # the value for a one-sample batch of zeros (used to infer shapes)

    @property
    def layer(self) -> Any:
        """The layer whose call produced this tensor."""
        return self.node.layer

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def name(self) -> str:
        return self.layer.name if self.index == 0 else f"{self.layer.name}[{self.index}]"

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, from layer '{self.layer.name}'>"

    # Everything below refuses to act on values that do not exist, with one clear message.
    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise _misuse(self, "a NumPy function (or np.asarray)")

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        raise _misuse(self, f"numpy.{ufunc.__name__}")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise _misuse(self, f"numpy.{func.__name__}")

    def numpy(self) -> Any:
        raise _misuse(self, ".numpy()")

    def __bool__(self) -> bool:
        raise _misuse(self, "a truth test")

    def __len__(self) -> int:
        raise _misuse(self, "len()")

    def __iter__(self) -> Any:
        raise _misuse(self, "iterating")

    def __getitem__(self, key: Any) -> Any:
        raise _misuse(self, "indexing")

    def _operator(self, *args: Any) -> Any:
        raise _misuse(self, "an arithmetic operator")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _operator
    __truediv__ = __rtruediv__ = __pow__ = __rpow__ = __matmul__ = __rmatmul__ = __neg__ = _operator


# ---------------------------------------------------------------- structures of tensors
def as_symbolic(x: Any) -> Any:
    """``x`` with every ``nn.Input`` layer replaced by its symbolic tensor (lists, tuples and dicts kept)."""
    if isinstance(x, SymbolicTensor):
        return x
    output = getattr(x, "symbolic_output", None)
    if isinstance(output, SymbolicTensor):
        return output
    if isinstance(x, (list, tuple)):
        return type(x)(as_symbolic(v) for v in x)
    if isinstance(x, dict):
        return {k: as_symbolic(v) for k, v in x.items()}
    return x


def is_symbolic(x: Any) -> bool:
    """Is ``x`` a symbolic tensor, an ``nn.Input``, or a list/tuple/dict holding one?"""
    if type(x) is Tensor:
        return False
    if isinstance(x, SymbolicTensor) or isinstance(getattr(x, "symbolic_output", None), SymbolicTensor):
        return True
    if isinstance(x, (list, tuple)):
        return any(is_symbolic(v) for v in x)
    if isinstance(x, dict):
        return any(is_symbolic(v) for v in x.values())
    return False


def flatten(x: Any) -> list[Any]:
    """The leaves of a nest of lists, tuples and dicts (dicts in key order)."""
    if isinstance(x, (list, tuple)):
        return [leaf for v in x for leaf in flatten(v)]
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in flatten(v)]
    return [x]


def pack(structure: Any, leaves: list[Any]) -> Any:
    """The inverse of ``flatten``: ``leaves`` put into the shape of ``structure``."""
    it = iter(leaves)

    def build(s: Any) -> Any:
        if isinstance(s, (list, tuple)):
            return type(s)(build(v) for v in s)
        if isinstance(s, dict):
            return {k: build(v) for k, v in s.items()}
        return next(it)

    return build(structure)


# ---------------------------------------------------------------- calling a layer symbolically
def example(t: SymbolicTensor) -> Tensor:
    """The one-sample example value of ``t``, recomputed from its inputs if it was released."""
    if t.example is None:
        node = t.node
        xs = pack(node.inputs, [example(p) for p in node.parents])
        outs = flatten(_run_example(node.layer, xs, node.kwargs))
        for s, o in zip(node.outputs, outs):
            s.example = o
    return t.example


def _run_example(layer: Any, xs: Any, kwargs: dict[str, Any]) -> Any:
    """Call ``layer`` on example values in eval mode without gradients, restoring every sublayer's mode."""
    modes = [(m, m.training) for m in layer.modules()]
    layer.eval()
    try:
        with no_grad():
            return layer.call_on_values(xs, **kwargs)
    finally:
        for m, mode in modes:
            m.__dict__["training"] = mode


def symbolic_call(layer: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``layer(symbolic inputs)``: build the layer for the inputs' shapes, record a Node, return symbolic outputs."""
    where = f"{type(layer).__name__} layer '{layer.name}'"
    if len(args) != 1:
        raise TypeError(f"{where}: called on symbolic tensors, a layer takes one argument (a tensor, or a list "
                        f"or dict of tensors). Received: {len(args)} positional arguments")
    inputs = as_symbolic(args[0])
    leaves = flatten(inputs)
    bad = [type(v).__name__ for v in leaves if not isinstance(v, SymbolicTensor)]
    if bad:
        raise TypeError(f"{where}: got symbolic tensors mixed with values ({', '.join(bad)}). In a functional "
                        "model every input of a layer must come from nn.Input or another layer")
    for v in kwargs.values():
        if is_symbolic(v):
            raise TypeError(f"{where}: symbolic tensors go in the first argument (a list for several), "
                            "not in keyword arguments")
    xs = pack(inputs, [example(t) for t in leaves])
    try:
        out = _run_example(layer, xs, kwargs)
    except (ValueError, TypeError) as exc:
        shapes = [t.shape for t in leaves]
        raise type(exc)(f"{where} cannot take symbolic input{'s' if len(shapes) > 1 else ''} of shape "
                        f"{shapes[0] if len(shapes) == 1 else shapes}: {exc}") from exc
    node = Node(layer, inputs, kwargs)
    outs = flatten(out)
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor):
            raise TypeError(f"{where} returned {type(o).__name__}, not tensors: it cannot be part of a functional "
                            "model")
        node.outputs.append(SymbolicTensor((None,) + tuple(o.shape[1:]), o.dtype, node, i, o))
    node.out_structure = pack(out, node.outputs)
    layer.__dict__.setdefault("_nodes", []).append(node)
    return pack(out, node.outputs)
