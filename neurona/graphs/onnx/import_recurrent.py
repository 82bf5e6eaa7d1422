"""ONNX's RNN, LSTM and GRU operators as neurona's SimpleRNN, LSTM and GRU layers.

ONNX keeps W (1, k*units, F) and R (1, k*units, units) with the gates in its order (LSTM i, o, f, c;
GRU z, r, h); neurona keeps their transposes with the gates in Keras's order (LSTM i, f, c, o; GRU
z, r, h). ONNX's two biases (input and recurrent) add up, except for a GRU with the reset gate
applied after the recurrent product (linear_before_reset=1), which neurona keeps as two rows.
A bidirectional operator becomes ``nn.Bidirectional`` (see ``_bidirectional``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import nn
from .import_ops import call_layer, op
from .import_values import Held, Importer, Zeros, set_weights

_CELL = {"Tanh": "tanh", "Sigmoid": "sigmoid", "Relu": "relu"}
_GATES = {"RNN": [0], "GRU": [0, 1, 2], "LSTM": [0, 2, 3, 1]}  # neurona's gate g is ONNX's block _GATES[g]


def _blocks(a: np.ndarray, order: list[int], units: int) -> np.ndarray:
    return np.concatenate([a[..., g * units:(g + 1) * units] for g in order], axis=-1)


def _weights(kind: str, W: np.ndarray, R: np.ndarray, B: np.ndarray | None, units: int,
             reset_after: bool) -> dict[str, np.ndarray]:
    """One direction's ONNX W (k*u, F), R (k*u, u), B (2*k*u,) as neurona's kernel, recurrent_kernel and bias."""
    order = _GATES[kind]
    gates = len(order)
    weights = {"kernel": _blocks(W.T, order, units), "recurrent_kernel": _blocks(R.T, order, units)}
    if B is None:
        B = np.zeros(2 * gates * units)
    wb, rb = _blocks(B[:gates * units], order, units), _blocks(B[gates * units:], order, units)
    weights["bias"] = np.stack([wb, rb]) if kind == "GRU" and reset_after else wb + rb
    return weights


def _activations(imp: Importer, node: Any, attrs: dict[str, Any], directions: int) -> list[str]:
    """neurona's activation names of the operator (one list, the same for both directions)."""
    kind = node.op_type
    defaults = {"RNN": ["tanh"], "GRU": ["sigmoid", "tanh"], "LSTM": ["sigmoid", "tanh", "tanh"]}[kind]
    given = attrs.get("activations")
    if not given:
        return defaults
    acts = [_CELL.get(a) for a in given]
    n = len(defaults)
    if len(acts) != n * directions or acts[n:] not in ([], acts[:n]) or None in acts or \
            (kind == "LSTM" and acts[1] != acts[2]):  # both directions alike, LSTM's g and h one function
        raise imp.error(node, f"activations {given} have no neurona recurrent layer")
    return acts[:n]


def _layer(kind: str, units: int, acts: list[str], attrs: dict[str, Any], **common: Any) -> nn.Module:
    if kind == "LSTM":
        return nn.LSTM(units, activation=acts[1], recurrent_activation=acts[0], **common)
    if kind == "GRU":
        return nn.GRU(units, activation=acts[1], recurrent_activation=acts[0],
                      reset_after=bool(attrs.get("linear_before_reset", 0)), **common)
    return nn.SimpleRNN(units, activation=acts[0], **common)


@op("RNN", "LSTM", "GRU")
def _recurrent(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> list[Any]:
    kind = node.op_type
    h = imp.held(node.input[0], node)
    direction = attrs.get("direction", "forward")
    if attrs.get("layout", 0) != 0 or h.perm != (1, 0, 2) or h.features is not None:
        raise imp.error(node, "expected a sequence (T, N, F) transposed from a batch (N, T, F) (layout 0)")
    if direction not in ("forward", "bidirectional") or attrs.get("clip") or attrs.get("input_forget"):
        raise imp.error(node, f"only forward and bidirectional recurrences without clip or input_forget are "
                              f"imported. Received: direction={direction!r}")
    for i in range(4, len(node.input)):  # sequence_lens, initial states (zeros only), peepholes
        if node.input[i] and not isinstance(imp.values.get(node.input[i]), Zeros):
            value = imp.values.get(node.input[i])
            if not (isinstance(value, np.ndarray) and i != 4 and not value.any()):
                raise imp.error(node, f"input {i} (sequence lengths, initial state or peepholes) is not imported")
    units = int(attrs["hidden_size"])
    acts = _activations(imp, node, attrs, 2 if direction == "bidirectional" else 1)
    W, R = (imp.const(n, node, what) for n, what in zip(node.input[1:3], ("W", "R")))
    B = imp.const(node.input[3], node, "B") if len(node.input) > 3 and node.input[3] else None
    if direction == "bidirectional":
        return _bidirectional(imp, node, attrs, h, units, acts, (W, R, B))
    outputs = [n if imp.used(n) else "" for n in node.output]
    sequences = bool(outputs[0])
    states = [bool(o) for o in outputs[1:]]
    # neurona gives (output, h[, c]) with return_state, else the sequence or the last h alone
    return_state = (sequences and any(states)) or (kind == "LSTM" and states[1])
    layer = _layer(kind, units, acts, attrs, return_sequences=sequences, return_state=return_state,
                   go_backwards=h.reversed, name=imp.layer_name(node))
    out = call_layer(layer, h)
    set_weights(layer, **_weights(kind, W[0], R[0], None if B is None else B[0], units,
                                  getattr(layer, "reset_after", False)))
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    seq = Held(outs[0], None, None, "rnn_sequence") if sequences else None
    if return_state:
        state_syms = outs[1:]
    else:
        state_syms = [outs[0]] if not sequences else []
    results: list[Any] = [seq]
    for i, used in enumerate(states):
        results.append(Held(state_syms[i], None, None, "rnn_state") if used and i < len(state_syms) else None)
    return results


def _bidirectional(imp: Importer, node: Any, attrs: dict[str, Any], h: Held, units: int, acts: list[str],
                   weights: tuple[Any, Any, Any]) -> list[Any]:
    """direction="bidirectional" as neurona's Bidirectional: the sequence Y (T, 2, N, H) with return_sequences,
    else the last states Y_h (2, N, H). merge_mode "concat" when the file joins the two directions by a
    Transpose and Reshape (PyTorch's batch_first output, neurona's export), None when it picks them apart with
    Gather (PyTorch's ``cat([h[-2], h[-1]])``, neurona's other merge modes, written with their own layers)."""
    kind = node.op_type
    used = [imp.used(n) for n in node.output]
    if h.reversed:
        raise imp.error(node, "a bidirectional recurrence over steps already reversed is not imported")
    if used[0] and any(used[1:]) or len(used) > 2 and used[2]:
        raise imp.error(node, "neurona's Bidirectional gives the sequence Y or the last hidden states Y_h, not both "
                              "(nor the LSTM's cell states Y_c)")
    if not any(used):
        return [None] * len(node.output)
    sequences = used[0]
    picked = [n.op_type == "Gather" for n in imp.consumers.get(node.output[0 if sequences else 1], [])]
    mode = None if any(picked) else "concat"
    name = imp.layer_name(node)
    cell = _layer(kind, units, acts, attrs, return_sequences=sequences, name=name)
    layer = nn.Bidirectional(cell, merge_mode=mode, name=f"bidirectional_{name}")
    imp.names.add(layer.name)
    out = call_layer(layer, h)
    reset_after = kind == "GRU" and bool(attrs.get("linear_before_reset", 0))
    W, R, B = weights
    for d, part in enumerate((layer.forward_layer, layer.backward_layer)):
        set_weights(part, **_weights(kind, W[d], R[d], None if B is None else B[d], units, reset_after))
    if mode is None:
        value = Held(out[0], None, None, "rnn_directions", directions=(out[0], out[1]))
    else:
        value = Held(out, (1, 2, 0, 3) if sequences else (1, 0, 2), None, "rnn_bidirectional")
    return [value, None, None][:len(node.output)] if sequences else [None, value, None][:len(node.output)]
