"""Layers and models: ``from neurona import nn``.

Keras-style constructors (input sizes inferred on the first call) and PyTorch-style
subclassing of ``nn.Module``. Images are channels-last ``(N, H, W, C)``.
"""

from . import initializers, regularizers
from .containers import Sequential
from .core import Activation, Dense, Dropout, Flatten, GaussianNoise, Input, Reshape
from .module import (
    Module, ModuleList, Parameter, Parameters, deserialize_layer, find_layer_class, reset_names, serialize_layer,
)
