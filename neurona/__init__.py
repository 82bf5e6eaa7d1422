"""neurona: a deep-learning framework from first principles, on NumPy (CPU) and CuPy (GPU).

>>> import neurona as nr
>>> from neurona import nn, optim, functional as F
"""

# Importing neurona changes nothing in the process: BLAS threads, flush-to-zero and the
# allocator are set only inside ``performance()`` (fit, evaluate, predict, the CLI).
import numpy as np

from . import cuda, data, datasets, functional, losses, metrics, models, nn, optim, training, utils, viz
from .autograd import (
    Function,
    Tensor,
    apply,
    concat,
    detect_anomaly,
    enable_grad,
    flatten,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
    stack,
    tensor,
)
from .backend import (
    get_default_dtype,
    get_device,
    gpu_available,
    manual_seed,
    set_default_dtype,
    set_device,
)
from .cuda import accelerator, device
from .kernels import performance
from .serialization import load, save
from .training import callbacks, load_model, lr_find

# PyTorch's dtype names, so that ``x.type(nr.float)`` and ``dtype=nr.long`` read as in a PyTorch script
float32 = float = np.float32  # noqa: A001
float64 = double = np.float64
int64 = long = np.int64
int32 = np.int32
uint8 = np.uint8

__version__ = "0.1.0"

__all__ = [
    "Function", "Tensor", "accelerator", "apply", "callbacks", "concat", "cuda", "data", "datasets", "detect_anomaly",
    "device", "enable_grad", "flatten", "functional", "load", "save", "utils",
    "get_default_dtype", "get_device", "gpu_available", "is_grad_enabled", "load_model", "losses", "lr_find",
    "manual_seed", "metrics", "models", "nn", "no_grad", "optim", "performance", "set_default_dtype", "set_device",
    "set_grad_enabled", "stack", "tensor", "training", "viz",
]
