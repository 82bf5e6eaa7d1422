"""The array module (NumPy or CuPy), the default device and dtype, and the random generators.

This is the only module that imports CuPy. Everything above it asks for the array
module of its data (``get_array_module``) and writes one code path for both:
``xp.exp(x)`` runs on the CPU for a NumPy array and on the GPU for a CuPy array.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import platform
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import numpy as np

DEVICES = ("cpu", "gpu")

_cupy: ModuleType | None = None  # imported on first use of the GPU
_cupy_error: str | None = None
_default_device = "cpu"
_default_dtype = np.dtype(np.float32)
_rngs: dict[str, Any] = {"cpu": np.random.default_rng()}


def _load_cupy() -> ModuleType | None:
    """Import CuPy once; remember why it failed so errors can say so."""
    global _cupy, _cupy_error
    if _cupy is None and _cupy_error is None:
        try:
            import cupy

            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception as exc:  # ImportError, or a CUDA error when no GPU is present
            _cupy_error = f"{type(exc).__name__}: {exc}"
    return _cupy


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return _load_cupy() is not None


def gpu_unavailable_reason() -> str:
    """Why the GPU backend cannot be used (empty when it can)."""
    _load_cupy()
    return "" if _cupy is not None else f"CuPy with a CUDA device is not available ({_cupy_error})"


def check_device(device: str) -> str:
    """Validate a device name ('cpu' or 'gpu'; 'cuda' is accepted as a synonym for 'gpu')."""
    if device == "cuda" or (isinstance(device, str) and device.startswith("cuda:")):
        device = "gpu"
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}. Received: device={device!r}")
    if device == "gpu" and not gpu_available():
        raise RuntimeError(f"device 'gpu' was requested but {gpu_unavailable_reason()}")
    return device


def set_device(device: str) -> None:
    """Choose where new tensors and parameters are created: 'cpu' (NumPy) or 'gpu' (CuPy)."""
    global _default_device
    _default_device = check_device(device)


def get_device() -> str:
    """The default device for new tensors."""
    return _default_device


def array_module(device: str | None = None) -> ModuleType:
    """The array module (numpy or cupy) for a device name."""
    device = _default_device if device is None else check_device(device)
    return np if device == "cpu" else _load_cupy()


def get_array_module(a: Any) -> ModuleType:
    """numpy for NumPy arrays and scalars, cupy for CuPy arrays (without importing CuPy)."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy
    return np


def device_of(a: Any) -> str:
    """'gpu' for a CuPy array, 'cpu' otherwise."""
    return "gpu" if _cupy is not None and isinstance(a, _cupy.ndarray) else "cpu"


def to_device(a: Any, device: str) -> Any:
    """Copy an array to a device (no copy when it is already there)."""
    device = check_device(device)
    if device == "cpu":
        return to_numpy(a)
    return _cupy.asarray(a)


def to_numpy(a: Any) -> np.ndarray:
    """A NumPy array for any array (copies from the GPU)."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy.asnumpy(a)
    return np.asarray(a)


def scatter_add(a: Any, index: Any, values: Any) -> None:
    """a[index] += values in place, adding (not overwriting) where the index repeats a position."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        import cupyx

        cupyx.scatter_add(a, index, values)
    else:
        np.add.at(a, index, values)


def erf(x: Any) -> Any:
    """The error function, elementwise (SciPy's on the CPU, CuPy's on the GPU); keeps float32."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        from cupyx.scipy.special import erf as gpu_erf

        return gpu_erf(x)
    from scipy.special import erf as cpu_erf

    return cpu_erf(x)


def _load_fenv() -> Any:
    """glibc's fegetenv/fesetenv on x86-64 (where the SSE control register sits at byte 28 of fenv_t)."""
    if platform.machine() not in ("x86_64", "AMD64") or platform.system() != "Linux":
        return None
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        return libm if hasattr(libm, "fegetenv") and hasattr(libm, "fesetenv") else None
    except OSError:
        return None


_fenv = _load_fenv()
_FTZ_DAZ = 0x8040  # MXCSR bits: flush-to-zero (results) and denormals-are-zero (inputs)


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Treat subnormal floats (below about 1e-38 in float32) as zero inside the block, on this thread.

    Values that decay geometrically, like Adam's moments for a weight whose gradient
    stays zero, pass through the subnormal range, where x86 CPUs compute up to 50 times
    slower. Flushing them changes nothing a network can notice. The previous state is
    restored on exit, so NumPy code outside neurona is unaffected. A no-op off x86-64 Linux.
    """
    if _fenv is None:
        yield
        return
    saved = (ctypes.c_uint8 * 32)()
    _fenv.fegetenv(saved)
    ftz = (ctypes.c_uint8 * 32).from_buffer_copy(saved)
    mxcsr = int.from_bytes(bytes(ftz[28:32]), "little") | _FTZ_DAZ
    ftz[28:32] = list(mxcsr.to_bytes(4, "little"))
    _fenv.fesetenv(ftz)
    try:
        yield
    finally:
        _fenv.fesetenv(saved)


def set_default_dtype(dtype: Any) -> None:
    """Set the floating dtype of new tensors and parameters (float32 or float64)."""
    global _default_dtype
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"default dtype must be float32 or float64. Received: dtype={dt}")
    _default_dtype = dt


def get_default_dtype() -> np.dtype:
    """The floating dtype of new tensors (float32 unless changed)."""
    return _default_dtype


def manual_seed(seed: int) -> None:
    """Seed every random source neurona uses (the CPU generator, and the GPU one when loaded).

    One seed makes a CPU run repeatable bit for bit: parameter initialisation,
    dropout masks, noise, shuffling and augmentation all draw from these generators.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer. Received: seed={seed!r}")
    _rngs.clear()
    _rngs["cpu"] = np.random.Generator(np.random.PCG64(int(seed)))
    _rngs["seed"] = int(seed)
    if _cupy is not None:
        _rngs["gpu"] = _cupy.random.default_rng(int(seed))


def rng(xp: ModuleType = np) -> Any:
    """The random generator of an array module (numpy.random.Generator or its CuPy twin)."""
    if xp is np:
        return _rngs["cpu"]
    gen = _rngs.get("gpu")
    if gen is None:
        gen = _rngs["gpu"] = xp.random.default_rng(_rngs.get("seed"))
    return gen


def get_rng_state() -> dict:
    """The CPU generator's state (a JSON-friendly dict), for checkpoints that resume bit for bit."""
    return _rngs["cpu"].bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore the CPU generator's state saved by ``get_rng_state``."""
    gen = np.random.Generator(np.random.PCG64())
    gen.bit_generator.state = state
    _rngs["cpu"] = gen


_env_device = os.environ.get("NEURONA_DEVICE")
if _env_device:
    set_device(_env_device)
