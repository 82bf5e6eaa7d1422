"""Experiment 3: gradient descent on a 2-D error surface with a local minimum: the paths of SGD, momentum,
AdaGrad, RMSprop and Adam from the same starting point, drawn on the contour plot.

The "weights" are one Tensor p = (p1, p2) with requires_grad; the error surface E(p) is written with
neurona's Tensor operations, ``E(p).backward()`` gives the gradient and each optimizer of ``neurona.optim``
makes its step, exactly as on a network's parameters:
  E(p) = 0.05 |p|^2 - 1.0 exp(-|p - (2, 2)|^2) - 2.0 exp(-|p - (-2, -1)|^2 / 2)
a shallow local minimum near (2, 2), a deeper global one near (-2, -1), a bowl around both.

Run: .venv/bin/python examples/course/03_optimizer_paths.py [--quick] [--out runs/course]
"""

import argparse
from pathlib import Path

import numpy as np

import neurona as nr
from neurona import optim
from neurona.viz._figure import finish, new_figure

START = (4.3, 3.5)
LOCAL_MIN, GLOBAL_MIN = (2.0, 2.0), (-2.0, -1.0)
OPTIMIZERS = {
    "SGD (lr 0.1)": lambda p: optim.SGD([p], lr=0.1),
    "momentum (lr 0.1, 0.9)": lambda p: optim.SGD([p], lr=0.1, momentum=0.9),
    "AdaGrad (lr 0.5)": lambda p: optim.Adagrad([p], lr=0.5),
    "RMSprop (lr 0.05)": lambda p: optim.RMSprop([p], lr=0.05),
    "Adam (lr 0.2)": lambda p: optim.Adam([p], lr=0.2),
}


def error(p: nr.Tensor) -> nr.Tensor:
    """E(p) for a (2,) tensor, or elementwise for a (2, ...) grid."""
    x, y = p[0], p[1]
    bowl = 0.05 * (x * x + y * y)
    local = ((x - LOCAL_MIN[0]) ** 2 + (y - LOCAL_MIN[1]) ** 2) * -1.0
    deep = ((x - GLOBAL_MIN[0]) ** 2 + (y - GLOBAL_MIN[1]) ** 2) * -0.5
    return bowl - 1.0 * local.exp() - 2.0 * deep.exp()


def descend(name: str, steps: int) -> np.ndarray:
    """The points visited by optimizer ``name`` in ``steps`` steps from START, shape (steps + 1, 2)."""
    p = nr.tensor(np.array(START), requires_grad=True, dtype=np.float64)
    opt = OPTIMIZERS[name](p)
    path = [p.numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        error(p).backward()
        opt.step()
        path.append(p.numpy().copy())
    return np.array(path)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="150 steps instead of 300")
    parser.add_argument("--out", default="runs/course", help="folder for the figure")
    args = parser.parse_args(argv)
    steps = 150 if args.quick else 300
    paths = {name: descend(name, steps) for name in OPTIMIZERS}
    with nr.no_grad():
        e_local = float(error(nr.tensor(np.array(LOCAL_MIN), dtype=np.float64)).item())
        e_global = float(error(nr.tensor(np.array(GLOBAL_MIN), dtype=np.float64)).item())
        e_start = float(error(nr.tensor(np.array(START), dtype=np.float64)).item())
    print(f"start {START}, E = {e_start:.3f}; E near the local minimum {LOCAL_MIN}: {e_local:.3f}, "
          f"near the global one {GLOBAL_MIN}: {e_global:.3f}; {steps} steps each")
    finals = {}
    for name, path in paths.items():
        with nr.no_grad():
            e = float(error(nr.tensor(path[-1], dtype=np.float64)).item())
        where = "global" if np.linalg.norm(path[-1] - GLOBAL_MIN) < np.linalg.norm(path[-1] - LOCAL_MIN) else "local"
        finals[name] = {"point": path[-1], "error": e, "minimum": where}
        print(f"{name:24s} ends at ({path[-1][0]:6.3f}, {path[-1][1]:6.3f}), E = {e:7.4f}: the {where} minimum")

    grid = np.meshgrid(np.linspace(-4.5, 4.5, 200), np.linspace(-4, 4.5, 200))
    with nr.no_grad():
        surface = error(nr.tensor(np.stack(grid), dtype=np.float64)).numpy()
    fig = new_figure(8, 7)
    ax = fig.subplots()
    contour = ax.contourf(grid[0], grid[1], surface, levels=30, cmap="viridis")
    fig.colorbar(contour, ax=ax, label="E(p)")
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], ".-", ms=3, lw=1.2, label=name)
    ax.plot(*START, "w*", ms=14, label="start")
    ax.set(title="optimizers on an error surface with a local minimum", xlabel="p1", ylabel="p2")
    ax.legend(loc="lower right", fontsize=8)
    path = Path(args.out) / "03_optimizer_paths.png"
    finish(fig, path, "03_optimizer_paths")
    print(f"figure: {path}")
    return {"finals": finals, "start_error": e_start, "figure": str(path)}


if __name__ == "__main__":
    main()
