"""ONNX export and import: ``model.export("model.onnx")`` and ``nr.load_onnx("model.onnx")`` (docs/ONNX.md).

onnx is an optional extra (``pip install neurona[onnx]``); it is imported only when a
model is exported or imported, never by ``import neurona``.
"""

from .builder import ExportError
from .export import DEFAULT_OPSET, export_onnx, to_onnx

__all__ = ["DEFAULT_OPSET", "ExportError", "export_onnx", "to_onnx"]
