"""Drawing a traced graph (``neurona.graphs``) after one of its passes, as Graphviz DOT text.

``nr.viz.graph(traced, stage="fuse")`` draws the graph as the pass named ``stage`` left it
("traced" for the graph as recorded, the default: the last stage, the one that runs):

  op         green box; a fused op is orange and says which ops it replaced
  backward   purple box (the gradient of the forward op it names; a dotted line from that op:
             the arrays it saved); grad_add grey
  update     blue box (the optimizer), effect yellow (batch norm's running statistics)
  removed    dashed red box: a node the pass dropped (dead code, folded, a duplicate)
  values     ellipses with shape and dtype: inputs grey, parameters blue, constants plain text;
             after the memory plan, values that take turns in one buffer share a colour and say
             "buffer k", and an op that runs in place says so
The title gives the node count by kind, the op counts and the planned peak memory
(the plan of this stage's graph, next to what keeping every array would take).
"""

from __future__ import annotations

from typing import Any

from ..graphs import Graph
from ..graphs.passes import plan_memory

_NODE_STYLE = {
    "op": 'shape=box, style="filled", fillcolor="#d5e8d4", color="#82b366"',
    "fused": 'shape=box, style="filled", fillcolor="#ffd8a8", color="#d9480f", penwidth=2',
    "backward": 'shape=box, style="filled", fillcolor="#e1d5e7", color="#9673a6"',
    "grad_add": 'shape=box, style="filled", fillcolor="#eeeeee", color="#999999"',
    "update": 'shape=box, style="filled", fillcolor="#dae8fc", color="#6c8ebf", penwidth=2',
    "effect": 'shape=box, style="filled", fillcolor="#fff2cc", color="#d6b656"',
    "removed": 'shape=box, style="dashed", color="#e03131", fontcolor="#e03131"',
}
_VALUE_STYLE = {
    "input": 'shape=ellipse, style="filled", fillcolor="#eeeeee", color="#999999"',
    "param": 'shape=box, style="rounded,filled", fillcolor="#dae8fc", color="#6c8ebf"',
    "const": 'shape=plaintext, fontcolor="#666666"',
    "node": 'shape=ellipse, style="filled", fillcolor="#fffbe6", color="#d6b656"',
}
_BUFFER_COLOURS = ("#a5d8ff", "#b2f2bb", "#ffc9c9", "#d0bfff", "#ffec99", "#99e9f2", "#fcc2d7", "#c0eb75")


def stages_of(traced: Any) -> list[tuple[str, Graph]]:
    """The (stage name, graph) list of a Traced/TrainStep, or [("graph", g)] for a Graph."""
    if isinstance(traced, Graph):
        return [("graph", traced)]
    stages = getattr(traced, "stages", None)
    if stages is None:
        raise TypeError(f"graph: expected a Tensor, a traced function or step (nr.jit), or a Graph. "
                        f"Received: {type(traced).__name__}")
    return stages


def traced_graph(traced: Any, stage: str | None = None, rankdir: str = "TB", show_values: bool = True) -> str:
    """DOT text of a traced graph after the pass ``stage`` (default: the last), with what that pass changed."""
    stages = stages_of(traced)
    names = [name for name, _ in stages]
    if stage is None:
        stage = names[-1]
    if stage not in names:
        raise ValueError(f"graph: stage must be one of {names}. Received: stage={stage!r}")
    k = names.index(stage)
    graph = stages[k][1]
    before = stages[k - 1][1] if k > 0 else None
    now = {id(n) for n in graph.nodes}
    removed = [n for n in before.nodes if id(n) not in now] if before is not None else []
    replaced = {label for n in graph.nodes for label in n.fused}
    plan = graph.plan if graph.plan is not None else plan_memory(graph).plan
    shared = plan.shared() if graph.plan is not None else {}
    colour_of = {vid: _BUFFER_COLOURS[i % len(_BUFFER_COLOURS)]
                 for i, (_, vids) in enumerate(sorted(shared.items())) for vid in vids}
    lines = [
        "digraph neurona_jit {",
        f'  graph [rankdir={rankdir}, fontname="Helvetica", nodesep=0.25, ranksep=0.3, labelloc=t, '
        f'label="{_escape(_title(stage, graph, plan, removed))}"];',
        '  node [fontname="Helvetica", fontsize=10, height=0.25];',
        '  edge [color="#555555", arrowsize=0.6];',
    ]
    drawn: set[int] = set()

    def value(vid: int, g: Graph) -> str:
        if vid not in drawn:
            drawn.add(vid)
            v = g.values.get(vid) or (before.values.get(vid) if before is not None else None)
            if v is None:
                return f"v{vid}"
            if v.kind == "const" and not show_values and v.shape == ():
                label = "const"
            else:
                label = v.name if v.kind in ("param", "const", "input") else ""
                label = (label + "\n" if label else "") + (f"{tuple(v.shape)} {v.dtype}" if v.dtype else "")
            style = _VALUE_STYLE[v.kind]
            if vid in colour_of:
                label += f"\nbuffer {plan.buffer_of[vid]}"
                style = f'shape=ellipse, style="filled", fillcolor="{colour_of[vid]}", color="#555555"'
            lines.append(f'  v{vid} [label="{_escape(label.strip())}", {style}];')
        return f"v{vid}"

    index = {id(node): i for i, node in enumerate(graph.nodes)}
    for i, node in enumerate(graph.nodes):
        _node(lines, f"n{i}", node, value, graph)
        if node.kind == "backward" and id(node.forward) in index:  # what forward saved for backward
            lines.append(f'  n{index[id(node.forward)]} -> n{i} [style=dotted, color="#9673a6", constraint=false];')
    for j, node in enumerate(removed):
        kind = "removed"
        label = f"{node.label}\n(removed by {stage}" + (", fused)" if node.label in replaced else ")")
        lines.append(f'  r{j} [label="{_escape(label)}", {_NODE_STYLE[kind]}];')
        for vid in node.inputs:
            if vid in graph.values:
                lines.append(f'  {value(vid, graph)} -> r{j} [style=dashed, color="#e03131"];')
    for vid in graph.outputs:
        lines.append(f"  {value(vid, graph)} [penwidth=2.5];")
    return "\n".join(lines + ["}"]) + "\n"


def _node(lines: list[str], nid: str, node: Any, value: Any, graph: Graph) -> None:
    kind = "fused" if node.fused and node.kind == "op" and node.fused != ["in place"] else node.kind
    label = node.label
    parts = [p for p in node.fused if p != "in place"]
    if parts and node.kind == "op":
        label += "\nfused: " + " + ".join(parts)
    elif parts:
        label += f"\nfused: {len(parts)} nodes"
    if "in place" in node.fused:
        label += "\n(in place)"
    settings = _settings(node.op) if node.kind == "op" and node.op is not None else ""
    if settings:
        label += "\n" + settings
    lines.append(f'  {nid} [label="{_escape(label)}", {_NODE_STYLE[kind]}];')
    for vid in node.inputs:
        v = graph.values.get(vid)
        if v is not None and v.kind == "const" and v.ref is None:
            continue  # an optional input left out
        lines.append(f"  {value(vid, graph)} -> {nid};")
    for vid in node.outputs:
        lines.append(f"  {nid} -> {value(vid, graph)};")


def _settings(op: Any) -> str:
    shown = ["relu"] if vars(op).get("relu") is True else []  # a convolution with its ReLU fused
    for key in ("activation", "rate", "axis", "stride"):
        v = vars(op).get(key)
        if v is not None and not hasattr(v, "shape"):
            shown.append(str(v) if key == "activation" else f"{key}={v}")
    return ", ".join(shown)


def _title(stage: str, graph: Graph, plan: Any, removed: list[Any]) -> str:
    counts = graph.op_counts()
    ops = ", ".join(f"{label} {n}" if n > 1 else label for label, n in counts.most_common(8))
    more = f", +{len(counts) - 8} more" if len(counts) > 8 else ""
    head = f"after {stage}: {graph.summary()}" if stage != "traced" else f"traced: {graph.summary()}"
    if removed:
        head += f", {len(removed)} removed"
    memory = f"planned peak memory {_bytes(plan.peak)} (every array kept: {_bytes(plan.naive)})"
    return f"{head}\n{ops}{more}\n{memory}"


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
