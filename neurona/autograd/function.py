"""``Function``: one differentiable op, the node type of the computational graph.

A Function's ``forward`` takes arrays and returns an array (or a tuple of arrays);
its ``backward`` takes the gradient of the loss with respect to each output and
returns the gradient with respect to each input (``None`` where an input needs
none). Backward never un-broadcasts: the engine sums each gradient back to the
shape of its input, once, for every op.

Anything a Function saves for backward (``self.x = x``) lives in its ``__dict__``,
which the engine clears after backward so the memory goes back at once.
"""

from __future__ import annotations

from typing import Any


class Function:
    """Base class of every op. Subclasses implement ``forward`` and ``backward`` on arrays.

    Fields set by the engine when the op is recorded:
      inputs            the input Tensors (or constants) of this call
      needs_input_grad  one bool per input: does backward have to compute its gradient?
      generation        1 + the largest generation among the ops that produced the inputs,
                        so that processing by decreasing generation is a topological order
      n_outputs         how many arrays forward returned
      grads             gradients of the outputs collected during backward
      retained          {output index: weakref to Tensor} for outputs that keep their .grad
    """

    __slots__ = ("inputs", "needs_input_grad", "generation", "n_outputs", "grads", "retained", "__dict__")

    def forward(self, *xs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, *gys: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    @property
    def name(self) -> str:
        return type(self).__name__

    def release(self) -> None:
        """Drop the inputs and saved arrays after backward (frees the graph)."""
        self.inputs = None
        self.grads = None
        self.__dict__.clear()

    def __repr__(self) -> str:
        return f"<{self.name} generation={getattr(self, 'generation', '?')}>"
