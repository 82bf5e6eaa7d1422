"""``torch.optim.lr_scheduler`` spelled ``optim.lr_scheduler``: epoch schedulers driven by ``.step()``.

They compute the rate with neurona's schedules (``StepDecay``, ``ExponentialDecay``) from
each parameter group's initial lr; ``ReduceLROnPlateau`` is ``optim.ReduceLROnPlateau``.

>>> scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
>>> for epoch in range(epochs):
...     train(...); scheduler.step()
"""

from __future__ import annotations

from typing import Any

from .optimizer import Optimizer
from .plateau import ReduceLROnPlateau
from .schedules import ExponentialDecay, LearningRateSchedule, StepDecay


class LRScheduler:
    """Base: each ``step()`` advances the epoch count and sets every group's lr to ``schedule(epoch)``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected a neurona Optimizer. "
                            f"Received: {type(optimizer).__name__}")
        if last_epoch != -1:
            raise ValueError(f"{type(self).__name__}: resuming with last_epoch is done with load_state_dict. "
                             f"Received: last_epoch={last_epoch}")
        groups = optimizer.param_groups or [optimizer.defaults]
        for group in groups:
            if callable(group["lr"]):
                raise TypeError(f"{type(self).__name__}: the optimizer's lr is already a schedule "
                                f"({group['lr']!r}); use one or the other")
            group.setdefault("initial_lr", float(group["lr"]))
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in groups]
        self.schedules = [self.make_schedule(lr) for lr in self.base_lrs]
        self.last_epoch = 0
        self._apply()

    def make_schedule(self, base_lr: float) -> LearningRateSchedule:
        raise NotImplementedError

    def _groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups or [self.optimizer.defaults]

    def _apply(self) -> None:
        for group, schedule in zip(self._groups(), self.schedules):
            group["lr"] = schedule(self.last_epoch)
        self._last_lr = [group["lr"] for group in self._groups()]

    def step(self) -> None:
        """Advance one epoch (call it after the epoch's ``optimizer.step()`` calls)."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        """The rate of each parameter group set by the last step."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.base_lrs = [float(v) for v in state_dict["base_lrs"]]
        self.schedules = [self.make_schedule(lr) for lr in self.base_lrs]
        self.last_epoch = int(state_dict["last_epoch"])
        self._apply()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class StepLR(LRScheduler):
    """lr = initial_lr * gamma ** (epoch // step_size), as ``torch.optim.lr_scheduler.StepLR``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def make_schedule(self, base_lr: float) -> LearningRateSchedule:
        return StepDecay(base_lr, self.step_size, self.gamma)


class ExponentialLR(LRScheduler):
    """lr = initial_lr * gamma ** epoch, as ``torch.optim.lr_scheduler.ExponentialLR``."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def make_schedule(self, base_lr: float) -> LearningRateSchedule:
        return ExponentialDecay(base_lr, 1, self.gamma)


__all__ = ["ExponentialLR", "LRScheduler", "ReduceLROnPlateau", "StepLR"]
