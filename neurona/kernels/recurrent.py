"""An LSTM step's elementwise part, forward and backward: the compiled (numba) kernel or its array twin.

``F.lstm`` (``functional/recurrent.py``) runs the recurrence one time step at a time: a matrix
product for h_{t-1} U, then the gates' nonlinearities and the state update, all feature-major
((units, N) per gate). The product is BLAS's; the elementwise part is here. As NumPy array
expressions (the twins below: what runs on the GPU, without numba and for small sequences) it
is about a dozen passes with temporaries and NumPy's float32 tanh, a function call per value;
compiled (``_numba_recurrent.py``) it is one pass whose tanh is vectorised arithmetic.

The compiled kernels take float32 and the default activations (tanh, sigmoid); they give the
twins' bits in the backward and, in the forward, values within a few float32 ulp (their tanh is
a rational approximation within 7 ulp, NumPy's within 1.4).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from .. import backend
from ..backend import get_array_module
from . import compiled as compiled_kernels
from .platform import blas_threads
from .threads import in_worker, parallel_chunks, parallel_matmul

# The compiled kernels from this many state values per sequence (T * units * N) on: loading numba
# and the kernels costs about a second of CPU once per process from numba's cache (about three
# the very first time, compiling), which an LSTM this size repays in a few hundred training steps
# (the benchmark's, 28 x 128 x 128, in under a hundred); below it the twins run and numba is not imported.
COMPILED_MIN_VALUES = compiled_kernels.COMPILED_MIN_VALUES

# A recurrence's time loop runs as two independent halves of the batch (``time_loop_chunk``) from
# this many multiply-adds in its recurrent products (T * rows of U^T * units * N) on, and only when
# each half keeps at least SPLIT_MIN_COLUMNS columns (the compiled cell's rows vectorise 8 wide).
SPLIT_MIN_WORK = 1 << 24
SPLIT_MIN_COLUMNS = 16

Activation = tuple[Callable[[Any, Any], None], Callable[[Any], Any]]  # (in-place forward, derivative from y)


def time_loop_chunk(N: int, T: int, rows: int, units: int) -> int:
    """Batch columns per chunk for a recurrence's time loop over N columns (``threads.parallel_chunks``).

    Batch columns are independent in a recurrence, so the whole loop over T steps (per step the product
    U^T h_{t-1}, (rows, units) @ (units, N), and the cell's elementwise work) can run on two halves of the
    batch at once, each half on its own thread from the first step to the last, with nothing to wait for
    in between. N (one chunk) for small recurrences, where waking a thread costs more than it saves.
    Depends only on the shapes, so the bits are the same with any number of threads."""
    if N < 2 * SPLIT_MIN_COLUMNS or T * rows * units * N < SPLIT_MIN_WORK:
        return max(N, 1)
    return -(-N // 2)


def run_time_loop(loop: Callable[[slice, list[slice]], None], N: int, T: int, rows: int, units: int,
                  xp: Any = np) -> None:
    """Run a recurrence's time loop over a batch of N columns: ``loop(s, parts)`` runs every step for
    the batch columns s, taking each step's recurrent products for the column slices ``parts`` of s
    separately (``column_product``).

    The cut (``time_loop_chunk``) depends on the shapes only. On two or more threads each half runs on
    its own thread (s = the half, parts = [all of it]); on one, the loop runs once over all columns
    (s = all, parts = the halves), so the elementwise work runs on whole rows while the products, cut
    the same way, give the same bits. BLAS runs on one thread in both cases."""
    chunk = time_loop_chunk(N, T, rows, units) if xp is np else max(N, 1)  # CuPy: one piece
    if chunk >= N:
        loop(slice(0, N), [slice(0, N)])
    elif backend.get_num_threads() == 1 or in_worker():
        with blas_threads(1):
            loop(slice(0, N), [slice(k, min(N, k + chunk)) for k in range(0, N, chunk)])
    else:
        parallel_chunks(lambda _, s: loop(s, [slice(0, s.stop - s.start)]), N, chunk, xp)


def column_product(A: Any, B: Any, parts: list[slice]) -> Any:
    """A @ B taken separately for each slice of B's columns in ``parts`` (``run_time_loop``'s)."""
    if len(parts) == 1:
        return A @ B
    xp = get_array_module(B)
    out = xp.empty((A.shape[0], B.shape[1]), dtype=xp.result_type(A, B))
    for p in parts:
        xp.matmul(A, B[:, p], out=out[:, p])
    return out


def steps_product(a: Any, b: Any) -> Any:
    """a @ b, a product over all time steps (a (m, k), the larger operand; b (k, n), the smaller), with
    the rows of a in two halves on neurona's threads from ~16M multiply-adds on. Two chunks, so that b is
    packed for the product only twice; a is the larger operand so that its rows, not b, are what is split."""
    m, k = a.shape
    return parallel_matmul(a, b, min_work=max(1 << 24, -(-m * k * b.shape[1] // 4)))


def lstm_kernels(Z: Any, activation: str, recurrent_activation: str, compiled: bool | None = None) -> ModuleType | None:
    """The compiled cell kernels when they run for pre-activations Z (4u, T, N), else None (the twins).

    ``compiled`` None decides by size (``COMPILED_MIN_VALUES``), False forces the twins, True insists."""
    fits = isinstance(Z, np.ndarray) and Z.dtype == np.float32 and (activation, recurrent_activation) == (
        "tanh", "sigmoid")
    return compiled_kernels.select(
        "_numba_recurrent", Z, compiled=compiled, values=Z.size // 4, min_values=COMPILED_MIN_VALUES, fits=fits,
        needs="the compiled LSTM cell takes float32 NumPy arrays and activations tanh, sigmoid")


def lstm_cell_forward(kernels: ModuleType | None, Z: Any, t: int, r: Any, cs: Any, tcs: Any, hs: Any,
                      act: Activation, ract: Activation, s: slice = slice(None)) -> None:
    """Step t in place for the batch columns s, on the op's time-second arrays Z (4u, T, N), cs (u, T + 1, N),
    tcs, hs (u, T, N): the pre-activations z = Z[:, t, s] + r = [i; f; g; o] (r (4u, columns) the recurrent
    product, None for none) become in Z[:, t, s] the gates ract(i), ract(f), act(g), ract(o); then
    c = f c_{t-1} + i g, act(c), h = o act(c) go to cs[:, t + 1, s], tcs[:, t, s], hs[:, t, s]."""
    xp = get_array_module(Z)
    if kernels is not None:
        n0, n1, _ = s.indices(Z.shape[2])
        kernels.lstm_cell_forward(Z, t, xp.zeros((Z.shape[0], n1 - n0), Z.dtype) if r is None else r, cs, tcs, hs, n0)
        return
    u = hs.shape[0]
    z, c, tc = Z[:, t, s], cs[:, t + 1, s], tcs[:, t, s]
    if r is not None:
        z += r
    ract[0](xp, z[:2 * u])
    act[0](xp, z[2 * u:3 * u])
    ract[0](xp, z[3 * u:])
    i, f, g, o = z[:u], z[u:2 * u], z[2 * u:3 * u], z[3 * u:]
    xp.multiply(f, cs[:, t, s], out=c)
    c += i * g
    tc[...] = c
    act[0](xp, tc)
    xp.multiply(o, tc, out=hs[:, t, s])


def lstm_derivatives(kernels: ModuleType | None, Z: Any, tcs: Any, act: Activation,
                     ract: Activation) -> tuple[Any, Any] | None:
    """For the twins, the activations' derivatives at every step at once (fewer, larger array operations
    than step by step): ract' (act' for g) of the gates Z (4u, T, N), and act'(c) from tcs = act(c)
    (u, T, N). None for the compiled kernels, which compute them in passing."""
    if kernels is not None:
        return None
    u = tcs.shape[0]
    D = ract[1](Z)
    D[2 * u:3 * u] = act[1](Z[2 * u:3 * u])
    return D, act[1](tcs)


def lstm_cell_backward(kernels: ModuleType | None, gh: Any, gc: Any, Z: Any, t: int, cs: Any, tcs: Any, gZ: Any,
                       derivatives: tuple[Any, Any] | None, s: slice = slice(None)) -> None:
    """Step t of backpropagation through time in place for the batch columns s, from gh and gc (u, columns),
    the gradients reaching h_t and c_t (gc becomes the gradient reaching c_{t-1}), the gates z = Z[:, t, s],
    c_{t-1} = cs[:, t, s] and act(c_t) = tcs[:, t, s]; the gradient of the pre-activations goes to gZ[:, t, s]:

      dc = gc + gh o act'(c_t);  dz_o = gh act(c_t) ract'(o);  dz_i = dc g ract'(i);  dz_f = dc c_{t-1} ract'(f)
      dz_g = dc i act'(g);  gc <- dc f.
    ``derivatives``: ``lstm_derivatives``'s (the twins need them)."""
    if kernels is not None:
        kernels.lstm_cell_backward(gh, gc, Z, t, cs, tcs, gZ, s.indices(Z.shape[2])[0])
        return
    xp = get_array_module(Z)
    D, D_tc = derivatives
    u = gc.shape[0]
    z, gz = Z[:, t, s], gZ[:, t, s]
    i, f, g, o = z[:u], z[u:2 * u], z[2 * u:3 * u], z[3 * u:]
    dc = gh * o
    dc *= D_tc[:, t, s]
    gc += dc
    xp.multiply(gh, tcs[:, t, s], out=gz[3 * u:])
    xp.multiply(gc, g, out=gz[:u])
    xp.multiply(gc, cs[:, t, s], out=gz[u:2 * u])
    xp.multiply(gc, i, out=gz[2 * u:3 * u])
    gz *= D[:, t, s]
    gc *= f
