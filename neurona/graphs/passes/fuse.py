"""Op fusion: replace a chain of ops by one op that computes the same in fewer passes.

Forward rules, applied before the backward graph is built (the fused op brings its own
backward, so forward and backward are fused together):

  MatMul + Add(bias)                  -> Linear            (dense: x @ W + b in one op)
  Linear + ReLU / Tanh                -> Linear(relu/tanh) (the activation applied in place)
  Conv2d + ReLU + MaxPool2d(2)        -> Conv2dMaxPoolRelu (kernels' chunked conv-relu-pool;
  Conv2d(relu) + MaxPool2d(2)            see functional/conv_pool.py)
  Log(Softmax)                        -> LogSoftmax        (the stable form of softmax + cross-entropy's log)

A chain fuses only when each intermediate value is used by the next op alone (and is
not an output), so nothing else needed it. After the backward graph is built,
``fuse_optimizer`` merges the per-parameter gradient hand-overs and the optimizer step
into one update over all parameters (the optimizer's flat buffers: one pass for all).
Fused ops give the same values within float32 rounding (a ReLU applied in place, a
product split over threads, log-softmax's shorter formula).
"""

from __future__ import annotations

from typing import Any

from ...functional.activations import LogSoftmax
from ...functional.conv_pool import Conv2dMaxPoolRelu
from ...functional.linear import Linear
from ..autodiff import OptimizerUpdate
from ..ir import Graph, Node
from ..trace import template

_POOL_2X2 = ((2, 2), (2, 2), (0, 0, 0, 0))


def _op(fn: Any, needs: list[bool]) -> Any:
    return template(fn, dict(vars(fn)), needs)


def _needs(node: Node, i: int) -> bool:
    needs = node.op.needs_input_grad
    return bool(needs[i]) if i < len(needs) else False


class _Chains:
    """Finds the op that alone reads a value (the next link of a chain)."""

    def __init__(self, graph: Graph) -> None:
        self.users = graph.users()
        self.outputs = set(graph.outputs)
        self.values = graph.values

    def next(self, node: Node, label: str | tuple[str, ...]) -> Node | None:
        if len(node.outputs) != 1 or node.outputs[0] in self.outputs:
            return None
        users = self.users.get(node.outputs[0], [])
        labels = (label,) if isinstance(label, str) else label
        if len(users) == 1 and users[0].kind == "op" and users[0].label in labels:
            return users[0]
        return None


def _fused(first: Node, last: Node, op: Any, inputs: list[int], parts: list[Node]) -> Node:
    label = type(op).__name__
    return Node("op", label, op.forward, inputs, list(last.outputs), op=op,
                fused=[p.label for p in parts])


def _match(chains: _Chains, node: Node, values: Any) -> tuple[Node, list[Node]] | None:
    """The fused node for a chain starting at ``node``, and the nodes it replaces; None if no rule fits."""
    label = node.label
    if label == "MatMul":
        add = chains.next(node, "Add")
        if add is not None and add.inputs[0] == node.outputs[0]:
            x, W = node.inputs
            b = add.inputs[1]
            if len(values[W].shape) == 2 and len(values[x].shape) == 2 and values[b].shape == (values[W].shape[1],):
                op = _op(Linear(None), [_needs(node, 0), _needs(node, 1), _needs(add, 1)])
                return _fused(node, add, op, [x, W, b], [node, add]), [node, add]
    if label == "Linear" and node.op.activation is None:
        act = chains.next(node, ("ReLU", "Tanh"))
        if act is not None:
            op = _op(Linear(act.label.lower()), list(node.op.needs_input_grad))
            return _fused(node, act, op, list(node.inputs), [node, act]), [node, act]
    if label == "Conv2d":
        relu = None if node.op.relu else chains.next(node, "ReLU")
        pool = chains.next(relu or node, "MaxPool2d") if (node.op.relu or relu) else None
        if pool is not None and (pool.op.pool, pool.op.stride, tuple(pool.op.pads)) == _POOL_2X2:
            needs = list(node.op.needs_input_grad)
            c = node.op
            op = _op(Conv2dMaxPoolRelu(c.stride, c.pads, c.dilation, any(needs)), needs)
            parts = [node, relu, pool] if relu is not None else [node, pool]
            return _fused(node, pool, op, list(node.inputs), parts), parts
    if label == "Softmax":
        log = chains.next(node, "Log")
        if log is not None:
            op = _op(LogSoftmax(node.op.axis), list(node.op.needs_input_grad))
            return _fused(node, log, op, list(node.inputs), [node, log]), [node, log]
    return None


def fuse_ops(graph: Graph) -> Graph:
    """The forward graph with every chain a rule matches replaced by its fused op (repeated until none)."""
    out = graph.copy()
    while True:
        chains = _Chains(out)
        for node in out.nodes:
            if node.kind != "op" or node.random:
                continue
            found = _match(chains, node, out.values)
            if found is None:
                continue
            fused, parts = found
            nodes = []
            for n in out.nodes:
                if n is parts[0]:
                    fused.fused = [label for p in parts for label in (p.fused or [p.label])]
                    nodes.append(fused)
                elif not any(n is p for p in parts):
                    nodes.append(n)
            dropped = {v for p in parts[:-1] for v in p.outputs}
            out.nodes = nodes
            out.values = {k: v for k, v in out.values.items() if k not in dropped}
            break
        else:
            return out


def fuse_optimizer(graph: Graph) -> Graph:
    """One ``update`` node over all parameters instead of one gradient hand-over per parameter and a step."""
    out = graph.copy()
    assigns = [n for n in graph.nodes if n.kind == "update" and n.label.startswith("assign grad")]
    steps = [n for n in graph.nodes if n.kind == "update" and isinstance(n.run, OptimizerUpdate)]
    if not assigns or len(steps) != 1:
        return out
    step = steps[0]
    grads = [n.inputs[0] for n in assigns]
    name = type(step.run.optimizer).__name__
    run = OptimizerUpdate(step.run.optimizer, step.run.params, flat=True)
    fused = Node("update", f"{name} update ({len(grads)} parameters, one flat pass)", run, grads, [],
                 fused=[n.label for n in assigns] + [step.label])
    dropped = {v for n in assigns for v in n.outputs}
    gone = {id(n) for n in assigns} | {id(step)}
    out.nodes = [n for n in graph.nodes if id(n) not in gone] + [fused]
    out.values = {k: v for k, v in graph.values.items() if k not in dropped}
    return out
