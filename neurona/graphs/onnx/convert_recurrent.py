"""Converters of SimpleRNN, LSTM and GRU to ONNX's RNN, LSTM and GRU operators.

neurona (Keras) keeps kernel (F, k*units) and recurrent_kernel (units, k*units) with the gates
side by side; ONNX wants W (1, k*units, F) and R (1, k*units, units), i.e. the transposes, and
its own gate order: LSTM i, o, f, c (neurona: i, f, c, o), GRU z, r, h (the same as neurona's).
ONNX's B holds the input biases then the recurrent ones (zeros unless GRU keeps two biases,
reset_after=True, which is ONNX's linear_before_reset=1). Sequences are (T, N, F) in ONNX and
(N, T, F) in neurona: Transposes around the operator; go_backwards reverses the time axis first,
so the outputs come in the order neurona gives them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import nn
from .builder import ExportError, GraphBuilder, Value, host
from .registry import converts, first, run_example

_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}
_INT64_MIN = -(2**63)


def _act(layer: Any, name: Any) -> str:
    if name not in _ACTIVATIONS:
        raise ExportError(f"ONNX export: layer '{layer.name}' ({type(layer).__name__}) uses activation {name!r}; "
                          f"ONNX's recurrent operators are exported with {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]


def _blocks(a: np.ndarray, order: list[int], units: int) -> np.ndarray:
    """The last axis's gate blocks of ``units`` columns, reordered."""
    return np.concatenate([a[..., g * units:(g + 1) * units] for g in order], axis=-1)


def _operator(b: GraphBuilder, layer: Any) -> tuple[str, dict[str, Any], np.ndarray, np.ndarray, np.ndarray]:
    """The ONNX operator of ``layer``, its attributes and its W (1, k*u, F), R (1, k*u, u), B (1, 2*k*u)."""
    u = layer.units
    kernel, recurrent = host(layer.kernel, b.dtype), host(layer.recurrent_kernel, b.dtype)
    gates = layer.gates
    bias = host(layer.bias, b.dtype) if layer.bias is not None else None
    attrs: dict[str, Any] = {"hidden_size": u}
    if isinstance(layer, nn.LSTM):
        op, order = "LSTM", [0, 3, 1, 2]  # neurona i, f, c, o -> ONNX i, o, f, c
        attrs["activations"] = [_act(layer, layer.recurrent_activation), _act(layer, layer.activation),
                                _act(layer, layer.activation)]
    elif isinstance(layer, nn.GRU):
        op, order = "GRU", [0, 1, 2]
        attrs["activations"] = [_act(layer, layer.recurrent_activation), _act(layer, layer.activation)]
        attrs["linear_before_reset"] = int(layer.reset_after)
    else:
        op, order = "RNN", [0]
        attrs["activations"] = [_act(layer, layer.activation)]
    W = _blocks(kernel, order, u).T[None]
    R = _blocks(recurrent, order, u).T[None]
    if bias is None:
        B = np.zeros((1, 2 * gates * u), b.dtype)
    elif bias.ndim == 2:  # GRU with reset_after: [input biases; recurrent biases]
        B = np.concatenate([_blocks(bias[0], order, u), _blocks(bias[1], order, u)])[None]
    else:
        B = np.concatenate([_blocks(bias, order, u), np.zeros(gates * u, b.dtype)])[None]
    return op, attrs, W, R, B


@converts(nn.SimpleRNN, nn.LSTM, nn.GRU)
def _recurrent(b: GraphBuilder, layer: Any, x: Any, initial_state: Any = None) -> Any:
    v = first(x, layer)
    if initial_state is not None:
        raise ExportError(f"ONNX export: layer '{layer.name}' is called with an initial_state; only the default "
                          "zero state is exported")
    op, attrs, W, R, B = _operator(b, layer)
    seq = b.nhwc(v)
    if layer.go_backwards:
        seq = b.node("Slice", [seq, b.ints([-1]), b.ints([_INT64_MIN]), b.ints([1]), b.ints([-1])])
    seq = b.node("Transpose", [seq], perm=[1, 0, 2])  # (T, N, F)
    outs = b.node(op, [seq, b.const(W, "W"), b.const(R, "R"), b.const(B, "B")],
                  outputs=3 if op == "LSTM" else 2, **attrs)
    y_seq, y_h = outs[0], outs[1]
    examples = run_example(layer, v)
    examples = list(examples) if isinstance(examples, (tuple, list)) else [examples]
    if layer.return_sequences:  # Y (T, 1, N, u) -> (N, T, u)
        out = b.node("Transpose", [b.node("Squeeze", [y_seq, b.ints([1], "axes")])], perm=[1, 0, 2])
    else:
        out = b.node("Squeeze", [y_h, b.ints([0], "axes")])
    values = [Value(out, examples[0])]
    if layer.return_state:
        states = [y_h] + ([outs[2]] if op == "LSTM" else [])
        for name, example in zip(states, examples[1:]):
            values.append(Value(b.node("Squeeze", [name, b.ints([0], "axes")]), example))
        return values
    return values[0]


def _reverse_time(b: GraphBuilder, name: str) -> str:
    """(N, T, ...) with the steps last to first."""
    return b.node("Slice", [name, b.ints([-1]), b.ints([_INT64_MIN]), b.ints([1]), b.ints([-1])])


def _one_operator(layer: Any) -> bool:
    """Can ``layer`` (Bidirectional) be ONNX's direction="bidirectional"? Its two halves must be one kind of
    layer with one configuration, the forward one reading the steps in order and the backward one reversed."""
    fwd, bwd = layer.forward_layer, layer.backward_layer
    if type(fwd) is not type(bwd) or fwd.go_backwards or not bwd.go_backwards:
        return False
    keys = ("units", "activation", "recurrent_activation", "reset_after")
    return all(getattr(fwd, k, None) == getattr(bwd, k, None) for k in keys)


@converts(nn.Bidirectional)
def _bidirectional(b: GraphBuilder, layer: Any, x: Any) -> Any:
    """One recurrent operator with direction="bidirectional" when the two halves allow it (Y (T, 2, N, u):
    ONNX puts the backward outputs in time order, as neurona does), else two operators (see below)."""
    v = first(x, layer)
    if not _one_operator(layer):
        return _two_operators(b, layer, v)
    fwd, bwd = layer.forward_layer, layer.backward_layer
    op, attrs, *forward = _operator(b, fwd)
    _, battrs, *backward = _operator(b, bwd)
    attrs["activations"] = attrs["activations"] + battrs["activations"]
    W, R, B = (np.concatenate([f, r]) for f, r in zip(forward, backward))
    seq = b.node("Transpose", [b.nhwc(v)], perm=[1, 0, 2])  # (T, N, F)
    outs = b.node(op, [seq, b.const(W, "W"), b.const(R, "R"), b.const(B, "B")], outputs=3 if op == "LSTM" else 2,
                  direction="bidirectional", **attrs)
    examples = run_example(layer, v)
    u, mode = fwd.units, layer.merge_mode
    # Y (T, 2, N, u) or Y_h (2, N, u); the axis of the two directions
    y, axis, to_batch = (outs[0], 1, [1, 0, 2]) if fwd.return_sequences else (outs[1], 0, None)
    if mode == "concat":  # directions next to the features, then merged with them: [forward | backward]
        if fwd.return_sequences:
            y = b.node("Reshape", [b.node("Transpose", [y], perm=[2, 0, 1, 3]), b.ints([0, 0, 2 * u])])
        else:
            y = b.node("Reshape", [b.node("Transpose", [y], perm=[1, 0, 2]), b.ints([0, 2 * u])])
        return Value(y, examples)
    halves = [b.node("Gather", [y, b.const(np.array(d, np.int64), "direction", np.int64)], axis=axis)
              for d in (0, 1)]
    if mode is None:
        apart = [b.node("Transpose", [h], perm=to_batch) if to_batch else h for h in halves]
        return [Value(name, example) for name, example in zip(apart, examples)]
    if mode == "sum":
        y = b.node("Add", halves)
    elif mode == "mul":
        y = b.node("Mul", halves)
    else:  # "ave"
        y = b.node("Mul", [b.node("Add", halves), b.const(np.array(0.5), "half")])
    return Value(b.node("Transpose", [y], perm=to_batch) if to_batch else y, examples)


def _two_operators(b: GraphBuilder, layer: Any, v: Value) -> Any:
    """The forward and backward layers as two recurrent operators (the backward one reads the reversed steps),
    the backward sequence put back in time order, then merged as neurona merges them."""
    forward = _recurrent(b, layer.forward_layer, v)
    backward = _recurrent(b, layer.backward_layer, v)
    examples = run_example(layer, v)
    back = backward.name
    if layer.backward_layer.return_sequences:
        back = _reverse_time(b, back)
    mode = layer.merge_mode
    if mode is None:
        return [Value(forward.name, examples[0]), Value(back, examples[1])]
    if mode == "concat":
        y = b.node("Concat", [forward.name, back], axis=-1)
    elif mode == "sum":
        y = b.node("Add", [forward.name, back])
    elif mode == "mul":
        y = b.node("Mul", [forward.name, back])
    else:  # "ave"
        y = b.node("Mul", [b.node("Add", [forward.name, back]), b.const(np.array(0.5), "half")])
    return Value(y, examples)
