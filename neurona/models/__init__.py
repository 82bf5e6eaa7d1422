"""The model zoo: the course's classic networks and ready-made image classifiers.

``Perceptron`` and ``ClassicMLP`` are the course's first networks, with their own
learning rules written out; ``get(name, input_shape, num_classes)`` builds the
networks listed by ``available()`` (LeNet to SE-ResNet and U-Net) as models that output logits.
"""

from ..nn import Model, Sequential  # keras.models.Sequential / Model / load_model, beside the zoo
from ..training import load_model
from .alexnet import alexnet, zfnet
from .classic_mlp import ClassicMLP
from .googlenet import googlenet
from .perceptron import Perceptron
from .resnet import resnet18, resnet34, resnet50, se_resnet
from .unet import unet
from .vgg import vgg, vgg11, vgg16
from .zoo import MODELS, available, get, lenet5, mlp, reference_cnn, resnet, resnet20

__all__ = [
    "Model", "Sequential", "load_model",
    "ClassicMLP", "MODELS", "Perceptron", "available", "get", "lenet5", "mlp", "reference_cnn", "resnet", "resnet20",
    "alexnet", "zfnet", "vgg", "vgg11", "vgg16", "googlenet", "resnet18", "resnet34", "resnet50", "se_resnet", "unet",
]
