"""neurona's own threads: one pool, and the two ways work is split over it.

- ``parallel_for`` / ``over_batch``: a memory-bound array pass (a copy, an elementwise
  ufunc) cut into one slice per thread. NumPy releases the GIL inside such passes, and
  one core cannot use all of the memory bandwidth while two can.
- ``parallel_chunks``: a whole layer (im2col, GEMM, col2im) run chunk by chunk over the
  batch, each thread taking the next chunk when it is done with one, BLAS on one thread.

The determinism rule: how work is cut depends only on the sizes (and, for ``parallel_for``,
the thread count, with every slice written by exactly one thread), never on timing. A
reduction over chunks keeps one partial result per chunk and sums them in chunk order,
so the bits are the same with any number of threads (tests/test_parallel.py).

The thread count is a setting of ``neurona.backend`` (``set_num_threads``); this module
owns the pool that honours it. CuPy work (already parallel on the GPU), and work asked
for from inside a worker, runs in one piece.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from .. import backend
from .platform import blas_threads, start_worker_thread

_executor: ThreadPoolExecutor | None = None
_executor_size = 0
_lock = threading.Lock()
_in_worker = threading.local()


def in_worker() -> bool:
    """True inside one of neurona's workers (or a chunk): nested work runs in one piece."""
    return getattr(_in_worker, "active", False)


def _start_worker() -> None:
    _in_worker.active = True
    start_worker_thread()


def _pool(threads: int) -> ThreadPoolExecutor:
    """The pool of ``threads - 1`` workers (the calling thread is the last one), rebuilt when
    the thread count setting changes."""
    global _executor, _executor_size
    with _lock:
        if _executor is None or _executor_size != threads:
            if _executor is not None:
                _executor.shutdown(wait=True)
            _executor = ThreadPoolExecutor(threads - 1, thread_name_prefix="neurona", initializer=_start_worker)
            _executor_size = threads
        return _executor


def parallel_for(fn: Callable[[slice], Any], n: int, min_chunk: int = 1, xp: Any = np) -> None:
    """Call ``fn(s)`` on disjoint slices ``s`` covering range(n), one per thread.

    For memory-bound array passes, which NumPy runs without holding the GIL (a copy of
    100 MB: 15 GB/s on one thread, 33 GB/s on two, on the reference machine). Each ``fn``
    must write only its own slice. At most n // min_chunk slices.
    """
    threads = backend.get_num_threads()
    workers = min(threads, n // max(min_chunk, 1))
    if workers <= 1 or xp is not np or in_worker():
        fn(slice(0, n))
        return
    pool = _pool(threads)
    bounds = [n * i // workers for i in range(workers + 1)]
    futures = [pool.submit(fn, slice(bounds[i], bounds[i + 1])) for i in range(1, workers)]
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
    parallel_for(fn, x.shape[0], min_chunk=-(-(1 << 18) // per_item), xp=backend.get_array_module(x))


def batch_chunk(n: int, rows_per_item: int, row_size: int, elements: int = 1 << 20) -> int:
    """Items per chunk when a layer runs chunk by chunk over a batch of n (``parallel_chunks``):
    a patch matrix of about ``elements`` values (4 MB of float32) each, large enough for an
    efficient GEMM even when rows are short, small enough to stay in cache; and an even
    number of chunks, so that two threads share them evenly."""
    rows = max(1, elements // row_size)
    count = max(2, 2 * -(-n * rows_per_item // (2 * rows)))
    return max(1, -(-n // count))


def parallel_chunks(fn: Callable[[int, slice], Any], n: int, chunk: int, xp: Any = np) -> None:
    """Call ``fn(k, s)`` for the k-th chunk ``s = slice(k*chunk, (k+1)*chunk)`` of range(n), on
    neurona's threads: each thread takes the next chunk when it is done with one, and runs
    the chunk's matrix products itself (BLAS on one thread meanwhile, restored after,
    also when neurona runs on one thread: then the bits are the same for any thread count).

    For a whole layer over a batch: each thread runs its own images from start to end,
    with nothing to wait for in between (~30% faster than every step fanning out over
    the whole batch in turn, for the convolutions of a small CNN on two cores).
    The chunks depend only on n and chunk, never on the thread count. CuPy work runs as one chunk.
    """
    if xp is not np:  # one chunk, or none for an empty range (as on the CPU)
        if n > 0:
            fn(0, slice(0, n))
        return
    count = -(-n // chunk)
    if in_worker():
        for k in range(count):
            fn(k, slice(k * chunk, min(n, (k + 1) * chunk)))
        return
    next_chunk = itertools.count()  # threads take the next chunk as they finish one (next() is atomic)

    def run(_: slice) -> None:
        outer = in_worker()
        _in_worker.active = True  # the passes inside a chunk run in one piece
        try:
            while (k := next(next_chunk)) < count:
                fn(k, slice(k * chunk, min(n, (k + 1) * chunk)))
        finally:
            _in_worker.active = outer

    with blas_threads(1):  # on any number of threads, so that the bits never depend on it
        parallel_for(run, min(backend.get_num_threads(), count))


def parallel_matmul(a: Any, b: Any, min_work: int = 1 << 24) -> Any:
    """a @ b for 2-D arrays, with the rows of the result split over neurona's threads when the
    product has at least ``min_work`` multiply-adds (below that, ~0.15 ms on one core, waking
    a thread costs more than it saves). The chunks depend only on the shapes, so the result
    is the same with any number of threads (BLAS's own threads would round differently
    with each thread count)."""
    xp = backend.get_array_module(a)
    m, k = a.shape
    n = b.shape[1]
    if xp is not np or m * k * n < min_work or in_worker():
        return a @ b
    out = np.empty((m, n), np.result_type(a, b))
    count = 2 * -(-m * k * n // (4 * min_work))  # an even number of chunks of about 2 * min_work or less
    parallel_chunks(lambda _, s: np.matmul(a[s], b, out=out[s]), m, -(-m // count))
    return out
