"""Augmentation layers: random flips, rotations, shifts, zooms, crops, colour jitter and erasing.

Each layer applies its array function (``neurona.functional.augmentation``) to the batch
in training mode and is the identity in evaluation, like Keras's preprocessing layers;
``nr.data.DataLoader`` transforms use the same layers. No gradient flows through them.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from .. import backend
from ..autograd import Tensor, as_array
from ..backend import get_array_module
from ..functional.augmentation import (
    FILL_MODES,
    FLIP_MODES,
    INTERPOLATIONS,
    check_choice,
    contrast_range,
    factor_range,
    random_affine,
    random_brightness,
    random_contrast,
    random_crop,
    random_erasing,
    random_flip,
    random_rotation,
    random_translation,
    random_zoom,
    zoom_range,
)
from .module import Module


# ---------------------------------------------------------------- layers
def _json(value: Any) -> Any:
    return [_json(v) for v in value] if isinstance(value, tuple) else value


class _Augmentation(Module):
    """Base of the augmentation layers: the identity in evaluation; in training, ``augment``
    on the batch's array (integer images are converted to the default float dtype first).

    ``args`` are the transform's arguments (also the layer's config). ``seed``: an int gives
    the layer its own generator; None (default) uses neurona's, seeded by ``nr.manual_seed``.
    """

    def __init__(self, seed: int | None, name: str | None, input_shape: tuple[int, ...] | None = None,
                 **args: Any) -> None:
        super().__init__(name=name, input_shape=input_shape)
        self.seed, self.args = seed, args
        self._generators: dict[str, Any] = {}

    def generator(self, xp: ModuleType) -> Any:
        if self.seed is None:
            return backend.rng(xp)
        if xp.__name__ not in self._generators:
            self._generators[xp.__name__] = xp.random.default_rng(self.seed)
        return self._generators[xp.__name__]

    def augment(self, x: Any, gen: Any) -> Any:
        raise NotImplementedError

    def inference(self, x: Any) -> Any:
        return x

    def forward(self, x: Any) -> Tensor:
        where = f"{type(self).__name__} layer '{self.name}'"
        if isinstance(x, Tensor) and x.requires_grad and self.training:
            raise ValueError(f"{where}: augmentation passes no gradient to its input; place it before any layer "
                             "with weights, on inputs that do not require grad")
        data = x.data if isinstance(x, Tensor) else as_array(x, getattr(x, "dtype", None))
        if data.ndim not in (3, 4):
            raise ValueError(f"{where}: expected images (N, H, W) or (N, H, W, C). Received: shape={tuple(data.shape)}")
        if data.dtype.kind != "f":
            data = data.astype(backend.get_default_dtype())
        out = self.augment(data, self.generator(get_array_module(data))) if self.training else self.inference(data)
        if out is data and isinstance(x, Tensor):
            return x
        return Tensor(out, dtype=out.dtype)

    def get_config(self) -> dict[str, Any]:
        return {**{k: _json(v) for k, v in self.args.items()}, "seed": self.seed, "name": self.name}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.args.items())


class _Geometric(_Augmentation):
    """The affine augmentations' shared arguments (Keras's defaults: reflect fill, bilinear)."""

    def __init__(self, seed: int | None, name: str | None, input_shape: tuple[int, ...] | None, fill_mode: str,
                 interpolation: str, fill_value: float, **args: Any) -> None:
        check_choice(type(self).__name__, "fill_mode", fill_mode, FILL_MODES)
        check_choice(type(self).__name__, "interpolation", interpolation, INTERPOLATIONS)
        super().__init__(seed, name, input_shape, **args, fill_mode=fill_mode, interpolation=interpolation,
                         fill_value=float(fill_value))


class RandomFlip(_Augmentation):
    """Flip images left-right ("horizontal"), up-down ("vertical") or both, each with probability 1/2.

    >>> model = nn.Sequential([nn.RandomFlip("horizontal"), nn.Conv2D(32, 3), ...])
    """

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None):
        check_choice("RandomFlip", "mode", mode, FLIP_MODES)
        super().__init__(seed, name, input_shape, mode=mode)

    def augment(self, x: Any, gen: Any) -> Any:
        return random_flip(x, gen=gen, **self.args)


class RandomRotation(_Geometric):
    """Rotate by a random angle: ``factor`` is a fraction of a full turn, f -> [-f, f] * 2 pi
    (or a (lower, upper) pair); positive angles turn counter-clockwise.

    >>> nn.RandomRotation(0.1)     # up to +-36 degrees
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None):
        factor_range(factor, "RandomRotation", "factor")
        super().__init__(seed, name, input_shape, fill_mode, interpolation, fill_value, factor=factor)

    def augment(self, x: Any, gen: Any) -> Any:
        return random_rotation(x, gen=gen, **self.args)


class RandomTranslation(_Geometric):
    """Shift by random fractions of the height and width (f -> [-f, f]; positive = down / right).

    >>> nn.RandomTranslation(0.1, 0.1)     # up to 10% in each direction
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 name: str | None = None,
                 input_shape: tuple[int, ...] | None = None):
        factor_range(height_factor, "RandomTranslation", "height_factor", bound=1.0)
        factor_range(width_factor, "RandomTranslation", "width_factor", bound=1.0)
        super().__init__(seed, name, input_shape, fill_mode, interpolation, fill_value, height_factor=height_factor,
                         width_factor=width_factor)

    def augment(self, x: Any, gen: Any) -> Any:
        return random_translation(x, gen=gen, **self.args)


class RandomZoom(_Geometric):
    """Zoom by 1 + a random factor: positive factors zoom out, negative zoom in (f -> [-f, f]).

    ``width_factor=None`` keeps the aspect ratio (the same factor on both axes).
    """

    def __init__(self, height_factor: Any, width_factor: Any = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 name: str | None = None,
                 input_shape: tuple[int, ...] | None = None):
        zoom_range(height_factor, "RandomZoom", "height_factor")
        if width_factor is not None:
            zoom_range(width_factor, "RandomZoom", "width_factor")
        super().__init__(seed, name, input_shape, fill_mode, interpolation, fill_value, height_factor=height_factor,
                         width_factor=width_factor)

    def augment(self, x: Any, gen: Any) -> Any:
        return random_zoom(x, gen=gen, **self.args)


class RandomAffine(_Geometric):
    """RandomRotation(rotation), RandomTranslation(*translation) and RandomZoom(zoom) in one layer
    and one resampling: faster than the three, and sharper (one interpolation instead of three).

    >>> nn.RandomAffine(rotation=0.1, translation=(0.1, 0.1), zoom=0.1)
    """

    def __init__(self, rotation: Any = 0.0, translation: tuple = (0.0, 0.0), zoom: Any = 0.0,
                 fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, name: str | None = None, input_shape: tuple[int, ...] | None = None):
        factor_range(rotation, "RandomAffine", "rotation")
        if not isinstance(translation, (tuple, list)) or len(translation) != 2:
            raise ValueError(f"RandomAffine: translation must be (height_factor, width_factor). "
                             f"Received: translation={translation!r}")
        for f in translation:
            factor_range(f, "RandomAffine", "translation", bound=1.0)
        zoom_range(zoom, "RandomAffine", "zoom")
        super().__init__(seed, name, input_shape, fill_mode, interpolation, fill_value, rotation=rotation,
                         translation=tuple(translation), zoom=zoom)

    def augment(self, x: Any, gen: Any) -> Any:
        return random_affine(x, gen=gen, **self.args)


class RandomCrop(_Augmentation):
    """Pad by ``padding`` pixels, then crop a random ``height`` x ``width`` window (the CIFAR recipe).

    In evaluation the centre window is taken (the identity when the sizes already match).

    >>> nn.RandomCrop(32, 32, padding=4)
    """

    def __init__(self, height: int, width: int, padding: int = 0, fill_value: float = 0.0,
                 seed: int | None = None, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None):
        if height < 1 or width < 1 or padding < 0:
            raise ValueError(f"RandomCrop: height and width must be >= 1 and padding >= 0. "
                             f"Received: height={height}, width={width}, padding={padding}")
        super().__init__(seed, name, input_shape, height=int(height), width=int(width), padding=int(padding),
                         fill_value=float(fill_value))

    def augment(self, x: Any, gen: Any) -> Any:
        h, w, p = self.args["height"], self.args["width"], self.args["padding"]
        if h > x.shape[1] + 2 * p or w > x.shape[2] + 2 * p:
            raise ValueError(f"RandomCrop layer '{self.name}': the crop ({h}, {w}) is larger than the padded "
                             f"images ({x.shape[1] + 2 * p}, {x.shape[2] + 2 * p}). Received: shape={tuple(x.shape)}")
        return random_crop(x, gen=gen, **self.args)

    def inference(self, x: Any) -> Any:
        (H, W), h, w = x.shape[1:3], self.args["height"], self.args["width"]
        if (H, W) == (h, w):
            return x
        if h > H or w > W:
            raise ValueError(f"RandomCrop layer '{self.name}': expected images of at least ({h}, {w}) in "
                             f"evaluation. Received: shape={tuple(x.shape)}")
        top, left = (H - h) // 2, (W - w) // 2
        return x[:, top:top + h, left:left + w]


class RandomBrightness(_Augmentation):
    """Add a random offset per image: U(factor) * (range of ``value_range``), clipped to ``value_range``.

    ``factor`` f -> [-f, f], within [-1, 1]. Use value_range=(0, 1) for images scaled to [0, 1].
    """

    def __init__(self, factor: Any, value_range: tuple[float, float] = (0, 255), seed: int | None = None,
                 name: str | None = None,
                 input_shape: tuple[int, ...] | None = None):
        factor_range(factor, "RandomBrightness", "factor", bound=1.0)
        super().__init__(seed, name, input_shape, factor=factor, value_range=tuple(float(v) for v in value_range))

    def augment(self, x: Any, gen: Any) -> Any:
        return random_brightness(x, gen=gen, **self.args)


class RandomContrast(_Augmentation):
    """Scale deviations from each image's channel means by k ~ U(1 - lower, 1 + upper), clipped to value_range."""

    def __init__(self, factor: Any, value_range: tuple[float, float] = (0, 255), seed: int | None = None,
                 name: str | None = None,
                 input_shape: tuple[int, ...] | None = None):
        contrast_range(factor, "RandomContrast")
        super().__init__(seed, name, input_shape, factor=factor, value_range=tuple(float(v) for v in value_range))

    def augment(self, x: Any, gen: Any) -> Any:
        return random_contrast(x, gen=gen, **self.args)


class RandomErasing(_Augmentation):
    """With ``probability``, fill a random rectangle (area fraction in ``scale``, aspect in ``ratio``)
    with ``value``: torchvision's RandomErasing (Cutout), for the whole batch at once."""

    def __init__(self, probability: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                 ratio: tuple[float, float] = (0.3, 3.3), value: float = 0.0, seed: int | None = None,
                 name: str | None = None,
                 input_shape: tuple[int, ...] | None = None):
        if not 0 <= probability <= 1:
            raise ValueError(f"RandomErasing: probability must be in [0, 1]. Received: probability={probability}")
        if not (0 < scale[0] <= scale[1] <= 1) or not (0 < ratio[0] <= ratio[1]):
            raise ValueError(f"RandomErasing: expected 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1]. "
                             f"Received: scale={scale}, ratio={ratio}")
        super().__init__(seed, name, input_shape, probability=float(probability), scale=tuple(float(v) for v in scale),
                         ratio=tuple(float(v) for v in ratio), value=float(value))

    def augment(self, x: Any, gen: Any) -> Any:
        return random_erasing(x, gen=gen, **self.args)
