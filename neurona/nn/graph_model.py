"""``nn.Model(inputs, outputs)``: a functional model, a graph of layer calls (Keras's functional API).

    x = nn.Input((32, 32, 3))
    h = nn.Conv2D(16, 3, padding="same", activation="relu")(x)
    y = nn.add(h, nn.Conv2D(16, 3, padding="same")(h))      # a skip connection
    model = nn.Model(x, nn.Dense(10)(nn.Flatten()(y)))

Calling layers on symbolic tensors records the graph (see ``symbolic.py``); ``Model`` walks it
back from the outputs to the inputs, orders the calls so each runs after what it reads, and
replays them on real batches. Several inputs and outputs (lists or dicts), shared layers (one
layer called twice: one set of weights), branches and merges are all calls in that graph.
The model is a Module like any other: compile/fit/evaluate/predict/save, ``summary()`` with
each layer's inputs ("Connected to"), and ``get_config`` stores the graph as JSON, so
``nr.load_model`` rebuilds it with no code of the user's.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import backend
from ..autograd import Tensor
from .fusion import ConvReluMaxPool, fusible, fusion_enabled
from .merge import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from .module import Module, deserialize_layer, serialize_layer
from .summary import _buffer_count, _count
from .symbolic import Node, SymbolicTensor, as_symbolic, flatten, pack


def _topological_nodes(outputs: list[SymbolicTensor]) -> list[Node]:
    """Every node the outputs depend on, each after the nodes it reads (iterative depth-first search)."""
    order: list[Node] = []
    done: set[int] = set()
    stack: list[tuple[Node, bool]] = [(t.node, False) for t in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((p.node, False) for p in reversed(node.parents) if id(p.node) not in done)
    return order


class Model(Module):
    """A model made of the layer calls between ``inputs`` and ``outputs`` (Keras's functional ``Model``).

    ``inputs``: an ``nn.Input`` (or a list or dict of them); ``outputs``: a symbolic tensor
    (or a list or dict of them) computed from the inputs by calling layers. Called on data,
    the model takes what ``inputs`` was: one batch, a list of batches in the same order, or
    a dict by the same keys (or by the inputs' names); it returns what ``outputs`` was.

    A Conv2D(relu) whose output only a MaxPool2D(2) reads runs with it as one op, as in
    ``Sequential`` (nn/fusion.py; labelled in ``summary()``); ``fuse=False`` runs every call on its own.

    >>> a, b = nn.Input((8,)), nn.Input((4,))
    >>> y = nn.Dense(1)(nn.concatenate([nn.Dense(16, activation="relu")(a), b]))
    >>> model = nn.Model([a, b], y); model([xa, xb])
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, fuse: bool = True) -> None:
        super().__init__(name=name)
        self.__dict__["fuse"] = bool(fuse)
        inputs, outputs = as_symbolic(inputs), as_symbolic(outputs)
        in_leaves, out_leaves = flatten(inputs), flatten(outputs)
        where = f"Model '{self.name}'"
        for what, leaves in (("inputs", in_leaves), ("outputs", out_leaves)):
            bad = [type(t).__name__ for t in leaves if not isinstance(t, SymbolicTensor)]
            if bad or not leaves:
                raise TypeError(f"{where}: {what} must be symbolic tensors (from nn.Input and layers called on "
                                f"them), or a list or dict of them. Received: {', '.join(bad) or 'nothing'}")
        for t in in_leaves:
            if t.node.inputs is not None:
                raise ValueError(f"{where}: every input must be an nn.Input. Received: the output of layer "
                                 f"'{t.layer.name}' ({t!r})")
        if len({id(t) for t in in_leaves}) != len(in_leaves):
            raise ValueError(f"{where}: an input is listed twice")
        nodes = _topological_nodes(out_leaves)
        given = {id(t.node) for t in in_leaves}
        needed = [n for n in nodes if n.inputs is None]
        missing = [n.layer for n in needed if id(n) not in given]
        if missing:
            names = ", ".join(f"'{m.name}' {m.shape}" for m in missing)
            raise ValueError(f"{where}: the graph is disconnected: the outputs depend on input {names}, which is "
                             f"not among the model's inputs {[t.layer.name for t in in_leaves]}; pass it in "
                             "inputs")
        unused = [t.layer.name for t in in_leaves if id(t.node) not in {id(n) for n in needed}]
        if unused:
            warnings.warn(f"{where}: inputs {unused} do not reach any output", stacklevel=2)

        d = self.__dict__
        d["inputs"], d["outputs"] = inputs, outputs
        d["_input_tensors"], d["_output_tensors"] = in_leaves, out_leaves
        d["_nodes_in_order"] = [n for n in nodes if n.inputs is not None]
        layers: list[Module] = [t.layer for t in in_leaves]
        for n in d["_nodes_in_order"]:
            if all(n.layer is not m for m in layers):
                layers.append(n.layer)
        for layer in layers:
            other = self._modules.get(layer.name)
            if other is not None and other is not layer:
                raise ValueError(f"{where}: two different layers are named '{layer.name}'; layer names in a "
                                 "model must be unique (pass name=... when creating them)")
            self._modules[layer.name] = layer
        self._plan()
        d["built"] = True
        # input_shape is the first input's (what saving and Sequential-style code read, one tuple);
        # input_shapes lists every input's.
        d["input_shapes"] = [t.shape for t in in_leaves]
        d["input_shape"] = d["input_shapes"][0]
        outs = [t.shape for t in out_leaves]
        d["output_shape"] = outs[0] if len(outs) == 1 else outs
        for n in d["_nodes_in_order"]:  # the examples were for shape inference; recomputed if ever needed
            for t in n.outputs:
                t.example = None

    def _fused_pairs(self) -> dict[int, Node]:
        """{id(convolution call): pooling call} for each Conv2D(relu) call whose output only a
        MaxPool2D(2) call reads (and is not a model output), each layer called once in the model."""
        nodes = self._nodes_in_order
        calls: dict[int, int] = {}
        readers: dict[int, list[Node]] = {}
        for n in nodes:
            calls[id(n.layer)] = calls.get(id(n.layer), 0) + 1
            for p in n.parents:
                readers.setdefault(id(p), []).append(n)
        outputs = {id(t) for t in self._output_tensors}
        pairs = {}
        for n in nodes:
            if len(n.outputs) != 1 or n.kwargs or id(n.outputs[0]) in outputs:
                continue
            read_by = readers.get(id(n.outputs[0]), [])
            if len(read_by) == 1 and len(read_by[0].parents) == 1 and not read_by[0].kwargs \
                    and calls[id(n.layer)] == calls[id(read_by[0].layer)] == 1 and fusible(n.layer, read_by[0].layer):
                pairs[id(n)] = read_by[0]
        return pairs

    def _plan(self) -> None:
        """Precompute, for each call, where its inputs are and after which call each value can be dropped;
        both with fusion (``ConvReluMaxPool`` steps) and without, for ``steps()`` to choose from."""
        ids = {id(t): i for i, t in enumerate(self._input_tensors)}
        for n in self._nodes_in_order:
            for t in n.outputs:
                ids.setdefault(id(t), len(ids))
        keep = {ids[id(t)] for t in self._output_tensors}
        pairs = self._fused_pairs()
        plans = {}
        for fused in (False, True):
            steps = []  # (node whose inputs it reads, slots read, slots written, fused step or None)
            absorbed = {id(pool) for pool in pairs.values()} if fused else set()
            for n in self._nodes_in_order:
                if id(n) in absorbed:
                    continue
                pool = pairs.get(id(n)) if fused else None
                writes = [ids[id(t)] for t in (pool or n).outputs]
                steps.append((n, [ids[id(p)] for p in n.parents], writes,
                              None if pool is None else ConvReluMaxPool(n.layer, pool.layer)))
            last_use = {}
            for k, (_, reads, _, _) in enumerate(steps):
                for r in reads:
                    last_use[r] = k
            frees = [[] for _ in steps]
            for slot, k in last_use.items():
                if slot not in keep:
                    frees[k].append(slot)
            plans[fused] = (steps, frees)
        d = self.__dict__
        d["_plans"], d["_n_slots"] = plans, len(ids)
        d["_out_slots"] = [ids[id(t)] for t in self._output_tensors]

    def steps(self) -> list[Any]:
        """What a call runs, in order: the layers' calls, a fusible Conv2D(relu) + MaxPool2D(2) pair as one
        ``ConvReluMaxPool`` step (unless ``fuse=False`` or ``nn.set_fusion(False)``)."""
        return [fused or node.layer for node, _, _, fused in self._plans[self.fuse and fusion_enabled()][0]]

    # ---------------------------------------------------------------- running
    @property
    def layers(self) -> list[Module]:
        """The layers, inputs first, then in the order they are first called."""
        return list(self._modules.values())

    @property
    def input(self) -> Any:
        """The model's symbolic input(s), as given (Keras's ``model.input``)."""
        return self.inputs

    @property
    def output(self) -> Any:
        """The model's symbolic output(s), as given (Keras's ``model.output``)."""
        return self.outputs

    def get_layer(self, name: str) -> Module:
        """The layer called ``name``."""
        if name not in self._modules:
            raise ValueError(f"Model '{self.name}' has no layer '{name}'. Layers: {list(self._modules)}")
        return self._modules[name]

    def _bind(self, args: tuple[Any, ...]) -> list[Any]:
        """The batches given for each input, in the order of ``self._input_tensors``."""
        names = [t.layer.name for t in self._input_tensors]
        n = len(names)
        x = args[0] if len(args) == 1 else list(args)
        if n == 1:
            if isinstance(x, (list, tuple)) and len(x) == 1:
                return [x[0]]
            if isinstance(x, dict) and len(x) == 1:
                return list(x.values())
            return [x]
        if isinstance(x, dict):
            keys = list(self.inputs) if isinstance(self.inputs, dict) else names
            unknown = sorted(set(x) - set(keys))
            if unknown or len(x) != n:
                raise ValueError(f"Model '{self.name}' takes a dict with the keys {keys}. Received: keys "
                                 f"{list(x)}")
            if isinstance(self.inputs, dict):
                return flatten(pack(self.inputs, [x[k] for k in self.inputs]))
            return [x[k] for k in names]
        if isinstance(x, (list, tuple)) and len(x) == n:
            return list(x)
        got = f"a list of {len(x)}" if isinstance(x, (list, tuple)) else f"one {type(x).__name__}"
        raise ValueError(f"Model '{self.name}' has {n} inputs {names} (shapes "
                         f"{[t.shape for t in self._input_tensors]}): pass a list of {n} batches in that order, "
                         f"or a dict by name. Received: {got}")

    def forward(self, *args: Any) -> Any:
        if self.__dict__.get("_packed") and len(args) == 1 and isinstance(args[0], Tensor):
            args = (self._unpack(args[0]),)
        values: list[Any] = [None] * self._n_slots
        for i, (t, x) in enumerate(zip(self._input_tensors, self._bind(args))):
            values[i] = t.layer(x)
        steps, step_frees = self._plans[self.fuse and fusion_enabled()]
        for (node, reads, writes, fused), frees in zip(steps, step_frees):
            xs = pack(node.inputs, [values[r] for r in reads])
            outs = node.layer(xs, **node.kwargs) if fused is None else fused(xs)
            for w, o in zip(writes, flatten(outs) if len(writes) > 1 else [outs]):
                values[w] = o
            for f in frees:
                values[f] = None
        return pack(self.outputs, [values[s] for s in self._out_slots])

    # ---------------------------------------------------------------- several inputs in fit/evaluate/predict
    # The training loop batches one array. For a model with several inputs, these methods take a list
    # (or dict) of arrays as Keras does, check each against its nn.Input, and pass them to the loop
    # side by side in one (N, total features) array, which forward splits back, batch by batch.
    def _pack(self, x: Any, what: str = "x") -> Any:
        if len(self._input_tensors) == 1 or x is None or isinstance(x, (np.ndarray, Tensor)):
            return x
        if not isinstance(x, (list, tuple, dict)):
            return x  # a data loader: its batches go through _bind, which says what it takes
        parts = [np.asarray(p.data if isinstance(p, Tensor) else p) for p in self._bind((x,))]
        shapes = [t.shape[1:] for t in self._input_tensors]
        for t, p, shape in zip(self._input_tensors, parts, shapes):
            if p.ndim == 0 or tuple(p.shape[1:]) != shape:
                raise ValueError(f"Model '{self.name}': {what} for input '{t.layer.name}' must have shape "
                                 f"(N, {', '.join(map(str, shape))}). Received: shape={p.shape}")
        lengths = [len(p) for p in parts]
        if len(set(lengths)) != 1:
            raise ValueError(f"Model '{self.name}': the arrays of {what} must have the same number of samples, one "
                             f"per input. Received: {dict(zip([t.layer.name for t in self._input_tensors], lengths))}")
        ps = self.parameters()
        dtype = ps[0].dtype if ps else backend.get_default_dtype()
        return np.concatenate([p.reshape(len(p), -1).astype(dtype, copy=False) for p in parts], axis=1)

    def _unpack(self, x: Tensor) -> list[Tensor]:
        shapes = [t.shape[1:] for t in self._input_tensors]
        sizes = [int(np.prod(s)) for s in shapes]
        if x.ndim != 2 or x.shape[1] != sum(sizes):
            raise ValueError(f"Model '{self.name}' has {len(shapes)} inputs; pass a list of batches, one per input")
        out, start = [], 0
        for shape, size in zip(shapes, sizes):
            out.append(x[:, start:start + size].reshape((x.shape[0],) + tuple(shape)))
            start += size
        return out

    @contextlib.contextmanager
    def _packing(self) -> Iterator[None]:
        was = self.__dict__.get("_packed", False)
        self.__dict__["_packed"] = len(self._input_tensors) > 1
        try:
            yield
        finally:
            self.__dict__["_packed"] = was

    def fit(self, x: Any, y: Any = None, epochs: int = 1, batch_size: int = 32, **kwargs: Any) -> Any:
        """As ``Module.fit``; x is a list (or dict) of arrays for a model with several inputs."""
        val = kwargs.get("validation_data")
        if isinstance(val, (list, tuple)) and len(val) in (2, 3):
            kwargs["validation_data"] = (self._pack(val[0], "validation_data x"), *val[1:])
        with self._packing():
            return super().fit(self._pack(x), y, epochs=epochs, batch_size=batch_size, **kwargs)

    def evaluate(self, x: Any, y: Any, batch_size: int = 32, verbose: Any = 0, **kwargs: Any) -> Any:
        """As ``Module.evaluate``; x is a list (or dict) of arrays for a model with several inputs."""
        with self._packing():
            return super().evaluate(self._pack(x), y, batch_size=batch_size, verbose=verbose, **kwargs)

    def predict(self, x: Any, batch_size: int = 32, verbose: Any = 0) -> Any:
        """As ``Module.predict``; x is a list (or dict) of arrays for a model with several inputs."""
        with self._packing():
            return super().predict(self._pack(x), batch_size=batch_size, verbose=verbose)

    def train_step(self, x_batch: Any, y_batch: Any, sample_weight: Any = None) -> dict[str, float]:
        """As ``Module.train_step``; x_batch is a list (or dict) of batches for several inputs."""
        with self._packing():
            return super().train_step(self._pack(x_batch, "x_batch"), y_batch, sample_weight)

    def build(self, input_shape: Any) -> None:
        """A functional model is built when it is made; only checks that ``input_shape`` agrees."""
        expected = self.input_shapes if input_shape and isinstance(input_shape[0], (list, tuple)) else self.input_shape
        if input_shape is not None and _loose(input_shape) != _loose(expected):
            raise ValueError(f"Model '{self.name}' was made for inputs of shape {expected}. "
                             f"Received: input_shape={input_shape}")

    # ---------------------------------------------------------------- the graph as JSON
    def _references(self) -> tuple[dict[int, list[Any]], list[tuple[Node, int]]]:
        """[layer name, call number, output number] for every tensor: how the JSON names them."""
        refs: dict[int, list[Any]] = {id(t): [t.layer.name, 0, 0] for t in self._input_tensors}
        calls: dict[str, int] = {}
        numbered = []
        for n in self._nodes_in_order:
            k = calls.get(n.layer.name, 0)
            calls[n.layer.name] = k + 1
            numbered.append((n, k))
            for i, t in enumerate(n.outputs):
                refs[id(t)] = [n.layer.name, k, i]
        return refs, numbered

    def get_config(self) -> dict[str, Any]:
        refs, numbered = self._references()

        def encode(s: Any) -> Any:
            if isinstance(s, SymbolicTensor):
                return {"tensor": refs[id(s)]}
            if isinstance(s, (list, tuple)):
                return [encode(v) for v in s]
            return {"dict": {k: encode(v) for k, v in s.items()}}

        return {
            "name": self.name,
            "layers": [{"name": layer.name, **serialize_layer(layer)} for layer in self.layers],
            "calls": [{"layer": n.layer.name, "inputs": encode(n.inputs), "kwargs": n.kwargs}
                      for n, _ in numbered],
            "inputs": encode(self.inputs),
            "outputs": encode(self.outputs),
            "fuse": self.fuse,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Model:
        """Rebuild the graph: make each layer, then replay the calls in order (weights drawn anew)."""
        state = backend.get_rng_state()  # building draws initial weights: leave the user's stream as it was
        try:
            layers: dict[str, Module] = {}
            for spec in config["layers"]:
                layer = deserialize_layer(spec, custom_objects)
                layer.__dict__["name"] = spec["name"]
                layers[spec["name"]] = layer
            made: dict[tuple[str, int, int], Any] = {}
            for name, layer in layers.items():
                out = getattr(layer, "symbolic_output", None)
                if out is not None:
                    made[(name, 0, 0)] = out
            calls: dict[str, int] = {}

            def decode(s: Any) -> Any:
                if isinstance(s, list):
                    return [decode(v) for v in s]
                if "tensor" in s:
                    key = tuple(s["tensor"])
                    if key not in made:
                        raise ValueError(f"the graph refers to tensor {list(key)} before any call makes it")
                    return made[key]
                return {k: decode(v) for k, v in s["dict"].items()}

            for call in config["calls"]:
                name = call["layer"]
                if name not in layers:
                    raise ValueError(f"a call refers to layer '{name}', which is not in the layer list")
                k = calls.get(name, 0)
                calls[name] = k + 1
                outs = flatten(layers[name](decode(call["inputs"]), **call.get("kwargs", {})))
                for i, t in enumerate(outs):
                    made[(name, k, i)] = t
            return cls(decode(config["inputs"]), decode(config["outputs"]), name=config.get("name"),
                       fuse=config.get("fuse", True))
        finally:
            backend.set_rng_state(state)

    # ---------------------------------------------------------------- description
    def summary(self, print_fn: Any = print) -> str:
        """Keras's functional summary: each layer, its output shape, parameters and the layers it reads."""
        refs, numbered = self._references()
        connected: dict[str, list[str]] = {}
        shapes: dict[str, str] = {}
        for t in self._input_tensors:
            shapes[t.layer.name] = str(t.shape)
        for n, _ in numbered:
            connected.setdefault(n.layer.name, []).extend(
                f"{r[0]}[{r[1]}][{r[2]}]" for r in (refs[id(p)] for p in n.parents))
            shapes.setdefault(n.layer.name, ", ".join(str(t.shape) for t in n.outputs))
        fused = {step.pool.name: step for step in self.steps() if isinstance(step, ConvReluMaxPool)}
        rows = [("Layer (type)", "Output Shape", "Param #", "Connected to")]
        for layer in self.layers:
            if layer.name in fused:  # shown on its convolution's row
                continue
            step = next((f for f in fused.values() if f.conv is layer), None)
            group = [layer] if step is None else list(step.layers)
            params = sum(_count(m.parameters()) + _buffer_count(m) for m in group)
            links = connected.get(layer.name) or ["-"]
            what = type(layer).__name__ if step is None else f"{step.label} (fused)"
            rows.append((f"{' + '.join(m.name for m in group)} ({what})", shapes[group[-1].name], f"{params:,}",
                         links[0]))
            rows.extend(("", "", "", link) for link in links[1:])
        params = self.parameters()
        total = _count(params) + _buffer_count(self)
        trainable = _count(p for p in params if p.requires_grad)
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(4)]
        rule = "-" * sum(widths)
        lines = [f'Model: "{self.name}"', "=" * len(rule)]
        for k, r in enumerate(rows):
            lines.append("".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
            if k == 0:
                lines.append("=" * len(rule))
            elif k + 1 == len(rows) or rows[k + 1][0]:
                lines.append(rule)
        if fused:
            lines.append("(fused): layers run as one op, same numbers (nn/fusion.py); "
                         "Model(..., fuse=False) or nn.set_fusion(False) runs them one by one")
        lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}"]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def edges(self) -> list[tuple[str, str]]:
        """(from layer, to layer) for every connection, in call order: the layer graph ``nr.viz`` draws."""
        out = []
        for n in self._nodes_in_order:
            for p in n.parents:
                out.append((p.layer.name, n.layer.name))
        return out


def _loose(shape: Any) -> Any:
    """A shape (or list of shapes) with the batch axis ignored."""
    if shape and isinstance(shape[0], (list, tuple)):
        return [_loose(s) for s in shape]
    return tuple(shape[1:])


# ---------------------------------------------------------------- Keras's functional merge helpers
def _list(inputs: tuple[Any, ...]) -> list[Any]:
    if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
        return list(inputs[0])
    return list(inputs)


def add(*inputs: Any, name: str | None = None) -> Any:
    """``nn.add(a, b)`` or ``nn.add([a, b, ...])``: an ``nn.Add`` layer called on the inputs (a skip connection)."""
    return Add(name=name)(_list(inputs))


def subtract(*inputs: Any, name: str | None = None) -> Any:
    """``nn.subtract(a, b)``: a - b through an ``nn.Subtract`` layer."""
    return Subtract(name=name)(_list(inputs))


def multiply(*inputs: Any, name: str | None = None) -> Any:
    """The elementwise product through an ``nn.Multiply`` layer."""
    return Multiply(name=name)(_list(inputs))


def average(*inputs: Any, name: str | None = None) -> Any:
    """The elementwise mean through an ``nn.Average`` layer."""
    return Average(name=name)(_list(inputs))


def maximum(*inputs: Any, name: str | None = None) -> Any:
    """The elementwise maximum through an ``nn.Maximum`` layer."""
    return Maximum(name=name)(_list(inputs))


def minimum(*inputs: Any, name: str | None = None) -> Any:
    """The elementwise minimum through an ``nn.Minimum`` layer."""
    return Minimum(name=name)(_list(inputs))


def concatenate(*inputs: Any, axis: int = -1, name: str | None = None) -> Any:
    """``nn.concatenate([a, b], axis=-1)``: join along ``axis`` through an ``nn.Concatenate`` layer."""
    return Concatenate(axis=axis, name=name)(_list(inputs))
