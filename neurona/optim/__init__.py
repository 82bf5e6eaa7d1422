"""Optimizers: ``from neurona import optim``; ``optim.Adam(model.parameters(), lr=1e-3)``."""

from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD
