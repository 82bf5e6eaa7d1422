"""Experiment 1: the activation functions of the slides and their derivatives; the sigmoid as a smooth perceptron.

Every curve and every derivative is computed by neurona itself: the function with ``neurona.functional``
(``F.step``, ``F.sign``, ``F.get_activation("linear")``, ``F.saturated_linear``, ``F.sigmoid``, ``F.tanh``,
``F.gaussian``, ``F.relu``, ``F.softmax``) and the derivative by autograd (``y.sum().backward()`` leaves
dy/dx in ``x.grad``, since each output depends only on its own input). The step and the sign have derivative 0
everywhere (except at 0, where it does not exist): gradient descent gets no signal from them, which is why the
perceptron has its own rule and why backpropagation needs the sigmoid, a step with rounded corners:
sigmoid(k z) tends to the step as the steepness k grows.

Run: .venv/bin/python examples/course/01_activations.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import backend
from neurona import functional as F
from neurona.viz._figure import finish, new_figure

ACTIVATIONS = {
    "step": F.step, "sign": F.sign, "linear": F.get_activation("linear"), "saturated_linear": F.saturated_linear,
    "sigmoid": F.sigmoid, "tanh": F.tanh, "gaussian": F.gaussian, "relu": F.relu,
    # softmax over the pair (z, 0): its first output is exactly sigmoid(z)
    "softmax": lambda z: F.softmax(nr.stack([z, z * 0], axis=1), axis=1)[:, 0],
}


def value_and_derivative(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(z) and f'(z) at every point of z, the derivative by neurona's autograd."""
    x = nr.tensor(z, requires_grad=True, dtype=np.float64)
    y = ACTIVATIONS[name](x)
    y.sum().backward()
    return y.numpy(), backend.to_numpy(x.grad)  # .grad is a device array on a GPU


def smooth_perceptron(z: np.ndarray, steepness: tuple[float, ...]) -> dict[float, float]:
    """Largest gap between sigmoid(k z) and the step over |z| >= 0.5, for each steepness k."""
    far = np.abs(z) >= 0.5
    step = value_and_derivative("step", z)[0]
    return {k: float(np.max(np.abs(value_and_derivative("sigmoid", k * z)[0] - step)[far])) for k in steepness}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points on each curve")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    args = parser.parse_args(argv)
    z = np.linspace(-4, 4, 81 if args.quick else 801)
    curves = {name: value_and_derivative(name, z) for name in ACTIVATIONS}

    print("function            f(-2)    f(0)    f(2)   f'(-2)   f'(0)   f'(2)  max f'")
    at = [int(np.argmin(np.abs(z - v))) for v in (-2, 0, 2)]
    for name, (y, dy) in curves.items():
        print(f"{name:17s} " + " ".join(f"{y[i]:7.3f}" for i in at) + "  "
              + " ".join(f"{dy[i]:7.3f}" for i in at) + f"  {dy.max():.3f}")
    s, ds = curves["sigmoid"]
    t, dt = curves["tanh"]
    sigmoid_rule = float(np.max(np.abs(ds - s * (1 - s))))
    tanh_rule = float(np.max(np.abs(dt - (1 - t * t))))
    softmax_is_sigmoid = float(np.max(np.abs(curves["softmax"][0] - s)))
    print(f"\nautograd against the closed forms: max |sigmoid' - s(1-s)| = {sigmoid_rule:.1e}, "
          f"max |tanh' - (1-tanh^2)| = {tanh_rule:.1e}, max |softmax(z,0)_0 - sigmoid(z)| = {softmax_is_sigmoid:.1e}")
    print(f"the sigmoid's slope is at most {ds.max():.3f} (at z = 0): "
          "each sigmoid layer multiplies the gradient by <= 1/4")

    steepness = (1.0, 2.0, 5.0, 20.0)
    gaps = smooth_perceptron(z, steepness)
    print("\nsigmoid(k z) against the step, largest gap where |z| >= 0.5:")
    for k, gap in gaps.items():
        print(f"  k = {k:4.0f}: {gap:.4f}")

    fig = new_figure(13, 7)
    axes = fig.subplots(2, 5)
    for ax, (name, (y, dy)) in zip(axes.flat, curves.items()):
        ax.plot(z, y, label="f(z)")
        ax.plot(z, dy, "--", label="f'(z)")
        ax.set_title(name if name != "softmax" else "softmax(z, 0)[0]")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
    axes.flat[0].legend(loc="upper left")
    ax = axes.flat[-1]
    ax.plot(z, curves["step"][0], "k", lw=2, label="step")
    for k in steepness:
        ax.plot(z, value_and_derivative("sigmoid", k * z)[0], label=f"sigmoid({k:g} z)")
    ax.set_title("smooth perceptron")
    ax.legend(fontsize=7)
    path = Path(args.out) / "01_activations.png"
    finish(fig, path, "01_activations")
    print(f"\nfigure: {path}")
    return {"derivatives": {name: dy for name, (_, dy) in curves.items()}, "z": z, "sigmoid_rule": sigmoid_rule,
            "tanh_rule": tanh_rule, "softmax_is_sigmoid": softmax_is_sigmoid, "gaps": gaps, "figure": str(path)}


if __name__ == "__main__":
    main()
