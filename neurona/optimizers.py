"""``keras.optimizers`` by its Keras names: ``keras.optimizers.Adam(1e-3)`` or ``Adam(learning_rate=1e-3)``.

The very classes of ``neurona.optim`` (``optimizers.Adam is optim.Adam``): the learning rate may come
first or as ``learning_rate=``; the other hyperparameters keep torch.optim's names and defaults
(Adam's ``eps`` is 1e-8, Keras's ``epsilon`` 1e-7), see ``docs/PORTING.md``.
"""

from .optim import SGD, Adadelta, Adagrad, Adam, AdamW, Optimizer, RMSprop, schedules

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "schedules"]
