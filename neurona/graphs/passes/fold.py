"""Constant folding: run at compile time the ops whose inputs are all constants.

A value computed only from constants is the same at every replay, so it is computed
once, now, and the op's node becomes a constant value. Parameters are not constants
(the optimizer changes them), nor are ops that draw random numbers. Folding runs
before the backward graph is built: a folded value never needs a gradient.
"""

from __future__ import annotations

from dataclasses import replace

from ..ir import Graph


def fold_constants(graph: Graph) -> Graph:
    """The graph with every all-constant, non-random op replaced by its result."""
    out = graph.copy()
    kept = []
    for node in graph.nodes:
        if node.kind == "op" and not node.random and node.inputs and all(
                out.values[v].kind == "const" for v in node.inputs):
            result = node.run(*[out.values[v].ref for v in node.inputs])
            results = result if len(node.outputs) > 1 else (result,)
            for vid, array in zip(node.outputs, results):
                value = out.values[vid]
                out.values[vid] = replace(value, kind="const", ref=array, name=f"{value.name} (folded)")
        else:
            kept.append(node)
    out.nodes = kept
    return out
