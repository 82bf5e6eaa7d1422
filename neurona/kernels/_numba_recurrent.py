"""The compiled (numba) LSTM cell kernels, float32. Imported on first use by ``kernels/recurrent.py``,
whose array-expression twins (``lstm_cell_forward``/``lstm_cell_backward`` there) give the same numbers.

One step's gate nonlinearities and state update, and their backward, as one pass over the
(units, N) state instead of a dozen NumPy passes with temporaries. What makes the forward fast
is ``tanh32``: NumPy's float32 tanh (and libm's, which numba calls) is a scalar function call per
value, while this one is plain arithmetic that LLVM turns into 8-wide AVX instructions.
"""

from __future__ import annotations

import numba
import numpy as np

# error_model="numpy": a division by zero gives inf/nan, as in NumPy, instead of a Python check per
# value that keeps the loop from being vectorised. No fastmath: the arithmetic is IEEE, as the twin's.
jit = numba.njit(cache=True, nogil=True, error_model="numpy")

_f32 = np.float32
# tanh(x) ~= x P(s) / Q(s), s = (x/8)^2, on |x| <= 9 (tanh(9) is 1 in float32): a rational
# approximation fitted to tanh's relative error in float64 (a linearised least-squares fit, then
# Lawson's reweighting towards minimax), error 2e-8 in float64; evaluated in float32, within 7 ulp
# of tanh (NumPy's own float32 tanh is within 1.4 ulp).
_P0, _P1, _P2, _P3, _P4 = (_f32(0.9999999793285106), _f32(8.563601003765342), _f32(14.315873770400708),
                           _f32(5.400042730999412), _f32(0.22378641132372976))
_Q1, _Q2, _Q3, _Q4 = (_f32(29.89692314023886), _f32(105.98460545644438), _f32(86.10802156290904),
                      _f32(13.036929863974652))
_ZERO, _ONE, _HALF, _EIGHTH, _CLAMP = _f32(0.0), _f32(1.0), _f32(0.5), _f32(0.125), _f32(9.0)


@jit
def tanh32(x):  # pragma: no cover - compiled
    """tanh of a float32 x, within 7 ulp, vectorisable (no calls, no branches but clamps; NaN stays NaN)."""
    x = _CLAMP if x > _CLAMP else x
    x = -_CLAMP if x < -_CLAMP else x
    s = (x * _EIGHTH) * (x * _EIGHTH)
    p = (((_P4 * s + _P3) * s + _P2) * s + _P1) * s + _P0
    q = (((_Q4 * s + _Q3) * s + _Q2) * s + _Q1) * s + _ONE
    return x * p / q


@jit
def sigmoid32(x):  # pragma: no cover - compiled
    """1 / (1 + e^-x) = (1 + tanh(x/2)) / 2, the twin's formula (never overflows)."""
    return tanh32(x * _HALF) * _HALF + _HALF


@jit
def lstm_cell_forward(Z, t, r, cs, tcs, hs, n0):  # pragma: no cover - compiled
    """Step t of an LSTM in place for the batch columns n0 .. n0 + Ns - 1, feature-major and time-second:
    the pre-activations Z[:, t] + r, [i; f; g; o] (r (4u, Ns) the recurrent product h_{t-1} U, transposed,
    for these columns), become in Z[:, t] the gates sigma(i), sigma(f), tanh(g), sigma(o); then
    c = f c_prev + i g, tanh(c), h = o tanh(c) go to cs[:, t + 1], tcs[:, t], hs[:, t], c_prev being cs[:, t].
    Z (4u, T, N), cs (u, T + 1, N), tcs and hs (u, T, N), all C-contiguous (so that rows vectorise)."""
    u, Ns = hs.shape[0], r.shape[1]
    e = n0 + Ns
    # c_{t-1}'s row copied out: read from cs next to c_t's row, LLVM would have to check at run time
    # that the two do not overlap, and with this many rows it then leaves the loop scalar (4x slower).
    cp = np.empty(Ns, dtype=cs.dtype)
    for j in range(u):
        for k in range(4):  # each gate as a tanh(a z) + b: sigma's (a, b) = (1/2, 1/2) for i, f, o; tanh's (1, 0) for g
            a = _ONE if k == 2 else _HALF
            b = _ZERO if k == 2 else _HALF
            zk, rk = Z[k * u + j, t, n0:e], r[k * u + j]
            for n in range(Ns):
                zk[n] = a * tanh32(a * (zk[n] + rk[n])) + b
        i, f, g, o = Z[j, t, n0:e], Z[u + j, t, n0:e], Z[2 * u + j, t, n0:e], Z[3 * u + j, t, n0:e]
        cj, tj, hj, cs_prev = cs[j, t + 1, n0:e], tcs[j, t, n0:e], hs[j, t, n0:e], cs[j, t, n0:e]
        for n in range(Ns):  # a loop, not cp[:] = ...: numba's slice assignment takes 5 s more to compile
            cp[n] = cs_prev[n]
        for n in range(Ns):
            c = f[n] * cp[n] + i[n] * g[n]
            tc = tanh32(c)
            cj[n], tj[n], hj[n] = c, tc, o[n] * tc


@jit
def lstm_cell_backward(gh, gc, Z, t, cs, tcs, gZ, n0):  # pragma: no cover - compiled
    """Step t of the LSTM's backward in place for the batch columns n0 .. n0 + Ns - 1: from gh (u, Ns), the
    gradient reaching h_t, and gc (u, Ns), reaching c_t (on return, reaching c_{t-1}), the gates Z[:, t],
    c_{t-1} = cs[:, t] and tanh(c_t) = tcs[:, t], writes gZ[:, t], the gradient of the pre-activations
    (layouts as ``lstm_cell_forward``'s). The same operations in the same order as the twin
    ``kernels.recurrent.lstm_cell_backward``'s, so the same bits."""
    u, Ns = gc.shape
    one = _ONE
    e = n0 + Ns
    for j in range(u):
        zi, zf, zg, zo = Z[j, t, n0:e], Z[u + j, t, n0:e], Z[2 * u + j, t, n0:e], Z[3 * u + j, t, n0:e]
        ghj, gcj, cp, tj = gh[j], gc[j], cs[j, t, n0:e], tcs[j, t, n0:e]
        gi, gf, gg, go = gZ[j, t, n0:e], gZ[u + j, t, n0:e], gZ[2 * u + j, t, n0:e], gZ[3 * u + j, t, n0:e]
        for n in range(Ns):
            i, f, g, o, tc = zi[n], zf[n], zg[n], zo[n], tj[n]
            dc = gcj[n] + ghj[n] * o * (one - tc * tc)
            go[n] = ghj[n] * tc * (o * (one - o))
            gi[n] = dc * g * (i * (one - i))
            gf[n] = dc * cp[n] * (f * (one - f))
            gg[n] = dc * i * (one - g * g)
            gcj[n] = dc * f
