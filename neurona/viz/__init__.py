"""Pictures of what a network computes and learns: ``nr.viz``.

* ``graph(tensor)`` / ``render(dot, "g.svg")``: the computational graph behind a tensor, as
  Graphviz DOT text and drawn to SVG/PNG (graph.py).
* ``layer_graph(model)``: a model's layers and their connections (branches, skips), as DOT text.
* Plots of training and evaluation (plots.py): ``plot_history``, ``plot_confusion_matrix``,
  ``plot_roc_curve``, ``plot_lr_finder``, ``plot_decision_boundary``.
* Looking inside image models (images.py): ``plot_filters``, ``plot_feature_maps``, ``plot_predictions``.

Plot functions return a matplotlib Figure (drawn headless, never shown) and save it with ``path=``.
"""

from .graph import graph, render
from .layer_graph import layer_graph

# The plotting modules import matplotlib (a quarter of a second); load them on first use,
# so ``import neurona`` does not pay for plots it may never draw.
_LAZY = {
    "plot_history": "plots", "plot_confusion_matrix": "plots", "plot_roc_curve": "plots",
    "plot_lr_finder": "plots", "plot_decision_boundary": "plots", "suggest_lr": "plots",
    "plot_filters": "images", "plot_feature_maps": "images", "plot_predictions": "images",
    "display_image": "images", "conv_layers": "images",
}

__all__ = ["graph", "layer_graph", "render", *_LAZY]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module  # imported here: nr.viz holds only its API

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'neurona.viz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
