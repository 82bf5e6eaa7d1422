"""Optimizers: ``from neurona import optim``; ``optim.Adam(model.parameters(), lr=1e-3)``."""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .optimizer import Optimizer
from .plateau import ReduceLROnPlateau
from .rmsprop import RMSprop
from .schedules import (
    CosineDecay,
    ExponentialDecay,
    LearningRateSchedule,
    PiecewiseConstant,
    StepDecay,
    get_schedule,
    serialize_schedule,
)
from .sgd import SGD

__all__ = [
    "Adadelta", "Adagrad", "Adam", "AdamW", "CosineDecay", "ExponentialDecay", "LearningRateSchedule", "Optimizer",
    "PiecewiseConstant", "RMSprop", "ReduceLROnPlateau", "SGD", "StepDecay", "clip_grad_norm_", "clip_grad_value_",
    "get_schedule", "lr_scheduler", "serialize_schedule",
]
