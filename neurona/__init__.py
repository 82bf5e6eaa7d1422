"""neurona: a deep-learning framework from first principles, on NumPy (CPU) and CuPy (GPU).

>>> import neurona as nr
>>> from neurona import nn, optim, functional as F
"""

# Importing neurona changes nothing in the process: BLAS threads, flush-to-zero and the
# allocator are set only inside ``performance()`` (fit, evaluate, predict, the CLI).
from . import data, datasets, functional, losses, metrics, models, nn, optim, training, viz
from .autograd import (
    Function,
    Tensor,
    apply,
    concat,
    detect_anomaly,
    enable_grad,
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
from .kernels import performance
from .training import callbacks, load_model, lr_find

__version__ = "0.1.0"

__all__ = [
    "Function", "Tensor", "apply", "callbacks", "concat", "data", "datasets", "detect_anomaly", "enable_grad",
    "functional",
    "get_default_dtype", "get_device", "gpu_available", "is_grad_enabled", "load_model", "losses", "lr_find",
    "manual_seed", "metrics", "models", "nn", "no_grad", "optim", "performance", "set_default_dtype", "set_device",
    "set_grad_enabled", "stack", "tensor", "training", "viz",
]
