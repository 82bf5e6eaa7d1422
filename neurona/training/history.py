"""``History``: what ``fit`` returns, the per-epoch record of the loss, metrics and learning rate."""

from __future__ import annotations

from typing import Any

from .callback import Callback


class History(Callback):
    """``history.history`` maps "loss", each metric, their "val_" versions and "lr" to one value per epoch;
    ``history.epoch`` lists the epoch numbers (from 0). ``stop_reason`` says why training ended early
    (empty when it ran every epoch).

    >>> h = model.fit(x, y, epochs=3, validation_split=0.1)
    >>> h.history["val_loss"]          # three floats
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stop_reason = ""

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch = []
        self.history = {}
        self.stop_reason = ""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def get_state(self) -> dict[str, Any]:
        return {"history": self.history, "epoch": self.epoch}

    def set_state(self, state: dict[str, Any]) -> None:
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        self.epoch = list(state.get("epoch", []))

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History({len(self.epoch)} epochs: {keys})"
