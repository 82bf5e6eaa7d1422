"""Layers and models: ``from neurona import nn``.

Keras-style constructors (input sizes inferred on the first call) and PyTorch-style
subclassing of ``nn.Module``. Images are channels-last ``(N, H, W, C)``.
"""

from ..losses import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from . import initializers, regularizers
from .augmentation import (
    RandomAffine,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomErasing,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from .blocks import InceptionBlock, ResidualBlock, SqueezeExcite
from .containers import Sequential
from .conv import Conv2D, Conv2DTranspose
from .conv1d import (
    AveragePooling1D,
    AvgPool1D,
    Conv1D,
    GlobalAveragePooling1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPooling1D,
    MaxPool1D,
    MaxPooling1D,
)
from .core import Activation, Dense, Dropout, Flatten, GaussianNoise, Reshape
from .dropconnect import DropConnect
from .embedding import Embedding
from .fusion import set_fusion
from .graph_model import Model, add, average, concatenate, maximum, minimum, multiply, subtract
from .input import Input
from .merge import Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract
from .module import (
    Module,
    ModuleList,
    Parameter,
    Parameters,
    deserialize_layer,
    find_layer_class,
    reset_names,
    serialize_layer,
    shapes_only,
)
from .normalization import BatchNorm, BatchNormalization, LayerNorm, LayerNormalization
from .padding import ZeroPadding2D
from .pooling import (
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling2D,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling2D,
    UpSampling2D,
)
from .preprocessing import Normalization, Rescaling
from .recurrent import GRU, LSTM, SimpleRNN
from .repeat import RepeatVector
from .separable import DepthwiseConv2D, SeparableConv2D
from .symbolic import SymbolicTensor
from .torch_style import AvgPool2d, Conv2d, Linear, LogSoftmax, MaxPool2d, ReLU, Sigmoid, Softmax, Tanh
from .wrappers import Bidirectional, TimeDistributed
