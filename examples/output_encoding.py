"""The course's output-encoding question, measured: how should a network output one of ten digits?

* one-hot: 10 outputs, one per digit, softmax cross-entropy; the answer is the largest output;
* binary code: 4 outputs, the digit's 4 bits (7 -> 0111), each a sigmoid with binary
  cross-entropy; the answer is read from the bits (a code of 10..15 means no digit).

Same data, same hidden layer, same optimizer and epochs. Binary coding needs fewer
outputs, but each output must learn a feature shared by unrelated digits (bit 0: "is
odd"; bit 3: "is 8 or 9"), and one wrong bit gives a wrong digit. The script also reads
the binary outputs as "the valid code with the highest probability" (never 10..15).

    python examples/output_encoding.py [--quick]
"""

import argparse

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import neurona as nr
from neurona import metrics, nn

BITS = 4
CODES = ((np.arange(10)[:, None] >> np.arange(BITS)[::-1]) & 1).astype(np.float32)  # (10, 4): row d = bits of d


def train(x_train, y_train, outputs, loss, epochs, hidden, seed):
    nr.manual_seed(seed)
    model = nn.Sequential([nn.Dense(hidden, activation="relu"), nn.Dense(outputs)])
    model.compile(optimizer="adam", loss=loss)
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
    return model


def parse_args(argv: list[str] | None, epochs: int) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer epochs) for a first look")
    parser.add_argument("--epochs", type=int, default=epochs, help=f"epochs of the full run (default {epochs})")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv, epochs=40)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(x, digits.target, test_size=0.3, stratify=digits.target,
                                                        random_state=args.seed)
    epochs, seed, hidden = (10 if args.quick else args.epochs), args.seed, 32

    one_hot = train(x_train, y_train, 10, "cross_entropy", epochs, hidden, seed)
    one_hot_pred = one_hot.predict(x_test).argmax(axis=1)

    binary = train(x_train, CODES[y_train], BITS, "binary_cross_entropy", epochs, hidden, seed)
    logits = binary.predict(x_test)
    bits = (logits > 0).astype(int)
    read = bits @ (1 << np.arange(BITS)[::-1])  # 0..15; 10..15 are not digits and count as errors
    # log P(code) = sum of log sigmoid(+-logit) over the bits; pick the most probable of the ten valid codes
    log_p = -np.logaddexp(0, -logits[:, None, :] * (2 * CODES[None] - 1)).sum(axis=2)
    nearest = log_p.argmax(axis=1)

    results = {
        "one_hot_10_outputs": metrics.accuracy(y_test, one_hot_pred),
        "binary_4_outputs": metrics.accuracy(y_test, read),
        "binary_4_outputs_nearest_code": metrics.accuracy(y_test, nearest),
        "binary_invalid_codes": float((read > 9).mean()),
    }
    print(f"hidden layer: {hidden} relu units, {epochs} epochs, {len(x_test)} test digits")
    print(f"{'encoding':32s}test accuracy")
    for k, v in results.items():
        print(f"{k:32s}{v:.3f}")
    return results


if __name__ == "__main__":
    main()
