"""A CPU stand-in for CuPy that refuses host/device mixing: for tests only.

No GPU has to be present to find the places where neurona mixes host (NumPy) and
device (CuPy) data. With ``NEURONA_DEVICE=strict`` (or ``backend.use_strict_device()``)
the 'gpu' device is backed by this module instead of CuPy: its ``ndarray`` wraps a
NumPy array and computes with NumPy, but behaves like ``cupy.ndarray`` where mixing
breaks on a real GPU:

* ``np.asarray(a)`` / ``np.array(a)`` (``__array__``) raise TypeError, as in CuPy;
* a ufunc or NumPy function that mixes a device array with a host ``numpy.ndarray``
  raises TypeError, as CuPy does (``cupy.add(d, h)``), and so does assigning a host
  array to a basic slice of a device array (CuPy refuses ``d[:2] = h``);
* reductions return 0-d device arrays, never NumPy scalars, as in CuPy.

Stricter than CuPy, as issue 10 asks: ``float()``, ``int()``, ``complex()``,
``.item()`` and ``.tolist()`` on device data raise TypeError too (CuPy allows them
with a silent device synchronisation). The explicit transfers pass: ``asnumpy(a)``
and ``a.get()``, which ``backend.to_numpy`` and ``backend.item`` use. ``bool(a)``
is allowed, as in CuPy (a branch on a device value is a synchronisation, not a bug).
Indexing with host integer arrays is allowed (CuPy copies them to the device).
"""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_HINT = "use neurona.backend.to_numpy(x) (or backend.item(x)) to move it to the host explicitly"
# CuPy's array constructors are the explicit host-to-device transfers: they accept NumPy arrays.
_TRANSFERS = frozenset({"asarray", "array", "asanyarray", "ascontiguousarray"})


def _caller() -> str:
    """Where the refused call came from: the first frame outside this module and NumPy."""
    frame = sys._getframe(2)
    while frame is not None and (frame.f_code.co_filename == __file__ or "/numpy/" in frame.f_code.co_filename):
        frame = frame.f_back
    return "?" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _refuse(what: str) -> TypeError:
    return TypeError(f"strict device: {what} would implicitly convert a device array to NumPy "
                     f"(at {_caller()}); {_HINT}")


def _mixed(where: str, host: np.ndarray) -> TypeError:
    return TypeError(f"strict device: {where} mixes a device array with a host numpy.ndarray "
                     f"(shape {host.shape}, dtype {host.dtype}) at {_caller()}; CuPy refuses this. Move the host "
                     "array with backend.to_device(a, 'gpu') or the device one with backend.to_numpy(x)")


class ndarray(NDArrayOperatorsMixin):  # noqa: N801 - the name CuPy uses
    """A device array of the strict stand-in: a NumPy array that refuses implicit host conversion."""

    __slots__ = ("_a",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    # ---------------------------------------------------------------- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: ndarray(self._a.T))

    def __getattr__(self, name: str) -> Any:
        """ndarray methods (reshape, astype, sum, ...) run on the wrapped array, results stay on the device."""
        if name.startswith("__"):  # no __array_interface__ & co.: NumPy would read the data through them
            raise AttributeError(name)
        if name in ("data", "ctypes", "tofile", "dump", "dumps"):  # host memory, or writes it out
            raise _refuse(f".{name}")
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr, {})
        return lambda *args, **kwargs: _call(attr, f"ndarray.{name}", args, kwargs, {id(self._a): self})

    # ---------------------------------------------------------------- explicit transfer
    def get(self) -> np.ndarray:
        """A host (NumPy) copy: the explicit device-to-host transfer, as ``cupy.ndarray.get``."""
        return self._a.copy()

    # ---------------------------------------------------------------- refused conversions
    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise _refuse("np.asarray()/np.array() (__array__)")

    def __float__(self) -> float:
        raise _refuse("float()")

    def __int__(self) -> int:
        raise _refuse("int()")

    def __complex__(self) -> complex:
        raise _refuse("complex()")

    def item(self, *args: Any) -> Any:
        raise _refuse(".item()")

    def tolist(self) -> Any:
        raise _refuse(".tolist()")

    def tobytes(self, *args: Any, **kwargs: Any) -> bytes:
        raise _refuse(".tobytes()")

    # ---------------------------------------------------------------- container protocol
    def __bool__(self) -> bool:
        return bool(self._a)

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Any:
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getitem__(self, key: Any) -> Any:
        return _wrap(self._a[_unwrap(key, "indexing")], {})

    def __setitem__(self, key: Any, value: Any) -> None:
        key = _unwrap(key, "indexing")
        if isinstance(value, np.ndarray) and value.ndim > 0 and not _advanced(key):
            raise _mixed("assigning to a slice", value)  # CuPy: "Refuse assignment from CPU arrays"
        self._a[key] = value._a if isinstance(value, ndarray) else value

    def __repr__(self) -> str:
        return "strict_" + repr(self._a)

    def __copy__(self) -> ndarray:
        return ndarray(self._a.copy())

    def __deepcopy__(self, memo: dict) -> ndarray:
        return ndarray(self._a.copy())

    # ---------------------------------------------------------------- NumPy protocols
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        operands = inputs[:1] + inputs[2:] if method == "at" else inputs  # ufunc.at(a, indices, b)
        for x in operands + tuple(kwargs.get("out", ())):
            if not isinstance(x, (ndarray, np.ndarray, np.generic, int, float, complex, bool, type(None))):
                return NotImplemented  # e.g. a Tensor: let its reflected operator run
        where = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        return _call(getattr(ufunc, method), where, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _call(func, f"np.{func.__name__}", args, kwargs)


def _advanced(key: Any) -> bool:
    """True when an index uses arrays or lists (advanced indexing), where CuPy accepts host values."""
    parts = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, (np.ndarray, list)) for k in parts)


def _unwrap(obj: Any, where: str, host_ok: bool = False, seen: dict | None = None) -> Any:
    """Replace device arrays by their NumPy arrays (noting them in ``seen``); a host ndarray is an
    error unless ``host_ok``. Host arrays inside an index are allowed (CuPy copies index arrays)."""
    if isinstance(obj, ndarray):
        if seen is not None:
            seen[id(obj._a)] = obj
        return obj._a
    if isinstance(obj, np.ndarray):
        if host_ok or where == "indexing":
            return obj
        raise _mixed(where, obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(o, where, host_ok, seen) for o in obj)
    if isinstance(obj, dict):
        return {k: _unwrap(v, where, host_ok, seen) for k, v in obj.items()}
    return obj


def _wrap(obj: Any, seen: dict) -> Any:
    """NumPy results as device arrays: an input's own array as that input (``out=``, ``asarray``),
    NumPy scalars as 0-d arrays (CuPy's reductions return those)."""
    if isinstance(obj, np.ndarray):
        known = seen.get(id(obj))
        return ndarray(obj) if known is None else known
    if isinstance(obj, np.generic):
        return ndarray(np.asarray(obj))
    if isinstance(obj, tuple):
        return tuple(_wrap(o, seen) for o in obj)
    if isinstance(obj, list):
        return [_wrap(o, seen) for o in obj]
    return obj


def _call(fn: Any, where: str, args: Any, kwargs: Any, seen: dict | None = None, host_ok: bool = False) -> Any:
    """Run a NumPy callable on the arrays inside device arrays and wrap what it returns."""
    seen = {} if seen is None else seen
    index = None
    if where.endswith(".at") and len(args) > 1:  # ufunc.at(a, indices, b): indices may be host arrays
        index, args = _unwrap(args[1], "indexing", seen=seen), (args[0], None, *args[2:])
    args, kwargs = list(_unwrap(args, where, host_ok, seen)), _unwrap(kwargs, where, host_ok, seen)
    if index is not None:
        args[1] = index
    return _wrap(fn(*args, **kwargs), seen)


class _Function:
    """A NumPy function or ufunc as the stand-in's (``xp.exp``, ``xp.add.at``): device arrays in and
    out; a host array only for the transfers (``xp.asarray``), as in CuPy."""

    def __init__(self, name: str, fn: Any) -> None:
        self._name, self._fn = name, fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._fn, f"xp.{self._name}", args, kwargs, host_ok=self._name in _TRANSFERS)

    def __getattr__(self, method: str) -> Any:
        if method.startswith("__"):
            raise AttributeError(method)
        return _Function(f"{self._name}.{method}", getattr(self._fn, method))


def asnumpy(a: Any) -> np.ndarray:
    """A host copy of a device array (a NumPy array passes through), as ``cupy.asnumpy``."""
    return a.get() if isinstance(a, ndarray) else np.asarray(a)


def scatter_add(a: ndarray, index: Any, values: Any) -> None:
    """a[index] += values, adding where the index repeats, as ``cupyx.scatter_add``."""
    np.add.at(a._a, _unwrap(index, "indexing"), _unwrap(values, "scatter_add"))


def erf(x: ndarray) -> ndarray:
    """The error function, as ``cupyx.scipy.special.erf``."""
    from scipy.special import erf as cpu_erf

    return ndarray(cpu_erf(x._a))


class _Generator:
    """A random generator whose draws are device arrays, as ``cupy.random.Generator``."""

    def __init__(self, seed: int | None) -> None:
        self._gen = np.random.default_rng(seed)

    def __getattr__(self, name: str) -> Any:
        return _Function(f"random.Generator.{name}", getattr(self._gen, name))


random = SimpleNamespace(default_rng=_Generator)
lib = SimpleNamespace(stride_tricks=SimpleNamespace(  # cupy.lib.stride_tricks
    as_strided=_Function("lib.stride_tricks.as_strided", np.lib.stride_tricks.as_strided),
    sliding_window_view=_Function("lib.stride_tricks.sliding_window_view", np.lib.stride_tricks.sliding_window_view)))


def __getattr__(name: str) -> Any:
    """Everything else is NumPy's, with device arrays in and out (``xp.exp``, ``xp.zeros``, ``xp.float32``)."""
    attr = getattr(np, name)
    if callable(attr) and not isinstance(attr, type) and not name.startswith("_"):
        return _Function(name, attr)
    return attr
