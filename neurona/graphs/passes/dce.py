"""Dead-code elimination: drop the nodes whose results nothing needs.

Walk the nodes from the last to the first, keeping a set of the values still needed
(at first the graph's outputs). A node is kept when one of its outputs is needed, or
when it matters for what it does rather than what it returns: a side effect (batch
norm's running statistics), the optimizer's update, or an op that draws random
numbers (removing it would shift every later draw of the generator, and the masks
would no longer be eager mode's). A kept node's inputs become needed in turn.
"""

from __future__ import annotations

from ..ir import Graph

ALWAYS_KEPT = ("effect", "update")


def eliminate_dead_code(graph: Graph) -> Graph:
    """The graph without the nodes that contribute nothing to its outputs or effects."""
    needed = set(graph.outputs)
    kept = []
    for node in reversed(graph.nodes):
        if node.kind in ALWAYS_KEPT or node.random or any(v in needed for v in node.outputs):
            kept.append(node)
            needed.update(node.inputs)
    out = graph.copy()
    out.nodes = kept[::-1]
    used = needed | set(graph.inputs) | {v for n in kept for v in n.outputs}
    out.values = {k: v for k, v in graph.values.items() if k in used}
    return out
