"""Callbacks for ``fit``, with Keras's names and hooks: ``nr.callbacks.EarlyStopping(patience=3)``.

This module holds only the public names (``nr.callbacks`` shows the callbacks, not the modules
they are written with); the classes live in :mod:`neurona.training.callbacks`.
"""

from .training.callbacks import (
    BackupAndRestore,
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TensorBoard,
    TerminateOnNaN,
)

__all__ = [
    "BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
    "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau", "TensorBoard", "TerminateOnNaN",
]
