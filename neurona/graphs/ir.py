"""The static graph a trace produces: values (arrays of fixed shape and dtype) and nodes (ops on them).

A ``Graph`` is a straight-line program. Each ``Value`` is one array: an input of the
traced call, a parameter read from its Tensor at every run, a constant, or the output
of a node. Each ``Node`` runs one callable on its input values and produces its output
values; nodes are kept in an order where every input is produced before it is used,
so running them one after the other is a valid execution (a topological order).

Node kinds:
  op        a Function's forward (``op`` is the Function, with its constructor's settings)
  backward  the backward of the forward node ``forward`` (gradients in, gradients out)
  grad_add  the sum of two gradients of the same value (a value used twice)
  effect    an in-place change outside the graph (batch norm's running statistics), kept in order
  update    the optimizer: the parameters' gradients in, the parameters updated in place
Passes (``neurona.graphs.passes``) rewrite a Graph into another that computes the same outputs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = ("input", "param", "const", "node")


@dataclass
class Value:
    """One array of the graph. ``kind``: input / param / const / node; ``ref``: the parameter's Tensor
    (read at every run) or the constant itself; ``name``: a label for drawings."""

    id: int
    shape: tuple[int, ...]
    dtype: Any
    kind: str
    ref: Any = None
    name: str = ""

    @property
    def nbytes(self) -> int:
        if self.dtype is None:
            return 0
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass(eq=False)
class Node:
    """One step: ``run(*input arrays)`` gives the output arrays (one, or a tuple of ``len(outputs)``).

    ``inputs``/``outputs`` are value ids; ``label`` names the op in drawings; ``fused`` lists the
    labels of the nodes a fusion replaced; ``random`` marks ops that draw from the generator
    (never folded, shared or removed as duplicates)."""

    kind: str
    label: str
    run: Any
    inputs: list[int]
    outputs: list[int]
    op: Any = None
    forward: Node | None = None
    fused: list[str] = field(default_factory=list)
    random: bool = False


@dataclass
class Graph:
    """Values, nodes in execution order, the ids of the call's inputs and of its results."""

    values: dict[int, Value] = field(default_factory=dict)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    device: str = "cpu"
    plan: Any = None  # the memory plan, once passes.memory made one

    def new_value(self, shape: tuple[int, ...], dtype: Any, kind: str, ref: Any = None, name: str = "") -> int:
        vid = max(self.values, default=-1) + 1
        self.values[vid] = Value(vid, tuple(shape), None if dtype is None else np.dtype(dtype), kind, ref, name)
        return vid

    def copy(self) -> Graph:
        """A new Graph with its own lists (values and nodes are shared: passes replace, never mutate them)."""
        return Graph(dict(self.values), list(self.nodes), list(self.inputs), list(self.outputs), self.device, self.plan)

    def producers(self) -> dict[int, Node]:
        """value id -> the node that produces it."""
        return {v: n for n in self.nodes for v in n.outputs}

    def users(self) -> dict[int, list[Node]]:
        """value id -> the nodes that read it, in order."""
        out: dict[int, list[Node]] = {}
        for n in self.nodes:
            for v in n.inputs:
                out.setdefault(v, []).append(n)
        return out

    def op_counts(self) -> Counter:
        """How many nodes of each label (``Linear``, ``backward Linear``, ...)."""
        return Counter(n.label for n in self.nodes)

    def summary(self) -> str:
        """One line: node count by kind."""
        kinds = Counter(n.kind for n in self.nodes)
        parts = ", ".join(f"{k} {kinds[k]}" for k in ("op", "backward", "grad_add", "effect", "update") if kinds[k])
        return f"{len(self.nodes)} nodes ({parts})"

    def __repr__(self) -> str:
        return f"<Graph {self.summary()}, {len(self.inputs)} inputs, {len(self.outputs)} outputs>"
