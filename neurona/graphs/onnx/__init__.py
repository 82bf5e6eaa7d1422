"""ONNX export and import: ``model.export("model.onnx")`` and ``nr.load_onnx("model.onnx")`` (docs/ONNX.md).

* ``export.py``      the model walk and the file; ``builder.py`` nodes, weights and layouts
* ``convert_*.py``   one module per layer family, registered in ``registry.py``
* ``importer.py``    ``load_onnx``: ONNX graph -> functional ``nn.Model``; ``import_ops.py`` its operators

onnx is an optional extra (``pip install neurona[onnx]``); it is imported only when a
model is exported or imported, never by ``import neurona``.
"""

from .builder import ExportError
from .export import DEFAULT_OPSET, export_onnx, to_onnx
from .importer import OnnxImportError, load_onnx

__all__ = ["DEFAULT_OPSET", "ExportError", "OnnxImportError", "export_onnx", "load_onnx", "to_onnx"]
