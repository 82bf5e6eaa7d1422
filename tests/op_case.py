"""One row of an op test table: neurona's function, PyTorch's, and the inputs (integer arrays are labels)."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Case:
    name: str
    ours: Callable
    theirs: Callable
    inputs: list
    gradcheck: bool = True
    wrt: list | None = None  # inputs to differentiate (default: every float input); targets are constants
