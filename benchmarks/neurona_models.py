"""The benchmark models the zoo does not have, in neurona (benchmarks/torch_models.py has them in PyTorch)."""

from __future__ import annotations

from typing import Any

import neurona as nr
from neurona import nn


class UNet(nn.Module):
    """A small U-Net for 28x28 images: two 3x3 conv + 2x2 max-pool stages down, a 3x3 conv at 7x7,
    two stride-2 Conv2DTranspose stages up, each concatenated with the encoder's output of the
    same size (the skips) and followed by a 3x3 conv; a 1x1 conv to one channel."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Conv2D(16, 3, padding="same", activation="relu")
        self.enc2 = nn.Conv2D(32, 3, padding="same", activation="relu")
        self.mid = nn.Conv2D(64, 3, padding="same", activation="relu")
        self.up2 = nn.Conv2DTranspose(32, 2, strides=2)
        self.dec2 = nn.Conv2D(32, 3, padding="same", activation="relu")
        self.up1 = nn.Conv2DTranspose(16, 2, strides=2)
        self.dec1 = nn.Conv2D(16, 3, padding="same", activation="relu")
        self.out = nn.Conv2D(1, 1)
        self.pool = nn.MaxPool2D(2)

    def forward(self, x: Any) -> Any:
        e1 = self.enc1(x)                                           # (N, 28, 28, 16)
        e2 = self.enc2(self.pool(e1))                               # (N, 14, 14, 32)
        m = self.mid(self.pool(e2))                                 # (N, 7, 7, 64)
        d2 = self.dec2(nr.concat([self.up2(m), e2], axis=-1))       # (N, 14, 14, 32)
        d1 = self.dec1(nr.concat([self.up1(d2), e1], axis=-1))      # (N, 28, 28, 16)
        return self.out(d1)                                         # (N, 28, 28, 1)


def neurona_model(name: str) -> nn.Module:
    """A zoo model by name, or one of the benchmark's own: "lstm" (the image's 28 rows as 28 steps), "unet"."""
    if name == "lstm":
        return nn.Sequential([nn.Reshape((28, 28)), nn.LSTM(128), nn.Dense(10)])
    if name == "unet":
        return UNet()
    return nr.models.get(name, (28, 28, 1), 10)
