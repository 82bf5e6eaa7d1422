"""``Tensor``: an array that remembers how it was computed, and ``apply``, which records each op.

Define-by-run: every op on tensors runs at once on the arrays and, when some input
requires a gradient, links its output to a Function node. ``backward()`` then
walks those links in reverse (see ``engine.py``). Under ``no_grad`` nothing is
linked, so inference costs only the arithmetic.

>>> x = nr.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
>>> y = ((x * 2).exp().sum(axis=1) ** 2).mean()
>>> y.backward()
>>> x.grad.shape
(1, 3)
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .. import backend
from ..backend import device_of, get_array_module
from . import engine
from .elementwise import Abs, Add, Cast, Clip, Div, Exp, Log, Maximum, Mul, Neg, Pow, ReLU, Sigmoid, Sqrt, Sub, Tanh
from .function import Function
from .grad_mode import mode
from .linalg import MatMul
from .reduction import Max, Mean, Min, Sum, normalize_axis
from .shape import BroadcastTo, Concat, GetItem, Reshape, Stack, Transpose

_SCALARS = (int, float, bool)


class Tensor:
    """An n-dimensional array (NumPy or CuPy) with an optional gradient and a link to its creator.

    Fields: ``data`` (the array), ``grad`` (an array of the same shape, or None),
    ``requires_grad``, ``creator`` (the Function that produced it; None for leaves),
    ``name`` (optional label used in summaries and graph drawings).
    """

    __slots__ = ("data", "grad", "requires_grad", "creator", "index", "name", "_grad_view", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operator instead of converting

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False, device: str | None = None,
                 name: str | None = None) -> None:
        self.data = as_array(data, dtype, device)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require gradients. Received: dtype={self.data.dtype}")
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.creator = None
        self.index = 0
        self.name = name
        self._grad_view = None

    # ---------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> _Size:
        """Number of elements (NumPy's ``size``); called, PyTorch's: ``x.size()`` the shape, ``x.size(1)`` one axis."""
        return _Size(self.data.size, self.data.shape)

    def dim(self) -> int:
        """Number of axes (PyTorch's spelling of ``ndim``)."""
        return self.data.ndim

    def numel(self) -> int:
        """Number of elements (PyTorch's spelling)."""
        return self.data.size

    @property
    def device(self) -> str:
        return device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    @property
    def T(self) -> Tensor:
        return self.transpose()

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self.data), separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype != backend.get_default_dtype():
            extra += f", dtype={self.data.dtype}"
        if self.device != "cpu":
            extra += f", device='{self.device}'"
        if self.creator is not None:
            extra += f", grad_fn=<{self.creator.name}>"
        elif self.requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        _reading(self, "np.asarray()")
        a = backend.to_numpy(self.data)
        return a if dtype is None else a.astype(dtype)

    def __bool__(self) -> bool:
        _reading(self, "bool()")
        return bool(self.data)

    def __float__(self) -> float:
        _reading(self, "float()")
        return float(backend.to_numpy(self.data))

    def __index__(self) -> int:
        """A one-element integer tensor used as an index: ``classes[pred.argmax()]``."""
        if self.data.size != 1 or self.data.dtype.kind not in "iub":
            raise TypeError(f"only a one-element integer tensor can be used as an index. "
                            f"Received: dtype={self.dtype}, shape={self.shape}")
        _reading(self, "an index")
        return int(backend.item(self.data))

    def __int__(self) -> int:
        _reading(self, "int()")
        return int(backend.to_numpy(self.data))

    __hash__ = object.__hash__

    # ---------------------------------------------------------------- leaving the graph
    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (a copy from the GPU; the array itself on the CPU)."""
        _reading(self, ".numpy()")
        return backend.to_numpy(self.data)

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element. Received: shape={self.shape}")
        _reading(self, ".item()")
        return backend.item(self.data)

    def tolist(self) -> Any:
        _reading(self, ".tolist()")
        return backend.to_numpy(self.data).tolist()

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory)."""
        return _off_graph(self, self.data, "detach()")

    def to(self, device: str | None = None, dtype: Any = None) -> Tensor:
        """A copy on another device and/or with another dtype, as a new leaf (self when nothing changes)."""
        data = self.data
        if device is not None and backend.check_device(device) != self.device:
            data = backend.to_device(data, device)
        if dtype is not None and np.dtype(dtype) != data.dtype:
            data = data.astype(dtype)
        if data is self.data:
            return self
        t = _new(data, self.requires_grad, None, 0)
        t.name = self.name
        return t

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (on leaves) and return self."""
        if self.creator is not None and not requires_grad:
            raise RuntimeError("requires_grad can only be switched off on leaf tensors; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    # ---------------------------------------------------------------- autograd
    def backward(self, grad: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires a gradient.

        ``grad`` is the upstream gradient (same shape as self); it may be omitted
        for a one-element tensor (a loss), where it is 1. The graph is freed after
        the call unless ``retain_graph=True``.
        """
        if mode.tracer is not None:
            mode.tracer.backward(self)
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input had requires_grad=True, "
                "or it was computed under no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a one-element output. Received: shape={self.shape}; "
                    "pass grad= of the same shape"
                )
            grad = get_array_module(self.data).ones(self.data.shape, self.data.dtype)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            grad = get_array_module(self.data).asarray(grad, dtype=self.data.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(grad): grad must have the output's shape {self.shape}. "
                                 f"Received: {grad.shape}")
        engine.backward(self, grad, retain_graph)

    def retain_grad(self) -> None:
        """Keep the gradient of this intermediate tensor in ``.grad`` after backward (for inspection)."""
        if self.creator is None:
            return
        if self.creator.retained is None:
            self.creator.retained = {}
        self.creator.retained[self.index] = weakref.ref(self)

    # ---------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        return apply(Add(), self, _operand(other, self))

    def __radd__(self, other: Any) -> Tensor:
        return apply(Add(), _operand(other, self), self)

    def __sub__(self, other: Any) -> Tensor:
        return apply(Sub(), self, _operand(other, self))

    def __rsub__(self, other: Any) -> Tensor:
        return apply(Sub(), _operand(other, self), self)

    def __mul__(self, other: Any) -> Tensor:
        return apply(Mul(), self, _operand(other, self))

    def __rmul__(self, other: Any) -> Tensor:
        return apply(Mul(), _operand(other, self), self)

    def __truediv__(self, other: Any) -> Tensor:
        return apply(Div(), self, _operand(other, self))

    def __rtruediv__(self, other: Any) -> Tensor:
        return apply(Div(), _operand(other, self), self)

    def __pow__(self, other: Any) -> Tensor:
        return apply(Pow(), self, _operand(other, self))

    def __rpow__(self, other: Any) -> Tensor:
        return apply(Pow(), _operand(other, self), self)

    def __matmul__(self, other: Any) -> Tensor:
        return apply(MatMul(), self, _operand(other, self))

    def __rmatmul__(self, other: Any) -> Tensor:
        return apply(MatMul(), _operand(other, self), self)

    def __neg__(self) -> Tensor:
        return apply(Neg(), self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return apply(Abs(), self)

    # Comparisons give boolean tensors outside the graph (like PyTorch).
    def __lt__(self, other: Any) -> Tensor:
        return _off_graph(self, self.data < _raw(other), "<")

    def __le__(self, other: Any) -> Tensor:
        return _off_graph(self, self.data <= _raw(other), "<=")

    def __gt__(self, other: Any) -> Tensor:
        return _off_graph(self, self.data > _raw(other), ">")

    def __ge__(self, other: Any) -> Tensor:
        return _off_graph(self, self.data >= _raw(other), ">=")

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _off_graph(self, self.data == _raw(other), "==")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _off_graph(self, self.data != _raw(other), "!=")

    # ---------------------------------------------------------------- elementwise functions
    def exp(self) -> Tensor:
        return apply(Exp(), self)

    def log(self) -> Tensor:
        return apply(Log(), self)

    def sqrt(self) -> Tensor:
        return apply(Sqrt(), self)

    def abs(self) -> Tensor:
        return apply(Abs(), self)

    def tanh(self) -> Tensor:
        return apply(Tanh(), self)

    def sigmoid(self) -> Tensor:
        return apply(Sigmoid(), self)

    def relu(self) -> Tensor:
        return apply(ReLU(), self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002 (NumPy's names)
        """Values limited to [min, max]; the gradient is zero where a limit was applied."""
        return apply(Clip(min, max), self)

    def maximum(self, other: Any) -> Tensor:
        return apply(Maximum(), self, _operand(other, self))

    def astype(self, dtype: Any) -> Tensor:
        """A differentiable cast to another dtype (float32 <-> float64)."""
        if np.dtype(dtype) == self.data.dtype:
            return self
        return apply(Cast(np.dtype(dtype)), self)

    # ---------------------------------------------------------------- PyTorch's casts and comparisons
    def float(self) -> Tensor:
        """A float32 copy (differentiable), as ``torch.Tensor.float``."""
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def long(self) -> Tensor:
        """An int64 copy, cut from the graph (integers carry no gradient)."""
        return _off_graph(self, self.data.astype(np.int64), "long()")

    def type(self, dtype: Any = None) -> Any:
        """Without ``dtype`` the type's name (``'neurona.FloatTensor'``); with one, a copy of that dtype."""
        if dtype is None:
            return "neurona." + _TYPE_NAMES.get(self.data.dtype.name, self.data.dtype.name) + "Tensor"
        dtype = np.dtype(dtype)
        return self.astype(dtype) if dtype.kind == "f" and self.data.dtype.kind == "f" else \
            _off_graph(self, self.data.astype(dtype), "type()")

    def eq(self, other: Any) -> Tensor:
        """Elementwise ``==`` (PyTorch's method name)."""
        return self == other

    def ne(self, other: Any) -> Tensor:
        return self != other

    # ---------------------------------------------------------------- reductions
    # axis/keepdims as NumPy and Keras; dim/keepdim accepted as PyTorch spells them.
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *, dim: Any = None,
            keepdim: bool | None = None) -> Tensor:
        axis, keepdims = _torch_axis(axis, keepdims, dim, keepdim)
        return apply(Sum(axis, keepdims), self)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *, dim: Any = None,
             keepdim: bool | None = None) -> Tensor:
        axis, keepdims = _torch_axis(axis, keepdims, dim, keepdim)
        return apply(Mean(axis, keepdims), self)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *, dim: int | None = None,
            keepdim: bool | None = None) -> Any:
        """Largest values; with ``dim=`` (PyTorch's spelling) the pair ``(values, indices)`` as ``torch.max``."""
        if dim is not None:
            keep = bool(keepdim)
            return ValuesIndices(apply(Max(dim, keep), self), self.argmax(dim, keep))
        axis, keepdims = _torch_axis(axis, keepdims, None, keepdim)
        return apply(Max(axis, keepdims), self)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, *, dim: int | None = None,
            keepdim: bool | None = None) -> Any:
        """Smallest values; with ``dim=`` the pair ``(values, indices)`` as ``torch.min``."""
        if dim is not None:
            keep = bool(keepdim)
            return ValuesIndices(apply(Min(dim, keep), self), self.argmin(dim, keep))
        axis, keepdims = _torch_axis(axis, keepdims, None, keepdim)
        return apply(Min(axis, keepdims), self)

    def var(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance: mean of squared deviations (divided by n - ddof)."""
        d = self - self.mean(axis, keepdims=True)
        axes = normalize_axis(axis, self.ndim)
        n = self.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        return (d * d).sum(axis, keepdims) / (n - ddof)

    def std(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return self.var(axis, keepdims, ddof).sqrt()

    def argmax(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> Tensor:
        axis, keepdims = _torch_axis(axis, keepdims, dim, keepdim)
        return _off_graph(self, _arg(self.data.argmax, axis, keepdims), "argmax()")

    def argmin(self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None,
               keepdim: bool | None = None) -> Tensor:
        axis, keepdims = _torch_axis(axis, keepdims, dim, keepdim)
        return _off_graph(self, _arg(self.data.argmin, axis, keepdims), "argmin()")

    # ---------------------------------------------------------------- shape
    def reshape(self, *shape: Any) -> Tensor:
        """Same values, new shape: ``x.reshape(2, -1)`` or ``x.reshape((2, -1))``."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if shape == self.data.shape:
            return self
        return apply(Reshape(shape), self)

    def flatten(self, start_axis: int = 0, end_axis: int = -1, *, start_dim: int | None = None,
                end_dim: int | None = None) -> Tensor:
        """Merge the axes from ``start_axis`` to ``end_axis`` into one (``flatten(1)`` keeps the batch axis).

        ``start_dim``/``end_dim`` are PyTorch's names for the same.
        """
        start = (start_axis if start_dim is None else start_dim) % max(self.ndim, 1)
        end = (end_axis if end_dim is None else end_dim) % max(self.ndim, 1)
        if self.ndim == 0:
            return self.reshape(1)
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def view(self, *shape: Any) -> Tensor:
        """PyTorch's name for ``reshape`` (always a new Tensor sharing nothing it must not)."""
        return self.reshape(*shape)

    def view_as(self, other: Any) -> Tensor:
        """Reshaped to ``other``'s shape."""
        return self.reshape(tuple(other.shape))

    def transpose(self, *axes: Any) -> Tensor:
        """Permute axes: ``x.transpose()`` reverses them, ``x.transpose(0, 2, 1)`` permutes."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return apply(Transpose(axes or None), self)

    def squeeze(self, axis: int | None = None) -> Tensor:
        shape = self.shape
        if axis is None:
            new = tuple(s for s in shape if s != 1)
        else:
            axis = axis % self.ndim
            if shape[axis] != 1:
                raise ValueError(f"squeeze: axis {axis} has size {shape[axis]}, not 1 (shape {shape})")
            new = shape[:axis] + shape[axis + 1:]
        return self.reshape(new)

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert an axis of size 1 at ``axis`` (NumPy's expand_dims)."""
        axis = axis % (self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    expand_dims = unsqueeze

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        return apply(BroadcastTo(shape), self)

    def __getitem__(self, index: Any) -> Tensor:
        return apply(GetItem(_raw_index(index)), self)


class _Size(int):
    """A tensor's element count that, called, gives PyTorch's ``size()``: the shape, or one axis's length."""

    def __new__(cls, n: int, shape: tuple[int, ...]) -> _Size:
        obj = super().__new__(cls, n)
        obj.shape = tuple(shape)
        return obj

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.shape
        if not -len(self.shape) <= dim < len(self.shape):
            raise IndexError(f"size(dim): dim must be in [{-len(self.shape)}, {len(self.shape) - 1}] "
                             f"for shape {self.shape}. Received: dim={dim}")
        return self.shape[dim]


class ValuesIndices(tuple):
    """``(values, indices)`` from ``max(dim=...)``/``min(dim=...)``, as ``torch.return_types.max``."""

    def __new__(cls, values: Tensor, indices: Tensor) -> ValuesIndices:
        return super().__new__(cls, (values, indices))

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long", "int32": "Int",
               "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _torch_axis(axis: Any, keepdims: bool, dim: Any, keepdim: bool | None) -> tuple[Any, bool]:
    """Merge PyTorch's ``dim``/``keepdim`` spellings into NumPy's ``axis``/``keepdims``."""
    if dim is not None:
        if axis is not None:
            raise TypeError(f"give axis or dim, not both. Received: axis={axis!r}, dim={dim!r}")
        axis = dim
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, bool(keepdims if keepdim is None else keepdim)


def _arg(fn: Any, axis: int | None, keepdims: bool) -> Any:
    return fn(axis=axis, keepdims=True) if keepdims else fn(axis=axis)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim``..``end_dim`` into one, as ``torch.flatten``: ``nr.flatten(x, 1)``."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    return x.flatten(start_dim, end_dim)


def _new(data: Any, requires_grad: bool, creator: Function | None, index: int) -> Tensor:
    """Make a Tensor around an array without checks (the engine's fast path)."""
    t = object.__new__(Tensor)
    t.data = data
    t.grad = None
    t.requires_grad = requires_grad
    t.creator = creator
    t.index = index
    t.name = None
    t._grad_view = None
    return t


def _off_graph(src: Tensor, data: Any, what: str) -> Tensor:
    """A tensor computed from ``src`` outside the graph (a comparison, argmax, detach): while a call
    is traced, the tracer is told, so it can follow the value or refuse it."""
    t = _new(data, False, None, 0)
    if mode.tracer is not None:
        mode.tracer.off_graph(src, t, what)
    return t


def _reading(t: Tensor, what: str) -> None:
    """A Python value read from a tensor: while a call is traced, the tracer refuses it when it depends on data."""
    if mode.tracer is not None:
        mode.tracer.read(t, what)


def apply(fn: Function, *inputs: Any) -> Any:
    """Run ``fn.forward`` on the inputs' arrays and, if any input needs a gradient, record ``fn`` in the graph.

    Inputs are Tensors or constants (Python numbers, arrays). Returns a Tensor, or
    a tuple of Tensors when forward returns a tuple. While ``neurona.graphs`` traces a
    call, the tracer runs the op and records it as a node of a static graph.
    """
    if mode.tracer is not None:
        return mode.tracer.apply(fn, inputs)
    xs = [x.data if isinstance(x, Tensor) else x for x in inputs]
    try:
        y = fn.forward(*xs)
    except (ValueError, TypeError) as exc:
        raise _explain(fn, xs, exc) from exc
    if mode.anomaly:
        for i, yi in enumerate(y if type(y) is tuple else (y,)):
            engine._check_finite(yi, f"output {i} of {fn.name} (input shapes {_shapes(xs)})")
    record = False
    if mode.grad:
        needs = []
        generation = 0
        for x in inputs:
            if isinstance(x, Tensor) and x.requires_grad:
                needs.append(True)
                record = True
                c = x.creator
                if c is not None and c.generation >= generation:
                    generation = c.generation + 1
            else:
                needs.append(False)
        if record:
            fn.inputs = inputs
            fn.needs_input_grad = needs
            fn.generation = generation
            fn.grads = None
            fn.retained = None
    if type(y) is tuple:
        if record:
            fn.n_outputs = len(y)
            return tuple(_new(yi, True, fn, i) for i, yi in enumerate(y))
        return tuple(_new(yi, False, None, 0) for yi in y)
    if record:
        fn.n_outputs = 1
        return _new(y, True, fn, 0)
    return _new(y, False, None, 0)


def _shapes(xs: Sequence[Any]) -> str:
    return ", ".join(str(tuple(x.shape)) if hasattr(x, "shape") else repr(x) for x in xs)


def _explain(fn: Function, xs: Sequence[Any], exc: Exception) -> Exception:
    """Turn an array library's error inside an op into one that names the op and the input shapes."""
    message = str(exc)
    if message.startswith(fn.name):  # the op raised a clear error itself
        return exc
    devices = {device_of(x) for x in xs if hasattr(x, "shape")}
    if len(devices) > 1:
        return RuntimeError(
            f"{fn.name}: inputs are on different devices ({', '.join(sorted(devices))}); "
            "ops never move data between devices: move them with .to(device) first"
        )
    if isinstance(fn, MatMul) and len(xs) == 2 and all(hasattr(x, "shape") for x in xs):
        a, b = xs
        return ValueError(
            f"MatMul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit: the last axis of the first "
            f"({a.shape[-1] if a.ndim else '-'}) must equal the "
            f"{'first' if b.ndim == 1 else 'second-to-last'} axis of the second "
            f"({b.shape[-2] if b.ndim > 1 else b.shape[0] if b.ndim else '-'})"
        )
    return type(exc)(f"{fn.name}: {message} (input shapes: {_shapes(xs)})")


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _raw_index(index: Any) -> Any:
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


def _operand(other: Any, like: Tensor) -> Any:
    """A constant operand in a form that keeps ``like``'s dtype and device (no silent float64 upcast)."""
    if isinstance(other, Tensor) or type(other) in _SCALARS:
        return other
    xp = get_array_module(like.data)
    if get_array_module(other) is not xp and hasattr(other, "shape") and not isinstance(other, np.generic):
        raise RuntimeError(
            f"operand is on {device_of(other)} but the tensor is on {like.device}; "
            "ops never move data between devices: move it with .to(device) or nr.tensor(..., device=...)"
        )
    arr = xp.asarray(other)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"operands must be numeric. Received: {type(other).__name__} of dtype {arr.dtype}")
    if like.data.dtype.kind == "f" and arr.dtype != like.data.dtype:
        arr = arr.astype(like.data.dtype)
    return arr


def as_array(data: Any, dtype: Any = None, device: str | None = None) -> Any:
    """Convert user data (number, nested list, NumPy/CuPy array, Tensor) to a backend array.

    Floating by default (``nr.get_default_dtype()``, float32 unless changed); ``dtype`` overrides.
    The array goes to ``device``, else stays where it is if it is a CuPy array, else goes to the
    default device: a NumPy array or a list becomes a GPU tensor after ``nr.set_device("gpu")``.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (str, bytes, dict, set)) or data is None:
        raise TypeError("tensor data must be numeric (a number, a nested list or an array). "
                        f"Received: {type(data).__name__}")
    target = device if device is not None else device_of(data) if device_of(data) != "cpu" else backend.get_device()
    xp = backend.array_module(target)
    src = get_array_module(data)
    try:
        arr = src.asarray(data) if src is not np else np.asarray(data)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"tensor data must be numeric and rectangular. Received: {type(data).__name__} "
                        f"({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"tensor data must be numeric. Received: {type(data).__name__} of dtype {arr.dtype}")
    dt = backend.get_default_dtype() if dtype is None else np.dtype(dtype)
    if src is not xp:
        arr = backend.to_device(arr, target)
    if arr.dtype != dt:
        arr = arr.astype(dt)
    return arr


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, device: str | None = None) -> Tensor:
    """Make a tensor: float32 unless ``dtype`` is given, on the default device unless ``device`` is given.

    >>> x = nr.tensor(np.ones((2, 3)), requires_grad=True)
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, device=device)


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (``np.concatenate``)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concat needs at least one tensor")
    return apply(Concat(axis), *tensors)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors of equal shape along a new axis (``np.stack``)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack needs at least one tensor")
    return apply(Stack(axis), *tensors)
