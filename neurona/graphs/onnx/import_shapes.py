"""The ONNX operators that move or reshape tensors, and the shape arithmetic PyTorch's files contain
(Shape, Gather, Concat, ConstantOfShape building a recurrent layer's zero state)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import nn
from .import_ops import call_layer, op
from .import_values import NCHW_VIEW, Fold, Held, Importer, ShapeOf, Zeros, set_weights


@op("Flatten")
def _flatten(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    h = imp.held(node.input[0], node)
    if attrs.get("axis", 1) != 1:
        raise imp.error(node, f"only Flatten with axis=1 is imported. Received: axis={attrs.get('axis')}")
    return _flatten_to_rows(imp, node, h)


def _flatten_to_rows(imp: Importer, node: Any, h: Held) -> Held:
    """neurona's Flatten; a tensor held transposed (channels-first) is flattened in ONNX's order by the file,
    so the result remembers where each ONNX feature sits: (c, i, j) of an image is neurona's (i, j, c)."""
    if h.features is not None or (h.perm is not None and h.perm[0] != 0) or h.kind:
        raise imp.error(node, f"cannot flatten a tensor held with axes {h.perm}")
    y = call_layer(nn.Flatten(name=imp.layer_name(node)), h)
    if h.perm is None:
        return Held(y)
    sample = h.shape[1:]
    features = np.arange(int(np.prod(sample))).reshape(sample).transpose([p - 1 for p in h.perm[1:]]).ravel()
    return Held(y, None, None if np.array_equal(features, np.arange(features.size)) else features)


@op("Reshape")
def _reshape(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    h = imp.held(node.input[0], node)
    target = imp.values.get(node.input[1])
    dims = target.dims if isinstance(target, ShapeOf) else [int(d) for d in imp.const(node.input[1], node, "shape")]
    dims = [None if d is None else int(d) for d in dims]
    if h.kind == "rnn_bidirectional":
        return _join_directions(imp, node, h, dims)
    plain = h.perm is None and h.features is None and not h.kind
    rank = len(h.shape)
    if plain and rank >= 3 and h.shape[1] > 1 and dims == [-1, *h.shape[2:]]:  # (one step: a plain Reshape)
        return _fold_steps(imp, node, h)
    if plain and imp.folds and dims[0] in (-1, None) and dims[1:] == [imp.folds[-1].steps, *h.shape[1:]]:
        return _unfold_steps(imp, node, h)
    if len(dims) == 2 and dims[0] in (None, 0, -1) and (dims[1] == -1 or dims[1] == int(np.prod(h.shape[1:]))):
        return _flatten_to_rows(imp, node, h)
    if len(h.shape) == 2 and h.perm is None and h.features is None and len(dims) == 4 and dims[2:] == [1, 1] \
            and dims[1] == h.shape[1]:  # (N, C) -> (N, C, 1, 1): channel weights to scale an image with (SE blocks)
        return Held(call_layer(nn.Reshape((1, 1, h.shape[1]), name=imp.layer_name(node)), h), NCHW_VIEW)
    if h.perm is not None or h.features is not None or dims[0] not in (None, 0, -1):
        raise imp.error(node, f"only reshapes that keep the batch axis of a channels-last tensor are imported. "
                              f"Received: shape {dims}")
    return Held(call_layer(nn.Reshape(tuple(dims[1:]), name=imp.layer_name(node)), h))


def _join_directions(imp: Importer, node: Any, h: Held, dims: list[Any]) -> Held:
    """A bidirectional recurrence's (..., 2, H) outputs reshaped to (..., 2H): the Bidirectional layer's concatenation
    [forward | backward], held transposed as the other axes are."""
    rank = len(h.perm)
    view = [None, *h.shape[1:-1], 2, h.shape[-1] // 2]  # the concatenation with its last axis split
    onnx_shape = [view[p] for p in h.perm]
    kept = all(d in (0, -1, None, size) for d, size in zip(dims[:-1], onnx_shape))
    if h.perm[-2:] != (rank - 2, rank - 1) or len(dims) != rank - 1 or dims[-1] not in (-1, h.shape[-1]) or not kept:
        raise imp.error(node, f"the outputs of a bidirectional recurrence are imported when their two directions are "
                              f"joined next to the features, [forward | backward]. Received: shape {dims} of an ONNX "
                              f"tensor {onnx_shape}")
    perm = h.perm[:-2] + (rank - 2,)
    return Held(h.sym, None if perm == tuple(range(rank - 1)) else perm)


def _fold_steps(imp: Importer, node: Any, h: Held) -> Held:
    """(N, T, *rest) -> (N * T, *rest): the start of a TimeDistributed layer. Its layers are built on a fresh
    input of shape rest, until ``_unfold_steps`` wraps them (as a functional model) in nn.TimeDistributed."""
    name = imp.layer_name(node)
    sample = nn.Input(tuple(h.shape[2:]), dtype=h.sym.dtype, name=f"{name}_step")
    imp.folds.append(Fold(h, h.shape[1], sample.symbolic_output, node, name))
    return Held(sample.symbolic_output, nonnegative=h.nonnegative)


def _unfold_steps(imp: Importer, node: Any, h: Held) -> Held:
    """(N * T, *out) -> (N, T, *out): the layers since the matching fold, as nn.TimeDistributed(nn.Model(...))."""
    fold = imp.folds.pop()
    try:
        per_step = nn.Model(fold.input, h.sym, name=f"{fold.name}_step_model")
    except ValueError as exc:
        raise imp.error(node, f"the nodes between '{fold.node.name}' (which folds the steps into the batch) and "
                              f"this one (which unfolds them) must depend on the folded steps alone: {exc}") from None
    return Held(call_layer(nn.TimeDistributed(per_step, name=fold.name), fold.outer))


@op("Transpose")
def _transpose(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    h = imp.held(node.input[0], node)
    bidirectional = h.kind == "rnn_bidirectional"  # any order of (T, 2, N, H): the next Reshape checks it
    rank = len(h.perm) if bidirectional else len(h.shape)
    perm = attrs.get("perm", list(range(rank))[::-1])
    old = h.perm or tuple(range(rank))
    new = tuple(old[p] for p in perm)
    if h.features is not None or perm[0] != 0 and rank != 3 and not bidirectional:
        raise imp.error(node, f"a transpose {perm} that moves the batch axis is not imported")
    if bidirectional:
        return Held(h.sym, new, None, h.kind)
    return Held(h.sym, None if new == tuple(range(rank)) else new, None, h.kind, h.reversed)


@op("Squeeze")
def _squeeze(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    """Squeezes of a recurrent operator's outputs: (T, 1, N, H) -> (T, N, H) and (1, N, H) -> (N, H)."""
    h = imp.held(node.input[0], node)
    axes = attrs.get("axes")
    if axes is None and len(node.input) > 1:
        axes = [int(a) for a in imp.const(node.input[1], node, "the axes")]
    if h.kind == "rnn_sequence" and list(axes or []) == [1]:
        return Held(h.sym, (1, 0, 2))
    if h.kind == "rnn_state" and list(axes or []) == [0]:
        return Held(h.sym)
    raise imp.error(node, "only the Squeeze of a recurrent operator's outputs is imported")


@op("Slice")
def _slice(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    """Reversing the time axis of a sequence (before a recurrent layer: neurona's go_backwards)."""
    h = imp.held(node.input[0], node)
    parts = [imp.const(n, node, "slice bounds") if n else None for n in list(node.input[1:5]) + [""] * 4][:4]
    starts, ends, axes, steps = parts
    time_axis = h.perm.index(1) if h.perm else 1
    if h.perm in (None, (1, 0, 2)) and len(h.shape) == 3 and steps is not None and list(steps) == [-1] and \
            axes is not None and list(axes) == [time_axis] and int(starts[0]) == -1 and int(ends[0]) <= -(2**31):
        return Held(h.sym, h.perm, None, "", not h.reversed)
    raise imp.error(node, "only the reversal of a sequence's time axis is imported")


@op("Shape")
def _shape(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> ShapeOf:
    h = imp.held(node.input[0], node)
    dims = [None] + list(h.shape[1:])
    if h.perm:
        dims = [dims[p] for p in h.perm]
    return ShapeOf(dims)


@op("Gather")
def _gather(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Any:
    """Picking entries of a shape, or an embedding look-up (a constant table indexed by ids)."""
    data = imp.values.get(node.input[0])
    axis = attrs.get("axis", 0)
    if isinstance(data, ShapeOf):
        idx = imp.const(node.input[1], node, "the index")
        picked = [data.dims[int(i)] for i in np.atleast_1d(idx)]
        return ShapeOf(picked, scalar=idx.ndim == 0)
    if isinstance(data, Held) and data.kind == "rnn_directions":  # one direction of a bidirectional recurrence
        idx = imp.const(node.input[1], node, "the index")
        sequence = len(data.sym.shape) == 3  # Y (T, 2, N, H), else Y_h (2, N, H)
        if idx.ndim == 0 and int(idx) in (-2, -1, 0, 1) and axis % (4 if sequence else 3) == int(sequence):
            return Held(data.directions[int(idx) % 2], (1, 0, 2) if sequence else None)
        raise imp.error(node, "only picking one direction (index 0 or 1 on the direction axis) of a bidirectional "
                              f"recurrence's outputs is imported. Received: index {idx.tolist()} on axis {axis}")
    if isinstance(data, Held) and data.kind == "rnn_state" and axis == 0:  # h[-1] of a one-layer recurrence
        idx = imp.const(node.input[1], node, "the index")
        if idx.ndim == 0 and int(idx) in (0, -1):
            return Held(data.sym)
    if isinstance(data, np.ndarray) and data.ndim == 2 and axis == 0:
        ids = imp.held(node.input[1], node)
        layer = nn.Embedding(data.shape[0], data.shape[1], name=imp.layer_name(node))
        y = call_layer(layer, ids)
        set_weights(layer, embeddings=data)
        return Held(y)
    raise imp.error(node, "only embedding look-ups and shape arithmetic are imported")


@op("Unsqueeze")
def _unsqueeze(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Any:
    data = imp.values.get(node.input[0])
    if isinstance(data, ShapeOf) and data.scalar:
        return ShapeOf(data.dims)
    if isinstance(data, np.ndarray):
        axes = attrs.get("axes")
        if axes is None:
            axes = [int(a) for a in imp.const(node.input[1], node, "the axes")]
        return np.expand_dims(data, tuple(axes))
    if isinstance(data, Held) and data.perm is None and data.features is None and len(data.shape) == 2:
        axes = attrs.get("axes")
        axes = [int(a) for a in imp.const(node.input[1], node, "the axes")] if axes is None else axes
        if list(axes) == [1]:  # (N, F) -> (N, 1, F), waiting for the Expand that repeats it
            return Held(data.sym, None, None, "unsqueezed")
    raise imp.error(node, "only the Unsqueeze of constants, shapes and (N, F) -> (N, 1, F) is imported")


@op("Expand")
def _expand(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Held:
    """(N, 1, F) expanded to (N, n, F): neurona's RepeatVector(n)."""
    h = imp.held(node.input[0], node)
    shape = [int(d) for d in imp.const(node.input[1], node, "the shape")]
    if h.kind != "unsqueezed" or len(shape) != 3 or shape[2] not in (1, h.shape[1]) or shape[0] not in (1, -1):
        raise imp.error(node, f"only (N, 1, F) expanded to (N, n, F) is imported. Received: shape {shape}")
    return Held(call_layer(nn.RepeatVector(shape[1], name=imp.layer_name(node)), h))


@op("Concat")
def _concat(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Any:
    values = [imp.values.get(n) for n in node.input]
    if any(isinstance(v, ShapeOf) for v in values) and all(isinstance(v, (ShapeOf, np.ndarray)) for v in values):
        dims: list[Any] = []
        for v in values:
            dims += v.dims if isinstance(v, ShapeOf) else [int(d) for d in v.reshape(-1)]
        return ShapeOf(dims)
    if all(isinstance(v, np.ndarray) for v in values):
        return np.concatenate(values, axis=attrs.get("axis", 0))
    held = [imp.held(n, node) for n in node.input]
    if len({h.perm for h in held}) != 1 or any(h.features is not None for h in held):
        raise imp.error(node, "the inputs are held in different layouts")
    rank = len(held[0].shape)
    axis = attrs["axis"] % rank
    axis = held[0].perm[axis] if held[0].perm else axis
    return Held(call_layer(nn.Concatenate(axis=axis if axis != rank - 1 else -1, name=imp.layer_name(node)), held),
                held[0].perm)


@op("Constant")
def _constant(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> np.ndarray:
    value = attrs.get("value")
    if value is None:
        raise imp.error(node, "only Constant with a tensor value is imported")
    return imp.onnx.numpy_helper.to_array(value)


@op("ConstantOfShape")
def _constant_of_shape(imp: Importer, node: Any, attrs: dict[str, Any], k: int) -> Any:
    shape = imp.values.get(node.input[0])
    value = attrs.get("value")
    fill = imp.onnx.numpy_helper.to_array(value).reshape(-1)[0] if value is not None else 0
    if isinstance(shape, ShapeOf) and fill == 0:
        return Zeros(shape)
    if isinstance(shape, np.ndarray):
        return np.full([int(d) for d in shape], fill)
    raise imp.error(node, "only zeros of a computed shape (a recurrent layer's initial state) are imported")
