"""The zoo's architectures in PyTorch (NCHW), initialised as neurona's (Glorot uniform, zero biases)."""

from __future__ import annotations

import torch
from torch import nn


class Residual(nn.Module):
    """The basic block: 3x3 conv-BN-ReLU, 3x3 conv-BN, shortcut (1x1 conv-BN when the shape changes), ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                                  nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
        self.short = (nn.Identity() if stride == 1 and c_in == c_out else
                      nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.body(x) + self.short(x)).relu()


def torch_model(name: str) -> nn.Module:
    if name == "lstm":
        return LSTMNet()
    if name == "unet":
        model = UNet()
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        return model
    if name == "mlp":
        layers = [nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10)]
    elif name == "cnn":
        layers = [nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1),
                  nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10)]
    elif name == "lenet5":
        layers = [nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2), nn.Conv2d(6, 16, 5), nn.Tanh(),
                  nn.AvgPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                  nn.Linear(84, 10)]
    elif name == "resnet20":
        layers = [nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
        c_in = 16
        for stage, width in enumerate((16, 32, 64)):
            for i in range(3):
                layers.append(Residual(c_in, width, 2 if stage and i == 0 else 1))
                c_in = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    else:
        raise ValueError(f"unknown model {name!r}")
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


class LSTMNet(nn.Module):
    """The image's 28 rows as a 28-step sequence into an LSTM of 128 units; the last state into Linear(10)."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(28, 128, batch_first=True)
        self.fc = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x[:, 0])  # (N, 1, 28, 28) -> (N, 28 steps, 28 features)
        return self.fc(out[:, -1])


class UNet(nn.Module):
    """benchmarks/neurona_models.py's UNet in PyTorch (NCHW)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1, self.enc2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)
        self.mid = nn.Conv2d(32, 64, 3, padding=1)
        self.up2, self.dec2 = nn.ConvTranspose2d(64, 32, 2, stride=2), nn.Conv2d(64, 32, 3, padding=1)
        self.up1, self.dec1 = nn.ConvTranspose2d(32, 16, 2, stride=2), nn.Conv2d(32, 16, 3, padding=1)
        self.out = nn.Conv2d(16, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x).relu()
        e2 = self.enc2(nn.functional.max_pool2d(e1, 2)).relu()
        m = self.mid(nn.functional.max_pool2d(e2, 2)).relu()
        d2 = self.dec2(torch.cat([self.up2(m), e2], 1)).relu()
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1)).relu()
        return self.out(d1)
