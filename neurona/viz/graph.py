"""The computational graph behind a tensor, as Graphviz DOT text, and its rendering to SVG/PNG.

The graph is the one autograd recorded while computing the tensor: op nodes
(the Function class names: MatMul, Add, Linear, CrossEntropy...) between tensor
nodes, from the inputs at the top to the result at the bottom, the way the
course draws ``y = sigmoid(x*w + b)`` with a loss on top by hand.

Node styles:
  op           green box, the Function's class name (a fused op also says which layers it runs:
               "Conv2D+ReLU+MaxPool2D (fused)"; see nn/fusion.py to turn fusion off)
  parameter    blue rounded box, its name (``kernel``, or ``0.kernel`` with ``params=model``) and shape
  variable     orange ellipse: a leaf tensor that requires a gradient
  data         grey ellipse: a leaf tensor without gradient (inputs, targets)
  intermediate light yellow ellipse: the output of an op
  constant     plain grey text: a Python number or a raw array passed to an op
The tensor the graph was drawn for has a thick border.

>>> x = nr.tensor([[1.0, 2.0]], requires_grad=True)
>>> print(nr.viz.graph((x * 2).sum()))
digraph neurona { ... }
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from ..files import atomic_write
from ..graphs import Graph, Traced, TrainStep
from ..nn import Module, Parameter
from .jit_graph import traced_graph

RANKDIRS = ("TB", "LR", "BT", "RL")
FORMATS = ("svg", "png", "pdf")
# Op settings worth a line under the op's name; in each group the first one the op has is shown.
OP_DETAILS = (("activation",), ("axis", "axes"), ("stride",), ("padding",))
MAX_SHOWN_VALUES = 6  # show_values prints tensors up to this size in full, larger ones as a summary
# Ops that run several layers as one (nn/fusion.py), and the layers they stand for, shown under the op's name.
FUSED_OPS = {"Conv2dMaxPoolRelu": "Conv2D+ReLU+MaxPool2D"}

_STYLE = {
    "op": 'shape=box, style="filled", fillcolor="#d5e8d4", color="#82b366", fontname="Helvetica-Bold"',
    "parameter": 'shape=box, style="rounded,filled", fillcolor="#dae8fc", color="#6c8ebf"',
    "variable": 'shape=ellipse, style="filled", fillcolor="#ffe6cc", color="#d79b00"',
    "data": 'shape=ellipse, style="filled", fillcolor="#eeeeee", color="#999999"',
    "intermediate": 'shape=ellipse, style="filled", fillcolor="#fff2cc", color="#d6b656"',
    "constant": 'shape=plaintext, fontcolor="#666666", fontsize=10',
}


def graph(tensor: Any, show_shapes: bool = True, show_values: bool = False, rankdir: str = "TB",
          params: Module | Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None,
          stage: str | None = None) -> str:
    """Graphviz DOT text of the computational graph that produced ``tensor``.

    Given a traced function or training step (``nr.jit``) instead, the static graph after the
    pass named ``stage`` ("traced", "dce", "fold", "cse", "fuse", "backward", "fuse_optimizer",
    "memory"; default the last), marking what that pass removed, fused and made share a buffer,
    with op counts and the planned peak memory (see ``viz/jit_graph.py``):

    >>> step = nr.jit.train_step(model, F.cross_entropy, opt); step(xb, yb)
    >>> nr.viz.render(nr.viz.graph(step, stage="fuse"), "after_fuse.png")

    show_shapes: write each tensor's shape and dtype in its node.
    show_values: write small tensors' values (and ``.grad`` where one is stored).
    rankdir: "TB" (inputs at the top, result at the bottom) or "LR" (left to right), also "BT", "RL".
    params: a Module, or a mapping / pairs name -> tensor, naming parameters by their path
        (``0.kernel``, ``1.bias``) instead of their own short name (``kernel``).

    Call it before ``backward()``, which frees the graph (or pass ``retain_graph=True`` to backward).

    >>> dot = nr.viz.graph(loss, params=model)
    >>> nr.viz.render(dot, "graph.svg")
    """
    if not isinstance(tensor, Tensor):
        if isinstance(tensor, (Graph, Traced, TrainStep)):
            return traced_graph(tensor, stage, rankdir)
        raise TypeError(f"graph: expected a Tensor (the result of some ops) or a traced function or step (nr.jit). "
                        f"Received: {type(tensor).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"graph: rankdir must be one of {', '.join(RANKDIRS)}. Received: rankdir={rankdir!r}")
    names = _parameter_names(params)
    ids: dict[int, str] = {}  # id(Tensor) -> node id; the graph keeps every tensor alive meanwhile
    lines: list[str] = []

    def add_tensor(t: Tensor) -> str:
        if id(t) not in ids:
            ids[id(t)] = f"t{len(ids)}"
            lines.append(_tensor_node(ids[id(t)], t, names, show_shapes, show_values, is_root=t is tensor))
            if t.creator is not None:
                fn = t.creator
                label = f' [label=" {t.index}"]' if getattr(fn, "n_outputs", 1) > 1 else ""
                lines.append(f"  {op_ids[id(fn)]} -> {ids[id(t)]}{label};")
        return ids[id(t)]

    op_ids: dict[int, str] = {}
    n_constants = 0
    for fn in _ops_in_order(tensor):
        fid = op_ids[id(fn)] = f"f{len(op_ids)}"
        edges = []
        for x in fn.inputs:
            if x is None:  # an optional input left out (a layer without bias)
                continue
            if isinstance(x, Tensor):
                xid = add_tensor(x)
            else:
                xid = f"c{n_constants}"
                n_constants += 1
                lines.append(f'  {xid} [label="{_escape(_constant_label(x, show_values))}", {_STYLE["constant"]}];')
            edges.append(f"  {xid} -> {fid};")
        lines.append(f'  {fid} [label="{_escape(_op_label(fn))}", {_STYLE["op"]}];')
        lines.extend(edges)
    add_tensor(tensor)
    header = [
        "digraph neurona {",
        f'  graph [rankdir={rankdir}, fontname="Helvetica", nodesep=0.3, ranksep=0.35];',
        '  node [fontname="Helvetica", fontsize=11, height=0.3];',
        '  edge [color="#555555", arrowsize=0.7];',
    ]
    return "\n".join(header + lines + ["}"]) + "\n"


def _ops_in_order(tensor: Tensor) -> list[Any]:
    """The Functions that produced ``tensor``, each after the ops that produced its inputs.

    An iterative depth-first walk through ``Tensor.creator`` and ``Function.inputs`` (no
    recursion limit on deep graphs); inputs are visited in argument order, so the text
    reads like the code that built the graph.
    """
    order: list[Any] = []
    seen: set[int] = set()
    stack = [(tensor.creator, False)] if tensor.creator is not None else []
    while stack:
        fn, inputs_done = stack.pop()
        if inputs_done:
            order.append(fn)
            continue
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        inputs = getattr(fn, "inputs", None)
        if inputs is None:
            raise RuntimeError(
                f"graph: the graph through {fn.name} was freed by backward(). Draw it before calling backward(), "
                "or call backward(retain_graph=True) to keep it"
            )
        stack.append((fn, True))
        for x in reversed(inputs):
            if isinstance(x, Tensor) and x.creator is not None and id(x.creator) not in seen:
                stack.append((x.creator, False))
    return order


def render(source: str | Tensor, path: str | os.PathLike, format: str | None = None,  # noqa: A002 (Graphviz's word)
           **graph_options: Any) -> Path:
    """Draw a graph with Graphviz's ``dot`` program into ``path`` (SVG, PNG or PDF, from the extension).

    source: DOT text (from ``graph``) or a Tensor, drawn with ``graph(source, **graph_options)``.
    The file is written atomically: a failed run never leaves a partial file behind.

    >>> nr.viz.render(loss, "loss_graph.png", rankdir="LR")
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"render: the format comes from the file extension and must be one of {', '.join(FORMATS)}. "
                         f"Received: path={str(path)!r}" + (f", format={format!r}" if format else ""))
    if isinstance(source, Tensor):
        source = graph(source, **graph_options)
    elif not isinstance(source, str):
        raise TypeError(f"render: expected DOT text or a Tensor. Received: {type(source).__name__}")
    elif graph_options:
        raise TypeError(f"render: graph options ({', '.join(graph_options)}) apply only when source is a Tensor")
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            "render: Graphviz's 'dot' program was not found on PATH, so the graph cannot be drawn. Install Graphviz "
            "(Debian/Ubuntu: sudo apt install graphviz; macOS: brew install graphviz; conda: conda install graphviz; "
            "Windows: https://graphviz.org/download/), or paste the text from nr.viz.graph(...) into a DOT viewer"
        )
    result = subprocess.run([dot, f"-T{fmt}"], input=source.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"render: dot failed (exit status {result.returncode}): "
                           f"{result.stderr.decode(errors='replace').strip()}")
    atomic_write(path, result.stdout)
    return path


def _parameter_names(params: Any) -> dict[int, str]:
    if params is None:
        return {}
    if isinstance(params, Module):
        pairs = params.named_parameters()
    elif isinstance(params, Mapping):
        pairs = params.items()
    else:
        pairs = params
    try:
        return {id(t): str(name) for name, t in pairs}
    except (TypeError, ValueError) as exc:
        raise TypeError("graph: params must be a Module, a mapping name -> tensor or (name, tensor) pairs. "
                        f"Received: {type(params).__name__}") from exc


def _op_label(fn: Any) -> str:
    """The op's class name, with the settings that change what it computes (``Linear`` + ``relu``, ``Sum`` + axis)."""
    details = []
    for group in OP_DETAILS:
        attr = next((a for a in group if a in fn.__dict__), None)  # Sum has axis (as given) and axes (resolved)
        value = fn.__dict__.get(attr) if attr else None
        if isinstance(value, tuple) and len(value) == 1:
            value = value[0]
        if isinstance(value, str):
            details.append(value if attr == "activation" else f"{attr}={value}")
        elif (isinstance(value, int) and not isinstance(value, bool)) or (
                isinstance(value, tuple) and all(isinstance(v, int) for v in value)):
            details.append(f"{attr}={value}")
    fused = FUSED_OPS.get(fn.name)
    head = fn.name + (f"\n{fused} (fused)" if fused else "")
    return head + ("\n" + ", ".join(details) if details else "")


def _tensor_node(nid: str, t: Tensor, names: dict[int, str], show_shapes: bool, show_values: bool,
                 is_root: bool = False) -> str:
    if isinstance(t, Parameter):
        kind = "parameter"
    elif t.creator is not None:
        kind = "intermediate"
    else:
        kind = "variable" if t.requires_grad else "data"
    lines = []
    name = names.get(id(t)) or t.name
    if name:
        lines.append(str(name))
    if show_shapes:
        lines.append(f"{_shape_text(t.shape)} {t.dtype}")
    if show_values:
        lines.append(_values_text(t.data))
        if t.grad is not None:
            lines.append("grad " + _values_text(t.grad))
    if not lines:
        lines.append("" if kind == "intermediate" else kind)
    extra = ", penwidth=2.5" if is_root else ""
    return f'  {nid} [label="{_escape(chr(10).join(lines))}", {_STYLE[kind]}{extra}];'


def _shape_text(shape: tuple[int, ...]) -> str:
    return str(tuple(int(s) for s in shape))


def _values_text(array: Any) -> str:
    a = backend.to_numpy(array)
    if a.size == 1:
        return f"{a.item():.4g}"
    if a.size <= MAX_SHOWN_VALUES:
        return np.array2string(a, precision=3, separator=", ", max_line_width=48)
    return f"min {a.min():.3g}, max {a.max():.3g}"


def _constant_label(x: Any, show_values: bool) -> str:
    if isinstance(x, (bool, int, float)):
        return f"{x:.4g}" if isinstance(x, float) else str(x)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        if x.size == 1:
            return _values_text(x)
        text = f"const {_shape_text(x.shape)} {x.dtype}"
        return text + "\n" + _values_text(x) if show_values and x.size <= MAX_SHOWN_VALUES else text
    return type(x).__name__


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
