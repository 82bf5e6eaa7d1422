"""Looking inside image models: conv filters, feature maps, and a grid of sample predictions.

Images are channels-last, as everywhere in neurona: (H, W), (H, W, 1) or (H, W, 3),
uint8 (0..255) or float (0..1, or any range, which is rescaled for display).
Every function returns a matplotlib ``Figure`` and saves it when ``path`` is given.
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
from ._common import as_labels, as_numpy, evaluation, model_device
from ._figure import BAD, SavePath, finish, new_figure


def display_image(image: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """An image ready for ``imshow`` and its keyword arguments (grey colour map and range for one channel).

    uint8 keeps 0..255 and floats in [0, 1] keep 0..1, so dark images stay dark; floats in any
    other range (standardised inputs) are stretched to their own minimum and maximum.
    """
    a = as_numpy(image)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
        raise ValueError(f"expected an image (H, W), (H, W, 1) or (H, W, 3), channels last. Received: shape={a.shape}")
    if a.dtype == np.uint8:
        return a, ({"cmap": "gray", "vmin": 0, "vmax": 255} if a.ndim == 2 else {})
    a = a.astype(np.float32)
    low, high = float(a.min()), float(a.max())
    if low >= 0.0 and high <= 1.0:
        return a, ({"cmap": "gray", "vmin": 0.0, "vmax": 1.0} if a.ndim == 2 else {})
    if a.ndim == 2:
        return a, {"cmap": "gray", "vmin": low, "vmax": high}
    return (a - low) / (high - low), {}  # imshow clips RGB floats to [0, 1], so stretch them there


def _image_batch(images: Any, image_shape: Sequence[int] | None, who: str) -> np.ndarray:
    """(N, H, W[, C]) images from a batch, reshaping flat rows (N, H*W) back to squares (or ``image_shape``)."""
    a = as_numpy(images)
    if a.ndim == 2:
        side = math.isqrt(a.shape[1])
        shape = tuple(image_shape) if image_shape is not None else (side, side) if side * side == a.shape[1] else None
        if shape is None or math.prod(shape) != a.shape[1]:
            raise ValueError(f"{who}: flat images of {a.shape[1]} values are not square; pass image_shape=(H, W[, C])")
        a = a.reshape((a.shape[0],) + shape)
    if a.ndim not in (3, 4):
        raise ValueError(f"{who}: expected images (N, H, W) or (N, H, W, C). Received: shape={a.shape}")
    return a


def _hide_ticks(ax: Any) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


# ---------------------------------------------------------------- predictions
def plot_predictions(images: Any, y_pred: Any, y_true: Any = None, class_names: Sequence[str] | None = None,
                     n: int = 25, ncols: int | None = None, errors_only: bool = False,
                     image_shape: Sequence[int] | None = None, path: SavePath = None) -> Figure:
    """A grid of images titled with the predicted label; wrong predictions in red with the true label.

    images: (N, H, W), (N, H, W, C), or flat rows (N, H*W) of square images.
    y_pred: labels (N,) or scores (N, C) (logits or probabilities: the confidence is shown).
    errors_only: show only the misclassified images (needs y_true).

    >>> nr.viz.plot_predictions(x_test, model.predict(x_test), y_test, errors_only=True)
    """
    batch = _image_batch(images, image_shape, "plot_predictions")
    scores = as_numpy(y_pred)
    pred = as_labels(scores, "plot_predictions", "y_pred")
    confidence = _confidence(scores) if scores.ndim == 2 and scores.shape[1] > 1 else None
    true = None if y_true is None else as_labels(y_true, "plot_predictions", "y_true")
    if len(pred) != len(batch) or (true is not None and len(true) != len(batch)):
        raise ValueError(f"plot_predictions: {len(batch)} images, {len(pred)} predictions"
                         + ("" if true is None else f" and {len(true)} true labels") + ": they must match")
    if errors_only and true is None:
        raise ValueError("plot_predictions: errors_only=True needs y_true")
    chosen = np.flatnonzero(pred != true) if errors_only else np.arange(len(batch))
    chosen = chosen[:n]
    if chosen.size == 0:
        raise ValueError("plot_predictions: nothing to show" + (" (no wrong predictions)" if errors_only else ""))
    ncols = ncols or math.ceil(math.sqrt(chosen.size))
    nrows = math.ceil(chosen.size / ncols)
    fig = new_figure(1.5 * ncols, 1.75 * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()

    def name(k: Any) -> str:
        return str(class_names[int(k)]) if class_names is not None else str(k)

    for ax, i in zip(axes, chosen, strict=False):
        img, options = display_image(batch[i])
        ax.imshow(img, interpolation="nearest", **options)
        _hide_ticks(ax)
        title = name(pred[i]) + ("" if confidence is None else f" ({confidence[i]:.0%})")
        wrong = true is not None and pred[i] != true[i]
        if wrong:
            title += f"\ntrue: {name(true[i])}"
            for spine in ax.spines.values():
                spine.set_color(BAD)
                spine.set_linewidth(2.5)
        ax.set_title(title, fontsize=9, color=BAD if wrong else "black")
    for ax in axes[chosen.size:]:
        ax.set_visible(False)
    if true is not None:
        n_wrong = int((pred[chosen] != true[chosen]).sum())
        fig.suptitle(f"{n_wrong} wrong of {chosen.size} shown" + (" (errors only)" if errors_only else ""))
    return finish(fig, path, "plot_predictions")


def _confidence(scores: np.ndarray) -> np.ndarray:
    """The probability of the predicted class: the scores themselves if they are probabilities, else softmax."""
    s = scores.astype(np.float64)
    if s.min() >= 0 and np.allclose(s.sum(axis=1), 1, atol=1e-3):
        return s.max(axis=1)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return 1.0 / e.sum(axis=1)  # the largest entry of e is exp(0) = 1


# ---------------------------------------------------------------- conv filters
def conv_layers(model: Module) -> list[tuple[str, Module]]:
    """(path, layer) of every layer in ``model`` that owns a 4-D ``kernel`` (kh, kw, C_in, C_out)."""
    found = []
    for path, m in model.named_modules():
        kernel = m._parameters.get("kernel")
        if kernel is not None and kernel.ndim == 4:
            found.append((path or m.name, m))
    return found


def plot_filters(source: Any, layer: int | str | None = None, in_channel: int | None = None,
                 max_filters: int = 64, ncols: int | None = None, path: SavePath = None) -> Figure:
    """The kernels of a convolution layer as small images: what each filter responds to.

    source: a model (its first conv layer, or ``layer``: an index among its conv layers or a name),
    or a kernel (kh, kw, C_in, C_out) itself. With 3 input channels each filter is drawn in colour
    (each stretched to its own range, as the classic AlexNet picture); otherwise ``in_channel``
    (default 0) is drawn in grey on one scale shared by all filters, mid-grey being 0.
    """
    title = "kernel"
    if isinstance(source, Module):
        found = conv_layers(source)
        if not found:
            raise ValueError(f"plot_filters: model '{source.name}' has no convolution layer "
                             "(a layer with a 4-D kernel (kh, kw, C_in, C_out))")
        conv = _pick_layer(found, layer, "plot_filters")[1]
        title, W = conv.name, conv.kernel.numpy()
    else:
        W = as_numpy(source)
    if W.ndim != 4:
        raise ValueError(f"plot_filters: expected a kernel (kh, kw, C_in, C_out). Received: shape={W.shape}")
    kh, kw, c_in, c_out = W.shape
    colour = c_in == 3 and in_channel is None
    channel = 0 if in_channel is None else in_channel
    if not colour and not 0 <= channel < c_in:
        raise ValueError(f"plot_filters: in_channel must be in [0, {c_in - 1}]. Received: in_channel={in_channel}")
    count = min(c_out, max_filters)
    ncols = ncols or math.ceil(math.sqrt(count))
    nrows = math.ceil(count / ncols)
    fig = new_figure(max(3.0, 0.9 * ncols), 0.9 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    scale = float(np.abs(W[:, :, channel, :count]).max()) if not colour else 0.0
    for k, ax in enumerate(axes[:count]):
        if colour:
            f = W[:, :, :, k]
            f = (f - f.min()) / max(float(f.max() - f.min()), 1e-12)
            ax.imshow(f, interpolation="nearest")
        else:
            ax.imshow(W[:, :, channel, k], cmap="gray", vmin=-scale, vmax=scale, interpolation="nearest")
        _hide_ticks(ax)
    for ax in axes[count:]:
        ax.set_visible(False)
    shown = f"{count} of {c_out} filters" if count < c_out else f"{c_out} filters"
    where = "" if colour or c_in == 1 else f", input channel {channel} of {c_in}"
    fig.suptitle(f"{title}: {shown} {kh}x{kw}x{c_in}{where}", fontsize=10)
    return finish(fig, path, "plot_filters")


def _pick_layer(found: list[tuple[str, Module]], layer: int | str | None, who: str) -> tuple[str, Module]:
    if layer is None:
        return found[0]
    if isinstance(layer, int):
        if not -len(found) <= layer < len(found):
            raise ValueError(f"{who}: the model has {len(found)} conv layers. Received: layer={layer}")
        return found[layer]
    for path, m in found:
        if layer in (path, m.name):
            return path, m
    raise ValueError(f"{who}: no conv layer named {layer!r}. Conv layers: {', '.join(p for p, _ in found)}")


# ---------------------------------------------------------------- feature maps
def plot_feature_maps(model: Module, image: Any, layers: Sequence[int | str] | None = None, max_maps: int = 16,
                      ncols: int = 8, path: SavePath = None) -> Figure:
    """The activations of the conv layers of a Sequential model for one input image, one row per layer.

    The layers run one by one under no_grad in eval mode (each module's mode is restored after).
    image: (H, W), (H, W, C) or (1, H, W, C), as the model takes it (after your preprocessing).
    layers: which layers to show, by index in the Sequential or by name (default: each layer
    holding a convolution kernel whose output is a map (1, H, W, C)). At most ``max_maps`` channels
    per layer are drawn, each stretched to its own range.
    """
    if not isinstance(model, Module) or not hasattr(model, "layers"):
        raise TypeError("plot_feature_maps: expected a Sequential model (its layers run one by one). "
                        f"Received: {type(model).__name__}")
    a = as_numpy(image)
    batch = {2: lambda: a[None, :, :, None], 3: lambda: a[None], 4: lambda: a[:1]}.get(a.ndim)
    if batch is None:
        raise ValueError(f"plot_feature_maps: expected one image (H, W), (H, W, C) or (1, H, W, C). "
                         f"Received: shape={a.shape}")
    x = batch().astype(backend.get_default_dtype())
    all_layers = model.layers
    wanted = _wanted_layers(all_layers, layers)
    maps = []
    with no_grad(), evaluation(model):
        h = tensor(x, device=model_device(model))
        for i, layer in enumerate(all_layers):
            h = layer(h)
            if (i in wanted) if wanted is not None else (conv_layers(layer) and h.ndim == 4):
                if h.ndim != 4:
                    raise ValueError(f"plot_feature_maps: layer {i} ('{layer.name}') outputs shape {h.shape}, "
                                     "not a feature map (1, H, W, C)")
                maps.append((layer.name, h.numpy()[0]))
    if not maps:
        raise ValueError(f"plot_feature_maps: model '{model.name}' has no conv layer with a (1, H, W, C) output; "
                         "choose layers= by index or name")
    rows = [math.ceil(min(m.shape[-1], max_maps) / ncols) for _, m in maps]
    fig = new_figure(1.3 * ncols, 1.6 + sum(1.3 * r + 0.35 for r in rows))
    parts = fig.subfigures(len(maps) + 1, 1, height_ratios=[1.6] + [1.3 * r + 0.35 for r in rows])
    ax = parts[0].subplots()
    shown, options = display_image(a[0] if a.ndim == 4 else a)
    ax.imshow(shown, interpolation="nearest", **options)
    _hide_ticks(ax)
    parts[0].suptitle(f"input {tuple(a.shape[-3:] if a.ndim == 4 else a.shape)}", fontsize=10)
    for part, (name, m), nrows in zip(parts[1:], maps, rows, strict=True):
        count = min(m.shape[-1], max_maps)
        axes = part.subplots(nrows, ncols, squeeze=False).ravel()
        for k, ax in enumerate(axes):
            if k < count:
                ax.imshow(m[:, :, k], cmap="viridis", interpolation="nearest")
                _hide_ticks(ax)
            else:
                ax.set_visible(False)
        more = f", first {count} of {m.shape[-1]} maps" if count < m.shape[-1] else ""
        part.suptitle(f"{name}: {m.shape[0]}x{m.shape[1]}x{m.shape[2]}{more}", fontsize=10)
    return finish(fig, path, "plot_feature_maps")


def _wanted_layers(all_layers: list[Module], layers: Sequence[int | str] | None) -> set[int] | None:
    if layers is None:
        return None
    names = {m.name: i for i, m in enumerate(all_layers)}
    wanted = set()
    for ref in layers:
        if isinstance(ref, int) and -len(all_layers) <= ref < len(all_layers):
            wanted.add(ref % len(all_layers))
        elif isinstance(ref, str) and ref in names:
            wanted.add(names[ref])
        else:
            raise ValueError(f"plot_feature_maps: no layer {ref!r}; the model's layers are "
                             f"{', '.join(f'{i}: {m.name}' for i, m in enumerate(all_layers))}")
    return wanted
