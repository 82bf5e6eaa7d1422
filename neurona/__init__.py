"""neurona: a deep-learning framework from first principles, on NumPy (CPU) and CuPy (GPU)."""

from .autograd import (
    Function, Tensor, apply, concat, detect_anomaly, enable_grad, is_grad_enabled, no_grad,
    set_grad_enabled, stack, tensor,
)
from . import functional, nn, optim, viz
from .backend import (
    get_default_dtype, get_device, gpu_available, manual_seed, set_default_dtype, set_device,
)

__version__ = "0.1.0"
