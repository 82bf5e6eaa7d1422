"""Execution graphs: trace a call or a training step into a static graph, optimise it, replay it.

* ``trace.py``     run a call once and record its ops into a ``Graph`` (``ir.py``)
* ``autodiff.py``  the backward graph and the optimizer's update, built from the forward graph
* ``passes/``      dead-code elimination, constant folding, common subexpressions, fusion, memory plan
* ``replay.py``    run a graph's nodes in order on new inputs
* ``jit.py``       ``nr.jit(fn_or_model)``, ``nr.jit.train_step(model, loss_fn, optimizer)``: cache, retrace
* ``onnx/``        export to and import from ONNX

See docs/GRAPHS.md for a walk through the passes.
"""

from . import passes
from .ir import Graph, Node, Value
from .jit import Traced, TrainStep, jit, optimize
from .replay import Program
from .trace import TraceError, trace

__all__ = ["Graph", "Node", "Program", "TraceError", "Traced", "TrainStep", "Value", "jit", "optimize", "passes",
           "trace"]
