"""The benchmark workloads, each written once for neurona and once for PyTorch.

A workload runs in its own process (see ``worker.py``) so that its peak memory is its
own. Both sides get the same Fashion-MNIST arrays (float32, scaled to [0, 1]), the same
architecture, batch size and optimizer (Adam, lr 1e-3), and the same number of
threads. neurona trains with ``model.fit`` (what its users call); PyTorch with the
loop its users write. Timing starts after a short warm-up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

EPOCH = 60000


@dataclass
class Data:
    x_train: np.ndarray  # (N, 28, 28, 1) float32 in [0, 1]
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    smoke: bool = False  # tiny data: only checks that the harness works


def load_data(smoke: bool) -> Data:
    import neurona as nr

    try:
        (x_train, y_train), (x_test, y_test) = nr.data.load_fashion_mnist(download=False)
    except FileNotFoundError:
        if not smoke:
            raise
        rng = np.random.default_rng(0)  # the smoke run only checks that the harness works
        x_train, y_train = rng.integers(0, 256, (512, 28, 28), dtype=np.uint8), rng.integers(0, 10, 512)
        x_test, y_test = x_train[:256], y_train[:256]
    if smoke:
        x_train, y_train, x_test, y_test = x_train[:512], y_train[:512], x_test[:256], y_test[:256]
    scale = np.float32(1 / 255)
    return Data((x_train[..., None] * scale).astype(np.float32), y_train.astype(np.int64),
                (x_test[..., None] * scale).astype(np.float32), y_test.astype(np.int64), smoke)


@dataclass
class Workload:
    """One row of the benchmark table."""

    name: str
    title: str
    model: str  # mlp, cnn, lenet5, resnet20 (the zoo's), lstm, unet (neurona_models.py / torch_models.py), adam
    batch_size: int
    kind: str = "train"  # train | infer | accuracy | optim (the optimizer's update alone)
    steps: int | None = None  # time this many steps and scale to an epoch (for the slow models)
    augment: bool = False
    epochs: int = 1
    repeats: int = 1  # time this many epochs (or inference passes) in the process and take the median
    flops_per_sample: float = 0.0  # forward multiply-adds x 2, for the fraction of peak
    numpy_first: bool = False  # import NumPy before neurona (see neurona/__init__.py on OpenBLAS threads)
    loss: str = "cross_entropy"  # or "mse": the encoder-decoder learns to give back its input


def _dense_flops(sizes: list[int]) -> float:
    return sum(2.0 * a * b for a, b in zip(sizes[:-1], sizes[1:]))


def _conv_flops(h: int, w: int, k: int, c_in: int, c_out: int) -> float:
    return 2.0 * h * w * k * k * c_in * c_out


MLP_FLOPS = _dense_flops([784, 100, 10])
CNN_FLOPS = _conv_flops(28, 28, 3, 1, 32) + _conv_flops(14, 14, 3, 32, 64) + _dense_flops([3136, 128, 10])
LENET_FLOPS = _conv_flops(28, 28, 5, 1, 6) + _conv_flops(10, 10, 5, 6, 16) + _dense_flops([400, 120, 84, 10])
RESNET20_FLOPS = (_conv_flops(28, 28, 3, 1, 16) + 6 * _conv_flops(28, 28, 3, 16, 16)
                  + _conv_flops(14, 14, 3, 16, 32) + 5 * _conv_flops(14, 14, 3, 32, 32) + _conv_flops(14, 14, 1, 16, 32)
                  + _conv_flops(7, 7, 3, 32, 64) + 5 * _conv_flops(7, 7, 3, 64, 64) + _conv_flops(7, 7, 1, 32, 64))

LSTM_FLOPS = 28 * _dense_flops([28 + 128, 4 * 128]) + _dense_flops([128, 10])  # 28 steps of [x h] @ [W; U]
UNET_FLOPS = (_conv_flops(28, 28, 3, 1, 16) + _conv_flops(14, 14, 3, 16, 32) + _conv_flops(7, 7, 3, 32, 64)
              + _conv_flops(7, 7, 2, 64, 32) + _conv_flops(14, 14, 3, 64, 32)      # up2 (transposed), dec2
              + _conv_flops(14, 14, 2, 32, 16) + _conv_flops(28, 28, 3, 32, 16)    # up1 (transposed), dec1
              + _conv_flops(28, 28, 1, 16, 1))
ADAM_SHAPES = [(784, 1000), (1000,), (1000, 215), (215,)]  # 1,000,215 parameters, as a 784-1000-215 MLP's
ADAM_STEPS = 100

WORKLOADS = {w.name: w for w in [
    Workload("mlp_b128", "MLP 784-100-10, Adam, batch 128", "mlp", 128, flops_per_sample=MLP_FLOPS, repeats=5),
    Workload("mlp_b10", "MLP 784-100-10, Adam, batch 10", "mlp", 10, flops_per_sample=MLP_FLOPS, repeats=3),
    Workload("cnn_b128", "reference CNN, Adam, batch 128", "cnn", 128, flops_per_sample=CNN_FLOPS),
    Workload("cnn_b128_numpy_first", "reference CNN, batch 128, NumPy imported before neurona", "cnn", 128,
             flops_per_sample=CNN_FLOPS, numpy_first=True),
    Workload("cnn_aug_b128", "reference CNN + augmentation, batch 128", "cnn", 128, augment=True,
             flops_per_sample=CNN_FLOPS),
    Workload("lenet5_b128", "LeNet-5, Adam, batch 128", "lenet5", 128, flops_per_sample=LENET_FLOPS),
    Workload("resnet20_b128", "ResNet-20, Adam, batch 128, scaled to an epoch", "resnet20", 128,
             steps=60, flops_per_sample=RESNET20_FLOPS),
    Workload("lstm_b128", "LSTM 128 units, rows as 28 steps, Adam, batch 128, scaled to an epoch", "lstm", 128,
             steps=60, flops_per_sample=LSTM_FLOPS),
    Workload("unet_b128", "U-Net-style encoder-decoder (Conv2DTranspose), MSE, Adam, batch 128, scaled to an epoch",
             "unet", 128, steps=30, flops_per_sample=UNET_FLOPS, loss="mse"),
    Workload("adam_1m", f"Adam's update alone, 1,000,215 parameters in 4 tensors, {ADAM_STEPS} steps", "adam", 0,
             kind="optim", repeats=5),
    Workload("mlp_infer", "MLP inference, 10,000 images, batch 1000", "mlp", 1000, kind="infer",
             flops_per_sample=MLP_FLOPS, repeats=20),
    Workload("cnn_infer", "reference CNN inference, 10,000 images, batch 1000", "cnn", 1000, kind="infer",
             flops_per_sample=CNN_FLOPS, repeats=3),
    Workload("mlp_accuracy", "MLP test accuracy after 5 epochs", "mlp", 128, kind="accuracy", epochs=5),
    Workload("cnn_accuracy", "reference CNN test accuracy after 2 epochs", "cnn", 128, kind="accuracy", epochs=2),
]}


def timed(repeats: int, work: Callable[[], Any]) -> float:
    """Seconds work() takes: the median of ``repeats`` runs (short workloads are noisy)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# ---------------------------------------------------------------------------------------------- neurona
def run_neurona(w: Workload, data: Data, seed: int) -> dict[str, Any]:
    import neurona as nr
    from neurona import nn

    from .neurona_models import neurona_model

    nr.manual_seed(seed)
    if w.kind == "optim":
        return _neurona_adam(w, seed, data.smoke)
    model = neurona_model(w.model)
    if w.augment:
        model = nn.Sequential([nn.RandomFlip("horizontal"), nn.RandomRotation(0.05), nn.RandomTranslation(0.1, 0.1),
                               nn.RandomZoom(0.1)] + model.layers)
        model.build((None, 28, 28, 1))
    model.compile(optimizer=nr.optim.Adam(lr=1e-3), loss=w.loss)
    x, y = data.x_train, (data.x_train if w.loss == "mse" else data.y_train)
    if w.kind == "infer":
        model.predict(data.x_test[:w.batch_size], batch_size=w.batch_size)
        seconds = timed(w.repeats, lambda: model.predict(data.x_test, batch_size=w.batch_size))
        return {"seconds": seconds, "samples": len(data.x_test)}
    model.fit(x[:w.batch_size * 3], y[:w.batch_size * 3], batch_size=w.batch_size, verbose=0)  # warm-up
    n = len(x) if w.steps is None else min(len(x), w.steps * w.batch_size)
    seconds = timed(w.repeats, lambda: model.fit(x[:n], y[:n], epochs=w.epochs, batch_size=w.batch_size, verbose=0))
    result = {"seconds": seconds, "samples": n * w.epochs}
    if w.kind == "accuracy":
        result["accuracy"] = float((model.predict(data.x_test, 1000).argmax(-1) == data.y_test).mean())
    return result


def _adam_inputs(seed: int, smoke: bool) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Starting weights and fixed gradients for the Adam row (the same in both frameworks), and the steps."""
    rng = np.random.default_rng(seed)
    weights = [(0.01 * rng.standard_normal(s)).astype(np.float32) for s in ADAM_SHAPES]
    grads = [rng.standard_normal(s).astype(np.float32) for s in ADAM_SHAPES]
    return weights, grads, 2 if smoke else ADAM_STEPS


def _neurona_adam(w: Workload, seed: int, smoke: bool) -> dict[str, Any]:
    import neurona as nr

    weights, grads, steps = _adam_inputs(seed, smoke)
    params = [nr.nn.Parameter(a) for a in weights]
    for p, g in zip(params, grads):
        p.grad = g
    opt = nr.optim.Adam(params, lr=1e-3)
    opt.step()  # warm-up: allocates the moments

    def steps_() -> None:
        for _ in range(steps):
            opt.step()

    return {"seconds": timed(w.repeats, steps_), "samples": steps}


# ---------------------------------------------------------------------------------------------- PyTorch
def run_torch(w: Workload, data: Data, seed: int) -> dict[str, Any]:
    import torch  # only the PyTorch worker imports torch, so neurona's peak memory is its own

    from .torch_models import torch_model

    torch.manual_seed(seed)
    if w.kind == "optim":
        return _torch_adam(w, seed, data.smoke)
    model = torch_model(w.model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss() if w.loss == "mse" else torch.nn.CrossEntropyLoss()
    # (N, 28, 28, 1) viewed as (N, 1, 28, 28): with one channel the memory layout is the same, no copy
    x = torch.from_numpy(data.x_train.transpose(0, 3, 1, 2))
    y = x if w.loss == "mse" else torch.from_numpy(data.y_train)
    x_test = torch.from_numpy(data.x_test.transpose(0, 3, 1, 2))

    def predict(xs: Any) -> Any:
        model.eval()
        with torch.no_grad():
            out = torch.cat([model(xs[i:i + w.batch_size]) for i in range(0, len(xs), w.batch_size)])
        model.train()
        return out

    if w.kind == "infer":
        predict(x_test[:w.batch_size])
        return {"seconds": timed(w.repeats, lambda: predict(x_test)), "samples": len(x_test)}

    def epoch(n: int) -> None:
        order = torch.randperm(n)
        for i in range(0, n, w.batch_size):
            idx = order[i:i + w.batch_size]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()

    epoch(w.batch_size * 3)  # warm-up
    n = len(x) if w.steps is None else min(len(x), w.steps * w.batch_size)

    def epochs() -> None:
        for _ in range(w.epochs):
            epoch(n)

    seconds = timed(w.repeats, epochs)
    result = {"seconds": seconds, "samples": n * w.epochs}
    if w.kind == "accuracy":
        result["accuracy"] = float((predict(x_test).argmax(-1).numpy() == data.y_test).mean())
    return result


def _torch_adam(w: Workload, seed: int, smoke: bool) -> dict[str, Any]:
    import torch

    weights, grads, steps = _adam_inputs(seed, smoke)
    params = [torch.tensor(a, requires_grad=True) for a in weights]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g)
    opt = torch.optim.Adam(params, lr=1e-3)
    opt.step()

    def steps_() -> None:
        for _ in range(steps):
            opt.step()

    return {"seconds": timed(w.repeats, steps_), "samples": steps}


RUNNERS: dict[str, Callable[[Workload, Data, int], dict[str, Any]]] = {"neurona": run_neurona, "torch": run_torch}
