"""``TensorBoard``: Keras's callback, writing real TensorBoard event files through tensorboardX.

    model.fit(x, y, validation_split=0.1, callbacks=[nr.callbacks.TensorBoard("logs")])
    # then:  tensorboard --logdir logs      (pip install tensorboard), and open http://localhost:6006

As Keras, the training values go to ``log_dir/train`` and the validation values to
``log_dir/validation``, under the names ``epoch_loss``, ``epoch_accuracy``, ... so that TensorBoard
draws each metric's two curves in one chart; ``epoch_learning_rate`` is the learning rate.
``update_freq="batch"`` (or every N batches) adds ``batch_loss``; ``histogram_freq=N`` adds a
histogram of every weight every N epochs. The writer is tensorboardX (``pip install neurona[tensorboard]``).
"""

from __future__ import annotations

import os
from typing import Any

from .. import backend
from .callback import Callback


def _writer_class() -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ImportError("TensorBoard callback: the event files are written with tensorboardX, which is not "
                          "installed. Install it with `pip install tensorboardX` (or neurona[tensorboard])") from None
    return SummaryWriter


class TensorBoard(Callback):
    """Write loss, metrics, learning rate (and weight histograms) as TensorBoard event files.

    log_dir: the folder (``train/`` and ``validation/`` are made inside). histogram_freq: every
    how many epochs to write weight histograms (0: never). update_freq: "epoch", "batch" or an int
    (every that many batches, the running training loss as ``batch_loss``). Keras's other
    arguments (write_graph, write_images, write_steps_per_second, profile_batch, embeddings_freq,
    embeddings_metadata) are accepted and write nothing.
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: Any = "epoch",
                 profile_batch: Any = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None) -> None:
        super().__init__()
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an integer >= 0. Received: "
                             f"histogram_freq={histogram_freq!r}")
        if update_freq not in ("epoch", "batch") and (isinstance(update_freq, bool) or
                                                      not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer. "
                             f"Received: update_freq={update_freq!r}")
        self.writer_class = _writer_class()  # fails here, at construction, when tensorboardX is missing
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.writers: dict[str, Any] = {}
        self.step = 0  # batches seen over the whole fit

    def _writer(self, which: str) -> Any:
        if which not in self.writers:
            # tensorboardX writes from a thread that flush() does not wait for: flush_secs bounds how late
            # TensorBoard sees an epoch during training; on_train_end closes the writers, writing everything.
            self.writers[which] = self.writer_class(os.path.join(self.log_dir, which), flush_secs=5)
        return self.writers[which]

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.step = 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.step += 1
        if self.update_freq != "epoch" and self.step % self.update_freq == 0 and logs and "loss" in logs:
            self._writer("train").add_scalar("batch_loss", float(logs["loss"]), self.step)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            if not isinstance(value, (int, float)):
                continue
            if key == "lr":
                self._writer("train").add_scalar("epoch_learning_rate", float(value), epoch)
            elif key.startswith("val_"):
                self._writer("validation").add_scalar(f"epoch_{key[4:]}", float(value), epoch)
            else:
                self._writer("train").add_scalar(f"epoch_{key}", float(value), epoch)
        if self.histogram_freq and (epoch + 1) % self.histogram_freq == 0:
            for name, p in self.model.named_parameters():
                self._writer("train").add_histogram(name, backend.to_numpy(p.data), epoch)

    def on_train_end(self, logs: dict | None = None) -> None:
        for w in self.writers.values():
            w.close()
        self.writers = {}


__all__ = ["TensorBoard"]
