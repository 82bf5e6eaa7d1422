"""Experiment 10: output encoding. How should a network say which of ten digits it sees?

* one-hot: 10 outputs, one per digit, softmax and cross-entropy; the answer is the largest output;
* binary code: 4 outputs, the digit's 4 bits (7 -> 0111), each a sigmoid with binary cross-entropy;
  the answer is read from the bits, and a code of 10..15 is no digit at all (an error).

The same 8x8 digits, the same hidden layer of ReLU units, optimizer (Adam, lr 1e-3), mini-batches and
epochs. The binary code needs fewer outputs, but each output has to learn a feature shared by unrelated
digits (bit 0 "is odd", bit 3 "is 8 or 9") and one wrong bit is a wrong digit. The binary outputs are also
read as "the valid code with the highest probability" (the product of the four bits' probabilities, never
10..15), which removes the invalid codes. The run is repeated for several hidden-layer sizes.

(``examples/output_encoding.py`` is the short version of this comparison, with scikit-learn's split.)

Run: .venv/bin/python examples/course/10_output_encoding.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.data import train_val_test_split
from neurona.viz._figure import finish, new_figure

BITS = 4
CODES = ((np.arange(10)[:, None] >> np.arange(BITS)[::-1]) & 1).astype(np.float32)  # (10, 4): row d = bits of d
READ_OUTS = ("one-hot (10 outputs)", "binary (4 bits read)", "binary (nearest valid code)")


def digits() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """All 1797 digits as (N, 64) in [0, 1], split 70/15/15, stratified, seed 0."""
    (x_a, y_a), (x_b, y_b) = nr.data.load_digits()
    x = np.concatenate([x_a, x_b]).reshape(-1, 64).astype(np.float32) / 255.0
    y = np.concatenate([y_a, y_b])
    return train_val_test_split(x, y, val=0.15, test=0.15, stratify=True, seed=0)


def read_binary(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(digit read from the thresholded bits, 0..15; the most probable of the ten valid codes)."""
    bits = (logits > 0).astype(int)
    read = bits @ (1 << np.arange(BITS)[::-1])
    # log P(code d) = sum over bits of log sigmoid(+-logit): + where d's bit is 1, - where it is 0
    log_p = -np.logaddexp(0, -logits[:, None, :] * (2 * CODES[None] - 1)).sum(axis=2)
    return read, log_p.argmax(axis=1)


def predictions(model: nn.Module, x: np.ndarray, binary: bool) -> dict[str, np.ndarray]:
    with nr.no_grad():
        out = model(nr.tensor(x)).numpy()
    if not binary:
        return {READ_OUTS[0]: out.argmax(axis=1)}
    read, nearest = read_binary(out)
    return {READ_OUTS[1]: read, READ_OUTS[2]: nearest, "bits": (out > 0).astype(int)}


def train(data, hidden: int, binary: bool, epochs: int, seed: int) -> tuple[nn.Module, dict[str, list[float]]]:
    """One network, Adam lr 1e-3, mini-batches of 32; validation accuracy of each reading after each epoch."""
    (x, y), (x_val, y_val), _ = data
    nr.manual_seed(seed)
    model = nn.Sequential([nn.Dense(hidden, activation="relu"), nn.Dense(BITS if binary else 10)])
    opt = optim.Adam(model.parameters(), lr=1e-3)
    order = np.random.default_rng(seed)
    curves: dict[str, list[float]] = {}
    for _ in range(epochs):
        perm = order.permutation(len(x))
        for i in range(0, len(x), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            out = model(nr.tensor(x[idx]))
            if binary:
                loss = F.binary_cross_entropy_with_logits(out, nr.tensor(CODES[y[idx]]))
            else:
                loss = F.cross_entropy(out, nr.tensor(y[idx]))
            loss.backward()
            opt.step()
        for name, pred in predictions(model, x_val, binary).items():
            if name != "bits":
                curves.setdefault(name, []).append(float(np.mean(pred == y_val)))
    return model, curves


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 epochs, hidden sizes 8 and 32")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 10 if args.quick else 40
    sizes = (8, 32) if args.quick else (4, 8, 16, 32, 64)
    main_size = 32
    data = digits()
    (x, _), (x_val, _), (x_test, y_test) = data
    print(f"8x8 digits: {len(x)} training, {len(x_val)} validation, {len(x_test)} test images; one hidden layer "
          f"of ReLU units; Adam lr 1e-3, mini-batch 32, {epochs} epochs")

    runs: dict[int, dict[str, list[float]]] = {}
    test: dict[str, float] = {}
    bit_errors = invalid = None
    for hidden in sizes:
        runs[hidden] = {}
        for binary in (False, True):
            with nr.performance():  # BLAS on one thread: small products, on a machine that may be shared
                model, curves = train(data, hidden, binary, epochs, args.seed)
            runs[hidden].update(curves)
            if hidden == main_size:  # the test set, once, for the network the page describes
                pred = predictions(model, x_test, binary)
                test.update({k: float(np.mean(v == y_test)) for k, v in pred.items() if k != "bits"})
                if binary:
                    bit_errors = (pred["bits"] != CODES[y_test]).mean(axis=0).tolist()
                    invalid = float(np.mean(pred[READ_OUTS[1]] > 9))

    print(f"\nvalidation accuracy after {epochs} epochs, by hidden units")
    print(f"{'hidden':>8s}" + "".join(f"{name:>30s}" for name in READ_OUTS))
    for hidden, curves in runs.items():
        print(f"{hidden:8d}" + "".join(f"{curves[name][-1]:30.3f}" for name in READ_OUTS))
    print(f"\n{main_size} hidden units, test set ({len(x_test)} digits), evaluated once at the end")
    for name, acc in test.items():
        print(f"  {name:30s}{acc:.3f}")
    print(f"  binary codes 10..15 (no digit): {invalid:.3f}")
    print("  error rate of each bit (bit 3 worth 8 ... bit 0 worth 1, \"is odd\"): "
          + " ".join(f"bit {BITS - 1 - i}: {e:.3f}" for i, e in enumerate(bit_errors)))

    fig = new_figure(11, 4)
    ax_e, ax_h = fig.subplots(1, 2)
    for name in READ_OUTS:
        ax_e.plot(range(1, epochs + 1), runs[main_size][name], marker=".", label=name)
        ax_h.plot(sizes, [runs[h][name][-1] for h in sizes], marker="o", label=name)
    ax_e.set(title=f"validation accuracy, {main_size} hidden units", xlabel="epoch", ylim=(0, 1))
    ax_h.set(title=f"validation accuracy after {epochs} epochs", xlabel="hidden units", xscale="log", ylim=(0, 1))
    ax_h.set_xticks(sizes, [str(s) for s in sizes])
    ax_h.minorticks_off()
    ax_e.legend()
    ax_h.legend()
    path = Path(args.out) / "10_output_encoding.png"
    finish(fig, path, "10_output_encoding")
    print(f"figure: {path}")
    return {"runs": runs, "test": test, "bit_errors": bit_errors, "invalid_codes": invalid, "figure": str(path)}


if __name__ == "__main__":
    main()
