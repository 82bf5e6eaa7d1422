"""Reverse-mode differentiation: walk the recorded graph from the output back to the leaves.

Each Function has a *generation*, one more than the newest op that produced one of
its inputs. Popping Functions from a heap by decreasing generation is therefore a
reverse topological order: when a Function is reached, every op that used its
outputs has already sent its gradient, so the gradients it received are complete.
The walk is iterative (no recursion limit) and touches each Function once.

After a Function's backward the engine frees what it saved, unless the caller asks
to ``retain_graph`` (for a second backward through the same graph).
"""

from __future__ import annotations

import heapq
from typing import Any

from ..backend import get_array_module
from .grad_mode import mode


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a broadcast gradient back to ``shape`` (over leading axes and axes of size 1)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and g.shape[lead + i] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _check_finite(array: Any, what: str) -> None:
    xp = get_array_module(array)
    if array.dtype.kind == "f" and not bool(xp.isfinite(array).all()):
        kind = "NaN" if bool(xp.isnan(array).any()) else "Inf"
        raise FloatingPointError(f"detect_anomaly: {what} contains {kind}")


def _accumulate_leaf(t: Any, g: Any) -> None:
    """Add a gradient into a leaf tensor's ``.grad`` (created on first use, in place after)."""
    if g.dtype != t.data.dtype and t.data.dtype.kind == "f":
        g = g.astype(t.data.dtype)
    if t.grad is None:
        view = t._grad_view
        if g is view:  # the op wrote it into the optimizer's slot already (dense layers do)
            t.grad = view
        elif view is not None and view.shape == g.shape:
            # An optimizer's flat gradient buffer: write into it so one vectorised pass can update all parameters.
            view[...] = g
            t.grad = view
        else:
            t.grad = g.copy()
    else:
        t.grad += g


def _add_output_grad(fn: Any, index: int, n_out: int, g: Any) -> None:
    if n_out == 1:
        fn.grads = g if fn.grads is None else fn.grads + g
    else:
        if fn.grads is None:
            fn.grads = [None] * n_out
        old = fn.grads[index]
        fn.grads[index] = g if old is None else old + g


def backward(root: Any, grad: Any, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) * grad into ``.grad`` of every leaf that requires it."""
    fn = root.creator
    if fn is None:
        _accumulate_leaf(root, grad)
        return
    if fn.inputs is None:
        raise RuntimeError(
            "backward through a graph whose saved values were already freed: "
            "call backward(retain_graph=True) the first time to differentiate the same graph twice"
        )
    _add_output_grad(fn, root.index, fn.n_outputs, grad)
    # Ties between ops of one generation are broken by the order in which they were queued, which
    # depends only on the graph: the gradients are summed in the same order on every run.
    heap = [(-fn.generation, 0, fn)]
    queued = {id(fn)}
    pushed = 1
    anomaly = mode.anomaly
    while heap:
        fn = heapq.heappop(heap)[2]
        gys = fn.grads
        fn.grads = None
        if fn.retained is not None:
            _store_retained(fn, gys)
        inputs = fn.inputs
        if inputs is None:
            raise RuntimeError(
                f"backward reached {fn.name} whose saved values were already freed: "
                "pass retain_graph=True to the first backward to differentiate the same graph twice"
            )
        gxs = fn.backward(gys) if fn.n_outputs == 1 else fn.backward(*gys)
        if type(gxs) is not tuple:
            gxs = (gxs,)
        for i, (x, gx, need) in enumerate(zip(inputs, gxs, fn.needs_input_grad)):
            if not need or gx is None:
                continue
            if gx.shape != x.data.shape:
                gx = sum_to(gx, x.data.shape)
            if anomaly:
                _check_finite(gx, f"the gradient {fn.name}.backward computed for input {i} (shape {x.data.shape})")
            creator = x.creator
            if creator is None:
                _accumulate_leaf(x, gx)
                continue
            _add_output_grad(creator, x.index, creator.n_outputs, gx)
            if id(creator) not in queued:
                queued.add(id(creator))
                heapq.heappush(heap, (-creator.generation, pushed, creator))
                pushed += 1
        if not retain_graph:
            fn.release()


def _store_retained(fn: Any, gys: Any) -> None:
    """Give ``.grad`` to the outputs of ``fn`` on which the user called ``retain_grad()``."""
    grads = [gys] if fn.n_outputs == 1 else gys
    for index, ref in fn.retained.items():
        t = ref()
        if t is not None and grads[index] is not None:
            g = grads[index]
            t.grad = g.copy() if t.grad is None else t.grad + g
