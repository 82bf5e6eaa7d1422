"""The backward graph, built from a traced forward graph: reverse-mode differentiation ahead of time.

Where the engine (``autograd/engine.py``) walks the recorded ops backward at every step,
this does the walk once, on the static graph, and writes down what it would do as
nodes: for each forward op, from the last to the first, one ``backward`` node that
takes the gradients of the op's outputs and gives those of its inputs (only the inputs
that need one, as recorded), and a ``grad_add`` node wherever a value feeds several ops
and its gradients must be summed. The parameters' gradients end in one ``update``
node that runs the optimizer. Replaying the nodes in order is then one training step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd.engine import sum_to
from ..kernels import flush_denormals
from ..optim.optimizer import CLIP_OPTIONS
from .ir import Graph, Node


class BackwardRun:
    """Calls ``op.backward`` and keeps the gradients of the inputs that need one, each summed back
    to its input's shape (what the engine does after every backward)."""

    def __init__(self, op: Any, keep: list[int], shapes: list[tuple[int, ...]]) -> None:
        self.op, self.keep, self.shapes = op, keep, shapes
        self.settings = dict(vars(op))  # the op's constructor settings, before any forward saved arrays

    def __call__(self, *gys: Any) -> Any:
        gxs = self.op.backward(*gys)
        release(self.op, self.settings)
        if type(gxs) is not tuple:
            gxs = (gxs,)
        out = []
        for i, shape in zip(self.keep, self.shapes):
            g = gxs[i]
            out.append(g if g.shape == shape else sum_to(g, shape))
        return out[0] if len(out) == 1 else tuple(out)


def release(op: Any, settings: dict[str, Any]) -> None:
    """Drop what forward saved for backward, keeping the settings (as the engine frees a graph after
    backward): the arrays go back at once instead of living until the next step's forward."""
    d = op.__dict__
    d.clear()
    d.update(settings)


def _add(a: Any, b: Any) -> Any:
    return a + b


class OptimizerUpdate:
    """One optimizer step: the gradients given become the parameters' ``.grad`` (the others None,
    as after ``zero_grad``), then ``optimizer.step()`` updates every parameter in one flat pass.

    The fused form (``flat=True``, set by ``passes.fuse.fuse_optimizer``) goes straight to that
    pass when nothing needs ``step()``'s general path (one parameter group, all parameters with a
    gradient and the same step count, no gradient clipping): each gradient lands in the
    optimizer's flat gradient buffer (no copy when backward already wrote it there), then the
    rule runs once over the buffers: the same arithmetic, without the per-step bookkeeping."""

    def __init__(self, optimizer: Any, params: list[Any], flat: bool = False) -> None:
        self.optimizer, self.params, self.flat = optimizer, params, flat

    def __call__(self, *grads: Any) -> None:
        if self.flat and self._fast(grads):
            return
        opt = self.optimizer
        opt.zero_grad()
        for p, g in zip(self.params, grads):
            if g.dtype != p.data.dtype:
                g = g.astype(p.data.dtype)
            p.grad = g
        opt.step()

    def _fast(self, grads: tuple[Any, ...]) -> bool:
        # Reads the optimizer's flat buffers (optim/optimizer.py): the same update step() would make.
        opt = self.optimizer
        if len(opt.param_groups) != 1 or opt._pending_owner is not None:
            return False
        group = opt.param_groups[0]
        flat = opt._flat[0]
        if flat is None or flat.params is not group["params"] or len(flat.params) != len(self.params):
            return False
        for k in CLIP_OPTIONS:
            if group.get(k) is not None:
                return False
        steps = flat.steps
        if len(set(steps.tolist())) != 1:
            return False
        for p, q, v, g, view in zip(flat.params, self.params, flat.data_views, grads, flat.grad_views):
            if p is not q or p.data is not v or g.shape != view.shape:
                return False  # (the general path sets every .grad again)
            if g is not view:  # not written into the buffer by backward: copied there
                view[...] = g
            p.grad = view
        group = {**group, "lr": opt.current_lr(group)}
        steps += 1
        step = int(steps[0])
        if _flushing():  # already (inside nr.performance(), as fit runs)
            self._apply(flat, step, group)
        else:
            with flush_denormals():
                self._apply(flat, step, group)
        opt.iterations += 1
        return True

    def _apply(self, flat: Any, step: int, group: dict[str, Any]) -> None:
        """The rule over the flat buffers. On one thread ``Optimizer._update_flat`` calls ``update``
        once on the whole buffers: so does this, without the slicing around it. ``passes.specialize``
        gives some rules a shorter form."""
        if backend.get_num_threads() > 1:
            self.optimizer._update_flat(flat, step, group)
        else:
            self.optimizer.update(flat.data, flat.grad, dict(flat.state, scratch=flat.scratch), step, group)


_SUBNORMAL = np.float32(1e-40)
_ZERO = np.float32(0.0)


def _flushing() -> bool:
    """Does this thread treat subnormal floats as zero (``kernels.flush_denormals``)? Asked of the
    hardware with one comparison, which raises no floating-point flag: a subnormal compares equal
    to zero exactly when denormals-are-zero is on. ``kernels.platform.flushes_denormals`` reads
    the floating-point environment through ctypes, which costs more than a small step's update."""
    return not bool(_SUBNORMAL > _ZERO)


class AssignGrad:
    """Before fusion: the gradient of one parameter handed to the optimizer (one node per parameter)."""

    def __init__(self, param: Any) -> None:
        self.param = param

    def __call__(self, g: Any) -> Any:
        return g


def differentiate(graph: Graph, loss: int, optimizer: Any) -> Graph:
    """The forward graph followed by its backward nodes and the optimizer's update.

    ``loss``: the value id of the loss (its gradient is seeded with ones). Before fusion the
    update is one ``AssignGrad`` node per parameter and one ``OptimizerStep``; the fusion pass
    merges them into a single node over all parameters."""
    g = graph.copy()
    value = g.values[loss]
    ones = backend.array_module(graph.device).ones(value.shape, dtype=value.dtype)
    grads: dict[int, int] = {loss: g.new_value(value.shape, value.dtype, "const", ref=ones, name="d loss = 1")}
    none = g.new_value((), None, "const", ref=None, name="None")
    for node in reversed(graph.nodes):
        if node.kind != "op" or not any(o in grads for o in node.outputs):
            continue
        needs = list(node.op.needs_input_grad)
        keep = [i for i, v in enumerate(node.inputs) if i < len(needs) and needs[i]]
        if not keep:
            continue
        gys = [grads.get(o, none) for o in node.outputs]
        shapes = [g.values[node.inputs[i]].shape for i in keep]
        outs = [g.new_value(g.values[node.inputs[i]].shape, g.values[node.inputs[i]].dtype, "node",
                            name=f"d {g.values[node.inputs[i]].name}") for i in keep]
        g.nodes.append(Node("backward", f"backward {node.label}", BackwardRun(node.op, keep, shapes), gys, outs,
                            op=node.op, forward=node))
        for i, gv in zip(keep, outs):
            v = node.inputs[i]
            if v in grads:
                total = g.new_value(g.values[v].shape, g.values[v].dtype, "node", name=f"d {g.values[v].name}")
                g.nodes.append(Node("grad_add", "grad_add", _add, [grads[v], gv], [total]))
                grads[v] = total
            else:
                grads[v] = gv
    params = [v for v in g.values.values() if v.kind == "param" and v.id in grads]
    step_inputs = []
    for p in params:
        out = g.new_value(p.shape, p.dtype, "node", name=f"grad {p.name}")
        g.nodes.append(Node("update", f"assign grad {p.name}", AssignGrad(p.ref), [grads[p.id]], [out]))
        step_inputs.append(out)
    update = OptimizerUpdate(optimizer, [p.ref for p in params])
    g.nodes.append(Node("update", f"{type(optimizer).__name__}.step", update, step_inputs, []))
    return g

