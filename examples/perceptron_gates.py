"""Rosenblatt's perceptron on the logic gates: the course's worked AND example, OR, NAND, and XOR.

Four training points per gate: the whole run takes a fraction of a second, so ``--quick``
(accepted, as by every example) runs the same thing.

Run: .venv/bin/python examples/perceptron_gates.py [--quick]
"""

import argparse

from neurona.models import Perceptron

INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]


def worked_and_example() -> Perceptron:
    """Initial w = (0.9, 0.9), bias -0.5 held fixed, lr 0.5: the rule ends at w = (0.4, 0.4)."""
    p = Perceptron(2, lr=0.5, weights=[0.9, 0.9], bias=-0.5, learn_bias=False)
    p.fit(INPUTS, [0, 0, 0, 1])
    print("AND, the worked example (w0 = (0.9, 0.9), b = -0.5 fixed, lr = 0.5):")
    print(p.format_trace())
    print(f"final w = {p.weights.tolist()}, b = {p.bias}, outputs {p.predict(INPUTS).tolist()}\n")
    return p


def learn(name: str, targets: list[int], epochs: int = 50) -> Perceptron:
    p = Perceptron(2, lr=0.1).fit(INPUTS, targets, epochs=epochs)
    status = f"converged after {len(p.errors_per_epoch)} epochs" if p.converged else \
        f"did NOT converge in {epochs} epochs (errors per epoch: ... {p.errors_per_epoch[-5:]})"
    print(f"{name:5s} targets {targets} -> outputs {p.predict(INPUTS).tolist()}; {status}; "
          f"w = {[round(float(w), 3) for w in p.weights]}, b = {p.bias:.3f}")
    return p


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same run: it is already instant")
    parser.parse_args(argv)
    worked = worked_and_example()
    learned = {name: learn(name, targets) for name, targets in
               (("OR", [0, 1, 1, 1]), ("NAND", [1, 1, 1, 0]), ("XOR", [0, 1, 1, 0]))}
    print("\nXOR is not linearly separable: no line splits {(0,1), (1,0)} from {(0,0), (1,1)}, "
          "so the single-layer perceptron can never classify it.")
    return {"and_weights": [float(w) for w in worked.weights],
            **{f"{name.lower()}_converged": p.converged for name, p in learned.items()}}


if __name__ == "__main__":
    main()
