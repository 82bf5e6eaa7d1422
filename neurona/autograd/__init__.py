"""Tensors, the Function node type, the backward engine and the recording switches."""

from .function import Function
from .grad_mode import detect_anomaly, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor, apply, as_array, concat, flatten, stack, tensor

__all__ = [
    "Function", "Tensor", "apply", "as_array", "concat", "detect_anomaly", "enable_grad", "flatten",
    "is_grad_enabled", "no_grad", "set_grad_enabled", "stack", "tensor",
]
