"""Keras-style training: compile / fit / evaluate / predict, callbacks, history, saving, lr_find.

``model.compile``, ``model.fit`` and friends (on every ``nn.Module``) delegate here.
"""

from . import callbacks
from .checkpoint import load_checkpoint, save_checkpoint
from .history import History
from .loop import TrainingWarning, fit
from .lr_finder import LRFinderResult, lr_find
from .sampling import HardExampleSampler
from .saving import ModelFileError, load_model, load_weights, save_model, save_weights
from .trainer import Trainer, compile_model, get_optimizer, get_trainer, keras_result, predict

__all__ = [
    "HardExampleSampler", "History", "LRFinderResult", "ModelFileError", "Trainer", "TrainingWarning", "callbacks",
    "compile_model", "fit", "get_optimizer", "get_trainer", "keras_result", "load_model", "load_weights", "lr_find",
    "load_checkpoint", "predict", "save_checkpoint",
    "save_model", "save_weights",
]
