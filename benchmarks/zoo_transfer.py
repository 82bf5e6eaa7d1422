"""Transfer learning, measured: pretrain on Fashion-MNIST classes 0-4, learn classes 5-9 from 50 images each.

    python -m benchmarks.zoo_transfer --pretrain-epochs 3 --epochs 30

1. pretrain the reference CNN (two conv + pool, dense 128) on every training image of classes 0-4;
2. take 50 training images of each of classes 5-9 (250 in all) and train, with a new 5-way head,
   (a) the frozen base (only the head learns, at --head-lr), (b) the whole network, the base at
   --lr and the head at --head-lr, (c) the same network from scratch at --lr;
3. print the test accuracy of each on the 5,000 test images of classes 5-9, and the commands.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np


def _accuracy(logs) -> float:
    return logs["accuracy"] if isinstance(logs, dict) else logs[1]


def main() -> None:
    import neurona as nr
    from neurona import nn, optim

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pretrain-epochs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=30, help="epochs on the 250 new images")
    ap.add_argument("--per-class", type=int, default=50)
    ap.add_argument("--lr", type=float, default=1e-3, help="pretraining, the fine-tuned base, from scratch")
    ap.add_argument("--head-lr", type=float, default=1e-2, help="a new head on a pretrained base")
    args = ap.parse_args()
    nr.manual_seed(0)
    (x, y), (xt, yt) = nr.data.load_fashion_mnist()
    x, xt = x[..., None] / np.float32(255), xt[..., None] / np.float32(255)
    old, new_test = y < 5, yt >= 5
    rng = np.random.default_rng(0)
    few = np.concatenate([rng.choice(np.flatnonzero(y == k), args.per_class, replace=False) for k in range(5, 10)])
    xf, yf, xn, yn = x[few], y[few] - 5, xt[new_test], yt[new_test] - 5

    start = time.perf_counter()
    pretrained = nr.models.get("cnn", (28, 28, 1), 5)
    pretrained.compile(optim.Adam(lr=args.lr), "cross_entropy", ["accuracy"])
    pretrained.fit(x[old], y[old], epochs=args.pretrain_epochs, batch_size=128, verbose=2)
    acc_old = _accuracy(pretrained.evaluate(xt[~new_test], yt[~new_test], batch_size=500))
    print(f"pretrained on classes 0-4: test accuracy {acc_old:.4f} ({time.perf_counter() - start:.0f} s)")

    def head_on(base: nn.Module) -> nn.Sequential:
        model = nn.Sequential([base, nn.Dense(5)])
        model.build((None, 28, 28, 1))
        return model

    results = {}
    for how in ("frozen base", "fine-tuned base", "from scratch"):
        nr.manual_seed(1)
        if how == "from scratch":
            base = nr.models.get("cnn", (28, 28, 1), 5)[:-1]
        else:
            base = copy.deepcopy(pretrained)[:-1]  # everything but the old 5-way head
        model = head_on(base)
        head = model[1]
        if how == "frozen base":
            base.trainable = False
            opt = optim.Adam(lr=args.head_lr)
        elif how == "fine-tuned base":
            opt = optim.Adam([{"params": base.parameters(), "lr": args.lr},
                              {"params": head.parameters(), "lr": args.head_lr}])
        else:
            opt = optim.Adam(lr=args.lr)
        model.compile(opt, "cross_entropy", ["accuracy"])
        t0 = time.perf_counter()
        model.fit(xf, yf, epochs=args.epochs, batch_size=32, verbose=0)
        results[how] = (_accuracy(model.evaluate(xn, yn, batch_size=500)), time.perf_counter() - t0)
    print(f"\n| classes 5-9 from {5 * args.per_class} images | test accuracy | training time |")
    print("|---|---|---|")
    for how, (acc, wall) in results.items():
        print(f"| {how} | {acc:.4f} | {wall:.0f} s |")
    print(f"\ncommand: python -m benchmarks.zoo_transfer --pretrain-epochs {args.pretrain_epochs} "
          f"--epochs {args.epochs} --per-class {args.per_class} --lr {args.lr} --head-lr {args.head_lr}")


if __name__ == "__main__":
    main()
