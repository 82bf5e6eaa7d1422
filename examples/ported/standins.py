"""Local stand-ins, in the original files' formats, for data sets the Keras ports cannot download here.

Each writes a file once (seeded, so the same bytes every time) and returns its path. The numbers
are synthetic: they have the shape and format of the real data, not its content, so the ported
scripts' accuracies say nothing about the originals' results.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

ROOT = Path(os.environ.get("NEURONA_PORT_DATA", Path.home() / ".neurona" / "port_standins"))


def creditcard_csv(rows: int = 20000) -> str:
    """Kaggle's creditcard.csv layout: a quoted header "Time","V1".."V28","Amount","Class", then rows of
    31 numbers with the class quoted ("0"/"1"); ~0.5% frauds whose V-features are shifted."""
    path = ROOT / f"creditcard_{rows}.csv"
    if not path.exists():
        rng = np.random.default_rng(0)
        y = (rng.random(rows) < 0.005).astype(int)
        y[:3] = 1  # a few frauds even in a tiny file
        v = rng.normal(size=(rows, 28)) + y[:, None] * rng.normal(1.5, 0.5, size=28)
        t = np.sort(rng.uniform(0, 172792, rows)).round()
        amount = rng.lognormal(3, 1.5, rows).round(2)
        header = ",".join(f'"{c}"' for c in ["Time", *(f"V{i}" for i in range(1, 29)), "Amount", "Class"])
        lines = [header] + [",".join([f"{t[i]:.0f}", *(f"{a:.6f}" for a in v[i]), f"{amount[i]:.2f}", f'"{y[i]}"'])
                            for i in range(rows)]
        _write(path, "\n".join(lines) + "\n")
    return str(path)


def forda_tsv(split: str, rows: int) -> str:
    """The UCR FordA TSV layout: one series per line, the label (-1 or 1) first, then 500 z-normalized
    values; class 1 carries a faint oscillation that class -1 lacks."""
    path = ROOT / f"FordA_{split}_{rows}.tsv"
    if not path.exists():
        rng = np.random.default_rng(0 if split == "TRAIN" else 1)
        y = np.where(rng.random(rows) < 0.5, -1, 1)
        s = np.linspace(0, 20 * np.pi, 500)
        x = rng.normal(size=(rows, 500)) + (y[:, None] > 0) * 1.5 * np.sin(s + rng.uniform(0, 6, (rows, 1)))
        x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)
        _write(path, "\n".join("\t".join([f"{y[i]}", *(f"{a:.6f}" for a in x[i])]) for i in range(rows)) + "\n")
    return str(path)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def fashion_image_folder(per_class: int, damaged: int = 2) -> str:
    """The Cats-vs-Dogs archive's layout, one subfolder of JPEG files per class, made from Fashion-MNIST's
    training images: "Trouser" and "Bag" (28x28 greys saved as RGB JPEGs), ``per_class`` of each, plus
    ``damaged`` files per class that end in .jpg but are no JPEG (no "JFIF" in their header), as the real
    archive holds. Rewritten on every call: the script deletes the damaged files it finds."""
    import shutil

    from PIL import Image

    import neurona as nr

    (x, y), _ = nr.data.load_fashion_mnist()
    root = ROOT / f"FashionImages_{per_class}"
    shutil.rmtree(root, ignore_errors=True)
    for name, label in (("Trouser", 1), ("Bag", 8)):
        folder = root / name
        folder.mkdir(parents=True)
        for i, img in enumerate(x[y == label][:per_class]):
            Image.fromarray(img).convert("RGB").save(folder / f"{i}.jpg", quality=95)
        for i in range(damaged):
            (folder / f"{per_class + i}.jpg").write_bytes(b"\x00\x01 not an image " * (i + 1))
    return str(root)
