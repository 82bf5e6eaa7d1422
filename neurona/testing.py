"""Checks for ops and layers, usable on your own code too.

``gradcheck`` compares backward with central differences in float64;
``compare_with_torch`` runs the same inputs through neurona and PyTorch and
compares outputs and gradients (PyTorch is imported only when it is called).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import backend
from .autograd import Tensor, no_grad


def _upstream(y: Tensor, seed: int) -> np.ndarray:
    """A random upstream gradient: unlike sum(), it catches errors that cancel out."""
    return np.random.default_rng(seed).standard_normal(y.shape)


def _backward_with_random_upstream(ys: list[Tensor], seed: int) -> list[np.ndarray]:
    """Backward of sum_k (y_k * g_k).sum() with random g_k; returns the g_k."""
    gys = [_upstream(y, seed + k) for k, y in enumerate(ys)]
    total = None
    for y, gy in zip(ys, gys):
        term = (y * (gy if y.device == "cpu" else backend.to_device(gy, y.device))).sum()
        total = term if total is None else total + term
    total.backward()
    return gys


def _outputs(result: Any) -> list[Tensor]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def gradcheck(fn: Callable[..., Any], *arrays: Any, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4,
              seed: int = 0, wrt: Sequence[int] | None = None) -> bool:
    """Check ``fn``'s backward against central differences, in float64.

    fn takes tensors (one per array) and returns a tensor or a tuple of tensors.
    A random upstream gradient g is used: the analytic d(sum g*y)/dx from backward
    must equal (f(x + eps) - f(x - eps)) . g / (2 eps) for every element of every
    input listed in ``wrt`` (all by default). Raises AssertionError naming the
    input and the worst element on mismatch; returns True otherwise.

    >>> gradcheck(lambda x: (x * x).sum(axis=0), np.random.randn(3, 4))
    True
    """
    # C order: the perturbation below writes through reshape(-1), a view only for C-ordered arrays
    xs = [np.array(a, dtype=np.float64, order="C") for a in arrays]
    wrt = range(len(xs)) if wrt is None else wrt
    tensors = [Tensor(x, dtype=np.float64, requires_grad=i in wrt) for i, x in enumerate(xs)]
    ys = _outputs(fn(*tensors))
    gys = _backward_with_random_upstream(ys, seed)

    def objective() -> float:
        with no_grad():
            outs = _outputs(fn(*[Tensor(x, dtype=np.float64) for x in xs]))
        return sum(float((np.asarray(o.numpy(), dtype=np.float64) * g).sum()) for o, g in zip(outs, gys))

    for i in wrt:
        analytic = tensors[i].grad
        analytic = np.zeros_like(xs[i]) if analytic is None else backend.to_numpy(analytic).astype(np.float64)
        numeric = np.zeros_like(xs[i])
        flat = xs[i].reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            plus = objective()
            flat[j] = old - eps
            minus = objective()
            flat[j] = old
            numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
        err = np.abs(analytic - numeric)
        bound = atol + rtol * np.abs(numeric)
        if (err > bound).any():
            k = int(np.argmax(err - bound))
            idx = np.unravel_index(k, numeric.shape)
            raise AssertionError(
                f"gradcheck failed for input {i} (shape {xs[i].shape}) at {idx}: "
                f"backward gives {analytic[idx]:.8g}, central differences {numeric[idx]:.8g} "
                f"(max abs error {err.max():.3g})"
            )
    return True


def compare_with_torch(fn: Callable[..., Any], torch_fn: Callable[..., Any], *arrays: Any, rtol: float = 1e-6,
                       atol: float = 1e-9, seed: int = 0, dtype: Any = np.float64,
                       wrt: Sequence[int] | None = None) -> None:
    """Run ``fn`` on neurona tensors and ``torch_fn`` on torch tensors made from the same arrays.

    Compares the outputs, then the gradients of every input listed in ``wrt`` (all
    floating inputs by default) after backward with the same random upstream
    gradient. Integer arrays (labels) are passed as int64 and get no gradient.
    Raises AssertionError with the largest relative difference on mismatch.
    """
    import torch

    xs = [np.asarray(a) for a in arrays]
    floating = [i for i, x in enumerate(xs) if x.dtype.kind == "f"]
    wrt = floating if wrt is None else wrt
    ours, theirs = [], []
    for i, x in enumerate(xs):
        if x.dtype.kind == "f":
            ours.append(Tensor(x, dtype=dtype, requires_grad=i in wrt))
            theirs.append(torch.tensor(x.astype(dtype), requires_grad=i in wrt))
        else:
            ours.append(x.astype(np.int64))
            theirs.append(torch.tensor(x.astype(np.int64)))
    ys = _outputs(fn(*ours))
    ts = _outputs(torch_fn(*theirs))
    if len(ys) != len(ts):
        raise AssertionError(f"neurona returned {len(ys)} outputs, torch {len(ts)}")
    for k, (y, t) in enumerate(zip(ys, ts)):
        _assert_close(f"output {k}", y.numpy(), t.detach().numpy(), rtol, atol)
    if not wrt:
        return
    gys = _backward_with_random_upstream(ys, seed)
    torch_total = sum((t * torch.tensor(gy, dtype=t.dtype)).sum() for t, gy in zip(ts, gys))
    torch_total.backward()
    for i in wrt:
        g = ours[i].grad
        tg = theirs[i].grad
        if tg is None and g is None:
            continue
        g = np.zeros(xs[i].shape) if g is None else backend.to_numpy(g)
        tg = np.zeros(xs[i].shape) if tg is None else tg.numpy()
        _assert_close(f"gradient of input {i}", g, tg, rtol, atol)


def _assert_close(what: str, ours: np.ndarray, theirs: np.ndarray, rtol: float, atol: float) -> None:
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise AssertionError(f"{what}: shape {ours.shape} but torch gives {theirs.shape}")
    if not np.allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True):
        diff = np.abs(ours - theirs)
        rel = diff / np.maximum(np.abs(theirs), atol)
        raise AssertionError(f"{what} differs from torch: max abs diff {diff.max():.3g}, max rel diff {rel.max():.3g}")


__all__ = ["compare_with_torch", "gradcheck"]
