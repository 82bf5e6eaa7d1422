"""``model.summary()``: a table of layers, output shapes and parameter counts."""

from __future__ import annotations

from typing import Any


def _shape(shape: Any) -> str:
    if shape is None:
        return "?"
    return str((None,) + tuple(shape[1:]))


def _count(params: Any) -> int:
    return int(sum(p.size for p in params))


def _buffer_count(module: Any) -> int:
    """Saved non-trainable arrays (running statistics): Keras counts them as non-trainable params."""
    return int(sum(b.size for _, b in module.named_buffers() if b is not None and hasattr(b, "size")))


def summarize(model: Any) -> str:
    """Rows for the model's direct children (or the model itself when it has none), then totals."""
    rows = [("Layer (type)", "Output Shape", "Param #")]
    children = list(model.named_children())
    layers = [c for _, c in children] if children else [model]
    for layer in layers:
        rows.append((f"{layer.name} ({type(layer).__name__})", _shape(layer.output_shape),
                     f"{_count(layer.parameters()) + _buffer_count(layer):,}"))
    params = model.parameters()
    total = _count(params) + _buffer_count(model)
    trainable = _count(p for p in params if p.requires_grad)
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
    rule = "-" * sum(widths)
    lines = [f'Model: "{model.name}"', rule.replace("-", "=")]
    for k, r in enumerate(rows):
        lines.append("".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
        lines.append(rule.replace("-", "=") if k == 0 else rule)
    if not model.built:
        lines.append("(not built yet: call model.build(input_shape) or run a batch through it)")
    lines += [
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    return "\n".join(lines)
