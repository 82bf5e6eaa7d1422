"""What augmentation costs: per batch, against PyTorch, and as a share of a CNN training step.

    .venv/bin/python benchmarks/augment_speed.py [--batch 128] [--rounds 15] [--threads 2]

1. The pipeline flip + rotation + translation + zoom (Keras-style layers, bilinear,
   reflect fill) on a batch of 28x28x1 images, each transform and the whole, against
   the same transforms written with torch's ``affine_grid`` + ``grid_sample`` (on 1 and
   on ``--threads`` threads: on a loaded machine torch's thread pool can stall).
2. A training step of the reference CNN (Conv2D(32, 3, same, relu), MaxPool2D,
   Conv2D(64, 3, same, relu), MaxPool2D, Flatten, Dense(128, relu), Dense(10); Adam)
   without augmentation, with the pipeline as layers at the start of the model, and
   with it as a DataLoader transform. The issue's budget: augmentation adds at most 20%.

Variants alternate in blocks so that all see the same machine load; medians are compared.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as TF

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.data import DataLoader
from neurona.functional import augmentation as A

FACTOR = 0.1  # rotation +-36 degrees, shifts and zooms of +-10%


def batch_of_images(n: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Fashion-MNIST when it is on disk (no download), random images otherwise."""
    try:
        from neurona.data import load_fashion_mnist

        (x, y), _ = load_fashion_mnist(download=False)
        return x[:n], y[:n], "Fashion-MNIST"
    except (FileNotFoundError, ValueError):
        r = np.random.default_rng(0)
        return r.integers(0, 256, (n, 28, 28), dtype=np.uint8), r.integers(0, 10, n), "random images"


# ---------------------------------------------------------------- 1. the transforms
def neurona_transforms() -> dict:
    def pipeline(x):
        x = A.random_flip(x, "horizontal")
        x = A.random_rotation(x, FACTOR)
        x = A.random_translation(x, FACTOR, FACTOR)
        return A.random_zoom(x, FACTOR)

    def fused(x):
        return A.random_affine(A.random_flip(x, "horizontal"), FACTOR, (FACTOR, FACTOR), FACTOR)

    return {"flip": lambda x: A.random_flip(x, "horizontal"), "rotation": lambda x: A.random_rotation(x, FACTOR),
            "translation": lambda x: A.random_translation(x, FACTOR, FACTOR),
            "zoom": lambda x: A.random_zoom(x, FACTOR), "pipeline": pipeline, "flip+affine": fused}


def torch_transforms() -> dict:
    """The same transforms in torch, batched: one affine_grid + grid_sample each (reflection, bilinear)."""
    def affine(x, theta):
        grid = TF.affine_grid(theta, list(x.shape), align_corners=False)
        return TF.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    def eye(n):
        return torch.eye(2, 3).repeat(n, 1, 1)

    def flip(x):
        mask = (torch.rand(len(x)) < 0.5).view(-1, 1, 1, 1)
        return torch.where(mask, x.flip(3), x)

    def rotation(x):
        a = (torch.rand(len(x)) * 2 - 1) * (FACTOR * 2 * math.pi)
        theta = eye(len(x))
        theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = a.cos(), -a.sin(), a.sin(), a.cos()
        return affine(x, theta)

    def translation(x):
        theta = eye(len(x))
        theta[:, :, 2] = (torch.rand(len(x), 2) * 2 - 1) * (2 * FACTOR)
        return affine(x, theta)

    def zoom(x):
        z = 1 + (torch.rand(len(x)) * 2 - 1) * FACTOR
        theta = eye(len(x))
        theta[:, 0, 0], theta[:, 1, 1] = z, z
        return affine(x, theta)

    def fused(x):
        n = len(x)
        a = (torch.rand(n) * 2 - 1) * (FACTOR * 2 * math.pi)
        z = 1 + (torch.rand(n) * 2 - 1) * FACTOR
        theta = eye(n)
        c, s = z * a.cos(), z * a.sin()
        theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = c, -s, s, c
        theta[:, :, 2] = (torch.rand(n, 2) * 2 - 1) * (2 * FACTOR)
        return affine(flip(x), theta)

    return {"flip": flip, "rotation": rotation, "translation": translation, "zoom": zoom,
            "pipeline": lambda x: zoom(translation(rotation(flip(x)))), "flip+affine": fused}


def alternate(fns: list, rounds: int, steps: int) -> list[float]:
    """Median seconds per call of each function, measured in alternating blocks of ``steps`` calls."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, out in zip(fns, times, strict=True):
            start = time.perf_counter()
            for _ in range(steps):
                fn()
            out.append((time.perf_counter() - start) / steps)
    return [statistics.median(t) for t in times]


def bench_transforms(x: np.ndarray, rounds: int, threads: int) -> None:
    xf = (x[..., None] / 255).astype(np.float32)
    xt = torch.tensor(xf).permute(0, 3, 1, 2).contiguous()
    ours, theirs = neurona_transforms(), torch_transforms()
    counts = sorted({1, threads})
    print(f"\n1. transforms on a batch {xf.shape} float32 (ms per batch, median)")
    print(f"   {'transform':<12} {'neurona':>9}" + "".join(f" {f'torch/{n}thr':>11} {'ratio':>6}" for n in counts))
    for name in ours:
        line = ""
        for n in counts:
            torch.set_num_threads(n)
            a, b = alternate([lambda f=ours[name]: f(xf), lambda f=theirs[name]: f(xt)], rounds, steps=5)
            line += f" {b * 1e3:11.2f} {a / b:6.2f}"
        print(f"   {name:<12} {a * 1e3:9.2f}" + line)
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- 2. the CNN step
def augmentation(fused: bool) -> list:
    if fused:
        return [nn.RandomFlip("horizontal"), nn.RandomAffine(FACTOR, (FACTOR, FACTOR), FACTOR)]
    return [nn.RandomFlip("horizontal"), nn.RandomRotation(FACTOR), nn.RandomTranslation(FACTOR, FACTOR),
            nn.RandomZoom(FACTOR)]


def cnn(augment: list) -> nn.Sequential:
    return nn.Sequential(augment + [
        nn.Rescaling(1 / 255),
        nn.Conv2D(32, 3, padding="same", activation="relu"), nn.MaxPool2D(2),
        nn.Conv2D(64, 3, padding="same", activation="relu"), nn.MaxPool2D(2),
        nn.Flatten(), nn.Dense(128, activation="relu"), nn.Dense(10),
    ])


def step_fn(model: nn.Module, batches):
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model.train()

    def step() -> None:
        xb, yb = next(batches)
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()

    step()  # builds the lazy layers before the optimizer's first real step
    return step


def forever(loader: DataLoader):
    while True:
        yield from loader


def bench_cnn(x: np.ndarray, y: np.ndarray, batch: int, rounds: int) -> None:
    x4 = x[..., None]
    plain = DataLoader(x4, y, batch_size=batch, shuffle=True, drop_last=True)
    augmented = DataLoader(x4, y, batch_size=batch, shuffle=True, drop_last=True,
                           transform=nn.Sequential(augmentation(fused=False)))
    nr.manual_seed(0)
    variants = {"no augmentation": step_fn(cnn([]), forever(plain)),
                "4 augmentation layers in the model": step_fn(cnn(augmentation(fused=False)), forever(plain)),
                "4 layers as DataLoader transform": step_fn(cnn([]), forever(augmented)),
                "RandomFlip + RandomAffine in the model": step_fn(cnn(augmentation(fused=True)), forever(plain))}
    times = alternate(list(variants.values()), rounds, steps=3)
    base = times[0]
    print(f"\n2. reference CNN training step, batch {batch} (forward + backward + Adam)")
    for (name, _), t in zip(variants.items(), times, strict=True):
        epoch = t * 60000 / batch
        print(f"   {name:<38} {t * 1e3:8.1f} ms/step  {epoch:6.1f} s/epoch (60k)  x{t / base:.3f}")
    worst = max(times[1:]) / base - 1
    print(f"   augmentation adds {100 * (min(times[1:]) / base - 1):.1f}% to {100 * worst:.1f}% "
          f"(budget: 20%) -> {'OK' if worst <= 0.20 else 'OVER BUDGET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-cnn", action="store_true", help="only time the transforms")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    x, y, source = batch_of_images(max(args.batch * 8, 1024))
    print(f"data: {source}; torch {torch.__version__} on {args.threads} threads; numpy {np.__version__}")
    bench_transforms(x[:args.batch], args.rounds, args.threads)
    if not args.skip_cnn:
        bench_cnn(x, y, args.batch, args.rounds)


if __name__ == "__main__":
    main()
