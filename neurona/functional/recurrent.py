"""Recurrent layers' ops, one fused Function per whole sequence: SimpleRNN, LSTM, GRU.

Layouts are Keras's: x (N, T, F) batch first; kernel W (F, k*units), recurrent kernel
U (units, k*units); gates side by side in Keras's order (LSTM i, f, c, o; GRU z, r, h).

Forward projects the inputs of every time step with one batched matrix product,
Z_t = x_t W + b, then loops over time only for the recurrence h_t = cell(Z_t + h_{t-1} U).
Backward is backpropagation through time written out: one reverse loop carries dL/dh
(and dL/dc) from step to step, collecting the gradient of every pre-activation in dZ;
the weight gradients are then a single matrix product each (gW = x^T dZ, gU = H_prev^T dZ
over all steps) instead of one per step.

On neurona's threads: batch columns never mix in a recurrence, so above a size
(``kernels.recurrent.time_loop_chunk``) each time loop, forward and backward, runs on two halves of
the batch at once, each half from the first step to the last on its own thread; the products over
all steps are split by rows (``parallel_matmul``). Both cuts depend on the shapes only.

Why one Function for the whole sequence: for an LSTM(64) on (32, 20, 16), forward and
backward take about 1.6 ms this way, 3.8 ms with a fused cell Function per time step,
and 5.4 ms composed from primitive ops (PyTorch's nn.LSTM: about 1.4 ms on 2 threads).
"""

from __future__ import annotations

from typing import Any

from ..autograd import Function, Tensor, apply
from ..backend import get_array_module
from ..kernels.recurrent import (
    column_product,
    lstm_cell_backward,
    lstm_cell_forward,
    lstm_derivatives,
    lstm_kernels,
    run_time_loop,
    steps_product,
)


# Activations the fused cells support: (in-place forward on a view, derivative from the output y).
def _tanh(xp, z):
    xp.tanh(z, out=z)


def _sigmoid(xp, z):  # 1/(1+e^-z) = (1 + tanh(z/2)) / 2: never overflows
    z *= 0.5
    xp.tanh(z, out=z)
    z *= 0.5
    z += 0.5


def _relu(xp, z):
    xp.maximum(z, 0, out=z)


def _identity(xp, z):
    pass


CELL_ACTIVATIONS = {
    "tanh": (_tanh, lambda y: 1 - y * y),
    "sigmoid": (_sigmoid, lambda y: y * (1 - y)),
    "relu": (_relu, lambda y: (y > 0).astype(y.dtype)),
    "linear": (_identity, lambda y: get_array_module(y).ones_like(y)),
}


def cell_activation(name: Any, what: str = "activation") -> str:
    """Validate an activation name for a recurrent cell (None means linear)."""
    name = "linear" if name is None else name
    if name not in CELL_ACTIVATIONS:
        raise ValueError(f"recurrent cells support {what} in {sorted(CELL_ACTIVATIONS)}. Received: {name!r}")
    return name


class _Recurrence(Function):
    """Shared parts: the input projection for all steps and its backward, in the op's layout.

    Inside the op, arrays are feature-major and time-second: the pre-activations Z (k*units, T, N),
    the states (units, T, N). Step t is the view [:, t], (rows, N), in which each gate is a block
    of rows of N contiguous values (the elementwise work of a step runs about three times faster
    than on column slices of (N, k*units)); and a quantity over all steps is one (rows, T*N)
    matrix, so the weight gradients are single matrix products on views, with no transposing copy.
    """

    def __init__(self, activation: str, recurrent_activation: str, go_backwards: bool, recurrent_mask: Any = None):
        self.names = (activation, recurrent_activation)
        self.cell, self.rcell = CELL_ACTIVATIONS[activation], CELL_ACTIVATIONS[recurrent_activation]
        self.act, self.act_d = self.cell
        self.ract, self.ract_d = self.rcell
        self.go_backwards = go_backwards
        # recurrent dropout: m (u, N), already scaled by 1/(1 - rate); the recurrent products read h_{t-1} * m
        self.m = None if recurrent_mask is None else recurrent_mask.T

    def _masked(self, h, s=slice(None)):
        """h_{t-1} (u, N) (or its batch columns s), or all steps' (u, T, N), as the recurrent product sees
        it: h * m with recurrent dropout (None stays None)."""
        if h is None or self.m is None:
            return h
        return h * (self.m[:, s] if h.ndim == 2 else self.m[:, None])

    def _masked_grad(self, g, s=slice(None)):
        """The gradient reaching h_{t-1} (batch columns s) through a recurrent product, times the mask's
        derivative m."""
        return g if self.m is None else g * self.m[:, s]

    def _project(self, x, W, b):
        """Z (k*units, T, N) = W^T x_t + b for every step t, in one matrix product."""
        xp = get_array_module(x)
        xF = x.transpose(2, 1, 0)  # (F, T, N)
        if self.go_backwards:
            xF = xF[:, ::-1]
        self.xF, self.W = xp.ascontiguousarray(xF), W
        F, T, N = self.xF.shape
        Z = steps_product(W.T, self.xF.reshape(F, T * N)).reshape(-1, T, N)
        if b is not None:
            Z += b[:, None, None]
        return Z

    def _project_backward(self, gZ):
        """(gx, gW, gb) from dL/dZ (k*units, T, N)."""
        xp = get_array_module(gZ)
        F, T, N = self.xF.shape
        g = _steps(gZ)
        gW = steps_product(g, _steps(self.xF).T).T if self.needs_input_grad[1] else None  # (dZ x^T)^T
        gb = g @ xp.ones(T * N, dtype=g.dtype)
        gx = None
        if self.needs_input_grad[0]:
            gx = steps_product(g.T, self.W.T).reshape(T, N, F)  # (W dZ)^T: step t's rows t*N .. t*N + N - 1
            if self.go_backwards:
                gx = gx[::-1]
            gx = gx.transpose(1, 0, 2)
        return gx, gW, gb

    @staticmethod
    def _grad_U(h0T, hs, gZ):
        """sum_t h_{t-1} dZ_t^T: one product over steps 1..T-1, plus step 0 when h0 is not zero."""
        gU = steps_product(_steps(gZ[:, 1:]), _steps(hs[:, :-1]).T).T  # (dZ H_prev^T)^T
        if h0T is not None:
            gU += h0T @ gZ[:, 0].T
        return gU

    @staticmethod
    def _upstream(xp, g_seq, g_last):
        """Output gradients in the op's layout: the sequence's (u, T, N) (or None), the last state's (u, N)."""
        g_seq = None if g_seq is None else xp.ascontiguousarray(g_seq.transpose(2, 1, 0))
        return g_seq, (None if g_last is None else xp.ascontiguousarray(g_last.T))

    @staticmethod
    def _outputs(hs):
        """The states (u, T, N) as the op returns them: all steps (N, T, u) and the last (N, u) (views)."""
        return hs.transpose(2, 1, 0), hs[:, -1].T


def _steps(A):
    """(K, T, N) -> (K, T*N): all steps side by side, the operand of one matrix product over steps.
    A view for the op's arrays and for their slices over time (rows stay N-contiguous)."""
    return A.reshape(A.shape[0], A.shape[1] * A.shape[2])


def _T(a):
    """(N, u) state -> (u, N), the op's layout (None stays None)."""
    return None if a is None else a.T


class SimpleRNN(_Recurrence):
    """h_t = act(x_t W + h_{t-1} U + b).  Backward: dz_t = (dL/dh_t) act'(z_t), dL/dh_{t-1} += dz_t U^T.
    Twin: ``neurona.functional.reference.simple_rnn``."""

    def forward(self, x, W, U, b=None, h0=None):
        xp = get_array_module(x)
        hs = self._project(x, W, b)  # overwritten step by step with the hidden states
        u, T, N = hs.shape
        UT = xp.ascontiguousarray(U.T)
        h0T = _T(h0)

        def steps(s, parts):  # the whole time loop for the batch columns s
            h = None if h0T is None else h0T[:, s]
            for t in range(T):
                z = hs[:, t, s]
                if h is not None:
                    z += column_product(UT, self._masked(h, s), parts)
                self.act(xp, z)
                h = z

        run_time_loop(steps, N, T, u, u, xp)
        self.hs, self.U, self.h0T = hs, U, h0T
        return self._outputs(hs)

    def backward(self, g_seq, g_last):
        hs, U = self.hs, self.U
        xp = get_array_module(hs)
        u, T, N = hs.shape
        g_seq, g_last = self._upstream(xp, g_seq, g_last)
        gZ = xp.empty_like(hs)
        gh_first = xp.empty((u, N), dtype=hs.dtype)  # dL/dh_0

        def steps(s, parts):  # the whole reverse loop for the batch columns s
            gh = None if g_last is None else g_last[:, s]
            for t in range(T - 1, -1, -1):
                if g_seq is not None:
                    gh = g_seq[:, t, s] if gh is None else gh + g_seq[:, t, s]
                gz = gZ[:, t, s]
                xp.multiply(gh, self.act_d(hs[:, t, s]), out=gz)
                gh = self._masked_grad(column_product(U, gz, parts), s)
            gh_first[:, s] = gh

        run_time_loop(steps, N, T, u, u, xp)
        gx, gW, gb = self._project_backward(gZ)
        return gx, gW, self._grad_U(self._masked(self.h0T), self._masked(hs), gZ), gb, gh_first.T


class LSTM(_Recurrence):
    """Long short-term memory, gates i, f, c, o (Keras's order) from z_t = x_t W + h_{t-1} U + b:

      i, f, o = sigma(z_i), sigma(z_f), sigma(z_o);  g = act(z_c)
      c_t = f c_{t-1} + i g;  h_t = o act(c_t)

    Backward per step, with dh and dc the gradients reaching h_t and c_t:
      dc += dh o act'(c_t);  dz_o = dh act(c_t) sigma';  dz_i = dc g sigma';  dz_f = dc c_{t-1} sigma';
      dz_c = dc i act';  dL/dc_{t-1} = dc f;  dL/dh_{t-1} = dz U^T.
    A step's elementwise part, forward and backward, is ``kernels.recurrent``'s (compiled for long
    float32 sequences). The plain twin, one step of autograd at a time: ``neurona.functional.reference.lstm``.
    """

    def forward(self, x, W, U, b=None, h0=None, c0=None):
        xp = get_array_module(x)
        N, T, _ = x.shape
        u = U.shape[0]
        Z = self._project(x, W, b)  # becomes the gate values in place
        self.kernels = lstm_kernels(Z, *self.names)
        UT = xp.ascontiguousarray(U.T)
        hs = xp.empty((u, T, N), dtype=Z.dtype)
        cs = xp.empty((u, T + 1, N), dtype=Z.dtype)
        tcs = xp.empty((u, T, N), dtype=Z.dtype)  # act(c_t)
        cs[:, 0] = 0 if c0 is None else c0.T
        h0T = _T(h0)

        def steps(s, parts):  # the whole time loop for the batch columns s
            h = None if h0T is None else h0T[:, s]
            for t in range(T):
                r = None if h is None else column_product(UT, self._masked(h, s), parts)  # h_{t-1} U, transposed
                lstm_cell_forward(self.kernels, Z, t, r, cs, tcs, hs, self.cell, self.rcell, s)
                h = hs[:, t, s]

        run_time_loop(steps, N, T, 4 * u, u, xp)
        self.Z, self.hs, self.cs, self.tcs, self.U, self.h0T = Z, hs, cs, tcs, U, h0T
        return (*self._outputs(hs), cs[:, -1].T)

    def backward(self, g_seq, g_last, gc_last):
        Z, hs, cs, tcs, U = self.Z, self.hs, self.cs, self.tcs, self.U
        xp = get_array_module(Z)
        u, T, N = hs.shape
        g_seq, gh = self._upstream(xp, g_seq, g_last)
        gh = xp.zeros((u, N), dtype=Z.dtype) if gh is None else gh
        gc = xp.zeros((u, N), dtype=Z.dtype) if gc_last is None else xp.array(gc_last.T, order="C")  # in place
        gZ = xp.empty_like(Z)
        derivatives = lstm_derivatives(self.kernels, Z, tcs, self.cell, self.rcell)

        gh_first = xp.empty_like(gh)  # dL/dh_0 (the upstream arrays are never written)

        def steps(s, parts):  # the whole reverse loop for the batch columns s
            gh_s, gc_s = xp.ascontiguousarray(gh[:, s]), xp.ascontiguousarray(gc[:, s])
            for t in range(T - 1, -1, -1):
                if g_seq is not None:
                    gh_s = gh_s + g_seq[:, t, s]
                lstm_cell_backward(self.kernels, gh_s, gc_s, Z, t, cs, tcs, gZ, derivatives, s)
                gh_s = self._masked_grad(column_product(U, gZ[:, t, s], parts), s)
            gh_first[:, s], gc[:, s] = gh_s, gc_s

        run_time_loop(steps, N, T, 4 * u, u, xp)
        gx, gW, gb = self._project_backward(gZ)
        return gx, gW, self._grad_U(self._masked(self.h0T), self._masked(hs), gZ), gb, gh_first.T, gc.T


class GRU(_Recurrence):
    """Gated recurrent unit, gates z (update), r (reset), h (candidate) in Keras's order.

    reset_after=True (Keras's default, cuDNN's and PyTorch's form), b = [b_x; b_h] (2, 3u):
      [a_z, a_r, a_h] = h_{t-1} U + b_h;  z = sigma(x W_z + b_xz + a_z);  r = sigma(x W_r + b_xr + a_r)
      h~ = act(x W_h + b_xh + r a_h);  h_t = z h_{t-1} + (1 - z) h~
    reset_after=False (the original form), b (3u,):  h~ = act(x W_h + (r h_{t-1}) U_h + b_h).

    Backward per step, dh reaching h_t: dpre_h = dh (1 - z) act';  dpre_z = dh (h_{t-1} - h~) sigma';
    dpre_r = dpre_h a_h sigma' (reset after) or (dpre_h U_h^T) h_{t-1} sigma' (before);
    dL/dh_{t-1} = dh z + (gradients of the recurrent products).
    Twin: ``neurona.functional.reference.gru``.
    """

    def __init__(self, activation: str, recurrent_activation: str, go_backwards: bool, reset_after: bool,
                 recurrent_mask: Any = None):
        super().__init__(activation, recurrent_activation, go_backwards, recurrent_mask)
        self.reset_after = reset_after

    def forward(self, x, W, U, b=None, h0=None):
        xp = get_array_module(x)
        N, T, _ = x.shape
        u = U.shape[0]
        b_x, b_h = (b[0], b[1]) if (b is not None and self.reset_after) else (b, None)
        Z = self._project(x, W, b_x)  # becomes [z, r, h~] in place
        hs = xp.empty((u, T, N), dtype=Z.dtype)
        A = xp.empty((u, T, N), dtype=Z.dtype)  # a_h (reset after) or r h_{t-1} (reset before), for backward
        UT = xp.ascontiguousarray(U.T)
        h0T = _T(h0)

        def steps(s, parts):  # the whole time loop for the batch columns s
            h = xp.zeros((u, s.stop - s.start), dtype=Z.dtype) if h0T is None else h0T[:, s]
            for t in range(T):
                z = Z[:, t, s]
                zr, cand, a_t = z[:2 * u], z[2 * u:], A[:, t, s]
                hm = self._masked(h, s)
                if self.reset_after:
                    a = column_product(UT, hm, parts)
                    if b_h is not None:
                        a += b_h[:, None]
                    zr += a[:2 * u]
                    self.ract(xp, zr)
                    a_t[...] = a[2 * u:]
                    cand += z[u:2 * u] * a_t
                else:
                    zr += column_product(UT[:2 * u], hm, parts)
                    self.ract(xp, zr)
                    xp.multiply(z[u:2 * u], hm, out=a_t)
                    cand += column_product(UT[2 * u:], a_t, parts)
                self.act(xp, cand)
                h_new = hs[:, t, s]
                xp.subtract(h, cand, out=h_new)  # h_t = h~ + z (h_{t-1} - h~)
                h_new *= z[:u]
                h_new += cand
                h = h_new

        run_time_loop(steps, N, T, 3 * u, u, xp)
        self.Z, self.hs, self.A, self.U, self.h0T = Z, hs, A, U, h0T
        return self._outputs(hs)

    def backward(self, g_seq, g_last):
        Z, hs, A, U = self.Z, self.hs, self.A, self.U
        xp = get_array_module(Z)
        _, T, N = Z.shape
        u = U.shape[0]
        g_seq, g_last = self._upstream(xp, g_seq, g_last)
        gZ = xp.empty_like(Z)  # dL/d(pre-activations), input side
        gA = xp.empty_like(Z) if self.reset_after else None  # dL/d(U^T h_{t-1} + b_h), reset after
        gh_first = xp.empty((u, N), dtype=Z.dtype)  # dL/dh_0
        U_zr, U_h = xp.ascontiguousarray(U[:, :2 * u]), xp.ascontiguousarray(U[:, 2 * u:])

        def steps(s, parts):  # the whole reverse loop for the batch columns s
            zeros = xp.zeros((u, s.stop - s.start), dtype=Z.dtype)
            gh = None if g_last is None else g_last[:, s]
            for t in range(T - 1, -1, -1):
                if g_seq is not None:
                    gh = g_seq[:, t, s] if gh is None else gh + g_seq[:, t, s]
                if gh is None:
                    gh = zeros
                h_prev = hs[:, t - 1, s] if t > 0 else (zeros if self.h0T is None else self.h0T[:, s])
                z, r, cand = Z[:u, t, s], Z[u:2 * u, t, s], Z[2 * u:, t, s]
                gz = gZ[:, t, s]
                g_cand = gz[2 * u:]
                xp.multiply(gh * (1 - z), self.act_d(cand), out=g_cand)
                xp.multiply(gh * (h_prev - cand), self.ract_d(z), out=gz[:u])
                if self.reset_after:
                    xp.multiply(g_cand * A[:, t, s], self.ract_d(r), out=gz[u:2 * u])
                    ga = gA[:, t, s]
                    ga[:2 * u] = gz[:2 * u]
                    xp.multiply(g_cand, r, out=ga[2 * u:])
                    gh = gh * z + self._masked_grad(column_product(U, ga, parts), s)
                else:
                    g_rh = column_product(U_h, g_cand, parts)
                    xp.multiply(g_rh * self._masked(h_prev, s), self.ract_d(r), out=gz[u:2 * u])
                    gh = gh * z + self._masked_grad(g_rh * r + column_product(U_zr, gz[:2 * u], parts), s)
            gh_first[:, s] = gh

        run_time_loop(steps, N, T, 3 * u, u, xp)
        gx, gW, gb = self._project_backward(gZ)
        if self.reset_after:
            gU = self._grad_U(self._masked(self.h0T), self._masked(hs), gA)
            gb = xp.stack([gb, _steps(gA) @ xp.ones(T * N, dtype=gA.dtype)])
        else:
            gU = xp.empty_like(U)
            gU[:, :2 * u] = self._grad_U(self._masked(self.h0T), self._masked(hs), gZ[:2 * u])
            gU[:, 2 * u:] = steps_product(_steps(gZ[2 * u:]), _steps(A).T).T
        return gx, gW, gU, gb, gh_first.T


def _check(op: str, k: int, x: Any, W: Any, U: Any, b: Any, states: dict[str, Any], bias_shape: tuple) -> None:
    """Shape checks with errors that name the op and every shape involved."""
    if x.ndim != 3:
        raise ValueError(f"{op}: expected x with 3 dimensions (N, T, features). Received: shape={tuple(x.shape)}")
    N, T, F = x.shape
    if T < 1:
        raise ValueError(f"{op}: expected at least one time step. Received: x.shape={tuple(x.shape)}")
    u = U.shape[0] if U.ndim == 2 else -1
    if U.ndim != 2 or U.shape[1] != k * u:
        raise ValueError(f"{op}: recurrent_kernel must have shape (units, {k} * units). Received: {tuple(U.shape)}")
    if tuple(W.shape) != (F, k * u):
        raise ValueError(f"{op}: kernel must have shape (features, {k} * units) = {(F, k * u)} for x "
                         f"{tuple(x.shape)}. Received: {tuple(W.shape)}")
    if b is not None and tuple(b.shape) != bias_shape:
        raise ValueError(f"{op}: bias must have shape {bias_shape}. Received: {tuple(b.shape)}")
    for what, s in states.items():
        if s is not None and tuple(s.shape) != (N, u):
            raise ValueError(f"{op}: {what} must have shape (batch, units) = {(N, u)}. Received: {tuple(s.shape)}")


def _recurrent_mask(op: str, mask: Any, x: Any, units: int) -> Any:
    """The recurrent-dropout mask as an array of x's dtype and device, checked to be (N, units)."""
    if mask is None:
        return None
    data = x.data if isinstance(x, Tensor) else x
    xp = get_array_module(data)
    m = xp.asarray(mask.data if isinstance(mask, Tensor) else mask).astype(data.dtype, copy=False)
    if tuple(m.shape) != (data.shape[0], units):
        raise ValueError(f"{op}: recurrent_mask must have shape (batch, units) = {(data.shape[0], units)}. "
                         f"Received: {tuple(m.shape)}")
    return m


def simple_rnn(x: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None, h0: Any = None,
               activation: str = "tanh", go_backwards: bool = False,
               recurrent_mask: Any = None) -> tuple[Tensor, Tensor]:
    """Fully connected recurrence h_t = act(x_t W + h_{t-1} U + b) over x (N, T, F).

    kernel (F, u), recurrent_kernel (u, u), bias (u,), h0 (N, u) (zeros when None).
    Returns (all hidden states (N, T, u), last state (N, u)). go_backwards reads x from
    the last step to the first (outputs stay in processing order, as in Keras).
    recurrent_mask (N, u), recurrent dropout as Keras: h_t = act(x_t W + (h_{t-1} * m) U + b),
    the same m at every step (a constant: no gradient).
    """
    _check("simple_rnn", 1, x, kernel, recurrent_kernel, bias, {"h0": h0}, (recurrent_kernel.shape[0],))
    m = _recurrent_mask("simple_rnn", recurrent_mask, x, recurrent_kernel.shape[0])
    fn = SimpleRNN(cell_activation(activation), "linear", go_backwards, m)
    return apply(fn, x, kernel, recurrent_kernel, bias, h0)


def lstm(x: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None, h0: Any = None, c0: Any = None,
         activation: str = "tanh", recurrent_activation: str = "sigmoid",
         go_backwards: bool = False, recurrent_mask: Any = None) -> tuple[Tensor, Tensor, Tensor]:
    """LSTM over x (N, T, F): kernel (F, 4u), recurrent_kernel (u, 4u), bias (4u,), gates i, f, c, o.

    Returns (hidden states (N, T, u), last hidden state h_T (N, u), last cell state c_T (N, u)).
    recurrent_mask (N, u): z_t = x_t W + (h_{t-1} * m) U + b, the same m at every step (Keras's
    recurrent dropout; c is not masked).

    >>> seq, h, c = F.lstm(x, W, U, b)
    """
    u = recurrent_kernel.shape[0]
    _check("lstm", 4, x, kernel, recurrent_kernel, bias, {"h0": h0, "c0": c0}, (4 * u,))
    fn = LSTM(cell_activation(activation), cell_activation(recurrent_activation, "recurrent_activation"),
              go_backwards, _recurrent_mask("lstm", recurrent_mask, x, u))
    return apply(fn, x, kernel, recurrent_kernel, bias, h0, c0)


def gru(x: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None, h0: Any = None, activation: str = "tanh",
        recurrent_activation: str = "sigmoid", reset_after: bool = True,
        go_backwards: bool = False, recurrent_mask: Any = None) -> tuple[Tensor, Tensor]:
    """GRU over x (N, T, F): kernel (F, 3u), recurrent_kernel (u, 3u), gates z, r, h.

    bias (2, 3u) (input and recurrent biases) when reset_after (Keras's default, PyTorch's
    form), else (3u,). Returns (hidden states (N, T, u), last hidden state (N, u)).
    recurrent_mask (N, u): the recurrent products read h_{t-1} * m (Keras's recurrent dropout),
    the same m at every step; the update h_t = z h_{t-1} + (1 - z) h~ uses h_{t-1} unmasked.
    """
    u = recurrent_kernel.shape[0]
    _check("gru", 3, x, kernel, recurrent_kernel, bias, {"h0": h0}, (2, 3 * u) if reset_after else (3 * u,))
    fn = GRU(cell_activation(activation), cell_activation(recurrent_activation, "recurrent_activation"),
             go_backwards, reset_after, _recurrent_mask("gru", recurrent_mask, x, u))
    return apply(fn, x, kernel, recurrent_kernel, bias, h0)
