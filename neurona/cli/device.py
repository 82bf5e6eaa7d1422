"""--device: where a command runs."""

from __future__ import annotations

import neurona as nr

from .errors import UserError

DEVICES = ("cpu", "gpu")


def use_device(device: str | None) -> None:
    """Run on ``device`` ('cpu' or 'gpu'; None keeps NEURONA_DEVICE's or the default)."""
    if device is None:
        return
    try:
        nr.set_device(device)
    except (ValueError, RuntimeError) as exc:
        raise UserError(f"--device {device}: {exc}") from None
