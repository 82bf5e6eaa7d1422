"""What ``fit`` prints: a live progress bar per epoch (verbose=1) or one line per epoch (verbose=2).

verbose=1 draws a tqdm bar with the running loss and metrics, the throughput in
samples/s and the time left, then replaces it by the epoch's summary line.
verbose=2 prints only the summary lines (what a log file wants). "auto" picks 1
when the output is a terminal and 2 otherwise. Everything goes to ``sys.stdout``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .callback import Callback


def resolve_verbose(verbose: Any, stream: Any = None) -> int:
    """0, 1 or 2 from 0/1/2/"auto"/bool (auto: a bar on a terminal, one line per epoch otherwise)."""
    if verbose == "auto":
        stream = stream or sys.stdout
        return 1 if getattr(stream, "isatty", lambda: False)() else 2
    if verbose in (0, 1, 2):
        return int(verbose)
    raise ValueError(f"verbose must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")


def format_value(v: float) -> str:
    """4 decimals for ordinary magnitudes, scientific notation for tiny or huge ones."""
    if isinstance(v, (int, float)) and v != 0 and not (1e-3 <= abs(v) < 1e5):
        return f"{v:.3e}"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def format_logs(logs: dict[str, Any]) -> str:
    return " - ".join(f"{k}: {v:.3g}" if k == "lr" else f"{k}: {format_value(v)}" for k, v in logs.items())


class EpochLogger(Callback):
    """verbose=2: "Epoch 3/10 - 0.41s - 4,878 samples/s - loss: 0.2301 - val_loss: 0.2511 - lr: 0.001"."""

    def __init__(self) -> None:
        super().__init__()
        self.file = sys.stdout
        self._start = 0.0

    def on_train_begin(self, logs=None):
        self.file = sys.stdout  # looked up now, so redirected or captured output is followed

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def summary(self, epoch: int, logs: dict[str, Any]) -> str:
        seconds = time.perf_counter() - self._start
        head = f"Epoch {epoch + 1}/{self.params.get('epochs', '?')} - {seconds:.2f}s"
        samples = self.params.get("samples")
        if samples and seconds > 0:  # a data loader may not know its length
            head += f" - {samples / seconds:,.0f} samples/s"
        return f"{head} - {format_logs(logs or {})}"

    def on_epoch_end(self, epoch, logs=None):
        print(self.summary(epoch, logs), file=self.file, flush=True)


class ProgressBar(EpochLogger):
    """verbose=1: a bar per epoch with live loss/metrics, throughput and ETA, then the summary line."""

    refresh_seconds = 0.2  # how often the live metrics are recomputed (they can be costly, e.g. AUC)

    def __init__(self) -> None:
        super().__init__()
        self.bar = None
        self._shown = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        from tqdm.auto import tqdm

        super().on_epoch_begin(epoch, logs)
        self.bar = tqdm(total=self.params.get("samples") or None, unit="sample", unit_scale=True, leave=False,
                        desc=f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}", file=self.file,
                        dynamic_ncols=True, mininterval=self.refresh_seconds)
        self._shown = 0.0

    def on_train_batch_end(self, batch, logs=None):
        bar = self.bar
        if bar is None:
            return
        bar.update(logs.get("size", 0) if logs else 0)
        now = time.perf_counter()
        if now - self._shown >= self.refresh_seconds:
            self._shown = now
            live = self.params.get("live_logs")
            shown = live() if live is not None else {k: v for k, v in (logs or {}).items() if k == "loss"}
            bar.set_postfix_str(format_logs(shown), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self.bar is not None:  # training stopped inside an epoch
            self.bar.close()
            self.bar = None


def make_loggers(verbose: int) -> list[Callback]:
    return [] if verbose == 0 else [ProgressBar() if verbose == 1 else EpochLogger()]
