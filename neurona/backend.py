"""The array module (NumPy or CuPy), the default device and dtype, the random generators,
and the number of threads neurona may use (the pool itself is in ``neurona.kernels``).

This is the only module that imports CuPy. Everything above it asks for the array
module of its data (``get_array_module``) and writes one code path for both:
``xp.exp(x)`` runs on the CPU for a NumPy array and on the GPU for a CuPy array.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np

DEVICES = ("cpu", "gpu")

_cupy: ModuleType | None = None  # imported on first use of the GPU
_cupy_error: str | None = None
_default_device = "cpu"
ENV_DEVICE_ERROR: str | None = None  # why NEURONA_DEVICE could not be used, raised on first use (see the end)
_default_dtype = np.dtype(np.float32)
_rngs: dict[str, Any] = {"cpu": np.random.default_rng()}
_strict = False  # True when 'gpu' is backed by the strict CPU stand-in (tests only)


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


def use_strict_device() -> None:
    """Back the 'gpu' device with ``neurona._strict`` instead of CuPy: for tests only.

    Its arrays compute with NumPy on the CPU but refuse implicit conversion to NumPy
    and mixing with host arrays, as CuPy does (and refuse ``float()``/``.item()``,
    which CuPy allows with a silent synchronisation), so that a test run on a machine
    without a GPU finds host/device mixing. ``NEURONA_DEVICE=strict`` selects it (and
    makes 'gpu' the default device) when neurona is imported. There is no way back
    within the process.
    """
    global _cupy, _cupy_error, _strict
    from . import _strict as stand_in

    _cupy, _cupy_error, _strict = stand_in, None, True
    _rngs.pop("gpu", None)


def is_strict() -> bool:
    """True when the 'gpu' device is the strict CPU stand-in (see ``use_strict_device``)."""
    return _strict


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
    global _default_device, ENV_DEVICE_ERROR
    _default_device = check_device(device)
    ENV_DEVICE_ERROR = None  # an explicit choice replaces a NEURONA_DEVICE that could not be used


def get_device() -> str:
    """The default device for new tensors."""
    if ENV_DEVICE_ERROR:
        raise RuntimeError(ENV_DEVICE_ERROR)
    return _default_device


def array_module(device: str | None = None) -> ModuleType:
    """The array module (numpy or cupy) for a device name."""
    if device is None and ENV_DEVICE_ERROR:
        raise RuntimeError(ENV_DEVICE_ERROR)
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
    """A NumPy array for any array (copies from the GPU): the explicit device-to-host transfer."""
    if _cupy is not None and isinstance(a, _cupy.ndarray):
        return _cupy.asnumpy(a)
    return np.asarray(a)


def item(a: Any) -> Any:
    """The Python number in a one-element array on any device (a device-to-host transfer)."""
    return to_numpy(a).item()


def scatter_add(a: Any, index: Any, values: Any) -> None:
    """a[index] += values in place, adding (not overwriting) where the index repeats a position."""
    if _strict and isinstance(a, _cupy.ndarray):
        _cupy.scatter_add(a, index, values)
    elif _cupy is not None and isinstance(a, _cupy.ndarray):
        import cupyx

        cupyx.scatter_add(a, index, values)
    else:
        np.add.at(a, index, values)


def erf(x: Any) -> Any:
    """The error function, elementwise (SciPy's on the CPU, CuPy's on the GPU); keeps float32."""
    if _strict and isinstance(x, _cupy.ndarray):
        return _cupy.erf(x)
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        from cupyx.scipy.special import erf as gpu_erf

        return gpu_erf(x)
    from scipy.special import erf as cpu_erf

    return cpu_erf(x)


_num_threads = max(1, min(os.cpu_count() or 1, 8))


def set_num_threads(n: int) -> None:
    """How many threads neurona's own array passes and chunks use (``neurona.kernels.threads``);
    BLAS keeps its own setting."""
    global _num_threads
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"the number of threads must be a positive integer. Received: {n!r}")
    _num_threads = n


def get_num_threads() -> int:
    """How many threads neurona's own array passes use (at most 8, the CPU count by default)."""
    return _num_threads


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
if _env_device == "strict":  # the test-only stand-in for CuPy (see use_strict_device)
    use_strict_device()
    _env_device = "gpu"
# A NEURONA_DEVICE that cannot be used (a misspelt name, 'gpu' without CuPy) is reported on first use
# of the default device, not as a traceback from `import neurona`: the command line reports it as a
# user's mistake, and an explicit set_device() replaces it.
if _env_device:
    try:
        set_device(_env_device)
    except (ValueError, RuntimeError) as exc:
        ENV_DEVICE_ERROR = f"NEURONA_DEVICE={_env_device}: {exc}"
