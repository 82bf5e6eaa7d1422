"""The model zoo: the course's classic networks (and, as they arrive, LeNet to SENet)."""

from .classic_mlp import ClassicMLP
from .perceptron import Perceptron
