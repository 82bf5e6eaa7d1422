"""Per-pixel classification on Fashion-MNIST canvases, trained with U-Net (the course's "which class is each pixel").

Each input is a 64x64 canvas with two or three Fashion-MNIST items at random places; every
pixel is labelled 0 (background) or 1 + the class of the item drawn there (11 classes).

    python -m benchmarks.zoo_segmentation --train 2000 --test 500 --epochs 3 --width 0.25 --png seg.png

prints the parameters, epochs, wall time, pixel accuracy and mean IoU on the test canvases,
and draws input, truth and prediction for a few of them. Not part of the test run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

INK = 40  # an item's pixel belongs to it when brighter than this (0..255): the rest stays background


def make_canvas_task(images: np.ndarray, labels: np.ndarray, n: int, size: int = 64, items: tuple[int, int] = (2, 3),
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` canvases (n, size, size, 1) float32 in [0, 1] and their per-pixel labels (n, size, size) int64.

    Items (28x28, uint8) are pasted at random positions, a later item over an earlier one;
    a pixel's label is 1 + the class of the item whose ink covers it, else 0 (background).
    """
    rng = np.random.default_rng(seed)
    h, w = images.shape[1:3]
    if size < max(h, w):
        raise ValueError(f"make_canvas_task: the canvas ({size}) must be at least as large as an item {(h, w)}")
    x = np.zeros((n, size, size), np.float32)
    y = np.zeros((n, size, size), np.int64)
    for i in range(n):
        for _ in range(rng.integers(items[0], items[1] + 1)):
            k = rng.integers(len(images))
            r, c = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
            ink = images[k] > INK
            x[i, r:r + h, c:c + w][ink] = images[k][ink] / 255.0
            y[i, r:r + h, c:c + w][ink] = int(labels[k]) + 1
    return x[..., None], y


def main() -> None:
    import neurona as nr

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--test", type=int, default=500)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--png", default=None, help="draw input / truth / prediction for 4 test canvases")
    args = ap.parse_args()
    nr.manual_seed(0)
    (xtr, ytr), (xte, yte) = nr.data.load_fashion_mnist()
    x, y = make_canvas_task(xtr, ytr, args.train, seed=0)
    xt, yt = make_canvas_task(xte, yte, args.test, seed=1)
    model = nr.models.unet((64, 64, 1), 11, width=args.width)
    model.compile(nr.optim.Adam(lr=args.lr), "cross_entropy")
    start = time.perf_counter()
    model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, verbose=2)
    wall = time.perf_counter() - start
    pred = model.predict(xt, batch_size=64).argmax(axis=-1)
    acc, miou = nr.metrics.pixel_accuracy(yt, pred), nr.metrics.mean_iou(yt, pred, num_classes=11)
    background = float((yt == 0).mean())
    print(f"unet width={args.width}: {model.count_params():,} parameters, {args.epochs} epochs, {wall:.0f} s; "
          f"test pixel accuracy {acc:.4f} (all-background would score {background:.4f}), mean IoU {miou:.4f}")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(4, 3, figsize=(6, 8))
        for i in range(4):
            for j, (img, title) in enumerate(((xt[i, ..., 0], "input"), (yt[i], "truth"), (pred[i], "prediction"))):
                axes[i, j].imshow(img, cmap="gray" if j == 0 else "tab20", vmin=0, vmax=1 if j == 0 else 19,
                                  interpolation="nearest")
                axes[i, j].set_axis_off()
                if i == 0:
                    axes[i, j].set_title(title)
        fig.tight_layout()
        fig.savefig(args.png, dpi=80)
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
