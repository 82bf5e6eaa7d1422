"""ONNX's RNN, LSTM and GRU operators as neurona's SimpleRNN, LSTM and GRU layers.

ONNX keeps W (1, k*units, F) and R (1, k*units, units) with the gates in its order (LSTM i, o, f, c;
GRU z, r, h); neurona keeps their transposes with the gates in Keras's order (LSTM i, f, c, o; GRU
z, r, h). ONNX's two biases (input and recurrent) add up, except for a GRU with the reset gate
applied after the recurrent product (linear_before_reset=1), which neurona keeps as two rows.
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


@op("RNN", "LSTM", "GRU")
def _recurrent(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> list[Any]:
    kind = node.op_type
    h = imp.held(node.input[0], node)
    if attrs.get("layout", 0) != 0 or h.perm != (1, 0, 2) or h.features is not None:
        raise imp.error(node, "expected a sequence (T, N, F) transposed from a batch (N, T, F) (layout 0)")
    if attrs.get("direction", "forward") != "forward" or attrs.get("clip") or attrs.get("input_forget"):
        raise imp.error(node, "only forward recurrences without clip or input_forget are imported")
    for i in range(4, len(node.input)):  # sequence_lens, initial states (zeros only), peepholes
        if node.input[i] and not isinstance(imp.values.get(node.input[i]), Zeros):
            value = imp.values.get(node.input[i])
            if not (isinstance(value, np.ndarray) and i != 4 and not value.any()):
                raise imp.error(node, f"input {i} (sequence lengths, initial state or peepholes) is not imported")
    units = int(attrs["hidden_size"])
    order = _GATES[kind]
    gates = len(order)
    acts = [_CELL.get(a) for a in attrs.get("activations", [])] or None
    defaults = {"RNN": ["tanh"], "GRU": ["sigmoid", "tanh"], "LSTM": ["sigmoid", "tanh", "tanh"]}[kind]
    acts = acts or defaults
    if None in acts or (kind == "LSTM" and acts[1] != acts[2]):
        raise imp.error(node, f"activations {attrs.get('activations')} have no neurona recurrent layer")
    W, R = (imp.const(n, node, what)[0] for n, what in zip(node.input[1:3], ("W", "R")))
    B = imp.const(node.input[3], node, "B")[0] if len(node.input) > 3 and node.input[3] else None
    kernel, recurrent = _blocks(W.T, order, units), _blocks(R.T, order, units)
    outputs = [n if imp.used(n) else "" for n in node.output]
    sequences = bool(outputs[0])
    states = [bool(o) for o in outputs[1:]]
    # neurona gives (output, h[, c]) with return_state, else the sequence or the last h alone
    return_state = (sequences and any(states)) or (kind == "LSTM" and states[1])
    common = {"return_sequences": sequences, "return_state": return_state, "go_backwards": h.reversed,
              "name": imp.layer_name(node)}
    if kind == "LSTM":
        layer = nn.LSTM(units, activation=acts[1], recurrent_activation=acts[0], **common)
    elif kind == "GRU":
        layer = nn.GRU(units, activation=acts[1], recurrent_activation=acts[0],
                       reset_after=bool(attrs.get("linear_before_reset", 0)), **common)
    else:
        layer = nn.SimpleRNN(units, activation=acts[0], **common)
    out = call_layer(layer, h)
    weights = {"kernel": kernel, "recurrent_kernel": recurrent}
    if B is None:
        B = np.zeros(2 * gates * units)
    wb, rb = _blocks(B[:gates * units], order, units), _blocks(B[gates * units:], order, units)
    weights["bias"] = np.stack([wb, rb]) if kind == "GRU" and layer.reset_after else wb + rb
    set_weights(layer, **weights)
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
