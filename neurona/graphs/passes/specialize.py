"""Specialisation: with every shape fixed, make once the choices an op makes at every call.

The dense op (``functional.linear.Linear``) is the node this pays for most in small
networks, where a step is a handful of small products and the Python around them:

* inference (no backward node): a kernel that computes act(x @ W + b) as ``Linear.forward``
  does, with the product's kind (one BLAS call, or split over threads when large) chosen
  from the shapes now, and without saving arrays for a backward that never comes;
* training: the backward writes the weight's and the bias's gradients straight into the
  optimizer's flat gradient buffer (``param._grad_view``), so the update finds them there
  and copies nothing. Only for a parameter used by this op alone (a shared weight sums
  gradients from several ops) and for products below the threading threshold.

Same operations in the same order as the op's own methods: same bits.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ... import backend
from ...functional.linear import Linear, activation_grad
from ...kernels.threads import parallel_matmul
from ..autodiff import release
from ..ir import Graph, Node

# the size from which kernels.parallel_matmul splits a product over threads (its min_work)
THREADED_PRODUCT = 1 << 24


def _activation(xp: Any, act: str | None) -> Any:
    if act == "relu":
        return lambda y: xp.maximum(y, 0, out=y)
    if act == "tanh":
        return lambda y: xp.tanh(y, out=y)
    return None


def dense_inference(xp: Any, activation: str | None, threaded: bool) -> Any:
    """act(x @ W + b) for 2-D x, as ``Linear.forward`` computes it (relu/tanh in place)."""
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


class DenseBackwardIntoBuffers:
    """``Linear.backward`` for 2-D x, with gW and gb written into the parameters' flat gradient views."""

    def __init__(self, op: Linear, keep: list[int], W: Any, b: Any, settings: dict[str, Any]) -> None:
        self.op, self.keep, self.W, self.b, self.settings = op, keep, W, b, settings

    def __call__(self, gy: Any) -> Any:
        op = self.op
        g = activation_grad(op.activation, op.y, gy)
        x, W = op.x, op.W
        xp = backend.get_array_module(g)
        out = []
        for i in self.keep:
            if i == 0:
                out.append(parallel_matmul(g, W.T))
            elif i == 1:
                out.append(xp.matmul(x.T, g, out=_view(self.W, (x.shape[1], g.shape[1]), g.dtype)))
            else:
                out.append(g.sum(axis=0, out=_view(self.b, (g.shape[1],), g.dtype)))
        release(op, self.settings)
        return out[0] if len(out) == 1 else tuple(out)


def _view(param: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """The parameter's slot in the optimizer's flat gradient buffer, or None (then a new array is made)."""
    view = param._grad_view
    if view is None or view.shape != shape or view.dtype != dtype:
        return None
    return view


def specialize(graph: Graph) -> Graph:
    """The graph with its dense nodes running shape-specialised kernels (see the module docstring)."""
    xp = backend.array_module(graph.device)
    backward_of = {id(n.forward): n for n in graph.nodes if n.kind == "backward"}
    users = graph.users()
    nodes = []
    for node in graph.nodes:
        if node.kind == "op" and isinstance(node.op, Linear) and len(graph.values[node.inputs[0]].shape) == 2 \
                and id(node) not in backward_of and node.op.activation in (None, "relu", "tanh"):
            x, W = (graph.values[v].shape for v in node.inputs[:2])
            threaded = x[0] * x[1] * W[1] >= THREADED_PRODUCT
            node = replace(node, run=dense_inference(xp, node.op.activation, threaded))
        elif node.kind == "backward" and isinstance(node.op, Linear):
            node = _backward_into_buffers(node, graph, users) or node
        nodes.append(node)
    out = graph.copy()
    out.nodes = nodes
    return out


def _backward_into_buffers(node: Node, graph: Graph, users: dict) -> Node | None:
    forward = node.forward
    values = graph.values
    if len(values[forward.inputs[0]].shape) != 2:
        return None
    W = values[forward.inputs[1]]
    b = values[forward.inputs[2]] if len(forward.inputs) > 2 else None
    for p in (W, b):
        if p is not None and (p.kind != "param" or len(users.get(p.id, [])) != 1):
            return None  # not a parameter, or one whose gradient sums several ops' parts
    (m, k), n = values[forward.inputs[0]].shape, W.shape[1]
    if m * k * n >= THREADED_PRODUCT:
        return None
    run = DenseBackwardIntoBuffers(forward.op, node.run.keep, W.ref, None if b is None else b.ref, node.run.settings)
    return replace(node, run=run)
