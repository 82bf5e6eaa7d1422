"""Experiment 13: recurrent networks. SimpleRNN, LSTM and GRU on a memory task and on Fashion-MNIST read row by row.

1. Memory: a sequence of N random symbols (one-hot, K = 4 of them); the answer is the first symbol, read from
   the layer's last output, so it depends on an input N - 1 steps back (chance: 1/4). The three cells, with
   Keras's default initialisation (glorot_uniform kernels, orthogonal recurrent kernels, LSTM forget-gate bias 1,
   GRU reset_after), are trained for the same number of steps for N = 5, 10, 20, 40, 80. Before training, the
   script also measures how much the first input can move the answer: the norm of the loss gradient with
   respect to x_0 over that with respect to x_{N-1}. A variant of the gated cells starts them with a "chrono"
   initialisation (Tallec & Ollivier, 2018): forget-gate (LSTM) or update-gate (GRU) bias log(u), u uniform in
   [1, N - 1] (and the LSTM input-gate bias -log(u)), so that at the start they keep their memory for up to N
   steps instead of ~1/(1 - sigmoid(1)) = 4 steps (LSTM) or 2 steps (GRU).
2. Fashion-MNIST read row by row: each image is a sequence of 28 steps of 28 pixels; each cell with 64 units and
   a softmax layer on its last output; then the same with ``dropout=0.2, recurrent_dropout=0.2`` (Keras's: one
   mask per sequence on the inputs and one on the recurrent state, reused at every step).

All runs: Adam, gradient norm clipped to 1 per parameter (``clipnorm=1``), mini-batches of 64, seed 0.

Run: .venv/bin/python examples/course/13_recurrent.py [--quick] [--out runs/course]
     (--lengths 20,40 --iterations 1500 --lr 0.01 --memory-only: other runs of the memory task)
"""

import argparse
import time
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import backend, nn, optim
from neurona import functional as F
from neurona.viz._figure import finish, new_figure

K = 4  # symbols of the memory task
CELLS = {"SimpleRNN": nn.SimpleRNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


def memory_batch(gen: np.random.Generator, n: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """n sequences of `steps` random one-hot symbols (n, steps, K); the label is each sequence's first symbol."""
    s = gen.integers(0, K, (n, steps))
    return np.eye(K, dtype=np.float32)[s], s[:, 0]


def chrono_init(layer: nn.Module, steps: int, gen: np.random.Generator) -> None:
    """Gate biases log(u), u ~ U[1, steps - 1]: the gated cell starts remembering for up to `steps` steps."""
    u = layer.units
    keep = np.log(gen.uniform(1.0, max(steps - 1, 2), u)).astype(np.float32)
    bias = layer.bias.numpy().copy()
    if isinstance(layer, nn.LSTM):  # gates i, f, c, o
        bias[:u], bias[u:2 * u] = -keep, keep
    else:  # GRU gates z, r, h; h_t = z h_{t-1} + (1 - z) h~: z keeps. reset_after: row 0 is the input bias
        bias[0, :u], bias[1, :u] = keep, 0.0
    layer.bias.data[...] = nr.tensor(bias).data


def make_model(cell: str, units: int, classes: int, steps: int = 0, chrono: bool = False, **options) -> nn.Module:
    model = nn.Sequential([CELLS[cell](units, **options), nn.Dense(classes)])
    if chrono:
        model.build((None, steps, K))
        chrono_init(model.layers[0], steps, np.random.default_rng(0))
    return model


def first_input_gradient(model: nn.Module, steps: int) -> float:
    """||dL/dx_0|| / ||dL/dx_{N-1}|| over a batch, at the start: how far back the answer can reach."""
    x, y = memory_batch(np.random.default_rng(1), 256, steps)
    xt = nr.tensor(x, requires_grad=True)
    F.cross_entropy(model(xt), nr.tensor(y)).backward()
    g = backend.to_numpy(xt.grad)
    return float(np.linalg.norm(g[:, 0]) / np.linalg.norm(g[:, -1]))


def train_memory(cell: str, steps: int, iterations: int, lr: float, seed: int, chrono: bool = False) -> dict:
    nr.manual_seed(seed)
    model = make_model(cell, 32, K, steps, chrono)
    model.build((None, steps, K))  # (already built when chrono set its biases)
    ratio = first_input_gradient(model, steps)
    model.zero_grad()
    opt = optim.Adam(model.parameters(), lr=lr, clipnorm=1.0)
    gen = np.random.default_rng(seed)
    x_val, y_val = memory_batch(np.random.default_rng(12345), 512, steps)
    curve = []
    for i in range(iterations):
        x, y = memory_batch(gen, 64, steps)
        opt.zero_grad()
        F.cross_entropy(model(nr.tensor(x)), nr.tensor(y)).backward()
        opt.step()
        if (i + 1) % max(iterations // 10, 1) == 0:
            with nr.no_grad():
                curve.append(float(np.mean(model(nr.tensor(x_val)).numpy().argmax(axis=1) == y_val)))
    return {"gradient_ratio": ratio, "accuracy": curve[-1], "curve": curve}


def fashion_rows(n_train: int, n_val: int) -> tuple[np.ndarray, ...] | None:
    """Fashion-MNIST images as (N, 28 rows, 28 pixels) in [0, 1]; the validation images are the last of the
    training files (the test files are not used). None when the files are not on this machine."""
    if nr.data.find_dataset("fashion-mnist") is None:
        return None
    (x, y), _ = nr.data.load_fashion_mnist(download=False)
    x = (x / 255.0).astype(np.float32)
    return x[:n_train], y[:n_train], x[-n_val:], y[-n_val:]


def train_fashion(cell: str, data: tuple[np.ndarray, ...], epochs: int, seed: int, **options) -> dict:
    x, y, x_val, y_val = data
    nr.manual_seed(seed)
    model = make_model(cell, 64, 10, **options)
    opt = optim.Adam(model.parameters(), lr=2e-3, clipnorm=1.0)
    order = np.random.default_rng(seed)
    curve, start = [], time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = order.permutation(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(model(nr.tensor(x[idx])), nr.tensor(y[idx])).backward()
            opt.step()
        model.eval()
        with nr.no_grad():
            curve.append(float(np.mean(model(nr.tensor(x_val)).numpy().argmax(axis=1) == y_val)))
    h_mask = model.layers[0].last_masks[1]  # the recurrent dropout mask of the last training batch
    return {"val_accuracy": curve, "seconds": time.perf_counter() - start,
            "parameters": sum(int(np.prod(p.shape)) for p in model.parameters()),
            "recurrent_mask_zeros": 0.0 if h_mask is None else float(np.mean(backend.to_numpy(h_mask) == 0))}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 5 and 20, 10 steps; 256 Fashion-MNIST images")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lengths", default=None, help="memory task: comma-separated N (default 5,10,20,40,80)")
    parser.add_argument("--iterations", type=int, default=None, help="memory task: training steps (default 600)")
    parser.add_argument("--lr", type=float, default=3e-3, help="memory task: Adam's learning rate (default 3e-3)")
    parser.add_argument("--memory-only", action="store_true", help="skip the Fashion-MNIST part")
    args = parser.parse_args(argv)
    lengths = (5, 20) if args.quick else (5, 10, 20, 40, 80)
    lengths = tuple(int(n) for n in args.lengths.split(",")) if args.lengths else lengths
    iterations = args.iterations or (10 if args.quick else 600)
    lr = args.lr
    variants = [(cell, False) for cell in CELLS] + [("LSTM", True), ("GRU", True)]

    print(f"1. memory: remember the first of N random symbols (K = {K}, chance 0.25); 32 units; Adam lr {lr}, "
          f"clipnorm 1, {iterations} steps of 64 fresh sequences; accuracy on 512 other sequences")
    print(f"{'cell':18s}{'N':>4s}{'|dL/dx_0| / |dL/dx_N-1| at start':>36s}{'accuracy':>10s}")
    memory: dict[str, dict[int, dict]] = {}
    with nr.performance():  # BLAS on one thread: many small products, on a machine that may be shared
        for cell, chrono in variants:
            name = f"{cell}, chrono init" if chrono else cell
            memory[name] = {}
            for steps in lengths:
                r = train_memory(cell, steps, iterations, lr, args.seed, chrono)
                memory[name][steps] = r
                print(f"{name:18s}{steps:4d}{r['gradient_ratio']:36.1e}{r['accuracy']:10.3f}", flush=True)

    n_train, n_val, epochs = (256, 128, 1) if args.quick else (5000, 1000, 2)
    data = None if args.memory_only else fashion_rows(n_train, n_val)
    fashion: dict[str, dict] = {}
    if data is None and not args.memory_only:
        print("\n2. Fashion-MNIST is not on this machine (nr.data.load_fashion_mnist() downloads it): skipped")
    elif data is not None:
        print(f"\n2. Fashion-MNIST read row by row (28 steps of 28 pixels): {n_train} training, {n_val} validation "
              f"images; 64 units; Adam lr 2e-3, clipnorm 1, mini-batch 64, {epochs} epochs")
        print(f"{'layer':42s}{'parameters':>11s}{'validation accuracy per epoch':>32s}{'seconds':>9s}")
        for dropout in (0.0, 0.2):
            for cell in CELLS:
                options = {"dropout": dropout, "recurrent_dropout": dropout} if dropout else {}
                name = cell + (f" (dropout={dropout}, recurrent_dropout={dropout})" if dropout else "")
                with nr.performance():
                    r = train_fashion(cell, data, epochs, args.seed, **options)
                fashion[name] = r
                print(f"{name:42s}{r['parameters']:11d}{' '.join(f'{a:.3f}' for a in r['val_accuracy']):>32s}"
                      f"{r['seconds']:9.1f}", flush=True)

    fig = new_figure(15, 4.2)
    ax_m, ax_g, ax_f = fig.subplots(1, 3)
    for name, runs in memory.items():
        chrono = "chrono" in name
        look = {"ls": "--" if chrono else "-", "marker": "s" if chrono else "o", "mfc": "none" if chrono else None,
                "ms": 9 if name.startswith("LSTM") and chrono else 6,  # the two chrono lines overlap at 1.0
                "color": {"SimpleRNN": "C0", "LSTM": "C1", "GRU": "C2"}[name.split(",")[0]], "label": name}
        ax_m.plot(lengths, [runs[n]["accuracy"] for n in lengths], **look)
        ax_g.semilogy(lengths, [runs[n]["gradient_ratio"] for n in lengths], **look)
    ax_m.axhline(1 / K, color="gray", lw=0.8, ls=":")
    ax_m.set(title=f"remember the first symbol: accuracy after {iterations} steps", xlabel="N (sequence length)",
             ylim=(0, 1.02))
    ax_g.set(title="|dL/dx_0| / |dL/dx_N-1| before training", xlabel="N (sequence length)")
    for ax in (ax_m, ax_g):
        ax.set_xscale("log")
        ax.set_xticks(lengths, [str(n) for n in lengths])
        ax.minorticks_off()
        ax.legend(fontsize=8)
    if fashion:
        for k, (name, r) in enumerate(fashion.items()):
            acc = r["val_accuracy"][-1]
            ax_f.bar(k, acc, color=f"C{k % 3}", hatch="//" if "dropout" in name else None)
            ax_f.text(k, acc + 0.01, f"{acc:.3f}", ha="center", fontsize=8)
        ax_f.set_xticks(range(len(fashion)), [n.split(" (")[0] + ("\n+ dropout" if "dropout" in n else "")
                                              for n in fashion], fontsize=8)
        ax_f.set(title=f"Fashion-MNIST row by row, {epochs} epoch(s)\nvalidation accuracy (hatched: dropout 0.2)",
                 ylim=(0, 1))
    else:
        ax_f.set_axis_off()
    path = Path(args.out) / "13_recurrent.png"
    finish(fig, path, "13_recurrent")
    print(f"figure: {path}")
    return {"memory": memory, "fashion": fashion, "figure": str(path)}


if __name__ == "__main__":
    main()
