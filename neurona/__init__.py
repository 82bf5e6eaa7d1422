"""neurona: a deep-learning framework from first principles, on NumPy (CPU) and CuPy (GPU).

>>> import neurona as nr
>>> from neurona import nn, optim, functional as F
"""

# Importing neurona changes nothing in the process: BLAS threads, flush-to-zero and the
# allocator are set only inside ``performance()`` (fit, evaluate, predict, the CLI).
from numpy import float32, float64, int32, int64, uint8

from . import (
    callbacks,
    cuda,
    data,
    datasets,
    functional,
    layers,
    losses,
    metrics,
    models,
    nn,
    optim,
    optimizers,
    training,
    utils,
    viz,
)
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
from .cuda import accelerator, backends, device
from .graphs import jit  # nr.jit(model) / nr.jit.train_step(...): traced, optimised, replayed (neurona/graphs)
from .graphs.onnx import load_onnx  # onnx itself is imported only when a file is read
from .kernels import performance
from .nn import Input, Model, Sequential  # keras.Input / keras.Model / keras.Sequential
from .serialization import load, save
from .training import load_checkpoint, load_model, lr_find, save_checkpoint

# PyTorch's dtype names, so that ``x.type(nr.float)`` and ``dtype=nr.long`` read as in a PyTorch script
float = float32  # noqa: A001
double = float64
long = int64

__version__ = "0.1.0"

__all__ = [
    "Function", "Tensor", "accelerator", "apply", "backends", "callbacks", "concat", "cuda", "data", "datasets",
    "detect_anomaly", "device", "enable_grad", "flatten", "functional", "jit", "load", "save", "utils",
    "Input", "Model", "Sequential", "layers", "optimizers",  # Keras's layout
    "load_checkpoint", "save_checkpoint",  # the course's hand-written loop
    "load_onnx",  # ONNX files as neurona models (model.export writes them)
    "get_default_dtype", "get_device", "gpu_available", "is_grad_enabled", "load_model", "losses", "lr_find",
    "manual_seed", "metrics", "models", "nn", "no_grad", "optim", "performance", "set_default_dtype", "set_device",
    "set_grad_enabled", "stack", "tensor", "training", "viz",
    "double", "float", "float32", "float64", "int32", "int64", "long", "uint8",  # PyTorch's dtype names
]
