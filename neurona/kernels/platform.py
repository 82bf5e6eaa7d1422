"""Process settings that make neurona fast, applied only while neurona works.

Three settings matter for speed on a CPU:

- BLAS threads: neurona splits its large products over its own threads
  (``threads.parallel_chunks``), so BLAS runs on one thread while it works: no
  oversubscription, and no BLAS threads to wake for every product (on a virtual machine
  waking a sleeping thread costs ~0.1 ms, as much as a 784x100 product at batch 128).
- flush-to-zero: subnormal floats (Adam's moments of a weight whose gradient stays zero
  decay through them) are up to 50x slower on x86; flushing them changes nothing a
  network can notice.
- the allocator: a training step allocates and frees the same large temporaries every
  time; glibc by default hands the top of its heap back to the OS after each step, and
  the next step page-faults every page back in (5-30 ms of kernel time per step of a
  small CNN). Keeping blocks below 32 MB on the heap does what PyTorch's caching
  allocator does.

``import neurona`` changes none of them. ``performance()`` applies them for the length of
a block (fit, evaluate, predict and the command line enter it) and restores the user's
settings after, so the user's own NumPy and scikit-learn code runs as it did.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import platform
import threading
from collections.abc import Iterator
from typing import Any

BLAS_THREAD_VARIABLES = ("NEURONA_BLAS_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


# ---------------------------------------------------------------- BLAS threads
_blas_controllers: list[Any] | None = None


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
    """How many threads BLAS (OpenBLAS, MKL) uses for one matrix product, process-wide, from now on.

    Rarely needed: ``performance()`` (and so fit/evaluate/predict) sets BLAS's threads
    for its own block and restores them after.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"the number of BLAS threads must be a positive integer. Received: {n!r}")
    for c in _blas():
        c.set_num_threads(n)


def blas_threads_while_working(environ: Any = os.environ) -> int | None:
    """BLAS's thread count inside ``performance()``: NEURONA_BLAS_THREADS if set, else 1,
    unless the user set OPENBLAS_NUM_THREADS, MKL_NUM_THREADS or OMP_NUM_THREADS (then
    None: their setting is kept)."""
    own = environ.get("NEURONA_BLAS_THREADS")
    if own:
        if not own.strip().isdigit() or int(own) < 1:
            raise ValueError(f"NEURONA_BLAS_THREADS must be a positive integer. Received: {own!r}")
        return int(own)
    return None if any(environ.get(v) for v in BLAS_THREAD_VARIABLES[1:]) else 1


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Run BLAS with n threads inside the block (None: as it is); the previous counts are restored on exit."""
    changed = [] if n is None else [(c, m) for c in _blas() if (m := c.get_num_threads()) != n]
    for c, _ in changed:
        c.set_num_threads(n)
    try:
        yield
    finally:
        for c, m in changed:
            c.set_num_threads(m)


# ---------------------------------------------------------------- flush-to-zero
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


def flushes_denormals() -> bool:
    """Whether this thread currently flushes subnormal floats to zero (False where unknown)."""
    if _fenv is None:
        return False
    env = _current_fenv()
    return int.from_bytes(bytes(env[28:32]), "little") & _FTZ_DAZ == _FTZ_DAZ


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Treat subnormal floats (below about 1e-38 in float32) as zero inside the block, on this thread.

    The previous state is restored on exit. A no-op off x86-64 Linux.
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


def start_worker_thread() -> None:
    """Set up one of neurona's worker threads: they run only neurona's array passes, so they
    flush subnormal floats for good."""
    if _fenv is not None:
        _fenv.fesetenv(_flushing(_current_fenv()))


# ---------------------------------------------------------------- allocator
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_GLIBC_DEFAULT_THRESHOLD = 128 * 1024  # both thresholds' documented defaults (mallopt(3))


def _mallopt() -> Any:
    if platform.system() != "Linux":
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return None


_mallopt_fn = _mallopt()


@contextlib.contextmanager
def retain_freed_memory() -> Iterator[bool]:
    """Inside the block, glibc's malloc keeps freed blocks below 32 MB for reuse instead of handing
    them back to the OS (the process keeps the memory of its largest step; its peak is unchanged).

    On exit both thresholds go back to glibc's documented defaults (128 KiB), so memory is
    trimmed again as before. Set NEURONA_RETAIN_MEMORY=0 to leave malloc alone. Yields whether it took effect.
    """
    if _mallopt_fn is None or os.environ.get("NEURONA_RETAIN_MEMORY", "1") == "0":
        yield False
        return
    ok = bool(_mallopt_fn(_M_MMAP_THRESHOLD, 32 << 20) and _mallopt_fn(_M_TRIM_THRESHOLD, 1 << 30))
    try:
        yield ok
    finally:
        if ok:
            _mallopt_fn(_M_MMAP_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)
            _mallopt_fn(_M_TRIM_THRESHOLD, _GLIBC_DEFAULT_THRESHOLD)


# ---------------------------------------------------------------- all three
_depth = 0
_depth_lock = threading.Lock()


@contextlib.contextmanager
def performance() -> Iterator[None]:
    """neurona's speed settings for the length of a block: BLAS on one thread (see
    ``blas_threads_while_working``), flush-to-zero on this thread, freed memory kept for
    reuse; the previous settings are restored on exit. fit, evaluate, predict and the
    command line run inside it; a hand-written training loop can too:

    >>> with nr.performance():
    ...     for xb, yb in batches:
    ...         opt.zero_grad(); F.cross_entropy(model(xb), yb).backward(); opt.step()

    Nested blocks (evaluate inside fit) apply the settings once, at the outermost block.
    """
    global _depth
    with _depth_lock:
        outer = _depth == 0
        _depth += 1
    try:
        if not outer:
            yield
            return
        with blas_threads(blas_threads_while_working()), flush_denormals(), retain_freed_memory():
            yield
    finally:
        with _depth_lock:
            _depth -= 1
