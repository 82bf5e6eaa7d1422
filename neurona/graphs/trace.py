"""Tracing: run a call once, eagerly, and record every op it runs into a ``Graph``.

While a ``Tracer`` is installed (``autograd.grad_mode.mode.tracer``), ``apply`` hands it
each op: it runs the op as usual and notes the op's class and settings, which values
went in and which came out. Values are recognised by identity: the call's input
tensors (and their arrays: a loss takes its targets as a raw array), the parameters
(leaf tensors that require a gradient, read again at every replay, since the optimizer
updates them), and everything else that is not the output of a recorded op is a
constant, fixed at trace time.

What cannot be replayed is refused at once, with the op named: a Python value read from
a traced tensor (``.item()``, ``bool()``, ``.numpy()``: data-dependent control flow), a
tensor made outside the graph (a comparison, ``argmax``) used as an op's input, random
numbers drawn outside an op, and ``backward()`` inside an inference trace.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from .. import backend
from ..autograd import Function, Tensor
from ..autograd.grad_mode import mode
from .ir import Graph, Node

# Ops known to draw from the generator; on the CPU a draw is also seen in the generator's state.
RANDOM_OPS = frozenset({"Dropout"})


class TraceError(RuntimeError):
    """The traced call does something a static graph cannot replay."""


def template(fn: Function, settings: dict[str, Any], needs: list[bool]) -> Function:
    """A fresh instance of ``fn``'s class with its constructor's settings: the op a replay runs."""
    op = object.__new__(type(fn))
    op.__dict__.update(settings)
    op.inputs = None
    op.needs_input_grad = needs
    op.generation = 0
    op.n_outputs = 1
    op.grads = None
    op.retained = None
    return op


def _rng_state(xp: Any) -> Any:
    """Something that changes whenever the generator of ``xp`` draws (None when it cannot be read)."""
    try:
        state = backend.rng(xp).bit_generator.state
    except (AttributeError, TypeError):
        return None
    return repr(state) if isinstance(state, dict) else None  # NumPy's generator; others are not checked


class Tracer:
    """Records ops into ``graph``. ``inputs``: the call's input tensors (and raw arrays), in order."""

    def __init__(self, inputs: Sequence[Any], allow_backward: bool = False) -> None:
        self.graph = Graph()
        self.ids: dict[int, int] = {}  # id(Tensor or array) -> value id
        self.keep: list[Any] = []  # keeps every seen object alive, so ids stay unique while tracing
        self.origin: dict[int, str] = {}  # id(off-graph tensor) -> how it was made from a traced value
        self.templates: dict[int, Function] = {}  # id(eager Function) -> its template in the graph
        self.backward_of: Tensor | None = None
        self.allow_backward = allow_backward
        self.xp = None
        for i, x in enumerate(inputs):
            data = x.data if isinstance(x, Tensor) else x
            if data is None:
                self.graph.inputs.append(-1)
                continue
            vid = self.graph.new_value(data.shape, data.dtype, "input", name=f"input {i}")
            self.graph.inputs.append(vid)
            self._bind(x, vid)
            if isinstance(x, Tensor):
                self._bind(data, vid)
            if self.xp is None:
                self.xp = backend.get_array_module(data)
                self.graph.device = backend.device_of(data)
        if self.xp is None:
            self.xp = backend.array_module(backend.get_device())
            self.graph.device = backend.get_device()
        self.rng_state = _rng_state(self.xp)

    # ---------------------------------------------------------------- values
    def _bind(self, obj: Any, vid: int) -> None:
        self.ids[id(obj)] = vid
        self.keep.append(obj)

    def value_of(self, x: Any, op_name: str) -> int:
        """The value id of an op's input, creating a parameter or constant value on first sight."""
        if x is None:
            return self._constant(None)
        vid = self.ids.get(id(x))
        if vid is not None:
            return vid
        if id(x) in self.origin:
            raise TraceError(f"jit: {op_name} takes a tensor made outside the graph by {self.origin[id(x)]} from a "
                             "traced value; such a value cannot be replayed. Compute it with ops (F.relu, where "
                             "masks are needed: x * (x > 0) is data-dependent), or leave it out of the traced call")
        if isinstance(x, Tensor):
            if x.requires_grad and x.creator is None:
                vid = self.graph.new_value(x.shape, x.dtype, "param", ref=x, name=x.name or "param")
            else:
                vid = self.graph.new_value(x.shape, x.dtype, "const", ref=x.data, name="const")
            self._bind(x, vid)
            return vid
        return self._constant(x)

    def _constant(self, x: Any) -> int:
        shape = tuple(getattr(x, "shape", ()))
        dtype = getattr(x, "dtype", None)
        if dtype is None and isinstance(x, (int, float)) and not isinstance(x, bool):
            dtype = None  # a Python number: the op decides its dtype
        vid = self.graph.new_value(shape, dtype, "const", ref=x, name=_const_name(x))
        if x is not None:
            self.keep.append(x)
        return vid

    # ---------------------------------------------------------------- hooks called by autograd
    def apply(self, fn: Function, inputs: tuple[Any, ...]) -> Any:
        """Run ``fn`` as ``autograd.apply`` would, and record it as a node."""
        from ..autograd.tensor import apply

        name = type(fn).__name__
        if self.backward_of is not None:
            raise TraceError(f"jit: {name} runs after backward() in the traced call; a traced training step is "
                             "forward and loss only (use nr.jit.train_step or model.compile(..., jit=True))")
        before = _rng_state(self.xp)
        if before != self.rng_state:
            raise TraceError(f"jit: random numbers were drawn outside an op before {name} (e.g. noise added as an "
                             "array); a replay would reuse the same draw. Draw them inside a Function")
        in_ids = [self.value_of(x, name) for x in inputs]
        settings = dict(fn.__dict__)  # the constructor's settings, before forward saves arrays here
        mode.tracer = None
        try:
            result = apply(fn, *inputs)
        finally:
            mode.tracer = self
        after = _rng_state(self.xp)
        self.rng_state = after
        outs = result if type(result) is tuple else (result,)
        needs = list(getattr(fn, "needs_input_grad", None) or [False] * len(inputs))
        if outs[0].creator is not fn:  # nothing recorded (no_grad): no input needs a gradient
            needs = [False] * len(inputs)
        op = template(fn, settings, needs)
        op.n_outputs = len(outs)
        out_ids = []
        for i, t in enumerate(outs):
            vid = self.graph.new_value(t.shape, t.dtype, "node", name=f"{name}:{i}" if len(outs) > 1 else name)
            self._bind(t, vid)
            out_ids.append(vid)
        random = after != before or name in RANDOM_OPS
        self.graph.nodes.append(Node("op", name, op.forward, in_ids, out_ids, op=op, random=random))
        self.templates[id(fn)] = op
        self.keep.append(fn)
        return result

    def read(self, t: Tensor, what: str) -> None:
        if id(t) in self.ids or id(t) in self.origin:
            raise TraceError(f"jit: {what} on {self._describe(t)} inside the traced call: its value depends on the "
                             "data, and a static graph cannot follow Python control flow (if/while on a tensor) "
                             "or values taken out of it. Keep such code outside the traced function")

    def off_graph(self, src: Tensor, t: Tensor, what: str) -> None:
        if what == "detach()" and id(src) in self.ids:
            self._bind(t, self.ids[id(src)])  # the same array; gradients are cut by requires_grad=False
            return
        if id(src) in self.ids or id(src) in self.origin:
            self.origin[id(t)] = f"{what} on {self._describe(src)}"
            self.keep.append(t)

    def backward(self, t: Tensor) -> None:
        if not self.allow_backward:
            raise TraceError("jit: backward() inside a traced inference call; trace a training step with "
                             "nr.jit.train_step(model, loss, optimizer) or model.compile(..., jit=True)")
        self.backward_of = t

    def side_effect(self, update: Callable[[], None], after: Sequence[Any]) -> None:
        """Record an in-place update; its references to eager ops are pointed at their templates."""
        effect = copy.copy(update)
        for key, value in list(vars(effect).items()):
            if isinstance(value, Function) and id(value) in self.templates:
                setattr(effect, key, self.templates[id(value)])
        in_ids = [self.ids[id(t)] for t in after if id(t) in self.ids]
        self.graph.nodes.append(Node("effect", type(update).__name__.strip("_"), _run_effect(effect), in_ids, [],
                                     op=effect))

    def _describe(self, t: Tensor) -> str:
        if id(t) in self.origin:
            return f"the result of {self.origin[id(t)]}"
        vid = self.ids[id(t)]
        value = self.graph.values[vid]
        if value.kind == "node":
            return f"the output of {value.name}"
        return f"{value.name} {value.shape}"


def _run_effect(effect: Callable[[], None]) -> Callable[..., None]:
    def run(*_: Any) -> None:
        effect()

    return run


def _const_name(x: Any) -> str:
    if x is None:
        return "None"
    if hasattr(x, "shape") and getattr(x, "size", 2) > 1:
        return f"const {tuple(x.shape)}"
    return f"{backend.item(x) if hasattr(x, 'shape') else x!r}"


def trace(fn: Callable[..., Any], args: Sequence[Any], allow_backward: bool = False) -> tuple[Graph, Any, Tracer]:
    """Run ``fn(*args)`` once, recording its ops. Returns (graph, the call's result, the tracer).

    The graph's outputs are the tensors ``fn`` returned (a Tensor or a tuple/list of them).
    """
    if mode.tracer is not None:
        raise TraceError("jit: a traced call may not trace another one (nested nr.jit)")
    tracer = Tracer(args, allow_backward)
    mode.tracer = tracer
    try:
        result = fn(*args)
    finally:
        mode.tracer = None
    outs = result if isinstance(result, (tuple, list)) else (result,)
    graph = tracer.graph
    for i, t in enumerate(outs):
        if not isinstance(t, Tensor):
            raise TraceError(f"jit: the traced function must return tensors. Received: output {i} of type "
                             f"{type(t).__name__}")
        graph.outputs.append(tracer.value_of(t, "the output"))
    return graph, result, tracer
