"""Which function writes which layer: ``@converts(nn.Dense)`` registers a converter, ``convert`` calls it.

A converter takes the builder, the layer and its input ``Value`` (a list for merges) and
returns the output ``Value`` (a list for layers with several outputs). Subclasses use their
parent's converter (``nn.Linear`` is a ``Dense``), found along the class's MRO.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...autograd import no_grad
from ...nn.symbolic import flatten, pack
from .builder import ExportError, GraphBuilder, Value

CONVERTERS: dict[type, Callable[..., Any]] = {}


def converts(*classes: type) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the decorated function as the converter of ``classes``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for cls in classes:
            CONVERTERS[cls] = fn
        return fn

    return register


def supported() -> list[str]:
    """The layer classes the exporter writes, by name."""
    names = {cls.__name__ for cls in CONVERTERS if not cls.__name__.startswith("_")}
    return sorted(names) + ["the Random* augmentation layers (the identity at inference)"]


def run_example(layer: Any, x: Any, kwargs: dict[str, Any] | None = None) -> Any:
    """The layer's output on the example batch(es) of ``x`` (Values), in eval mode without gradients."""
    examples = pack(x, [v.example for v in flatten(x)])
    with no_grad():
        return layer(examples, **(kwargs or {}))


def find_converter(layer: Any) -> Callable[..., Any]:
    """The converter of ``layer``'s class, or of the nearest registered parent whose ``forward`` it keeps
    (a subclass that computes something else is refused rather than written as its parent)."""
    for cls in type(layer).__mro__:
        fn = CONVERTERS.get(cls)
        if fn is not None and (cls is type(layer) or getattr(type(layer), "forward", None) is cls.forward):
            return fn
        if fn is not None:
            break
    raise ExportError(f"ONNX export: layer '{layer.name}' ({type(layer).__name__}) has no ONNX equivalent in "
                      f"neurona's exporter (a model with its own forward exports when written as nn.Sequential or "
                      f"a functional nn.Model). Layers it writes: {', '.join(supported())}")


def convert(b: GraphBuilder, layer: Any, x: Any, kwargs: dict[str, Any] | None = None) -> Any:
    """Write ``layer`` applied to ``x`` (a Value or a list of Values) into the graph."""
    fn = find_converter(layer)
    kwargs = dict(kwargs or {})
    if kwargs.pop("training", None):  # a functional model's layer(x, training=True) call
        raise ExportError(f"ONNX export: layer '{layer.name}' ({type(layer).__name__}) is called with "
                          "training=True; an inference graph computes what evaluation mode does")
    outer, b.scope = b.scope, layer.name
    try:
        return fn(b, layer, x, **kwargs)
    finally:
        b.scope = outer


def first(x: Any, layer: Any) -> Value:
    """The single input Value of a one-input layer."""
    if isinstance(x, Value):
        return x
    raise ExportError(f"ONNX export: layer '{layer.name}' ({type(layer).__name__}) takes one input. "
                      f"Received: {len(flatten(x))}")
