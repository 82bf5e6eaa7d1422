"""Graph passes: each takes a Graph and returns a new one that computes the same outputs.

Forward passes run on the traced graph before the backward graph is built; the
optimizer fusion and the memory plan run on the whole training step.
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir import Graph
from .cse import eliminate_common_subexpressions
from .dce import eliminate_dead_code
from .fold import fold_constants
from .fuse import fuse_ops, fuse_optimizer
from .memory import MemoryPlan, lifetimes, plan_memory
from .specialize import specialize

Pass = Callable[[Graph], Graph]

# (name, pass) in the order they run; the names are what drawings and ``passes=`` use
FORWARD_PASSES: list[tuple[str, Pass]] = [
    ("dce", eliminate_dead_code),
    ("fold", fold_constants),
    ("cse", eliminate_common_subexpressions),
    ("fuse", fuse_ops),
    ("dce2", eliminate_dead_code),
]
STEP_PASSES: list[tuple[str, Pass]] = [
    ("fuse_optimizer", fuse_optimizer),
    ("specialize", specialize),
    ("memory", plan_memory),
]
ALL = tuple(name for name, _ in FORWARD_PASSES + STEP_PASSES)

__all__ = ["ALL", "FORWARD_PASSES", "MemoryPlan", "STEP_PASSES", "eliminate_common_subexpressions",
           "eliminate_dead_code", "fold_constants", "fuse_ops", "fuse_optimizer", "lifetimes", "plan_memory",
           "specialize"]
