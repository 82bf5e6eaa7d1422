"""Memory plan: how long each array lives, which arrays can share one buffer, and the peak.

Liveness: a value is born at the node that produces it and dies after its last use. In
a training graph an op's backward reads what its forward saved (its inputs and output),
so those live until the backward node too. The graph's outputs live to the end.

Buffer assignment, greedy in execution order: a new value takes the smallest free buffer
that holds it (left by a value that died earlier), else grows the largest free one, else
gets a new buffer; a buffer is as large as the largest array it ever holds. An
elementwise op whose input dies at that op, with the output's shape and dtype, writes
into the input's buffer: it runs in place (only in inference: a training op's backward
needs its input as it was). The plan's peak is the total size of the buffers it uses,
next to what keeping every array would take.

At replay the plan frees each array right after its last use (the array library then
reuses its memory) and runs the in-place ops with ``out=`` their input.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ...backend import get_array_module
from ..ir import Graph, Node


def _unary(ufunc_name: str) -> Any:
    def run(x: Any) -> Any:
        return getattr(get_array_module(x), ufunc_name)(x, out=x)

    return run


def _relu(x: Any) -> Any:
    return get_array_module(x).maximum(x, 0, out=x)


def _binary(ufunc_name: str, into: int) -> Any:
    def run(a: Any, b: Any) -> Any:
        return getattr(get_array_module(a), ufunc_name)(a, b, out=a if into == 0 else b)

    return run


UNARY_IN_PLACE = {"ReLU": lambda: _relu, "Tanh": lambda: _unary("tanh"), "Exp": lambda: _unary("exp"),
                  "Neg": lambda: _unary("negative"), "Sqrt": lambda: _unary("sqrt")}
BINARY_IN_PLACE = {"Add": "add", "Sub": "subtract", "Mul": "multiply", "Div": "divide"}


@dataclass
class MemoryPlan:
    """buffer_of: value id -> buffer index; sizes: bytes per buffer; frees: per node, the values that
    die after it; in_place: labels of the nodes that run in place; naive: bytes if nothing were shared."""

    buffer_of: dict[int, int] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    frees: list[tuple[int, ...]] = field(default_factory=list)
    in_place: list[str] = field(default_factory=list)
    naive: int = 0

    @property
    def peak(self) -> int:
        """The planned peak: bytes of all buffers the plan uses."""
        return sum(self.sizes)

    def shared(self) -> dict[int, list[int]]:
        """buffer index -> the value ids that take turns in it (only buffers used by more than one)."""
        groups: dict[int, list[int]] = {}
        for vid, b in self.buffer_of.items():
            groups.setdefault(b, []).append(vid)
        return {b: vids for b, vids in groups.items() if len(vids) > 1}


def lifetimes(graph: Graph) -> dict[int, tuple[int, int]]:
    """value id -> (index of the node that makes it, index of its last use) for node outputs."""
    end = len(graph.nodes)
    born: dict[int, int] = {}
    last: dict[int, int] = {}
    for i, node in enumerate(graph.nodes):
        for v in node.outputs:
            born[v] = i
            last.setdefault(v, i)
        used = list(node.inputs)
        if node.kind == "backward" and node.forward is not None:  # what forward saved for backward
            used += node.forward.inputs + node.forward.outputs
        for v in used:
            if v in born:
                last[v] = max(last[v], i)
    for v in graph.outputs:
        if v in born:
            last[v] = end
    return {v: (born[v], last[v]) for v in born}


def plan_memory(graph: Graph) -> Graph:
    """The graph with a ``MemoryPlan`` (``graph.plan``) and its in-place ops rewritten to run so."""
    life = lifetimes(graph)
    values = graph.values
    differentiated = {id(n.forward) for n in graph.nodes if n.kind == "backward"}
    plan = MemoryPlan(naive=sum(values[v].nbytes for v in life))
    free: list[int] = []  # buffers no live value holds
    nodes: list[Node] = []
    for i, node in enumerate(graph.nodes):
        node = _maybe_in_place(node, i, life, values, differentiated, plan)
        for v in node.outputs:
            if v not in plan.buffer_of:
                plan.buffer_of[v] = _take(free, plan.sizes, values[v].nbytes)
        dying = tuple(v for v in set(node.inputs) | set(node.outputs) if v in life and life[v][1] == i)
        taken = {plan.buffer_of[o] for o in node.outputs}
        for v in dying:
            b = plan.buffer_of[v]
            if b not in taken or v in node.outputs:
                free.append(b)
        plan.frees.append(dying)
        nodes.append(node)
    out = graph.copy()
    out.nodes = nodes
    out.plan = plan
    return out


def _take(free: list[int], sizes: list[int], size: int) -> int:
    """A buffer for ``size`` bytes: the smallest free one that holds it, else the largest free one grown
    to fit (a buffer is as large as the largest array it ever holds), else a new one."""
    fits = [b for b in free if sizes[b] >= size]
    if fits or free:
        b = min(fits, key=lambda b: sizes[b]) if fits else max(free, key=lambda b: sizes[b])
        free.remove(b)
        sizes[b] = max(sizes[b], size)
        return b
    sizes.append(size)
    return len(sizes) - 1


def _maybe_in_place(node: Node, i: int, life: dict, values: dict, differentiated: set, plan: MemoryPlan) -> Node:
    if node.kind != "op" or node.random or id(node) in differentiated or len(node.outputs) != 1:
        return node
    out = values[node.outputs[0]]
    candidates = [0] if node.label in UNARY_IN_PLACE else [0, 1] if node.label in BINARY_IN_PLACE else []
    if node.label in ("Sub", "Div"):
        candidates = [0]
    for k in candidates:
        if k >= len(node.inputs):
            continue
        v = node.inputs[k]
        if v not in life or life[v][1] != i or node.inputs.count(v) > 1:
            continue
        src = values[v]
        if src.shape != out.shape or src.dtype != out.dtype:
            continue
        run = UNARY_IN_PLACE[node.label]() if node.label in UNARY_IN_PLACE else _binary(BINARY_IN_PLACE[node.label], k)
        plan.buffer_of[out.id] = plan.buffer_of[v]
        plan.in_place.append(node.label)
        return replace(node, run=run, label=node.label, fused=node.fused + ["in place"])
    return node
