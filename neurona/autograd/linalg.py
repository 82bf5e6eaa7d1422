"""Matrix product, the op that carries almost all of a network's arithmetic."""

from __future__ import annotations

from .function import Function


class MatMul(Function):
    """y = a @ b (NumPy's matmul rules: 1-D vectors, batched stacks);  ga = gy @ b^T, gb = a^T @ gy.

    Shapes: a (..., n, k), b (..., k, m) -> y (..., n, m). A 1-D ``a`` is a row
    (1, k) and a 1-D ``b`` a column (k, 1), dropped again from the result; the
    backward promotes the same way so one formula covers every case, and the
    engine sums batched gradients back over broadcast batch axes.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, without promotion
            return (gy @ b.T if need_a else None), (a.T @ gy if need_b else None)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        gy2 = gy
        if b.ndim == 1:
            gy2 = gy2[..., None]
        if a.ndim == 1:
            gy2 = gy2[..., None, :]
        ga = gb = None
        if need_a:
            ga = gy2 @ b2.swapaxes(-1, -2)
            if a.ndim == 1:
                ga = ga.reshape(-1, a.shape[0]).sum(axis=0)
        if need_b:
            gb = a2.swapaxes(-1, -2) @ gy2
            if b.ndim == 1:
                gb = gb.reshape(-1, b.shape[0]).sum(axis=0)
        return ga, gb
