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

from ..backend import get_array_module
from .compiled import usable

# The compiled kernels from this many state values per sequence (T * units * N) on: loading numba
# and the kernels costs about a second of CPU once per process from numba's cache (about three
# the very first time, compiling), which an LSTM this size repays in a few hundred training steps
# (the benchmark's, 28 x 128 x 128, in under a hundred); below it the twins run and numba is not imported.
COMPILED_MIN_VALUES = 1 << 18

Activation = tuple[Callable[[Any, Any], None], Callable[[Any], Any]]  # (in-place forward, derivative from y)


def lstm_kernels(Z: Any, activation: str, recurrent_activation: str, compiled: bool | None = None) -> ModuleType | None:
    """The compiled cell kernels when they run for pre-activations Z (4u, T, N), else None (the twins).

    ``compiled`` None decides by size (``COMPILED_MIN_VALUES``), False forces the twins, True insists."""
    fits = isinstance(Z, np.ndarray) and Z.dtype == np.float32 and (activation, recurrent_activation) == (
        "tanh", "sigmoid")
    if compiled and not fits:
        raise ValueError("the compiled LSTM cell takes float32 NumPy arrays and activations tanh, sigmoid")
    if not fits or compiled is False or (compiled is None and Z.size // 4 < COMPILED_MIN_VALUES):
        return None
    if usable(Z, use=compiled) is None:
        return None
    from . import _numba_recurrent

    return _numba_recurrent


def lstm_cell_forward(kernels: ModuleType | None, Z: Any, t: int, r: Any, cs: Any, tcs: Any, hs: Any,
                      act: Activation, ract: Activation) -> None:
    """Step t in place, on the op's time-second arrays Z (4u, T, N), cs (u, T + 1, N), tcs, hs (u, T, N):
    the pre-activations z = Z[:, t] + r = [i; f; g; o] (r (4u, N) the recurrent product, None for none)
    become in Z[:, t] the gates ract(i), ract(f), act(g), ract(o); then c = f c_{t-1} + i g, act(c),
    h = o act(c) go to cs[:, t + 1], tcs[:, t], hs[:, t]."""
    xp = get_array_module(Z)
    if kernels is not None:
        kernels.lstm_cell_forward(Z, t, xp.zeros(Z[:, t].shape, Z.dtype) if r is None else r, cs, tcs, hs)
        return
    u = hs.shape[0]
    z, c, tc = Z[:, t], cs[:, t + 1], tcs[:, t]
    if r is not None:
        z += r
    ract[0](xp, z[:2 * u])
    act[0](xp, z[2 * u:3 * u])
    ract[0](xp, z[3 * u:])
    i, f, g, o = z[:u], z[u:2 * u], z[2 * u:3 * u], z[3 * u:]
    xp.multiply(f, cs[:, t], out=c)
    c += i * g
    tc[...] = c
    act[0](xp, tc)
    xp.multiply(o, tc, out=hs[:, t])


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
                       derivatives: tuple[Any, Any] | None) -> None:
    """Step t of backpropagation through time in place, from gh and gc (u, N), the gradients reaching h_t
    and c_t (gc becomes the gradient reaching c_{t-1}), the gates z = Z[:, t], c_{t-1} = cs[:, t] and
    act(c_t) = tcs[:, t]; the gradient of the pre-activations goes to gZ[:, t]:

      dc = gc + gh o act'(c_t);  dz_o = gh act(c_t) ract'(o);  dz_i = dc g ract'(i);  dz_f = dc c_{t-1} ract'(f)
      dz_g = dc i act'(g);  gc <- dc f.
    ``derivatives``: ``lstm_derivatives``'s (the twins need them)."""
    if kernels is not None:
        kernels.lstm_cell_backward(gh, gc, Z, t, cs, tcs, gZ)
        return
    xp = get_array_module(Z)
    D, D_tc = derivatives
    u = gc.shape[0]
    z, gz = Z[:, t], gZ[:, t]
    i, f, g, o = z[:u], z[u:2 * u], z[2 * u:3 * u], z[3 * u:]
    dc = gh * o
    dc *= D_tc[:, t]
    gc += dc
    xp.multiply(gh, tcs[:, t], out=gz[3 * u:])
    xp.multiply(gc, g, out=gz[:u])
    xp.multiply(gc, cs[:, t], out=gz[u:2 * u])
    xp.multiply(gc, i, out=gz[2 * u:3 * u])
    gz *= D[:, t]
    gc *= f
