"""Replay: run a Graph's nodes in order on new input arrays, without recording anything.

A ``Program`` turns the graph into a flat list of steps once: (callable, input slots,
output slots), with every value in one slot of a list. A run fills the input slots
with the new batch and the parameter slots with the parameters' current arrays (the
optimizer updates them in place, or rebinds them), then calls each step. No Tensor
is made, no graph recorded, no module called: what is left is the arithmetic.

When the graph carries a memory plan (``passes.memory``), each slot is emptied right
after its last use, so arrays are freed as soon as nothing needs them, and values the
plan gave a dead input's buffer run in place.
"""

from __future__ import annotations

from typing import Any

from .ir import Graph

SPLIT_KINDS = ("backward", "grad_add", "update")


class Inline:
    """A node's kernel given as Python statements, which ``Program`` writes into its function in
    place of a call (no call, no argument handling: at small sizes, the calls are the cost).

    ``lines(outs, ins, tag)``: the statements that compute the output variables ``outs`` from the
    input variables ``ins`` (temporaries and names are prefixed with ``tag``, unique per node);
    ``names(tag)``: the objects those statements refer to. Calling the kernel runs the same
    statements, compiled once into a small function of their own."""

    n_outputs = 1

    def lines(self, outs: list[str], ins: list[str], tag: str) -> list[str]:
        raise NotImplementedError

    def names(self, tag: str) -> dict[str, Any]:
        return {}

    def __call__(self, *arrays: Any) -> Any:
        fn = self.__dict__.get("_compiled")
        if fn is None:
            ins = [f"a{i}" for i in range(len(arrays))]
            outs = [f"r{i}" for i in range(self.n_outputs)]
            body = "\n".join(f"    {line}" for line in self.lines(outs, ins, "k"))
            ret = outs[0] if self.n_outputs == 1 else f"({', '.join(outs)},)"
            source = f"def kernel({', '.join(ins)}):\n{body}\n    return {ret}\n"
            namespace = dict(self.names("k"))
            exec(compile(source, f"<{type(self).__name__} kernel>", "exec"), namespace)
            fn = self.__dict__["_compiled"] = namespace["kernel"]
        return fn(*arrays)


class Program:
    """A graph ready to run: ``run(arrays)`` gives the output arrays.

    The graph becomes the source of one Python function, one line per node (or, for an
    ``Inline`` kernel, its few NumPy statements), every value a local variable (``source``
    shows it): what a graph compiler emits, in the language at hand. Parameters are read
    from their Tensors at the start of each run.
    ``split``: the index of the first backward/update node, so a training step can run its
    forward (to look at the loss) and then, only if the loss is finite, the rest."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.split = next((i for i, node in enumerate(graph.nodes) if node.kind in SPLIT_KINDS), len(graph.nodes))
        self.namespace: dict[str, Any] = {}
        for v in graph.values.values():
            if v.kind == "const":
                self.namespace[f"v{v.id}"] = v.ref
            elif v.kind == "param":
                self.namespace[f"p{v.id}"] = v.ref
        frees = graph.plan.frees if graph.plan is not None else [() for _ in graph.nodes]
        self.source = self._source(0, self.split, frees) + "\n" + self._source(self.split, len(graph.nodes), frees)
        exec(compile(self.source, "<neurona.graphs program>", "exec"), self.namespace)
        self.forward = self.namespace["forward"]
        self.rest = self.namespace["rest"]

    def _source(self, start: int, stop: int, frees: list[tuple[int, ...]]) -> str:
        graph = self.graph
        name = "forward" if start == 0 else "rest"
        args = ", ".join(f"v{v}" if v >= 0 else f"_none{i}" for i, v in enumerate(graph.inputs))
        lines = [f"def {name}({args if start == 0 else ''}):"]
        if start == 0:
            lines += [f"    v{v.id} = p{v.id}.data" for v in graph.values.values() if v.kind == "param"]
        else:  # the values the forward part left for the rest
            lines.append("    env = _env")
            needed = sorted({v for n in graph.nodes[start:stop] for v in n.inputs if _local(graph, v)})
            lines += [f"    v{v} = env[{v}]" for v in needed if _made_before(graph, v, start)]
        for i in range(start, stop):
            node = graph.nodes[i]
            self.namespace[f"run{i}"] = node.run
            call = f"run{i}({', '.join(f'v{v}' for v in node.inputs)})"
            outs = node.outputs
            if isinstance(node.run, Inline):  # written into the program as its NumPy statements
                tag = f"n{i}"
                self.namespace.update(node.run.names(tag))
                code = node.run.lines([f"v{v}" for v in outs], [f"v{v}" for v in node.inputs], tag)
                lines += [f"    {code[0]}  # {node.label}"] + [f"    {line}" for line in code[1:]]
            elif not outs:
                lines.append(f"    {call}  # {node.label}")
            elif len(outs) == 1:
                lines.append(f"    v{outs[0]} = {call}  # {node.label}")
            else:
                lines.append(f"    {', '.join(f'v{o}' for o in outs)}, = {call}  # {node.label}")
            dead = [v for v in frees[i] if _local(graph, v) and v not in graph.outputs]
            if dead and (i < stop - 1 or start > 0):
                lines.append(f"    del {', '.join(f'v{v}' for v in dead)}")
        if start == 0:  # hand what the rest needs over (a dict of the live values), then the outputs
            later = sorted({v for n in graph.nodes[stop:] for v in n.inputs if _local(graph, v)
                            and _made_before(graph, v, stop)})
            self.namespace["_env"] = {}
            if later:
                lines.append(f"    _env.update({{{', '.join(f'{v}: v{v}' for v in later)}}})")
        if start == 0:
            lines.append(f"    return [{', '.join(f'v{v}' for v in graph.outputs)}]")
        return "\n".join(lines) + "\n"

    def run(self, arrays: list[Any], start: int = 0, stop: int | None = None) -> list[Any]:
        """The forward part (``start=0, stop=split``), the rest (``start=split``) or both (default)."""
        if start == 0:
            outs = self.forward(*arrays)
            if (stop is None or stop > self.split) and self.split < len(self.graph.nodes):
                self.rest()
            return outs
        self.rest()
        return []


def _local(graph: Graph, v: int) -> bool:
    """Is value v a local variable of the program (not a constant or a parameter, read from the namespace)?"""
    value = graph.values.get(v)
    return value is not None and value.kind in ("input", "param", "node")


def _made_before(graph: Graph, v: int, index: int) -> bool:
    if graph.values[v].kind in ("input", "param"):
        return True
    return any(v in n.outputs for n in graph.nodes[:index])
