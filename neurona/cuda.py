"""``torch.cuda``-style queries and ``nr.device``: where neurona computes.

>>> device = "cuda" if nr.cuda.is_available() else "cpu"
>>> model.to(device); xb = xb.to(device)       # "cuda" is neurona's "gpu" (CuPy)
"""

from __future__ import annotations

from . import backend


class device(str):  # noqa: N801 (PyTorch's name)
    """A device name as ``torch.device``: ``nr.device("cpu")``, ``nr.device("cuda")`` (= "gpu"), ``nr.device("gpu")``.

    It is the canonical string itself ("cpu" or "gpu"), so it goes wherever a device name does;
    ``.type`` is PyTorch's spelling ("cpu" or "cuda"). Creating one checks the name, not the
    hardware: moving data to a GPU that is absent raises then, with the reason.
    """

    def __new__(cls, name: str = "cpu", index: int | None = None) -> device:
        raw = str(name)
        canonical = "gpu" if raw in ("cuda", "gpu") or raw.startswith("cuda:") else raw
        if canonical not in backend.DEVICES:
            raise ValueError(f"device must be 'cpu', 'gpu' or 'cuda'. Received: {name!r}")
        return super().__new__(cls, canonical)

    @property
    def type(self) -> str:
        return "cuda" if str(self) == "gpu" else "cpu"

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"


def is_available() -> bool:
    """True when a GPU can be used through CuPy (the same as ``nr.gpu_available()``)."""
    return backend.gpu_available()


def device_count() -> int:
    """How many GPUs neurona can use: 1 when one is available (neurona uses one), else 0."""
    return 1 if backend.gpu_available() else 0


def current_device() -> int:
    """The GPU's index, 0 (neurona computes on one GPU)."""
    return 0


class accelerator:  # noqa: N801 (PyTorch's module name)
    """``torch.accelerator``: ``nr.accelerator.is_available()``, ``nr.accelerator.current_accelerator()``."""

    @staticmethod
    def is_available() -> bool:
        return backend.gpu_available()

    @staticmethod
    def current_accelerator() -> device | None:
        """The GPU as a ``device``, or None without one (as PyTorch)."""
        return device("gpu") if backend.gpu_available() else None


class backends:  # noqa: N801 (PyTorch's module name)
    """``torch.backends``: only ``backends.mps.is_available()``, always False (neurona runs on CPU or CUDA)."""

    class mps:  # noqa: N801
        @staticmethod
        def is_available() -> bool:
            return False
