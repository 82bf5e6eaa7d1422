"""A look inside a trained image classifier, as in Zeiler & Fergus (2013) and Simonyan et al. (2013).

Three questions, each a computation and a picture:

* What does each layer compute for an input? ``conv_activations`` runs a Sequential model
  layer by layer and keeps every convolution's output; ``plot_activation_grid`` draws them
  for a few inputs, one row per input, one mosaic of channels per depth.
* What does a unit of a deep layer look for? ``top_activating`` ranks a set of images by a
  channel's strongest response anywhere in its map; ``plot_top_activating`` shows the winners.
* Which pixels decide the class? ``saliency`` is the gradient of the class score with respect
  to the input, dS_c/dx, computed by autograd with ``requires_grad`` on the input;
  ``plot_saliency`` draws its magnitude, max |dS_c/dx| over the channels, beside the input.

Images are channels-last (N, H, W, C) floats, as the model takes them. Plot functions return a
matplotlib Figure and save it when ``path`` is given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .. import backend
from ..autograd import no_grad, tensor
from ..nn import Module
from ._common import as_numpy, evaluation, model_device
from ._figure import SavePath, finish, new_figure
from .images import conv_layers, display_image


def _sequential(model: Any, who: str) -> list[Module]:
    if not isinstance(model, Module) or not hasattr(model, "layers"):
        raise TypeError(f"{who}: expected a Sequential model (its layers run one by one). "
                        f"Received: {type(model).__name__}")
    return model.layers


def _batch(images: Any, who: str) -> np.ndarray:
    x = as_numpy(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"{who}: expected images (N, H, W) or (N, H, W, C). Received: shape={x.shape}")
    return x.astype(backend.get_default_dtype())


def conv_activations(model: Module, images: Any, batch_size: int = 500) -> list[tuple[str, np.ndarray]]:
    """(layer name, output (N, h, w, c)) of every convolution layer of a Sequential model, in order.

    The layers run one by one under no_grad in eval mode, ``batch_size`` images at a time.
    """
    layers = _sequential(model, "conv_activations")
    x = _batch(images, "conv_activations")
    chosen = [i for i, layer in enumerate(layers) if conv_layers(layer)]
    if not chosen:
        raise ValueError(f"conv_activations: model '{model.name}' has no convolution layer")
    parts: list[list[np.ndarray]] = [[] for _ in chosen]
    with no_grad(), evaluation(model):
        for start in range(0, len(x), batch_size):
            h = tensor(x[start:start + batch_size], device=model_device(model))
            for i, layer in enumerate(layers[:chosen[-1] + 1]):
                h = layer(h)
                if i in chosen:
                    parts[chosen.index(i)].append(h.numpy())
    return [(layers[i].name, np.concatenate(p)) for i, p in zip(chosen, parts, strict=True)]


def top_activating(activation: np.ndarray, units: Sequence[int], k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The k images that excite each unit most: indices (len(units), k) and their responses.

    activation: one layer's output (N, h, w, c); a unit is a channel, and an image's response
    is the channel's largest value anywhere in its map (the unit fires somewhere in the image).
    """
    a = np.asarray(activation)
    if a.ndim != 4:
        raise ValueError(f"top_activating: expected a layer output (N, h, w, c). Received: shape={a.shape}")
    bad = [u for u in units if not 0 <= u < a.shape[-1]]
    if bad:
        raise ValueError(f"top_activating: units must be in [0, {a.shape[-1] - 1}]. Received: {bad}")
    peak = a.max(axis=(1, 2))[:, list(units)].T  # (units, N)
    order = np.argsort(-peak, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(peak, order, axis=1)


def lively_units(activation: np.ndarray, count: int) -> list[int]:
    """``count`` channels whose peak response varies most across the images: units that select
    (a dead unit, or one that fires on everything, shows nothing)."""
    peak = np.asarray(activation).max(axis=(1, 2))
    return [int(u) for u in np.argsort(-peak.std(axis=0), kind="stable")[:count]]


def saliency(model: Module, images: Any, classes: Any) -> np.ndarray:
    """The class saliency map: dS_c/dx, the gradient of each image's class score (logit) with
    respect to its pixels, with the input's shape (N, H, W, C).

    One backward pass through the model in eval mode: the input is a tensor with
    ``requires_grad=True``, the scores are summed over the batch (each image's score depends
    on that image only, so each gets its own gradient).
    """
    x = _batch(images, "saliency")
    c = np.asarray(classes).reshape(-1)
    if len(c) != len(x):
        raise ValueError(f"saliency: {len(x)} images and {len(c)} classes: they must match")
    with evaluation(model):
        xt = tensor(x, requires_grad=True, device=model_device(model))
        scores = model(xt)
        if scores.ndim != 2 or not ((0 <= c) & (c < scores.shape[1])).all():
            raise ValueError(f"saliency: expected logits (N, classes) and classes in [0, {scores.shape[-1] - 1}]. "
                             f"Received: output shape {scores.shape}, classes {c.tolist()}")
        pick = np.zeros(scores.shape, dtype=x.dtype)
        pick[np.arange(len(c)), c] = 1.0
        (scores * tensor(pick, device=model_device(model))).sum().backward()
    return as_numpy(xt.grad)


# ---------------------------------------------------------------- pictures
def _mosaic(maps: np.ndarray, max_maps: int) -> np.ndarray:
    """Channels (h, w, c) tiled in a square grid, each stretched to [0, 1], separated by NaN (drawn blank)."""
    count = min(maps.shape[-1], max_maps)
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    h, w = maps.shape[:2]
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for k in range(count):
        m = maps[:, :, k].astype(np.float64)
        span = m.max() - m.min()
        r, q = divmod(k, cols)
        out[r * (h + 1):r * (h + 1) + h, q * (w + 1):q * (w + 1) + w] = (m - m.min()) / span if span > 0 else 0.0
    return out


def plot_activation_grid(images: Any, activations: list[tuple[str, np.ndarray]], labels: Sequence[str] | None = None,
                         max_maps: int = 16, path: SavePath = None) -> Figure:
    """Each input (one row) and, at every depth, a mosaic of its first ``max_maps`` feature maps.

    activations: ``conv_activations`` of these images. Each map is stretched to its own range
    (bright: the unit responds there), so shapes are comparable across depths.
    """
    x = _batch(images, "plot_activation_grid")
    if any(len(a) != len(x) for _, a in activations):
        raise ValueError("plot_activation_grid: the activations must be those of these images")
    ncols = 1 + len(activations)
    fig = new_figure(1.8 * ncols, 1.9 * len(x) + 0.5)
    axes = fig.subplots(len(x), ncols, squeeze=False)
    for i in range(len(x)):
        shown, options = display_image(x[i])
        axes[i, 0].imshow(shown, interpolation="nearest", **options)
        axes[i, 0].set_ylabel(labels[i] if labels is not None else f"input {i}", fontsize=9)
        for j, (name, a) in enumerate(activations, start=1):
            axes[i, j].imshow(_mosaic(a[i], max_maps), cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
            if i == 0:
                shown_maps = min(a.shape[-1], max_maps)
                axes[i, j].set_title(f"{name}\n{a.shape[1]}x{a.shape[2]}, {shown_maps} of {a.shape[3]}", fontsize=8)
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_title("input", fontsize=8)
    fig.suptitle("feature maps at every depth (each map stretched to its own range)", fontsize=10)
    return finish(fig, path, "plot_activation_grid")


def _strip(images: np.ndarray, gap: float) -> np.ndarray:
    """Images (k, H, W) side by side, separated by one column of ``gap``."""
    k, h, w = images.shape
    out = np.full((h, k * (w + 1) - 1), gap, dtype=np.float64)
    for i in range(k):
        out[:, i * (w + 1):i * (w + 1) + w] = images[i]
    return out


def _grey(x: np.ndarray) -> np.ndarray:
    """(N, H, W, C) images as (N, H, W) in [0, 1] for a grey strip: the channel mean, rescaled when outside [0, 1]."""
    g = x.mean(axis=-1).astype(np.float64)
    if g.min() < 0 or g.max() > 1:
        g = (g - g.min()) / max(float(g.max() - g.min()), 1e-12)
    return g


def _label_strip(ax: Any, k: int, width: int, captions: Sequence[str]) -> None:
    ax.set_xticks([i * (width + 1) + (width - 1) / 2 for i in range(k)], list(captions), fontsize=7)
    ax.tick_params(length=0)
    ax.set_yticks([])


def plot_top_activating(images: Any, tops: Sequence[tuple[str, int, np.ndarray, np.ndarray]],
                        labels: Sequence[str] | None = None, path: SavePath = None) -> Figure:
    """One row per unit: the images that excite it most, best first, each captioned with its
    label (if given) and the unit's peak response.

    tops: (layer name, unit, indices (k,), responses (k,)) per row, e.g. from ``top_activating``.
    labels: a caption per image of ``images`` (e.g. its class name).
    """
    x = _grey(_batch(images, "plot_top_activating"))
    k = max(len(idx) for _, _, idx, _ in tops)
    fig = new_figure(1.1 * k + 1.0, 1.45 * len(tops) + 0.5)
    axes = fig.subplots(len(tops), 1, squeeze=False)[:, 0]
    for ax, (name, unit, idx, values) in zip(axes, tops, strict=True):
        ax.imshow(_strip(x[np.asarray(idx)], 1.0), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        captions = [f"{v:.2g}" if labels is None else f"{labels[i]}\n{v:.2g}" for i, v in zip(idx, values, strict=True)]
        _label_strip(ax, len(idx), x.shape[2], captions)
        ax.set_ylabel(f"{name}\nunit {unit}", fontsize=8)
    fig.suptitle("the test images that most excite units of deeper layers (peak response), best first", fontsize=10)
    return finish(fig, path, "plot_top_activating")


def plot_saliency(images: Any, gradients: Any, titles: Sequence[str] | None = None, path: SavePath = None) -> Figure:
    """Inputs (top row) and their class saliency max_c |dS/dx| (bottom row, bright: a small change
    of that pixel moves the class score most), each map stretched to its own maximum."""
    x = _batch(images, "plot_saliency")
    g = _batch(gradients, "plot_saliency")
    if g.shape != x.shape:
        raise ValueError(f"plot_saliency: gradients {g.shape} must have the images' shape {x.shape}")
    s = np.abs(g).max(axis=-1).astype(np.float64)
    s /= np.maximum(s.max(axis=(1, 2), keepdims=True), 1e-30)
    fig = new_figure(1.25 * len(x) + 0.8, 3.6)
    top, bottom = fig.subplots(2, 1)
    top.imshow(_strip(_grey(x), 1.0), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    _label_strip(top, len(x), x.shape[2], titles if titles is not None else [""] * len(x))
    top.xaxis.tick_top()
    bottom.imshow(_strip(s, np.nan), cmap="hot", vmin=0, vmax=1, interpolation="nearest")
    _label_strip(bottom, len(x), x.shape[2], [""] * len(x))
    top.set_ylabel("input", fontsize=9)
    bottom.set_ylabel("|dS_c / dx|", fontsize=9)
    fig.suptitle("class saliency: gradient of the predicted class's score with respect to the input", fontsize=10)
    return finish(fig, path, "plot_saliency")
