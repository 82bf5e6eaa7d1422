"""The layer graph of a model as Graphviz DOT text: one box per layer, an arrow per connection.

Where ``graph(tensor)`` draws every op autograd recorded, ``layer_graph(model)`` draws the
architecture as Keras's ``plot_model`` does: for a functional ``nn.Model`` the graph of layer
calls (branches, skip connections, shared layers drawn once with several arrows in), for a
``Sequential`` the chain of its layers. Render it with ``nr.viz.render(dot, "model.svg")``.

>>> print(nr.viz.layer_graph(model))
digraph model { ... }
"""

from __future__ import annotations

from typing import Any

from ..nn import Module
from .graph import _escape

_BOX = 'shape=box, style="rounded,filled", fillcolor="#dae8fc", color="#6c8ebf"'
_INPUT = 'shape=box, style="rounded,filled", fillcolor="#eeeeee", color="#999999"'


def _shape(shape: Any) -> str:
    if shape is None:
        return "?"
    if shape and isinstance(shape[0], (list, tuple)):
        return ", ".join(_shape(s) for s in shape)
    return str((None,) + tuple(shape[1:]))


def _edges(model: Module) -> list[tuple[str, str]]:
    if hasattr(model, "edges"):
        return model.edges()
    names = [layer.name for layer in model.children()]
    return list(zip(names, names[1:]))


def layer_graph(model: Module, show_shapes: bool = True, rankdir: str = "TB") -> str:
    """DOT text of ``model``'s layers (boxes: name, type, output shape and parameter count) and their connections."""
    if not isinstance(model, Module):
        raise TypeError(f"layer_graph: expected a model (an nn.Module). Received: {type(model).__name__}")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"layer_graph: rankdir must be one of TB, LR, BT, RL. Received: rankdir={rankdir!r}")
    layers = list(model.children()) or [model]
    lines = [f'digraph "{_escape(model.name)}" {{',
             f'  graph [rankdir={rankdir}, fontname="Helvetica", nodesep=0.3, ranksep=0.35];',
             '  node [fontname="Helvetica", fontsize=11, height=0.3];',
             '  edge [color="#555555", arrowsize=0.7];']
    for layer in layers:
        label = f"{layer.name}\n{type(layer).__name__}"
        if show_shapes:
            n = layer.count_params()
            label += f"\n{_shape(layer.output_shape)}" + (f"\n{n:,} params" if n else "")
        style = _INPUT if hasattr(layer, "symbolic_output") else _BOX
        lines.append(f'  "{_escape(layer.name)}" [label="{_escape(label)}", {style}];')
    for a, b in _edges(model):
        lines.append(f'  "{_escape(a)}" -> "{_escape(b)}";')
    return "\n".join(lines + ["}"]) + "\n"
