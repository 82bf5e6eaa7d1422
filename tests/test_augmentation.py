"""Augmentation: the batched affine sampler against torch's grid_sample, the Keras factor conventions on
known cases, shapes and dtypes, determinism, eval-mode identity, and the layers' contract."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import neurona as nr
from neurona import nn
from neurona.autograd import Tensor
from neurona.functional import augmentation as A
from neurona.nn.module import deserialize_layer, serialize_layer

R = np.random.default_rng(0)


def images(n=4, h=7, w=6, c=2, dtype=np.float32):
    return (R.random((n, h, w, c)) * 255).astype(dtype)


# ---------------------------------------------------------------- the sampler against torch
def torch_affine(x, Am, t, mode, padding_mode):
    """grid_sample at the same source points (align_corners=False: pixel i sits at (2i + 1)/size - 1)."""
    N, H, W, C = x.shape
    cy, cx = (H - 1) / 2, (W - 1) / 2
    ii, jj = np.meshgrid(np.arange(H) - cy, np.arange(W) - cx, indexing="ij")
    sy = Am[:, 0, 0, None, None] * ii + Am[:, 0, 1, None, None] * jj + cy + t[:, 0, None, None]
    sx = Am[:, 1, 0, None, None] * ii + Am[:, 1, 1, None, None] * jj + cx + t[:, 1, None, None]
    grid = np.stack([(2 * sx + 1) / W - 1, (2 * sy + 1) / H - 1], axis=-1)
    out = TF.grid_sample(torch.tensor(x).permute(0, 3, 1, 2), torch.tensor(grid), mode=mode,
                         padding_mode=padding_mode, align_corners=False)
    return out.permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("fill_mode, padding_mode", [("constant", "zeros"), ("nearest", "border"),
                                                     ("reflect", "reflection")])
@pytest.mark.parametrize("rotate", [True, False])  # without rotation rows and columns are sampled separately
def test_affine_transform_matches_torch_grid_sample(interpolation, fill_mode, padding_mode, rotate):
    x = R.standard_normal((5, 9, 8, 3))
    ang = R.uniform(-1, 1, 5) if rotate else np.zeros(5)
    zoom = R.uniform(0.6, 1.8, (5, 2))
    Am = np.stack([np.stack([np.cos(ang), np.sin(ang)], 1), np.stack([-np.sin(ang), np.cos(ang)], 1)], 1)
    Am = Am * zoom[:, None, :]
    t = R.uniform(-4, 4, (5, 2))
    ours = A.affine_transform(x, Am, t, interpolation, fill_mode)
    theirs = torch_affine(x, Am.astype(np.float32).astype(np.float64), t.astype(np.float32).astype(np.float64),
                          interpolation, padding_mode)
    if interpolation == "nearest":  # ties (x.5 exactly) may round differently; random maps make them rare
        assert np.mean(np.isclose(ours, theirs, atol=1e-5)) > 0.99
    else:
        np.testing.assert_allclose(ours, theirs, atol=2e-5)


def test_affine_wrap_fill():
    x = np.arange(10, dtype=np.float32).reshape(1, 1, 10)
    out = A.affine_transform(x, np.eye(2)[None], np.array([[0.0, 3.0]]), "nearest", "wrap")
    np.testing.assert_array_equal(out[0, 0], np.roll(x[0, 0], -3))


# ---------------------------------------------------------------- known cases
def test_flip_twice_is_the_identity():
    x = images()
    once = A.random_flip(x, gen=np.random.default_rng(1))
    twice = A.random_flip(once, gen=np.random.default_rng(1))  # the same draws undo themselves
    np.testing.assert_array_equal(twice, x)
    assert not np.array_equal(once, x)
    for i in range(len(x)):  # each image is itself or a flip of itself
        candidates = [x[i], x[i, :, ::-1], x[i, ::-1], x[i, ::-1, ::-1]]
        assert any(np.array_equal(once[i], c) for c in candidates)
    h = A.random_flip(x, "horizontal", gen=np.random.default_rng(2))
    assert all(np.array_equal(h[i], x[i]) or np.array_equal(h[i], x[i, :, ::-1]) for i in range(len(x)))


def test_zero_factors_are_the_identity():
    x = images()
    np.testing.assert_array_equal(A.random_rotation(x, 0.0), x)
    np.testing.assert_array_equal(A.random_translation(x, 0.0, 0.0), x)
    np.testing.assert_array_equal(A.random_zoom(x, 0.0), x)
    np.testing.assert_array_equal(A.random_brightness(x, 0.0), x)
    np.testing.assert_allclose(A.random_contrast(x, 0.0), x, atol=1e-4)  # (x - m) * 1 + m, up to rounding
    np.testing.assert_array_equal(A.random_crop(x, 7, 6), x)
    np.testing.assert_array_equal(A.random_erasing(x, probability=0.0), x)


def test_quarter_turn_is_rot90_counter_clockwise():
    x = images(h=6, w=6)
    out = A.random_rotation(x, (0.25, 0.25), interpolation="nearest")
    np.testing.assert_array_equal(out, np.rot90(x, 1, axes=(1, 2)))
    out = A.random_rotation(x, (-0.25, -0.25), interpolation="bilinear")
    np.testing.assert_allclose(out, np.rot90(x, -1, axes=(1, 2)), atol=1e-3)


def test_affine_is_zoom_then_rotation_then_shift_in_one_resampling():
    x = images(n=5, h=8, w=8, c=1)
    fused = A.random_affine(x, (0.25, 0.25), ((0.25, 0.25), (-0.125, -0.125)), fill_mode="constant",
                            interpolation="nearest")
    turned = np.rot90(x, 1, axes=(1, 2))
    shifted = np.zeros_like(turned)
    shifted[:, 2:, :7] = turned[:, :6, 1:]  # 2 rows down, 1 column left
    np.testing.assert_array_equal(fused, shifted)
    same = dict(fill_mode="constant", interpolation="bilinear")
    np.testing.assert_array_equal(A.random_affine(x, 0.2, gen=np.random.default_rng(3), **same),
                                  A.random_rotation(x, 0.2, gen=np.random.default_rng(3), **same))
    zoomed = A.random_affine(x, 0.0, zoom=(0.5, 0.5), **same)
    np.testing.assert_allclose(zoomed, A.random_zoom(x, (0.5, 0.5), **same), atol=1e-4)


def test_translation_direction_in_pixels():
    x = np.zeros((1, 10, 10), dtype=np.float32)
    x[0, 4, 5] = 1
    out = A.random_translation(x, (0.2, 0.2), (-0.3, -0.3), fill_mode="constant")
    assert np.argwhere(out[0] > 0.5).tolist() == [[6, 2]]  # 2 rows down, 3 columns left
    filled = A.random_translation(x + 1, (0.2, 0.2), (-0.3, -0.3), fill_mode="constant", fill_value=5.0)
    assert (filled[0, :2] == 5).all() and (filled[0, :, 7:] == 5).all() and (filled[0, 2:, :7] == 1).sum() == 8 * 7 - 1
    smooth = A.random_translation(x + 1, (0.25, 0.25), (0, 0), fill_mode="constant", fill_value=5.0)
    np.testing.assert_allclose(smooth[0, 2, 0], 0.5 * 5 + 0.5 * 1)  # half a pixel of fill, half of image


def test_zoom_out_shrinks_about_the_centre():
    x = np.zeros((1, 9, 9), dtype=np.float32)
    x[0, 4, 4] = 1.0  # centre: fixed
    x[0, 4, 8] = 2.0  # 4 right of centre
    out = A.random_zoom(x, (1.0, 1.0), fill_mode="constant", interpolation="nearest")  # 2x zoom out
    assert out[0, 4, 4] == 1.0 and out[0, 4, 6] == 2.0
    inward = A.random_zoom(x, (-0.5, -0.5), fill_mode="constant", interpolation="nearest")  # 2x zoom in
    assert inward[0, 4, 4] == 1.0 and inward[0, 4, 8] == 0.0


def test_brightness_bounds():
    x = np.full((200, 2, 2, 1), 100.0, dtype=np.float32)
    out = A.random_brightness(x, 0.2)
    delta = out[:, 0, 0, 0] - 100
    assert np.abs(delta).max() <= 0.2 * 255 + 1e-3 and delta.min() < -30 and delta.max() > 30
    assert (out == out[:, :1, :1]).all()  # one offset per image
    clipped = A.random_brightness(np.full((50, 2, 2), 250, dtype=np.uint8), (0.5, 0.5))
    assert clipped.dtype == np.uint8 and (clipped == 255).all()
    low = A.random_brightness(np.full((50, 2, 2), 0.1, dtype=np.float32), (-0.5, -0.5), value_range=(0, 1))
    assert (low == 0).all()


def test_contrast_keeps_channel_means():
    x = (R.random((20, 5, 5, 3)) * 100 + 50).astype(np.float32)
    out = A.random_contrast(x, 0.4)
    np.testing.assert_allclose(out.mean(axis=(1, 2)), x.mean(axis=(1, 2)), rtol=1e-5)
    ratio = out.std(axis=(1, 2)) / x.std(axis=(1, 2))
    assert ratio.min() >= 0.6 - 1e-4 and ratio.max() <= 1.4 + 1e-4 and ratio.std() > 0.05


def test_erasing_area_within_bounds():
    x = np.ones((500, 20, 20), dtype=np.float32)
    out = A.random_erasing(x, probability=1.0, scale=(0.05, 0.2), ratio=(0.5, 2.0), value=0.0)
    area = (out == 0).sum(axis=(1, 2)) / 400
    assert area.min() > 0.03 and area.max() < 0.23  # the scale range, up to rounding of the sides
    for i in range(20):  # each erased region is one rectangle
        rows, cols = np.nonzero(out[i] == 0)
        assert len(rows) == (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
    some = A.random_erasing(x, probability=0.5)
    assert 0.35 < ((some == 0).any(axis=(1, 2))).mean() < 0.65


def test_random_crop_takes_windows_of_the_padded_image():
    x = images(n=30, h=8, w=8, c=1)
    out = A.random_crop(x, 8, 8, padding=2)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)))
    offsets = set()
    for i in range(len(x)):
        hits = [(a, b) for a in range(5) for b in range(5) if np.array_equal(out[i], padded[i, a:a + 8, b:b + 8])]
        assert hits
        offsets.add(hits[0])
    assert len(offsets) > 5  # different offsets for different images
    assert A.random_crop(x, 5, 4).shape == (30, 5, 4, 1)


# ---------------------------------------------------------------- shapes, dtypes, seeds
FUNCTIONS = {
    "flip": lambda x, g: A.random_flip(x, gen=g),
    "rotation": lambda x, g: A.random_rotation(x, 0.1, gen=g),
    "translation": lambda x, g: A.random_translation(x, 0.2, 0.1, gen=g),
    "zoom": lambda x, g: A.random_zoom(x, 0.2, 0.3, gen=g),
    "affine": lambda x, g: A.random_affine(x, 0.1, (0.1, (-0.2, 0.0)), 0.2, gen=g),
    "crop": lambda x, g: A.random_crop(x, 7, 6, padding=2, gen=g),
    "brightness": lambda x, g: A.random_brightness(x, 0.3, gen=g),
    "contrast": lambda x, g: A.random_contrast(x, 0.3, gen=g),
    "erasing": lambda x, g: A.random_erasing(x, 1.0, gen=g),
}


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
@pytest.mark.parametrize("channels", [None, 1, 3])
def test_shapes_dtypes_and_seeds(name, dtype, channels):
    fn = FUNCTIONS[name]
    x = images(n=6, c=channels or 1, dtype=dtype)
    x = x[..., 0] if channels is None else x
    out = fn(x, np.random.default_rng(5))
    assert out.shape == x.shape and out.dtype == x.dtype
    np.testing.assert_array_equal(out, fn(x, np.random.default_rng(5)))  # same generator state, same result
    assert not np.array_equal(out, fn(x, np.random.default_rng(6)))


def test_functions_follow_manual_seed():
    x = images()
    nr.manual_seed(11)
    a = [fn(x, None) for fn in FUNCTIONS.values()]
    nr.manual_seed(11)
    b = [fn(x, None) for fn in FUNCTIONS.values()]
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)


# ---------------------------------------------------------------- layers
LAYERS = [
    lambda: nn.RandomFlip("horizontal"),
    lambda: nn.RandomRotation(0.1, fill_mode="constant", interpolation="nearest"),
    lambda: nn.RandomTranslation((-0.1, 0.2), 0.1),
    lambda: nn.RandomZoom(0.2, width_factor=(-0.1, 0.1)),
    lambda: nn.RandomAffine(0.1, ((-0.1, 0.2), 0.1), zoom=0.1),
    lambda: nn.RandomCrop(7, 6, padding=2),
    lambda: nn.RandomBrightness(0.2),
    lambda: nn.RandomContrast((0.2, 0.5)),
    lambda: nn.RandomErasing(0.9, value=3.0),
]


@pytest.mark.parametrize("make", LAYERS)
def test_layer_contract(make):
    layer = make()
    x = images(dtype=np.uint8)
    nr.manual_seed(1)
    out = layer(x)
    assert isinstance(out, Tensor) and out.shape == x.shape and out.dtype == np.float32
    assert layer.count_params() == 0 and layer.state_dict() == {}
    nr.manual_seed(1)
    np.testing.assert_array_equal(layer(x).numpy(), out.numpy())  # deterministic under nr.manual_seed
    assert not np.array_equal(layer(x).numpy(), out.numpy())
    layer.eval()
    xf = Tensor(x)
    assert layer(xf) is xf  # identity in evaluation
    np.testing.assert_array_equal(layer(x).numpy(), x.astype(np.float32))
    again = deserialize_layer(serialize_layer(layer))
    assert type(again) is type(layer) and again.get_config() == layer.get_config()


def test_layer_own_seed_and_float64():
    a, b = nn.RandomRotation(0.2, seed=3), nn.RandomRotation(0.2, seed=3)
    x = images(dtype=np.float64)
    out = a(x)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.numpy(), b(x).numpy())


def test_layers_in_a_model_train_and_eval():
    model = nn.Sequential([nn.RandomFlip(), nn.RandomRotation(0.1), nn.Flatten(), nn.Dense(3)])
    x = images(n=8, c=1)
    model.eval()
    np.testing.assert_array_equal(model(x).numpy(), model(x).numpy())
    model.train()
    assert not np.array_equal(model(x).numpy(), model(x).numpy())
    model.eval()
    expected = nn.Sequential(model.layers[2:])(x).numpy()
    np.testing.assert_array_equal(model(x).numpy(), expected)


def test_random_crop_eval_centre_crops_larger_inputs():
    layer = nn.RandomCrop(4, 4).eval()
    x = images(h=8, w=6)
    np.testing.assert_array_equal(layer(x).numpy(), x[:, 2:6, 1:5])


@pytest.mark.parametrize("build, message", [
    (lambda: nn.RandomFlip("diagonal"), "mode must be one of"),
    (lambda: nn.RandomRotation(-0.1), "factor must be >= 0"),
    (lambda: nn.RandomRotation((0.2, 0.1)), "lower <= upper"),
    (lambda: nn.RandomTranslation(1.5, 0.1), r"must lie in \[-1.0, 1.0\]"),
    (lambda: nn.RandomZoom((-1.0, 0.0)), "must be > -1"),
    (lambda: nn.RandomRotation(0.1, fill_mode="mirror"), "fill_mode must be one of"),
    (lambda: nn.RandomBrightness(1.5), r"must lie in \[-1.0, 1.0\]"),
    (lambda: nn.RandomAffine(translation=0.1), r"translation must be \(height_factor, width_factor\)"),
    (lambda: nn.RandomContrast(-0.1), "factor must be >= 0"),
    (lambda: nn.RandomErasing(1.5), "probability must be in"),
    (lambda: nn.RandomCrop(0, 4), "height and width must be >= 1"),
])
def test_constructor_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_call_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"RandomFlip layer 'flip': expected images \(N, H, W\) or \(N, H, W, C\). "
                                         r"Received: shape=\(3, 4\)"):
        nn.RandomFlip(name="flip")(np.zeros((3, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="RandomCrop layer 'crop': the crop \\(9, 9\\) is larger"):
        nn.RandomCrop(9, 9, name="crop")(images(h=6, w=6))
    x = nr.tensor(images(), requires_grad=True)
    with pytest.raises(ValueError, match="passes no gradient"):
        nn.RandomFlip()(x)


def test_rotation_factor_is_a_fraction_of_a_turn():
    x = np.zeros((400, 21, 21), dtype=np.float32)
    x[:, 9:12, 16:19] = 1  # a blob 7 pixels right of the centre
    out = A.random_rotation(x, 0.125, fill_mode="constant", gen=np.random.default_rng(0))
    rows, cols = np.meshgrid(np.arange(21), np.arange(21), indexing="ij")
    mass = out.sum(axis=(1, 2))
    cy, cx = (out * rows).sum(axis=(1, 2)) / mass, (out * cols).sum(axis=(1, 2)) / mass
    angles = np.degrees(np.arctan2(10 - cy, cx - 10))  # counter-clockwise from the right
    assert angles.min() >= -45 - 1 and angles.max() <= 45 + 1 and angles.max() - angles.min() > 85
    assert math.isclose(np.mean(np.abs(angles) < 22.5), 0.5, abs_tol=0.1)  # uniform over [-45, 45]
    np.testing.assert_allclose(np.hypot(cy - 10, cx - 10), 7, atol=0.2)


def test_input_shape_on_the_first_layer_builds_the_model():
    model = nn.Sequential([nn.RandomFlip("horizontal", input_shape=(8, 8, 1)), nn.RandomZoom(0.1), nn.Flatten(),
                           nn.Dense(3)])
    assert model.layers[-1].kernel.shape == (64, 3)
    assert model(images(n=2, h=8, w=8, c=1)).shape == (2, 3)
