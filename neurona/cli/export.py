"""``neurona export RUN_OR_MODEL model.onnx``: a saved model as a standard ONNX inference graph (docs/ONNX.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .errors import UserError
from .modelfile import load_model_file


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="write a saved model as an ONNX file (onnxruntime, other frameworks)")
    p.add_argument("model", metavar="RUN_OR_MODEL", help="a model file (model.neurona) or a run folder holding one")
    p.add_argument("output", metavar="OUTPUT.onnx", help="the ONNX file to write (replaced atomically)")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset version (default 17; 13 to 21)")
    p.set_defaults(run=cmd_export)


def model_path(spec: str) -> str:
    """The model file ``spec`` names: the file itself, or ``model.neurona`` inside a run folder."""
    path = Path(spec)
    if path.is_dir():
        inside = path / "model.neurona"
        if not inside.is_file():
            raise UserError(f"{spec} is a folder without model.neurona; expected a run folder (runs/<run>) or a "
                            "model file")
        return str(inside)
    return spec


def cmd_export(args: argparse.Namespace) -> int:
    if args.opset is not None and not 13 <= args.opset <= 21:
        raise UserError(f"--opset must be between 13 and 21. Received: {args.opset}")
    if Path(args.output).suffix.lower() != ".onnx":
        raise UserError(f"{args.output}: expected a file name ending in .onnx")
    model = load_model_file(model_path(args.model))
    from ..graphs.onnx import DEFAULT_OPSET, export_onnx  # onnx is imported only when exporting

    try:
        proto = export_onnx(model, args.output, args.opset or DEFAULT_OPSET)
    except ImportError as exc:  # the onnx extra is missing: the message says how to install it
        raise UserError(str(exc)) from None
    shapes = ", ".join(f"{i.name} {_shape(i)}" for i in proto.graph.input)
    outs = ", ".join(f"{o.name} {_shape(o)}" for o in proto.graph.output)
    print(f"wrote {args.output}: {len(proto.graph.node)} ONNX nodes, opset {proto.opset_import[0].version}; "
          f"inputs {shapes} -> outputs {outs}")
    return 0


def _shape(value: Any) -> str:
    dims = [d.dim_param or str(d.dim_value) for d in value.type.tensor_type.shape.dim]
    return f"({', '.join(dims)})"
