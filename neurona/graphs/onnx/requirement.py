"""onnx is an optional extra: imported when exporting or importing, with a clear message when missing."""

from __future__ import annotations

from typing import Any


def require_onnx() -> Any:
    """The ``onnx`` module, or an ImportError that says how to install it."""
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("ONNX export and import need the onnx package: pip install neurona[onnx]") from exc
    return onnx
