"""``nr.jit``: trace a call or a training step once per input shape, optimise the graph, replay it.

    fast = nr.jit(model)              # or nr.jit(some_function_of_tensors)
    y = fast(x)                       # first call: traced (runs eagerly), later calls: replayed

    step = nr.jit.train_step(model, F.cross_entropy, optimizer)
    loss = step(x, y)                 # forward, loss, backward and the optimizer's update

A new input shape or dtype (the last, smaller batch of an epoch), or switching the
model between ``train()`` and ``eval()``, traces again; the last ``cache_size`` graphs
are kept (least recently used dropped first). The first call of each shape runs eagerly
while it is recorded, so its results, random draws included, are eager mode's.
Replayed outputs carry no autograd history (as under ``no_grad``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from .. import backend
from ..autograd import Tensor, enable_grad, no_grad
from ..autograd.tensor import _new
from ..nn.module import Module, structure_version
from .autodiff import differentiate
from .ir import Graph
from .passes import ALL, FORWARD_PASSES, STEP_PASSES
from .replay import Program
from .trace import TraceError, trace

CACHE_SIZE = 8


def optimize(graph: Graph, passes: Sequence[str] = ALL, loss: int | None = None,
             optimizer: Any = None) -> list[tuple[str, Graph]]:
    """The graph after each step of the pipeline: [("traced", g0), ("dce", g1), ..., ("memory", gN)].

    ``passes``: the names of the passes to run (``passes.ALL`` by default; () for none). With an
    optimizer, the backward graph and the update are built after the forward passes (stage "backward")."""
    unknown = sorted(set(passes) - set(ALL))
    if unknown:
        raise ValueError(f"jit: unknown passes {unknown}. Expected some of {list(ALL)}")
    stages = [("traced", graph)]
    for name, run in FORWARD_PASSES:
        if name in passes:
            graph = run(graph)
            stages.append((name, graph))
    if optimizer is not None:
        graph = differentiate(graph, loss, optimizer)
        stages.append(("backward", graph))
    for name, run in STEP_PASSES:
        if name in passes:
            graph = run(graph)
            stages.append((name, graph))
    return stages


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def _signature(arrays: Sequence[Any]) -> tuple:
    return tuple([(a.shape, a.dtype, type(a)) for a in arrays])


def _build(model: Any, x: Tensor) -> None:
    """Build a lazy model before tracing: its weights' random initialisation is not part of a step."""
    if isinstance(model, Module) and not model.built:
        model.build(tuple(x.shape))


def _check_inputs_used(graph: Graph) -> None:
    """Every input of a training step must reach an op as itself: an op that got a converted copy
    (another dtype or device) would replay the traced batch's copy forever."""
    used = {v for n in graph.nodes for v in n.inputs} | set(graph.outputs)
    for i, vid in enumerate(graph.inputs):
        if vid >= 0 and vid not in used:
            value = graph.values[vid]
            raise TraceError(f"jit: input {i} ({value.shape}, {value.dtype}) never reaches an op as itself: it was "
                             "converted (dtype or device) before use, so a replay would reuse the traced batch. "
                             "Pass it with the dtype and device the loss expects")


class _Entry:
    def __init__(self, stages: list[tuple[str, Graph]], buffers: list[tuple[Any, Any]]) -> None:
        self.stages = stages
        self.program = Program(stages[-1][1])
        self.buffers = buffers
        self.single = True

    def stale(self) -> bool:
        """Did a buffer (batch norm's running statistics) change since tracing? Inference graphs hold
        what was computed from them as constants."""
        for live, seen in self.buffers:
            if live.shape != seen.shape or not bool(backend.get_array_module(live).array_equal(live, seen)):
                return True
        return False


class _Cache:
    """The last ``size`` compiled graphs by input signature (least recently used dropped first)."""

    def __init__(self, size: int) -> None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"jit: cache_size must be an integer >= 1. Received: cache_size={size!r}")
        self.size = size
        self.entries: OrderedDict[tuple, _Entry] = OrderedDict()
        self.traces = 0
        self.last: _Entry | None = None
        self.last_key: tuple | None = None

    def get(self, key: tuple) -> _Entry | None:
        if key == self.last_key:  # the common case: the same shapes as the last call
            return self.last
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
            self.last, self.last_key = entry, key
        return entry

    def put(self, key: tuple, entry: _Entry) -> None:
        self.traces += 1
        self.entries[key] = entry
        self.entries.move_to_end(key)
        self.last, self.last_key = entry, key
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)


class Traced:
    """A function (or model) of tensors, traced per input signature and replayed (see the module docstring).

    ``stages``: the graphs of the last trace after each pass; ``graph``: the one that runs."""

    def __init__(self, fn: Callable[..., Any], passes: Sequence[str] = ALL, cache_size: int = CACHE_SIZE) -> None:
        if not callable(fn):
            raise TypeError(f"jit: expected a function or a Module. Received: {type(fn).__name__}")
        self.fn, self.passes = fn, tuple(passes)
        self.module = isinstance(fn, Module)
        self.cache = _Cache(cache_size)
        optimize(Graph(), self.passes)  # checks the pass names now

    def _key(self, arrays: Sequence[Any]) -> tuple:
        """The cache key: the inputs' shapes, dtypes and array types (flat for one input, the common
        case: cheaper to build and compare), then a model's mode and the structure version."""
        if len(arrays) == 1:
            a = arrays[0]
            key = (a.shape, a.dtype, type(a))
        else:
            key = _signature(arrays)
        if self.module:
            key += (self.fn.training, structure_version())
        return key

    def __call__(self, *args: Any) -> Any:
        cache = self.cache
        if len(args) == 1:  # the common case, where a call's microseconds matter (batch 1)
            x = args[0]
            a = x.data if type(x) is Tensor else _as_tensor(x).data
            key = (a.shape, a.dtype, type(a), self.fn.training, structure_version()) if self.module \
                else (a.shape, a.dtype, type(a))  # what _key gives for one array
            entry = cache.last if key == cache.last_key else None
            if entry is not None and entry.single and not entry.buffers:
                return _new(entry.program.forward(a)[0], False, None, 0)
            arrays = [a]
        else:
            arrays = [a.data if type(a) is Tensor else _as_tensor(a).data for a in args]
        key = self._key(arrays)
        entry = cache.last if key == cache.last_key else cache.get(key)
        if entry is None or (entry.buffers and entry.stale()):
            tensors = [_as_tensor(a) for a in args]
            if tensors:
                _build(self.fn, tensors[0])  # may create parameters: a new structure version
            return self._trace(self._key(arrays), tensors)
        outs = entry.program.forward(*arrays)
        if entry.single:
            return _new(outs[0], False, None, 0)
        return tuple([_new(a, False, None, 0) for a in outs])

    def _trace(self, key: tuple, tensors: list[Tensor]) -> Any:
        with no_grad():
            graph, result, _ = trace(self.fn, tensors)
        buffers = []
        if isinstance(self.fn, Module):  # buffers the graph may hold as constants; not those its effects update
            updated = {id(v) for n in graph.nodes if n.kind == "effect" for v in vars(n.op).values()}
            buffers = [(b, b.copy()) for _, b in self.fn.named_buffers() if b is not None and id(b) not in updated]
        entry = _Entry(optimize(graph, self.passes), buffers)
        entry.single = not isinstance(result, (tuple, list))
        self.cache.put(key, entry)
        return result

    @property
    def stages(self) -> list[tuple[str, Graph]]:
        if self.cache.last is None:
            raise RuntimeError("jit: nothing traced yet; call the traced function once first")
        return self.cache.last.stages

    @property
    def graph(self) -> Graph:
        return self.stages[-1][1]

    @property
    def traces(self) -> int:
        """How many times a call was traced (once per new signature, and after eviction)."""
        return self.cache.traces


class TrainStep:
    """One training step (forward, loss, backward, optimizer update), traced per batch shape and replayed.

    ``loss_fn(output, target) -> loss tensor``. ``step(x, y)`` does the whole step and returns the
    loss as a tensor; ``forward(x, y)`` and ``update()`` split it, so a caller can look at the loss
    before the update (``fit`` skips the update after a non-finite loss, as eager mode does)."""

    def __init__(self, model: Any, loss_fn: Callable[[Any, Any], Any], optimizer: Any,
                 passes: Sequence[str] = ALL, cache_size: int = CACHE_SIZE) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.passes = tuple(passes)
        self.cache = _Cache(cache_size)
        optimize(Graph(), self.passes)
        self._pending: Any = None  # "eager" after a traced forward, "replay" after a replayed one

    def _run(self, x: Tensor, y: Any) -> tuple[Any, Any]:
        out = self.model(x)
        return self.loss_fn(out, y), out

    def forward(self, x: Any, y: Any) -> tuple[Any, Tensor]:
        """The loss (an array) and the model's output for this batch; the update is not applied yet."""
        x = x if type(x) is Tensor else _as_tensor(x)
        y = y.data if isinstance(y, Tensor) else y
        if type(y) is not type(x.data):  # moved where the loss would copy it to: the copy would be a constant
            y = backend.to_device(y, backend.device_of(x.data))
        if not getattr(self.model, "built", True):
            _build(self.model, x)
        a = x.data
        key = ((a.shape, a.dtype), (y.shape, y.dtype), getattr(self.model, "training", True), structure_version())
        entry = self.cache.get(key)
        if entry is None:
            with enable_grad():
                graph, (loss, out), _ = trace(self._run, [x, y])
            _check_inputs_used(graph)
            if loss.data.size != 1:
                raise TraceError(f"jit: the loss must be one number. Received: shape {tuple(loss.shape)}")
            entry = _Entry(optimize(graph, self.passes, loss=graph.outputs[0], optimizer=self.optimizer), [])
            self.cache.put(key, entry)
            self._pending = ("eager", loss)
            return loss.data, out
        program = entry.program
        loss, out = program.forward(a, y)  # the forward part; update() runs the rest
        self._pending = ("replay", program)
        return loss, _new(out, False, None, 0)

    def update(self) -> None:
        """Backward and the optimizer's update for the batch of the last ``forward``."""
        if self._pending is None:
            raise RuntimeError("jit: update() needs a forward(x, y) first")
        how, what = self._pending
        self._pending = None
        if how == "eager":  # the traced call: the eager graph it recorded is still there
            self.optimizer.zero_grad()
            what.backward()
            self.optimizer.step()
        else:
            what.rest()

    def __call__(self, x: Any, y: Any) -> Tensor:
        loss, _ = self.forward(x, y)
        self.update()
        return _new(loss, False, None, 0)

    @property
    def stages(self) -> list[tuple[str, Graph]]:
        if self.cache.last is None:
            raise RuntimeError("jit: nothing traced yet; call the step once first")
        return self.cache.last.stages

    @property
    def graph(self) -> Graph:
        return self.stages[-1][1]

    @property
    def traces(self) -> int:
        return self.cache.traces


class _Jit:
    """``nr.jit(fn)``: a traced call; ``nr.jit.train_step(model, loss_fn, optimizer)``: a traced training step."""

    def __call__(self, fn: Callable[..., Any], passes: Sequence[str] = ALL, cache_size: int = CACHE_SIZE) -> Traced:
        """Trace ``fn`` (a function of tensors, or a model) on its first call per input shape and dtype,
        optimise the graph (``passes``: by default all of dce, fold, cse, fuse, memory) and replay it.

        >>> fast = nr.jit(model)
        >>> y = fast(x)
        """
        return Traced(fn, passes, cache_size)

    @staticmethod
    def train_step(model: Any, loss_fn: Callable[[Any, Any], Any], optimizer: Any, passes: Sequence[str] = ALL,
                   cache_size: int = CACHE_SIZE) -> TrainStep:
        """A traced training step of ``model`` with ``loss_fn(output, target)`` and ``optimizer``.

        >>> step = nr.jit.train_step(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1))
        >>> loss = step(xb, yb)
        """
        return TrainStep(model, loss_fn, optimizer, passes, cache_size)


jit = _Jit()
