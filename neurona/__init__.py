"""neurona: a deep-learning framework from first principles, on NumPy (CPU) and CuPy (GPU).

>>> import neurona as nr
>>> from neurona import nn, optim, functional as F
"""

import os

# OpenBLAS's idle threads spin for ~0.1 s after each matrix product, taking the cores that
# neurona's own threads need for the memory-bound passes between products (im2col, pooling):
# a CNN training step is about 20% slower. Let them sleep at once instead. This only takes
# effect when neurona is imported before NumPy (or when the variable is set by the user).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")

from . import data, functional, losses, metrics, models, nn, optim, training, viz
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
from .training import callbacks, load_model, lr_find

__version__ = "0.1.0"
