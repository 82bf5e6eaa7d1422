"""When neurona's compiled (numba) CPU kernels run, and the switch that turns them off.

A compiled kernel is worth it only for a memory-bound loop that NumPy array expressions
must run as many passes over large arrays (col2im: one strided slice-add per kernel tap),
where one compiled pass does the same arithmetic reading and writing each value once.
Each compiled kernel (in ``kernels/_numba.py``) has an array-expression twin next to
the code that calls it: the twin runs on the GPU (CuPy), where numba is not installed,
with NEURONA_NUMBA=0, and in the tests that compare the two.

numba is imported, and a kernel compiled, on first use only (``cache=True`` keeps the
compiled code on disk, in numba's cache next to the module or in NUMBA_CACHE_DIR), so
``import neurona`` stays as fast as before and later processes load the kernel in milliseconds.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

import numpy as np

# A compiled kernel runs by default from this many values on: below, loading numba (about a second of
# CPU once per process, from numba's cache) would cost more than the kernel saves. Each kernel module
# names its own threshold (by default this one), which its tests lower to run the kernel on small arrays.
COMPILED_MIN_VALUES = 1 << 18

_module: ModuleType | None = None
_failed = False


def enabled() -> bool:
    """Whether compiled kernels may run: numba importable and NEURONA_NUMBA not "0"."""
    return os.environ.get("NEURONA_NUMBA", "1") != "0" and _load() is not None


def _load() -> ModuleType | None:
    global _module, _failed
    if _module is None and not _failed:
        try:
            from . import _numba

            _module = _numba
        except ImportError:  # numba missing (or broken): the array twins run instead
            _failed = True
    return _module


def usable(*arrays: Any, use: bool | None = None) -> ModuleType | None:
    """The compiled kernels' module when they may run on these arrays (NumPy, float32 or float64),
    else None. ``use`` False forces the array twin, True insists on the compiled kernel."""
    if use is False or not all(isinstance(a, np.ndarray) and a.dtype in (np.float32, np.float64) for a in arrays):
        if use:
            raise ValueError("the compiled kernels take NumPy float32/float64 arrays")
        return None
    if use is None and not enabled():
        return None
    module = _load()
    if module is None and use:
        raise ImportError("numba is not installed: the compiled kernels are unavailable")
    return module


def select(name: str, *arrays: Any, compiled: bool | None = None, values: int | None = None,
           min_values: int = COMPILED_MIN_VALUES, fits: bool = True, needs: str = "") -> ModuleType | None:
    """The compiled kernel module ``neurona.kernels.<name>`` when it is to run on these arrays, else None:
    the caller runs its array twin.

    ``compiled`` None decides: the arrays fit the kernel (``fits``, the caller's layout test), there are
    ``values`` (by default the first array's size) >= ``min_values``, and compiled kernels may run on them
    (``usable``). False forces the twin; True insists, raising ValueError(``needs``) when they do not fit."""
    if compiled is False:
        return None
    if not fits:
        if compiled:
            raise ValueError(needs)
        return None
    if compiled is None and (arrays[0].size if values is None else values) < min_values:
        return None
    if usable(*arrays, use=compiled) is None:
        return None
    return importlib.import_module(f".{name}", __package__)
