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


def _row(step: Any) -> tuple[str, str, str]:
    """One layer, or one fused step (several layers run as one op, see nn/fusion.py): name (type), shape, params."""
    layers = getattr(step, "layers", None) if hasattr(step, "label") else None
    if layers is None:
        return (f"{step.name} ({type(step).__name__})", _shape(step.output_shape),
                f"{_count(step.parameters()) + _buffer_count(step):,}")
    return (f"{' + '.join(layer.name for layer in layers)} ({step.label} (fused))", _shape(layers[-1].output_shape),
            f"{sum(_count(layer.parameters()) + _buffer_count(layer) for layer in layers):,}")


def summarize(model: Any) -> str:
    """Rows for the steps a call runs (the direct children, fused ones as one row; the model itself
    when it has none), then totals."""
    rows = [("Layer (type)", "Output Shape", "Param #")]
    children = list(model.named_children())
    steps = model.steps() if callable(getattr(model, "steps", None)) else [c for _, c in children]
    fused = [step for step in steps if hasattr(step, "label")]
    for step in steps or [model]:
        rows.append(_row(step))
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
    if fused:
        lines.append("(fused): layers run as one op, same numbers (nn/fusion.py); "
                     "Sequential(..., fuse=False) or nn.set_fusion(False) runs them one by one")
    lines += [
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    return "\n".join(lines)
