"""Common-subexpression elimination: compute once what the graph computes twice.

Two op nodes are the same computation when they are the same op class with the same
settings on the same inputs (after earlier duplicates were merged). The second one is
dropped and its users read the first one's outputs. Constants count as the same input
when they hold the same Python number or are the same array. Random ops are never
merged: two dropout calls must draw two masks.
"""

from __future__ import annotations

from typing import Any

from ..ir import Graph


def _hashable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return (type(v).__name__, v)
    if isinstance(v, (tuple, list)):
        return tuple(_hashable(x) for x in v)
    return ("object", id(v))


def _settings(op: Any) -> tuple:
    return tuple(sorted((k, _hashable(v)) for k, v in vars(op).items()))


def eliminate_common_subexpressions(graph: Graph) -> Graph:
    """The graph with duplicate op nodes merged into their first occurrence."""
    out = graph.copy()
    rename: dict[int, int] = {}
    const_key: dict[Any, int] = {}
    for v in graph.values.values():  # equal constants become one value
        if v.kind == "const":
            key = _hashable(v.ref) if not hasattr(v.ref, "shape") else ("array", id(v.ref))
            rename[v.id] = const_key.setdefault(key, v.id)
    seen: dict[Any, Any] = {}
    kept = []
    for node in graph.nodes:
        inputs = [rename.get(v, v) for v in node.inputs]
        if node.kind == "op" and not node.random:
            key = (type(node.op), _settings(node.op), tuple(inputs))
            first = seen.get(key)
            if first is not None:
                for mine, theirs in zip(node.outputs, first.outputs):
                    rename[mine] = theirs
                continue
        if inputs != node.inputs:
            node = _with_inputs(node, inputs)
        if node.kind == "op" and not node.random:
            seen[(type(node.op), _settings(node.op), tuple(inputs))] = node
        kept.append(node)
    out.nodes = kept
    out.outputs = [rename.get(v, v) for v in graph.outputs]
    used = {v for n in kept for v in n.inputs + n.outputs} | set(out.outputs) | set(graph.inputs)
    out.values = {k: v for k, v in graph.values.items() if k in used}
    return out


def _with_inputs(node: Any, inputs: list[int]) -> Any:
    from dataclasses import replace

    return replace(node, inputs=inputs)
