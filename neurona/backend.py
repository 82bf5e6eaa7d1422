"""The array module (NumPy or CuPy), the default device and dtype, and the random generators.

This is the only module that imports CuPy. Everything above it asks for the array
module of its data (``get_array_module``) and writes one code path for both:
``xp.exp(x)`` runs on the CPU for a NumPy array and on the GPU for a CuPy array.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import itertools
import os
import platform
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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


def _current_fenv() -> Any:
    env = (ctypes.c_uint8 * 32)()
    _fenv.fegetenv(env)
    return env


def _flushing(env: Any) -> Any:
    """A copy of a floating-point environment with flush-to-zero and denormals-are-zero set."""
    ftz = (ctypes.c_uint8 * 32).from_buffer_copy(env)
    mxcsr = int.from_bytes(bytes(ftz[28:32]), "little") | _FTZ_DAZ
    ftz[28:32] = list(mxcsr.to_bytes(4, "little"))
    return ftz


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
    saved = _current_fenv()
    _fenv.fesetenv(_flushing(saved))
    try:
        yield
    finally:
        _fenv.fesetenv(saved)


def retain_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of handing it back to the OS.

    A training step allocates and frees the same large temporaries every time (patch
    matrices, activations, gradients). By default glibc returns the top of its heap to
    the OS when a step ends, and the next step page-faults every page back in: thousands
    of faults and 5-30 ms of kernel time per step of a small CNN. PyTorch avoids this with
    its own caching allocator; keeping blocks below 32 MB on the heap and not trimming it
    does the same for NumPy. The process keeps the memory of its largest step (its peak
    is unchanged). Called once when neurona is imported, on Linux with glibc; set
    NEURONA_RETAIN_MEMORY=0 to keep glibc's defaults. Returns whether it took effect.
    """
    if platform.system() != "Linux" or os.environ.get("NEURONA_RETAIN_MEMORY", "1") == "0":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(mallopt(M_MMAP_THRESHOLD, 32 << 20) and mallopt(M_TRIM_THRESHOLD, 1 << 30))


_num_threads = max(1, min(os.cpu_count() or 1, 8))
_executor: ThreadPoolExecutor | None = None
_in_worker = threading.local()


def set_num_threads(n: int) -> None:
    """How many threads neurona's own array passes use (BLAS keeps its own setting)."""
    global _num_threads, _executor
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of threads must be a positive integer. Received: {n!r}")
    if _executor is not None and n != _num_threads:
        _executor.shutdown(wait=True)
        _executor = None
    _num_threads = n


def get_num_threads() -> int:
    return _num_threads


def _start_worker() -> None:
    """Set up one of neurona's worker threads: mark it (no nested fan-out) and, since they run
    only neurona's array passes, let it flush subnormal floats for good (see flush_denormals)."""
    _in_worker.active = True
    if _fenv is not None:
        _fenv.fesetenv(_flushing(_current_fenv()))


def parallel_for(fn: Callable[[slice], Any], n: int, min_chunk: int = 1, xp: ModuleType = np) -> None:
    """Call ``fn(s)`` on disjoint slices ``s`` covering range(n), spread over neurona's threads.

    For memory-bound array passes (copies, elementwise ufuncs over large arrays), which
    NumPy runs without holding the GIL: one core cannot use all of the memory bandwidth,
    two can (a copy of 100 MB: 15 GB/s on one thread, 33 GB/s on two, on the reference
    machine). Each ``fn`` must write only its own slice. The slices depend only on n and
    the thread count, so results do not depend on timing. CuPy work (already parallel on
    the GPU) and calls from inside a worker run in one piece.
    """
    workers = min(_num_threads, n // max(min_chunk, 1))
    if workers <= 1 or xp is not np or getattr(_in_worker, "active", False):
        fn(slice(0, n))
        return
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(_num_threads - 1, thread_name_prefix="neurona", initializer=_start_worker)
    bounds = [n * i // workers for i in range(workers + 1)]
    futures = [_executor.submit(fn, slice(bounds[i], bounds[i + 1])) for i in range(1, workers)]
    try:
        fn(slice(bounds[0], bounds[1]))
    finally:
        for f in futures:
            f.result()


def over_batch(fn: Callable[[slice], Any], x: Any, passes: int = 1) -> None:
    """Run fn(batch_slice) over x's first axis, on several threads when there is enough work:
    at least ~256k element visits (``passes`` over x's elements) per thread, so that each
    thread's share (a tenth of a millisecond or more) outweighs waking the thread up."""
    per_item = max(1, passes * x.size // max(x.shape[0], 1))
    parallel_for(fn, x.shape[0], min_chunk=-(-(1 << 18) // per_item), xp=get_array_module(x))


_blas_controllers: list[Any] | None = None
BLAS_THREAD_VARIABLES = ("NEURONA_BLAS_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def _blas() -> list[Any]:
    """threadpoolctl's handles on the BLAS libraries NumPy loaded (empty if it cannot find them)."""
    global _blas_controllers
    if _blas_controllers is None:
        try:
            from threadpoolctl import ThreadpoolController

            _blas_controllers = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:  # threadpoolctl missing or unable to read this BLAS: leave BLAS as it is
            _blas_controllers = []
    return _blas_controllers


def set_blas_threads(n: int) -> None:
    """How many threads BLAS (OpenBLAS, MKL) uses for one matrix product, process-wide.

    neurona sets 1 when it is imported, unless NEURONA_BLAS_THREADS, OPENBLAS_NUM_THREADS,
    MKL_NUM_THREADS or OMP_NUM_THREADS says otherwise: it runs its large products split
    over its own threads instead (``parallel_chunks``, ``parallel_matmul``). One set of
    threads means no oversubscription, and no BLAS threads to wake for every product:
    on a virtual machine waking a sleeping thread costs ~0.1 ms, as much as a whole
    784x100 product at batch 128 (a 784-100-10 MLP trains ~15% faster this way).
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"the number of BLAS threads must be a positive integer. Received: {n!r}")
    for c in _blas():
        c.set_num_threads(n)


def _default_blas_threads() -> None:
    chosen = next((os.environ[v] for v in BLAS_THREAD_VARIABLES if os.environ.get(v)), None)
    if chosen is None:
        set_blas_threads(1)
    elif os.environ.get("NEURONA_BLAS_THREADS"):
        if not chosen.strip().isdigit() or int(chosen) < 1:
            raise ValueError(f"NEURONA_BLAS_THREADS must be a positive integer. Received: {chosen!r}")
        set_blas_threads(int(chosen))


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run BLAS with n threads inside the block; the previous thread counts are restored on exit."""
    changed = [(c, m) for c in _blas() if (m := c.get_num_threads()) != n]
    for c, _ in changed:
        c.set_num_threads(n)
    try:
        yield
    finally:
        for c, m in changed:
            c.set_num_threads(m)


def parallel_chunks(fn: Callable[[int, slice], Any], n: int, chunk: int, xp: ModuleType = np) -> None:
    """Call ``fn(k, s)`` for the k-th chunk ``s = slice(k*chunk, (k+1)*chunk)`` of range(n), on
    neurona's threads: each thread takes the next chunk when it is done with one, and runs
    the chunk's matrix products itself.

    For a whole layer over a batch (a convolution: im2col, GEMM, col2im): each thread
    runs its own images from start to end, with nothing to wait for in between.
    Compared with every step fanning out over the whole batch in turn (BLAS's threads for
    the product, then neurona's for the passes around it), this is ~30% faster for the
    convolutions of a small CNN on two cores, and each chunk's temporaries stay small.
    The chunks depend only on n and chunk, never on the thread count, so a per-chunk
    partial result summed in chunk order is the same with any number of threads.
    CuPy work runs as one chunk.
    """
    if xp is not np:
        fn(0, slice(0, n))
        return
    count = -(-n // chunk)
    if min(_num_threads, count) <= 1 or getattr(_in_worker, "active", False):
        for k in range(count):  # one thread: BLAS keeps its own threads
            fn(k, slice(k * chunk, min(n, (k + 1) * chunk)))
        return
    next_chunk = itertools.count()  # threads take the next chunk as they finish one (next() is atomic)

    def run(_: slice) -> None:
        outer = getattr(_in_worker, "active", False)
        _in_worker.active = True  # the passes inside a chunk run in one piece
        try:
            while (k := next(next_chunk)) < count:
                fn(k, slice(k * chunk, min(n, (k + 1) * chunk)))
        finally:
            _in_worker.active = outer

    with blas_threads(1):
        workers = min(_num_threads, count)
        parallel_for(run, workers)


def parallel_matmul(a: Any, b: Any, min_work: int = 1 << 24) -> Any:
    """a @ b for 2-D arrays, with the rows of the result split over neurona's threads when the
    product has at least ``min_work`` multiply-adds (below that, ~0.15 ms on one core, waking
    a thread costs more than it saves). The chunks depend only on the shapes, so the result
    is the same with any number of threads (BLAS's own threads would round differently
    with each thread count)."""
    xp = get_array_module(a)
    m, k = a.shape
    n = b.shape[1]
    if xp is not np or m * k * n < min_work or getattr(_in_worker, "active", False):
        return a @ b
    out = np.empty((m, n), np.result_type(a, b))
    count = 2 * -(-m * k * n // (4 * min_work))  # an even number of chunks of about 2 * min_work or less
    parallel_chunks(lambda _, s: np.matmul(a[s], b, out=out[s]), m, -(-m // count))
    return out


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


retain_freed_memory()
_default_blas_threads()
_env_device = os.environ.get("NEURONA_DEVICE")
if _env_device:
    set_device(_env_device)
