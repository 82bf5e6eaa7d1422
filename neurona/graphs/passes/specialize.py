"""Specialisation: with every shape fixed, make once the choices an op makes at every call.

Small networks spend a step in a handful of small products and the Python around them
(argument checks, branches on settings, arrays saved on the op and released again). This
pass swaps the nodes that matter most for kernels decided now:

* dense (``functional.linear.Linear``, 2-D input, below the threading threshold): the forward
  becomes three lines of the generated program, ``y = x @ W``, ``y += b`` and the activation
  in place, the same operations ``Linear.forward`` runs. Its backward reads x, W and y as
  values of the graph (inputs of the backward node) instead of arrays saved on the op, and
  writes the weight's and bias's gradients straight into the optimizer's flat gradient
  buffer (``param._grad_view``) when the parameter is used by this op alone (a shared
  weight sums gradients from several ops), so the update finds them there. A large dense
  inference (products split over threads) runs ``dense_inference``, without saved arrays;
* softmax cross-entropy on integer labels (no class weights, no smoothing, mean): the forward
  also gives the probabilities as a value, and the backward turns them into the gradient in
  place, p - onehot over the batch size, with the row indices made once;
* the fused optimizer update of plain SGD (no momentum, no weight decay) and of Adam (default
  options): one compiled pass over the flat buffers (``kernels/_numba_updates.py``) instead of
  2 and 12 NumPy passes; SGD without numba: two passes instead of three.

Same operations in the same order as the ops' own methods and rules: same bits.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ... import backend
from ...functional.linear import Linear, activation_grad
from ...functional.losses import CrossEntropy
from ...kernels import compiled
from ...kernels.threads import parallel_for, parallel_matmul
from ...optim import SGD, Adam
from ..autodiff import OptimizerUpdate
from ..ir import Graph, Node
from ..replay import Inline

# the size from which kernels.parallel_matmul splits a product over threads (its min_work)
THREADED_PRODUCT = 1 << 24


def _activation(xp: Any, act: str | None) -> Any:
    if act == "relu":
        return lambda y: xp.maximum(y, 0, out=y)
    if act == "tanh":
        return lambda y: xp.tanh(y, out=y)
    return None


def dense_inference(xp: Any, activation: str | None, threaded: bool) -> Any:
    """act(x @ W + b) for 2-D x, as ``Linear.forward`` computes it (relu/tanh in place), as a function."""
    product = parallel_matmul if threaded else xp.matmul
    act = _activation(xp, activation)

    def run(x: Any, W: Any, b: Any = None) -> Any:
        y = product(x, W)
        if b is not None:
            y += b
        if act is not None:
            act(y)
        return y

    return run


class DenseForward(Inline):
    """act(x @ W + b) for 2-D x below the threading threshold: ``y = x @ W``, ``y += b`` and the
    activation in place, the statements ``Linear.forward`` runs (ReLU as the maximum with a zero
    of y's dtype made once: the same numbers as with the literal 0, without converting it per call)."""

    def __init__(self, xp: Any, activation: str | None, dtype: Any) -> None:
        self.xp, self.activation, self.dtype = xp, activation, dtype

    def lines(self, outs: list[str], ins: list[str], tag: str) -> list[str]:
        (y,), (x, W, *b) = outs, ins
        out = [f"{y} = {x} @ {W}"] + [f"{y} += {bias}" for bias in b[:1]]
        if self.activation == "relu":
            out.append(f"{tag}_maximum({y}, {tag}_zero, out={y})")
        elif self.activation == "tanh":
            out.append(f"{tag}_tanh({y}, out={y})")
        return out

    def names(self, tag: str) -> dict[str, Any]:
        return {f"{tag}_maximum": self.xp.maximum, f"{tag}_tanh": self.xp.tanh,
                f"{tag}_zero": self.xp.zeros((), self.dtype)}


class DenseBackward(Inline):
    """``Linear.backward`` for 2-D x: (gy, x, W, y) in, the kept gradients out: g = gy through the
    activation (``activation_grad``), gx = g W^T, gW = x^T g, gb = the sum of g over the batch.
    ``params``: the weight's and bias's Tensors, whose gradients go into their slots of the
    optimizer's flat buffer (``param._grad_view``), or None (a new array: a parameter other ops
    read too, whose gradient sums several parts). ``shapes``/``dtype``: the gradients' ones."""

    def __init__(self, xp: Any, activation: str | None, keep: list[int], params: list[Any],
                 shapes: list[tuple[int, ...]], dtype: Any) -> None:
        self.xp, self.activation, self.keep, self.params = xp, activation, keep, params
        self.shapes, self.dtype = shapes, dtype
        self.n_outputs = len(keep)

    def lines(self, outs: list[str], ins: list[str], tag: str) -> list[str]:
        gy, x, W, y = ins
        g = f"{tag}_g"
        if self.activation is None:
            out = [f"{g} = {gy}"]
        else:
            out = [f"{g} = {tag}_activation_grad({self.activation!r}, {y}, {gy})"]
        for i, name in zip(self.keep, outs):
            if i == 0:
                out.append(f"{name} = {g} @ {W}.T")
            elif i == 1:
                out.append(f"{name} = {tag}_matmul({x}.T, {g}, out={tag}_slot({tag}_W, {self.shapes[0]}, {tag}_dtype))")
            else:
                out.append(f"{name} = {g}.sum(axis=0, out={tag}_slot({tag}_b, {self.shapes[1]}, {tag}_dtype))")
        return out + [f"del {g}"]

    def names(self, tag: str) -> dict[str, Any]:
        return {f"{tag}_activation_grad": activation_grad, f"{tag}_matmul": self.xp.matmul, f"{tag}_slot": _view,
                f"{tag}_W": self.params[0], f"{tag}_b": self.params[1], f"{tag}_dtype": self.dtype}


def _view(param: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """The parameter's slot in the optimizer's flat gradient buffer, or None (then a new array is made)."""
    view = None if param is None else param._grad_view
    if view is None or view.shape != shape or view.dtype != dtype:
        return None
    return view


class CrossEntropyLabels(Inline):
    """``CrossEntropy.forward`` for logits x (N, C) and integer labels t (N,), mean over the batch,
    no class weights or smoothing: (x, t) in, (loss, p) out, p = softmax(x) kept for the backward.
    z = x - max x, loss = mean of log sum e^z - z[t], p = e^z / sum e^z (the op's statements)."""

    n_outputs = 2

    def __init__(self, xp: Any, n: int) -> None:
        self.xp, self.n, self.rows = xp, n, xp.arange(n)

    def lines(self, outs: list[str], ins: list[str], tag: str) -> list[str]:
        (loss, p), (x, t) = outs, ins
        z, s = f"{tag}_z", f"{tag}_s"
        return [f"{z} = {x} - {x}.max(axis=1, keepdims=True)",
                f"{p} = {tag}_exp({z})",
                f"{s} = {p}.sum(axis=1, keepdims=True)",
                f"{loss} = ({tag}_log({s})[:, 0] - {z}[{tag}_rows, {t}]).sum() / {self.n}",
                f"{p} /= {s}",
                f"del {z}, {s}"]

    def names(self, tag: str) -> dict[str, Any]:
        return {f"{tag}_exp": self.xp.exp, f"{tag}_log": self.xp.log, f"{tag}_rows": self.rows}


class CrossEntropyLabelsBackward(Inline):
    """dloss/dx = (p - onehot(t)) * gy / N, made in p's own array (nothing else reads p)."""

    def __init__(self, n: int, rows: Any) -> None:
        self.n, self.rows = n, rows

    def lines(self, outs: list[str], ins: list[str], tag: str) -> list[str]:
        (gx,), (gy, p, t) = outs, ins
        return [f"{p}[{tag}_rows, {t}] -= 1.0", f"{p} *= {gy} / {self.n}", f"{gx} = {p}"]

    def names(self, tag: str) -> dict[str, Any]:
        return {f"{tag}_rows": self.rows}


def compiled_updates() -> Any:
    """The compiled update kernels (``kernels/_numba_updates.py``), or None where compiled kernels may
    not run (numba missing, NEURONA_NUMBA=0: ``kernels.compiled.enabled``)."""
    if not compiled.enabled():
        return None
    try:
        from ...kernels import _numba_updates
    except ImportError:
        return None
    return _numba_updates


def _split(run: Any, n: int, xp: Any) -> None:
    """run(slice) over range(n): at once on one thread, else split as ``kernels.parallel_for`` does."""
    if backend.get_num_threads() == 1:
        run(slice(0, n))
    else:
        parallel_for(run, n, min_chunk=1 << 17, xp=xp)


class PlainSGDUpdate(OptimizerUpdate):
    """The fused update of SGD without momentum or weight decay, p -= g lr over the flat buffers: one
    compiled pass (``compiled``: the kernels' module, or None), else t = g lr, p -= t (``SGD.update``
    copies g into t first: the same numbers, one pass more). Other settings run ``SGD.update``."""

    def __init__(self, optimizer: Any, params: list[Any], compiled: Any = None) -> None:
        super().__init__(optimizer, params, flat=True)
        self.compiled = compiled

    def _apply(self, flat: Any, step: int, group: dict[str, Any]) -> None:
        if group["momentum"] or group["weight_decay"]:
            super()._apply(flat, step, group)
            return
        p, g, t = flat.data, flat.grad, flat.scratch
        xp = backend.get_array_module(p)
        if self.compiled is not None and xp is np:
            lr = p.dtype.type(group["lr"])
            _split(lambda s: self.compiled.sgd(p[s], g[s], lr), p.size, xp)
        else:
            lr = group["lr"]
            _split(lambda s: xp.subtract(p[s], xp.multiply(g[s], lr, out=t[s]), out=p[s]), p.size, xp)


class FusedAdamUpdate(OptimizerUpdate):
    """The fused update of Adam (bias correction, no weight decay, no amsgrad: the defaults) as one
    compiled pass over the flat buffers instead of ``Adam.update``'s 12 NumPy passes: the same
    operations on each value, so the same bits. Other settings, or no compiled kernels, run the rule."""

    def __init__(self, optimizer: Any, params: list[Any], compiled: Any) -> None:
        super().__init__(optimizer, params, flat=True)
        self.compiled = compiled

    def _apply(self, flat: Any, step: int, group: dict[str, Any]) -> None:
        p = flat.data
        if group["amsgrad"] or group["weight_decay"] or not group.get("bias_correction", True) \
                or backend.get_array_module(p) is not np:
            super()._apply(flat, step, group)
            return
        g, m, v = flat.grad, flat.state["exp_avg"], flat.state["exp_avg_sq"]
        b1, b2 = group["betas"]
        root_bc2 = math.sqrt(1 - b2**step)  # the constants as Adam.update makes them, then in p's dtype
        dt = p.dtype.type
        c1, c2, eps = dt(1 - b1), dt(1 - b2), dt(group["eps"] * root_bc2)
        scale = dt(group["lr"] * root_bc2 / (1 - b1**step))
        kernel = self.compiled.adam
        _split(lambda s: kernel(p[s], g[s], m[s], v[s], c1, dt(b1), c2, dt(b2), eps, scale), p.size, np)


def specialize(graph: Graph) -> Graph:
    """The graph with its dense, cross-entropy and SGD-update nodes specialised (see the module docstring)."""
    xp = backend.array_module(graph.device)
    out = graph.copy()
    backward_of = {id(n.forward): n for n in graph.nodes if n.kind == "backward"}
    users = graph.users()
    swapped: dict[int, Node] = {}  # id(node) -> its replacement
    for node in graph.nodes:
        back = backward_of.get(id(node))
        if node.kind == "op" and _plain_dense(node, graph):
            swapped[id(node)] = replace(node, run=DenseForward(xp, node.op.activation,
                                                               graph.values[node.outputs[0]].dtype))
            if back is not None:
                params = [_own_param(graph, users, v) for v in node.inputs[1:3]]
                shapes = [graph.values[v].shape for v in node.inputs[1:3]]
                run = DenseBackward(xp, node.op.activation, back.run.keep, params + [None] * (2 - len(params)),
                                    shapes + [()] * (2 - len(shapes)), graph.values[node.outputs[0]].dtype)
                swapped[id(back)] = replace(back, run=run, inputs=back.inputs[:1] + node.inputs[:2] + node.outputs)
        elif node.kind == "op" and back is None and _plain_dense(node, graph, threaded=True):
            swapped[id(node)] = replace(node, run=dense_inference(xp, node.op.activation, threaded=True))
        elif node.kind == "op" and _plain_cross_entropy(node, graph):
            n = graph.values[node.inputs[0]].shape[0]
            kernel = CrossEntropyLabels(xp, n)
            x = graph.values[node.inputs[0]]
            p = out.new_value(x.shape, x.dtype, "node", name="softmax")
            swapped[id(node)] = replace(node, run=kernel, outputs=node.outputs + [p])
            if back is not None:
                run = CrossEntropyLabelsBackward(n, kernel.rows)
                swapped[id(back)] = replace(back, run=run, inputs=back.inputs[:1] + [p, node.inputs[1]])
        elif node.kind == "update" and type(node.run) is OptimizerUpdate and node.run.flat:
            opt, params = node.run.optimizer, node.run.params
            if type(opt) is SGD:
                swapped[id(node)] = replace(node, run=PlainSGDUpdate(opt, params, compiled_updates()))
            elif type(opt) is Adam and compiled_updates() is not None:
                swapped[id(node)] = replace(node, run=FusedAdamUpdate(opt, params, compiled_updates()))
    nodes = [swapped.get(id(n), n) for n in graph.nodes]
    for i, n in enumerate(nodes):  # a backward node points at its (replaced) forward node
        if n.kind == "backward" and n.forward is not None and id(n.forward) in swapped:
            nodes[i] = replace(n, forward=swapped[id(n.forward)])
    out.nodes = nodes
    return out


def _plain_dense(node: Node, graph: Graph, threaded: bool = False) -> bool:
    """A dense op on 2-D x with relu/tanh/no activation, below the threading threshold (``threaded``:
    at or above it)."""
    if not isinstance(node.op, Linear) or node.op.activation not in (None, "relu", "tanh"):
        return False
    x, W = (graph.values[v].shape for v in node.inputs[:2])
    return len(x) == 2 and (x[0] * x[1] * W[1] >= THREADED_PRODUCT) == threaded


def _plain_cross_entropy(node: Node, graph: Graph) -> bool:
    """Softmax cross-entropy of 2-D logits with integer labels, mean reduction, no weights or smoothing."""
    op = node.op
    if not isinstance(op, CrossEntropy) or op.weight is not None or op.eps != 0 or op.reduction != "mean":
        return False
    x, t = (graph.values[v] for v in node.inputs[:2])
    return len(x.shape) == 2 and x.shape[0] > 0 and t.shape == x.shape[:1] and t.dtype is not None \
        and t.dtype.kind in "iu"


def _own_param(graph: Graph, users: dict, v: int) -> Any:
    """The Tensor of parameter value v if one op alone reads it (its gradient is that op's), else None."""
    value = graph.values[v]
    return value.ref if value.kind == "param" and len(users.get(v, [])) == 1 else None
