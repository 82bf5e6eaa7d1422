"""A look inside a CNN (the ZFNet discussion): train a zoo network briefly on Fashion-MNIST, then
draw what it learnt.

Writes four PNGs to --out (default docs/images):

* look_inside_filters.png: the first layer's filters;
* look_inside_feature_maps.png: the feature maps of a few test images at every depth;
* look_inside_top_units.png: for chosen units of deeper layers, the test images that excite them most;
* look_inside_saliency.png: class saliency, the gradient of the class score with respect to the
  input (autograd with requires_grad on the input): the pixels whose change moves the score most.

Run: .venv/bin/python examples/zoo/look_inside.py [--quick] [--model zfnet] [--width 0.125]
"""

import argparse
import time
from pathlib import Path

import numpy as np

import neurona as nr
from neurona.viz import inside
from neurona.viz.images import plot_filters


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds: 256 training images, one epoch, a smaller scan")
    parser.add_argument("--model", default="zfnet", help="a Sequential zoo CNN taking width (zfnet, alexnet, vgg11)")
    parser.add_argument("--width", type=float, default=0.125, help="the zoo's width factor (default 0.125)")
    parser.add_argument("--train", type=int, default=12000, help="training images (default 12000)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--scan", type=int, default=2000, help="test images searched for the top activations")
    parser.add_argument("--out", default="docs/images", help="folder for the PNGs")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.quick:
        args.train, args.epochs, args.scan = 256, 1, 100
    names = nr.data.FASHION_MNIST_CLASSES
    (x_train, y_train), (x_test, y_test) = nr.data.load_fashion_mnist()
    x_train, y_train = (x_train[:args.train, :, :, None] / 255.0).astype(np.float32), y_train[:args.train]
    x_test = (x_test[:, :, :, None] / 255.0).astype(np.float32)

    nr.manual_seed(args.seed)
    model = nr.models.get(args.model, (28, 28, 1), 10, width=args.width)
    model.compile(nr.optim.Adam(lr=1e-3), "cross_entropy", ["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, verbose=0)
    seconds = time.perf_counter() - start
    tested = 500 if args.quick else 5000
    accuracy = model.evaluate(x_test[:tested], y_test[:tested], batch_size=500, return_dict=True)["accuracy"]
    print(f"{args.model} (width {args.width}, {model.count_params():,} parameters): {args.epochs} epoch(s) on "
          f"{len(x_train)} images in {seconds:.0f} s; test accuracy {accuracy:.4f} (first {tested} test images)")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {k: out / f"look_inside_{k}.png" for k in ("filters", "feature_maps", "top_units", "saliency")}
    plot_filters(model, layer=0, path=files["filters"])

    # one test image of each of four different-looking classes
    shown = np.array([int(np.flatnonzero(y_test == c)[0]) for c in (9, 1, 8, 2)])
    maps = inside.conv_activations(model, x_test[shown])
    inside.plot_activation_grid(x_test[shown], maps, labels=[names[y_test[i]] for i in shown],
                                path=files["feature_maps"])

    scan = x_test[:args.scan]
    deep = inside.conv_activations(model, scan)[-3:]  # the last three conv layers
    tops = []
    for name, a in (deep[0], deep[-1]):
        for unit in inside.lively_units(a, 3):
            idx, values = inside.top_activating(a, [unit], k=8)
            tops.append((name, unit, idx[0], values[0]))
    inside.plot_top_activating(scan, tops, labels=[names[c] for c in y_test[:args.scan]], path=files["top_units"])

    chosen = np.arange(8)
    predicted = model.predict(x_test[chosen]).argmax(axis=1)
    grad = inside.saliency(model, x_test[chosen], predicted)
    inside.plot_saliency(x_test[chosen], grad, titles=[f"{names[p]}\n(true {names[t]})" if p != t else names[p]
                                                       for p, t in zip(predicted, y_test[chosen], strict=True)],
                         path=files["saliency"])
    for path in files.values():
        print(f"wrote {path}")
    return {"test_accuracy": float(accuracy), "files": files, "inputs": x_test[chosen], "saliency": grad,
            "classes": predicted}


if __name__ == "__main__":
    main()
