"""The model zoo: the course's classic networks and ready-made image classifiers.

``Perceptron`` and ``ClassicMLP`` are the course's first networks, with their own
learning rules written out; ``get(name, input_shape, num_classes)`` builds the
networks listed by ``available()`` as ``nn.Sequential`` models that output logits.
"""

from .classic_mlp import ClassicMLP
from .perceptron import Perceptron
from .zoo import MODELS, available, get, lenet5, mlp, reference_cnn, resnet, resnet20
