"""Data augmentation as array functions on a batch: flips, rotations, shifts, zooms, crops, colour jitter, erasing.

A rotated, shifted, flipped or recoloured cat is still a cat: training on such copies
teaches the network those invariances and regularises it. Each transform here is an
array function on a batch (``random_flip(x, ...)``); ``neurona.nn.augmentation`` wraps
each one in a layer (``nn.RandomFlip(...)``) active only in training mode, which
``nr.data.DataLoader`` transforms use too. No gradient flows through them.

Images are channels-last, (N, H, W, C) or (N, H, W). All is vectorised over the batch:
every image's random parameters are drawn at once from neurona's generator (so
``nr.manual_seed`` repeats them), and the geometric transforms are one batched inverse
affine map: each output pixel is sampled (nearest or bilinear) where it comes from.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import numpy as np

from .. import backend
from ..backend import get_array_module

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("bilinear", "nearest")
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


# ---------------------------------------------------------------- helpers
def _to_nhwc(x: Any, what: str) -> tuple[Any, bool]:
    """(N, H, W) or (N, H, W, C) -> (N, H, W, C), and whether a channel axis was added."""
    if x.ndim == 3:
        return x[..., None], True
    if x.ndim == 4:
        return x, False
    raise ValueError(f"{what}: expected images (N, H, W) or (N, H, W, C). Received: shape={tuple(x.shape)}")


def _source(x: Any, gen: Any) -> tuple[ModuleType, Any]:
    """x's array module and the generator to draw from (neurona's unless one is given)."""
    xp = get_array_module(x)
    return xp, backend.rng(xp) if gen is None else gen


def _uniform(gen: Any, lo: float, hi: float, size: Any) -> Any:
    """Uniform float32 draws in [lo, hi) (``random`` only, which NumPy's and CuPy's generators share)."""
    u = gen.random(size, dtype=np.float32)
    return u * np.float32(hi - lo) + np.float32(lo)


def _like_input(out: Any, x: Any) -> Any:
    """Back to x's dtype: integer images are rounded and clipped to their type's range."""
    if out.dtype == x.dtype:
        return out
    xp = get_array_module(out)
    if x.dtype.kind in "ui":
        info = np.iinfo(x.dtype)
        out = xp.clip(xp.rint(out), info.min, info.max)
    return out.astype(x.dtype)


def factor_range(value: Any, what: str, name: str, symmetric: bool = True, bound: float | None = None) -> tuple:
    """Keras's factor convention: f -> (-f, f) (or (f, f) when not symmetric); (lo, hi) kept as is."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        lo, hi = (-float(value), float(value)) if symmetric else (float(value), float(value))
        if symmetric and value < 0:
            raise ValueError(f"{what}: {name} must be >= 0 when a single number. Received: {name}={value}")
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        lo, hi = float(value[0]), float(value[1])
    else:
        raise ValueError(f"{what}: {name} must be a number or a (lower, upper) pair. Received: {name}={value!r}")
    if lo > hi:
        raise ValueError(f"{what}: {name} must have lower <= upper. Received: {name}={value!r}")
    if bound is not None and (lo < -bound or hi > bound):
        raise ValueError(f"{what}: {name} must lie in [-{bound}, {bound}]. Received: {name}={value!r}")
    return lo, hi


def zoom_range(value: Any, what: str, name: str) -> tuple:
    lo, hi = factor_range(value, what, name)
    if lo <= -1:
        raise ValueError(f"{what}: {name} must be > -1 (a zoom of 1 + factor). Received: {name}={value!r}")
    return lo, hi


def contrast_range(value: Any, what: str) -> tuple:
    lo, hi = factor_range(value, what, "factor", symmetric=False)
    if lo < 0 or lo > 1 or hi < 0:
        raise ValueError(f"{what}: factor must be >= 0 with lower <= 1. Received: factor={value!r}")
    return lo, hi


def check_choice(what: str, name: str, value: str, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{what}: {name} must be one of {choices}. Received: {name}={value!r}")


# ---------------------------------------------------------------- batched sampling
def _fold(s: Any, n: int, fill_mode: str) -> Any:
    """Fold source coordinates (float) into the image per fill mode, before interpolation.

    'reflect' mirrors about the outer pixel edges, -0.5 and n - 0.5 (d c b a | a b c d),
    then clamps to the pixel centres, which is the same as reflecting each neighbour's
    index; float arithmetic keeps this cheap (an integer mod per neighbour is ~10x slower).
    """
    xp = get_array_module(s)
    if fill_mode == "reflect":
        u = s + np.float32(0.5)
        u = u - np.float32(2 * n) * xp.floor(u * np.float32(1 / (2 * n)))  # into [0, 2n)
        s = xp.minimum(u, np.float32(2 * n) - u) - np.float32(0.5)
    elif fill_mode == "wrap":
        return s - np.float32(n) * xp.floor(s * np.float32(1 / n))
    if fill_mode != "constant":
        s = xp.clip(s, 0, n - 1)
    return s


def _taps(s: Any, n: int, fill_mode: str, nearest: bool) -> list[tuple[Any, Any]]:
    """The neighbours a coordinate reads: [(index, weight or None), ...], indices as whole floats.

    Indices stay floating point (exact below 2**24): every int64 temporary of a batch is
    fresh memory, and first touching it costs more than the arithmetic on it.
    Constant fill zeroes the weight of each neighbour outside the image (the fill value
    takes its share afterwards).
    """
    xp = get_array_module(s)
    s = _fold(s, n, fill_mode)
    top = np.float32(n - 1)
    if nearest:
        i = xp.floor(s + np.float32(0.5))
        w = ((i >= 0) & (i <= top)).astype(s.dtype) if fill_mode == "constant" else None
        i = i - np.float32(n) * (i > top) if fill_mode == "wrap" else xp.clip(i, 0, top, out=i)
        return [(i, w)]
    i0 = xp.floor(s)
    w1 = s - i0
    w0 = 1 - w1
    if fill_mode == "constant":
        w0 *= (i0 >= 0) & (i0 <= top)
        w1 *= (i0 >= -1) & (i0 <= top - 1)
    i1 = i0 + 1
    if fill_mode == "wrap":
        i0 -= np.float32(n) * (i0 > top)
        i1 -= np.float32(n) * (i1 > top)
    else:
        xp.clip(i0, 0, top, out=i0)
        xp.clip(i1, 0, top, out=i1)
    return [(i0, w0), (i1, w1)]


def _is_diagonal(A: Any) -> bool:
    return not bool((A[:, 0, 1] != 0).any() or (A[:, 1, 0] != 0).any())


def affine_transform(x: Any, A: Any, t: Any, interpolation: str = "bilinear", fill_mode: str = "reflect",
                     fill_value: float = 0.0) -> Any:
    """Resample each image of a batch through its own affine map, about the image centre c.

    Output pixel p (row, column) takes the input's value at ``A[n] @ (p - c) + c + t[n]``:
    A (N, 2, 2) and t (N, 2) act on (row, column) coordinates, so A is the inverse of
    the motion applied to the picture. Points outside the image follow ``fill_mode``:
    'reflect' (d c b a | a b c d), 'wrap', 'nearest' (repeat the edge) or 'constant'
    (``fill_value``). x: (N, H, W) or (N, H, W, C), any dtype; same shape and dtype out.
    Matches ``torch.nn.functional.grid_sample`` (align_corners=False) at the same points.
    """
    check_choice("affine_transform", "interpolation", interpolation, INTERPOLATIONS)
    check_choice("affine_transform", "fill_mode", fill_mode, FILL_MODES)
    xp = get_array_module(x)
    x4, squeeze = _to_nhwc(x, "affine_transform")
    N = x4.shape[0]
    A = xp.asarray(A, dtype=np.float32).reshape(N, 2, 2, 1, 1)
    t = xp.asarray(t, dtype=np.float32).reshape(N, 2, 1, 1)
    dt = x4.dtype if x4.dtype.kind == "f" else np.dtype(np.float32)
    out = _resample(x4, A, t, _is_diagonal(A), interpolation == "nearest", fill_mode, fill_value, dt)
    out = _like_input(out, x4)
    return out[..., 0] if squeeze else out


def _resample(x4: Any, A: Any, t: Any, diagonal: bool, nearest: bool, fill_mode: str, fill_value: float,
              dt: Any) -> Any:
    """affine_transform's work on a batch x4 (N, H, W, C), in dtype dt."""
    xp = get_array_module(x4)
    N, H, W, C = x4.shape
    cy, cx = np.float32((H - 1) / 2), np.float32((W - 1) / 2)
    ii = xp.arange(H, dtype=np.float32).reshape(1, H, 1) - cy
    jj = xp.arange(W, dtype=np.float32).reshape(1, 1, W) - cx
    if diagonal:  # shifts and zooms: rows and columns map separately, (N, H, 1) and (N, 1, W)
        sy, sx = A[:, 0, 0] * ii + (cy + t[:, 0]), A[:, 1, 1] * jj + (cx + t[:, 1])
        return _resample_separable(x4, sy[:, :, 0], sx[:, 0, :], nearest, fill_mode, fill_value, dt)
    else:
        sy = A[:, 0, 0] * ii + A[:, 0, 1] * jj + (cy + t[:, 0])  # (N, H, W) source rows
        sx = A[:, 1, 0] * ii + A[:, 1, 1] * jj + (cx + t[:, 1])  # (N, H, W) source columns
    flat = xp.ascontiguousarray(x4).reshape(N * H * W, C)
    it = np.float32 if N * H * W < 2**24 else np.float64  # flat indices must be exact
    base = (xp.arange(N, dtype=it) * it(H * W)).reshape(N, 1, 1)
    rows, cols = _taps(sy, H, fill_mode, nearest), _taps(sx, W, fill_mode, nearest)

    def scaled(v: Any, w: Any) -> Any:  # v * w, in place when v is a fresh float gather
        if w is None:
            return v
        w = w[..., None]
        if v.dtype != dt:
            return v * w.astype(dt, copy=False)
        v *= w
        return v

    out = None
    for iy, wy in rows:  # separable bilinear: blend the two columns of each row tap, then the rows
        offset = base + iy.astype(it, copy=False) * it(W)
        row = None
        for ix, wx in cols:
            v = scaled(flat.take((offset + ix).astype(np.int64), axis=0), wx)  # (N, H, W, C), one gather
            row = v if row is None else xp.add(row, v, out=row)
        row = scaled(row, wy)
        out = row if out is None else xp.add(out, row, out=out)
    if fill_mode == "constant" and fill_value != 0:  # the fill value's share: what no pixel inside covered
        covered = sum(w for _, w in rows) * sum(w for _, w in cols)
        out = out + (1 - covered.astype(dt, copy=False))[..., None] * dt.type(fill_value)
    return out


def _interpolation_matrices(s: Any, n: int, fill_mode: str, nearest: bool, dt: Any) -> Any:
    """(N, len, n) matrices R with R[k, o, i] the weight of input i in output o of image k, for
    source coordinates s (N, len): the interpolation along one axis as a matrix."""
    xp = get_array_module(s)
    N, m = s.shape
    R = xp.zeros((N, m, n), dt)
    rows = (xp.arange(N * m) * n).reshape(N, m)
    for index, weight in _taps(s, n, fill_mode, nearest):  # one index per row and tap: no clashes
        w = xp.ones((N, m), dt) if weight is None else weight.astype(dt)
        R.reshape(-1)[(rows + index.astype(np.int64)).reshape(-1)] += w.reshape(-1)
    return R


def _resample_separable(x4: Any, sy: Any, sx: Any, nearest: bool, fill_mode: str, fill_value: float,
                        dt: Any) -> Any:
    """A map that moves rows and columns separately (shift, zoom) as two small matrix products
    per image, out = Ry x Rx^T: the same weights as the gathers, ~3x faster for 28x28 images."""
    xp = get_array_module(x4)
    N, H, W, C = x4.shape
    Ry = _interpolation_matrices(sy, H, fill_mode, nearest, dt)  # (N, H, H)
    Rx = _interpolation_matrices(sx, W, fill_mode, nearest, dt)  # (N, W, W)
    rows = xp.matmul(Ry, x4.astype(dt, copy=False).reshape(N, H, W * C)).reshape(N, H, W, C)
    by_channel = rows.transpose(0, 1, 3, 2).reshape(N, H * C, W)  # (a copy only when C > 1)
    out = xp.matmul(by_channel, Rx.transpose(0, 2, 1)).reshape(N, H, C, W).transpose(0, 1, 3, 2)
    if fill_mode == "constant" and fill_value != 0:  # the fill value's share: what no pixel inside covered
        covered = Ry.sum(axis=2)[:, :, None] * Rx.sum(axis=2)[:, None, :]
        out = out + (1 - covered)[..., None] * dt.type(fill_value)
    return out


def _draw_affine(xp: ModuleType, n: int, angle: Any = None, zoom: Any = None, shift: Any = None) -> tuple[Any, Any]:
    """A, t for affine_transform: per image, zoom by (zy, zx) (>1 zooms out), then turn by ``angle``
    (radians, counter-clockwise), then shift by (dy, dx) pixels (down, right)."""
    A = xp.zeros((n, 2, 2), dtype=np.float32)
    A[:, 0, 0] = A[:, 1, 1] = 1
    if angle is not None:  # a picture turned by +angle is sampled at the point turned by -angle
        c, s = xp.cos(angle), xp.sin(angle)
        A[:, 0, 0], A[:, 0, 1], A[:, 1, 0], A[:, 1, 1] = c, s, -s, c
    t = xp.zeros((n, 2), dtype=np.float32)
    if shift is not None:  # the shift happens last, so in source coordinates it is turned too
        t[:, 0] = -(A[:, 0, 0] * shift[0] + A[:, 0, 1] * shift[1])
        t[:, 1] = -(A[:, 1, 0] * shift[0] + A[:, 1, 1] * shift[1])
    if zoom is not None:
        A = A * zoom[0].reshape(n, 1, 1) if zoom[1] is None else A * xp.stack([zoom[0], zoom[1]], 1).reshape(n, 1, 2)
    return A, t


# ---------------------------------------------------------------- array functions
def random_flip(x: Any, mode: str = "horizontal_and_vertical", gen: Any = None) -> Any:
    """Flip each image left-right and/or up-down, each with probability 1/2, independently per image."""
    check_choice("random_flip", "mode", mode, FLIP_MODES)
    xp, gen = _source(x, gen)
    _to_nhwc(x, "random_flip")
    n = x.shape[0]
    shape = (n,) + (1,) * (x.ndim - 1)
    if mode != "vertical":
        x = xp.where((gen.random(n) < 0.5).reshape(shape), x[:, :, ::-1], x)
    if mode != "horizontal":
        x = xp.where((gen.random(n) < 0.5).reshape(shape), x[:, ::-1], x)
    return x


def _random_geometric(x: Any, gen: Any, sampling: tuple, rotation: tuple | None = None,
                      shift: tuple | None = None, zoom: tuple | None = None) -> Any:
    """Draw each image's angle, shift and zoom (the (lower, upper) ranges given, in that order)
    and resample once. ``zoom``: (height range, width range or None for the same factor)."""
    xp, gen = _source(x, gen)
    n, H, W = x.shape[:3]
    angle = None if rotation is None else _uniform(gen, *rotation, n) * np.float32(2 * math.pi)
    if shift is not None:
        shift = (_uniform(gen, *shift[0], n) * np.float32(H), _uniform(gen, *shift[1], n) * np.float32(W))
    if zoom is not None:
        zoom = (1 + _uniform(gen, *zoom[0], n), None if zoom[1] is None else 1 + _uniform(gen, *zoom[1], n))
    A, t = _draw_affine(xp, n, angle=angle, zoom=zoom, shift=shift)
    return affine_transform(x, A, t, *sampling)


def random_rotation(x: Any, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                    fill_value: float = 0.0, gen: Any = None) -> Any:
    """Rotate each image by a random angle of ``factor`` turns (f -> [-f, f] * 2 pi; positive = counter-clockwise)."""
    rotation = factor_range(factor, "random_rotation", "factor")
    return _random_geometric(x, gen, (interpolation, fill_mode, fill_value), rotation=rotation)


def random_translation(x: Any, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                       interpolation: str = "bilinear", fill_value: float = 0.0, gen: Any = None) -> Any:
    """Shift each image by random fractions of its height and width (positive = down / right)."""
    shift = (factor_range(height_factor, "random_translation", "height_factor", bound=1.0),
             factor_range(width_factor, "random_translation", "width_factor", bound=1.0))
    return _random_geometric(x, gen, (interpolation, fill_mode, fill_value), shift=shift)


def random_zoom(x: Any, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                interpolation: str = "bilinear", fill_value: float = 0.0, gen: Any = None) -> Any:
    """Zoom each image by 1 + a random factor per axis: positive zooms out, negative zooms in.

    ``width_factor=None`` zooms both axes by the same factor (keeps the aspect ratio).
    """
    zoom = (zoom_range(height_factor, "random_zoom", "height_factor"),
            None if width_factor is None else zoom_range(width_factor, "random_zoom", "width_factor"))
    return _random_geometric(x, gen, (interpolation, fill_mode, fill_value), zoom=zoom)


def random_affine(x: Any, rotation: Any = 0.0, translation: tuple = (0.0, 0.0), zoom: Any = 0.0,
                  fill_mode: str = "reflect", interpolation: str = "bilinear", fill_value: float = 0.0,
                  gen: Any = None) -> Any:
    """Random rotation, translation and zoom in one resampling (one interpolation instead of three).

    Factors as ``random_rotation(rotation)``, ``random_translation(*translation)`` and
    ``random_zoom(zoom)`` (same zoom on both axes); the picture is zoomed, turned, then shifted.
    """
    if not isinstance(translation, (tuple, list)) or len(translation) != 2:
        raise ValueError(f"random_affine: translation must be (height_factor, width_factor). "
                         f"Received: translation={translation!r}")
    return _random_geometric(x, gen, (interpolation, fill_mode, fill_value),
                             rotation=factor_range(rotation, "random_affine", "rotation"),
                             shift=tuple(factor_range(f, "random_affine", "translation", bound=1.0)
                                         for f in translation),
                             zoom=(zoom_range(zoom, "random_affine", "zoom"), None))


def random_crop(x: Any, height: int, width: int, padding: int = 0, fill_value: float = 0.0, gen: Any = None) -> Any:
    """Pad each side by ``padding`` (with ``fill_value``), then cut a random height x width window per image.

    The CIFAR recipe: 32x32 images, padding=4, a random 32x32 crop: shifts of up to 4 pixels.
    """
    xp, gen = _source(x, gen)
    x4, squeeze = _to_nhwc(x, "random_crop")
    if padding:
        pad = ((0, 0), (padding, padding), (padding, padding), (0, 0))
        x4 = xp.pad(x4, pad, mode="constant", constant_values=x4.dtype.type(fill_value))
    n, H, W = x4.shape[:3]
    if height > H or width > W:
        raise ValueError(f"random_crop: the crop ({height}, {width}) is larger than the padded images ({H}, {W})")
    top = xp.floor(gen.random(n) * (H - height + 1)).astype(np.int64)
    left = xp.floor(gen.random(n) * (W - width + 1)).astype(np.int64)
    rows = (top[:, None] + xp.arange(height))[:, :, None]
    cols = (left[:, None] + xp.arange(width))[:, None, :]
    out = x4[xp.arange(n)[:, None, None], rows, cols]
    return out[..., 0] if squeeze else out


def random_brightness(x: Any, factor: Any, value_range: tuple[float, float] = (0, 255), gen: Any = None) -> Any:
    """Add one random offset per image: delta = U(factor) * (max - min of value_range), then clip to value_range."""
    lo, hi = factor_range(factor, "random_brightness", "factor", bound=1.0)
    xp, gen = _source(x, gen)
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    span = float(value_range[1]) - float(value_range[0])
    delta = (_uniform(gen, lo, hi, x.shape[0]) * np.float32(span)).astype(dt).reshape((-1,) + (1,) * (x.ndim - 1))
    out = xp.clip(x.astype(dt, copy=False) + delta, dt.type(value_range[0]), dt.type(value_range[1]))
    return _like_input(out, x)


def random_contrast(x: Any, factor: Any, value_range: tuple[float, float] = (0, 255), gen: Any = None) -> Any:
    """Scale each image's deviations from its per-channel mean by k ~ U(1 - lower, 1 + upper), then clip.

    ``factor`` f means lower = upper = f (Keras's convention); y = (x - mean) * k + mean.
    """
    lo, hi = contrast_range(factor, "random_contrast")
    xp, gen = _source(x, gen)
    x4, squeeze = _to_nhwc(x, "random_contrast")
    dt = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    xf = x4.astype(dt, copy=False)
    k = _uniform(gen, 1 - lo, 1 + hi, x.shape[0]).astype(dt).reshape(-1, 1, 1, 1)
    mean = xf.mean(axis=(1, 2), keepdims=True, dtype=dt)
    out = xp.clip((xf - mean) * k + mean, dt.type(value_range[0]), dt.type(value_range[1]))
    out = _like_input(out, x4)
    return out[..., 0] if squeeze else out


def random_erasing(x: Any, probability: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                   ratio: tuple[float, float] = (0.3, 3.3), value: float = 0.0, gen: Any = None,
                   tries: int = 10) -> Any:
    """Cutout: with ``probability``, fill one random rectangle of each image with ``value``.

    The rectangle's area is a fraction U(scale) of the image and its aspect ratio h/w is
    log-uniform in ``ratio`` (torchvision's RandomErasing). As there, up to ``tries``
    candidates are drawn per image and the first that fits is used; if none fits the
    image is left as it is. All candidates of the batch are drawn at once.
    """
    xp, gen = _source(x, gen)
    x4, squeeze = _to_nhwc(x, "random_erasing")
    n, H, W = x4.shape[:3]
    area = _uniform(gen, scale[0], scale[1], (n, tries)) * np.float32(H * W)
    aspect = xp.exp(_uniform(gen, math.log(ratio[0]), math.log(ratio[1]), (n, tries)))
    h = xp.rint(xp.sqrt(area * aspect)).astype(np.int64)
    w = xp.rint(xp.sqrt(area / aspect)).astype(np.int64)
    fits = (h >= 1) & (w >= 1) & (h < H) & (w < W)
    pick = xp.argmax(fits.astype(np.int8), axis=1)  # the first candidate that fits (0 when none does)
    rows = xp.arange(n)
    h, w = h[rows, pick], w[rows, pick]
    erase = fits[rows, pick] & (gen.random(n) < probability)
    top = xp.floor(gen.random(n) * (H - h + 1)).astype(np.int64)
    left = xp.floor(gen.random(n) * (W - w + 1)).astype(np.int64)
    r = xp.arange(H).reshape(1, H, 1)
    c = xp.arange(W).reshape(1, 1, W)
    mask = ((r >= top.reshape(n, 1, 1)) & (r < (top + h).reshape(n, 1, 1))
            & (c >= left.reshape(n, 1, 1)) & (c < (left + w).reshape(n, 1, 1)) & erase.reshape(n, 1, 1))
    out = xp.where(mask[..., None], x4.dtype.type(value), x4)
    return out[..., 0] if squeeze else out
