"""neurona.kernels: every compiled kernel against its array-expression twin, and the geometry.

The compiled (numba) kernels make the same sums in the same order as their NumPy twins,
so they are compared bit for bit; the ops that call them are compared with the twin
switched on (NEURONA_NUMBA=0) and checked by gradcheck in float64 elsewhere
(tests/test_conv_pool.py runs with whatever is installed: the compiled kernels when numba is).
"""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

import neurona as nr
from neurona import functional as F
from neurona.kernels import compiled, fused
from neurona.kernels import im2col as im2col_module
from neurona.kernels.convolution import ConvGeometry
from neurona.kernels.im2col import col2im, im2col, pad, patches
from neurona.testing import gradcheck

needs_numba = pytest.mark.skipif(not compiled.enabled(), reason="numba is not installed (or NEURONA_NUMBA=0)")

# (N, H, W, C, kernel, stride, dilation, (top, left)): col2im onto an (N, H, W, C) image
COL2IM_CASES = [
    (2, 7, 7, 3, (3, 3), (1, 1), (1, 1), (1, 1)),    # "same": the centre tap reaches every pixel
    (2, 10, 10, 6, (5, 5), (1, 1), (1, 1), (0, 0)),  # LeNet's second layer ("valid")
    (3, 8, 9, 4, (3, 3), (2, 2), (1, 1), (1, 1)),    # stride 2, odd width
    (1, 9, 9, 2, (3, 2), (2, 1), (2, 1), (2, 0)),    # dilation, uneven kernel and stride
    (2, 5, 5, 1, (1, 1), (2, 2), (1, 1), (0, 0)),    # a 1x1 kernel with stride: pixels no tap reaches
    (1, 11, 7, 3, (2, 3), (3, 2), (1, 2), (1, 2)),   # stride larger than the kernel, dilated columns
    (2, 7, 7, 8, (3, 3), (1, 1), (1, 1), (1, 1)),    # 8 channels and more: gathered runs of C values
    (3, 8, 9, 16, (3, 3), (2, 2), (1, 1), (1, 1)),   # ResNet's stride 2
]


def _taps(case, dtype, rng):
    N, H, W, C, k, s, d, tl = case
    Ho = (H + 2 * tl[0] - d[0] * (k[0] - 1) - 1) // s[0] + 1
    Wo = (W + 2 * tl[1] - d[1] * (k[1] - 1) - 1) // s[1] + 1
    cols = rng.standard_normal((N, Ho, Wo, k[0] * k[1], C)).astype(dtype)
    return np.moveaxis(cols, 3, 0)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", COL2IM_CASES)
def test_compiled_col2im_gives_the_twins_bits(case, dtype, rng):
    taps = _taps(case, dtype, rng)
    N, H, W, C, k, s, d, tl = case
    twin = col2im(taps, (N, H, W, C), k, s, d, tl, compiled=False)
    fast = col2im(taps, (N, H, W, C), k, s, d, tl, compiled=True)
    assert fast.dtype == twin.dtype == dtype
    np.testing.assert_array_equal(fast, twin)


@needs_numba
@pytest.mark.parametrize("case", COL2IM_CASES)
def test_compiled_col2im_gives_the_twins_bits_on_planar_taps(case, rng):
    """Taps laid out (kh*kw, C, N, Ho, Wo), as conv2d's dL/dx makes them for few channels (W2 g^T)."""
    taps = np.ascontiguousarray(_taps(case, np.float32, rng).transpose(0, 4, 1, 2, 3)).transpose(0, 2, 3, 4, 1)
    N, H, W, C, k, s, d, tl = case
    np.testing.assert_array_equal(col2im(taps, (N, H, W, C), k, s, d, tl, compiled=True),
                                  col2im(taps, (N, H, W, C), k, s, d, tl, compiled=False))



# (x shape, kernel, stride, dilation, pads (top, bottom, left, right), ones column, pool-major rows)
PATCH_CASES = [
    ((2, 7, 7, 8), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), True, False),     # "same", with the bias column
    ((2, 9, 8, 8), (3, 3), (2, 2), (1, 1), (0, 1, 0, 1), False, False),    # stride 2, TensorFlow's "same"
    ((2, 10, 11, 16), (3, 2), (1, 2), (2, 1), (2, 1, 0, 3), True, True),  # dilation, pooling-window order
    ((1, 7, 7, 8), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), False, True),     # pooling-window order, odd output
    ((2, 6, 9, 8), (5, 3), (2, 2), (1, 1), (3, 2, 2, 0), True, False),     # window rows wholly outside, uneven pads
    ((3, 5, 5, 16), (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), False, False),   # 1x1, stride 2 (a shortcut)
    ((2, 14, 14, 6), (5, 5), (1, 1), (1, 1), (0, 0, 0, 0), True, False),   # LeNet-5's 6-channel layer
    ((2, 8, 7, 4), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), True, True),      # 4 channels, pooling-window order
]


@needs_numba
def test_the_compiled_im2col_builds_row_major_matrices_from_four_channels_on(rng):
    """From COMPILED_MIN_CHANNELS on the compiled kernel runs (a row-major matrix, which the products take
    faster); below it the twin's transposed matrix, built faster than the compiled kernel's short runs."""
    for C in (1, 3, 4, 6):
        x = rng.standard_normal((2, 9, 9, C)).astype(np.float32)
        cols = patches(x, (2, 2, 2, 2), (5, 5), (9, 9), (1, 1), (1, 1), True, compiled=True)
        assert cols.flags.c_contiguous == (C >= im2col_module.COMPILED_MIN_CHANNELS), C


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", PATCH_CASES)
def test_compiled_im2col_gives_the_twins_matrix(case, dtype, rng):
    shape, k, s, d, pads, ones, pool_major = case
    x = rng.standard_normal(shape).astype(dtype)
    out_hw = tuple((shape[1 + i] + pads[2 * i] + pads[2 * i + 1] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in (0, 1))
    twin = patches(x, pads, k, out_hw, s, d, ones, pool_major, compiled=False)
    np.testing.assert_array_equal(patches(x, pads, k, out_hw, s, d, ones, pool_major, compiled=True), twin)
    np.testing.assert_array_equal(twin, im2col(pad(x, pads), k, out_hw, s, d, ones, pool_major))
    x_strided = np.asfortranarray(x)  # any memory layout: the same matrix
    np.testing.assert_array_equal(patches(x_strided, pads, k, out_hw, s, d, ones, pool_major, compiled=True), twin)


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_batch_norm_passes_agree_with_their_twins(dtype, rng):
    """The elementwise passes make the same operations in the same order: the same bits. The sums
    accumulate in float64 in one pass (the twins: float32 BLAS sums), so agree within float32 rounding."""
    x = (rng.standard_normal((300, 5)) * 3 + 50).astype(dtype)  # an offset mean: the variance must not cancel
    gy, scale, shift, slope = (rng.standard_normal(s).astype(dtype) for s in ((300, 5), 5, 5, 5))
    tol = {"rtol": 1e-5, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-10}
    mean, var = fused.column_moments(x, compiled=True)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=0), **tol)
    np.testing.assert_allclose(var, x.astype(np.float64).var(axis=0), **tol)
    for a, b in zip(fused.grad_sums(gy, x, mean, compiled=True), fused.grad_sums(gy, x, mean, compiled=False)):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, **tol)
    for beta in (shift, None):
        np.testing.assert_array_equal(fused.normalize(x, mean, scale, beta, np.empty_like(x), compiled=True),
                                      fused.normalize(x, mean, scale, beta, np.empty_like(x), compiled=False))
    np.testing.assert_array_equal(
        fused.batch_norm_input_grad(gy, x, mean, slope, shift, scale, np.empty_like(x), compiled=True),
        fused.batch_norm_input_grad(gy, x, mean, slope, shift, scale, np.empty_like(x), compiled=False))


@needs_numba
def test_batch_norm_gradcheck_on_the_compiled_passes(monkeypatch, rng):
    monkeypatch.setattr(fused, "COMPILED_MIN_VALUES", 0)
    x, gamma, beta = (nr.tensor(rng.standard_normal(s), requires_grad=True) for s in ((2, 3, 3, 4), 4, 4))
    assert gradcheck(lambda a, g, b: F.batch_norm(a, g, b), x, gamma, beta)

@pytest.mark.parametrize("case", COL2IM_CASES)
def test_col2im_is_the_adjoint_of_im2col(case, rng):
    """<im2col(x), t> == <x, col2im(t)> for random x and t: col2im adds each tap where im2col read it."""
    N, H, W, C, k, s, d, tl = case
    taps = _taps(case, np.float64, rng)
    Ho, Wo = taps.shape[2:4]
    x = rng.standard_normal((N, H, W, C))
    pads = (tl[0], tl[0] + H, tl[1], tl[1] + W)  # generous bottom/right padding: the windows never run out
    cols = im2col(pad(x, pads), k, (Ho, Wo), s, d)
    lhs = float((cols * np.moveaxis(taps, 0, 3).reshape(cols.shape)).sum())
    rhs = float((x * col2im(taps, x.shape, k, s, d, tl)).sum())
    assert lhs == pytest.approx(rhs, rel=1e-10)


def _compiled_from_any_size(monkeypatch, numba: str) -> None:
    """NEURONA_NUMBA as given, and the compiled col2im used even for the tiny test shapes."""
    monkeypatch.setenv("NEURONA_NUMBA", numba)
    monkeypatch.setattr(im2col_module, "COMPILED_MIN_TAPS", 0)


def _conv_grads(monkeypatch, numba: str, stride: int, padding):
    _compiled_from_any_size(monkeypatch, numba)
    rng = np.random.default_rng(0)
    x = nr.tensor(rng.standard_normal((3, 9, 9, 4)), requires_grad=True)
    w = nr.tensor(rng.standard_normal((3, 3, 4, 8)), requires_grad=True)  # more outputs than inputs: col2im
    b = nr.tensor(rng.standard_normal(8), requires_grad=True)
    y = F.conv2d(x, w, b, stride=stride, padding=padding, activation="relu")
    (y * nr.tensor(rng.standard_normal(y.shape))).sum().backward()
    return [y.numpy(), x.grad, w.grad, b.grad]


@needs_numba
@pytest.mark.parametrize("stride, padding", [(1, "same"), (2, "same"), (1, "valid")])
def test_conv2d_backward_is_the_same_with_and_without_compiled_kernels(monkeypatch, stride, padding):
    fast = _conv_grads(monkeypatch, "1", stride, padding)
    twin = _conv_grads(monkeypatch, "0", stride, padding)
    for a, b in zip(fast, twin):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("numba", ["1", "0"])
def test_conv2d_transpose_gradcheck_on_both_paths(monkeypatch, numba, rng):
    _compiled_from_any_size(monkeypatch, numba)
    x = rng.standard_normal((2, 3, 3, 2))
    w = rng.standard_normal((3, 3, 2, 3))
    assert gradcheck(lambda a, b: F.conv2d_transpose(a, b, stride=2, padding="same"), x, w)


def test_the_compiled_switch_refuses_what_it_cannot_run(rng):
    a = rng.standard_normal((2, 3)).astype(np.int64)
    assert compiled.usable(a) is None
    with pytest.raises(ValueError, match="NumPy float32/float64"):
        compiled.usable(a, use=True)


def test_the_compiled_selector_decides_by_switch_layout_and_size(monkeypatch, rng):
    """``compiled.select``, which every kernel module asks: False forces the twin, True insists (naming what
    the kernel needs when the arrays do not fit), None runs the kernel only on enough values of a fitting
    layout, and only where compiled kernels are enabled."""
    a = rng.standard_normal(64).astype(np.float32)
    select = compiled.select
    assert select("_numba_elementwise", a, compiled=False) is None
    assert select("_numba_elementwise", a, compiled=None, min_values=65) is None  # too few values
    assert select("_numba_elementwise", a, compiled=None, values=10, min_values=11) is None
    assert select("_numba_elementwise", a, compiled=None, min_values=64, fits=False, needs="x") is None
    with pytest.raises(ValueError, match="contiguous, please"):
        select("_numba_elementwise", a, compiled=True, fits=False, needs="contiguous, please")
    with pytest.raises(ValueError, match="NumPy float32/float64"):
        select("_numba_elementwise", a.astype(np.int32), compiled=True)
    assert select("_numba_elementwise", a.astype(np.int32), compiled=None, min_values=0) is None
    monkeypatch.setenv("NEURONA_NUMBA", "0")
    assert select("_numba_elementwise", a, compiled=None, min_values=0) is None  # the switch is off


@needs_numba
def test_the_compiled_selector_returns_the_kernel_module(rng):
    from neurona.kernels import _numba_elementwise

    a = rng.standard_normal(64).astype(np.float32)
    assert compiled.select("_numba_elementwise", a, compiled=None, min_values=64) is _numba_elementwise
    assert compiled.select("_numba_elementwise", a, compiled=True, min_values=1 << 40) is _numba_elementwise


def test_numba_is_loaded_only_for_work_large_enough_to_repay_it():
    """Importing neurona, and a step of a small CNN on 8x8 images, never load numba (about a second
    of CPU); a col2im over enough taps does (when numba is installed)."""
    code = """
import sys
import numpy as np
import neurona as nr
from neurona import functional as F
print('numba' in sys.modules)
x = nr.tensor(np.ones((32, 8, 8, 16), np.float32), requires_grad=True)
w = nr.tensor(np.ones((3, 3, 16, 32), np.float32), requires_grad=True)
F.conv2d(x, w, padding="same").sum().backward()
print('numba' in sys.modules)
from neurona.kernels.im2col import COMPILED_MIN_TAPS, col2im
taps = np.zeros((9, 1, 1, 1, COMPILED_MIN_TAPS // 9 + 1), np.float32)
col2im(taps, taps.shape[1:], (3, 3), (1, 1), (1, 1), (1, 1))
print('numba' in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", str(compiled.enabled())]


@pytest.mark.parametrize("x_shape, w_shape, stride, pads, bias, pool_major, out_hw, pointwise, bias_column", [
    ((8, 28, 28, 1), (5, 5, 1, 6), (1, 1), (2, 2, 2, 2), True, False, (28, 28), False, True),
    ((8, 14, 14, 6), (5, 5, 6, 16), (1, 1), (0, 0, 0, 0), True, False, (10, 10), False, True),
    ((8, 16, 16, 16), (3, 3, 16, 32), (2, 2), (0, 1, 0, 1), False, False, (8, 8), False, False),
    ((8, 7, 7, 4), (1, 1, 4, 4), (1, 1), (0, 0, 0, 0), True, False, (7, 7), True, False),
    ((8, 7, 7, 4), (1, 1, 4, 4), (1, 1), (0, 0, 0, 0), True, True, (7, 7), False, True),
])
def test_conv_geometry(x_shape, w_shape, stride, pads, bias, pool_major, out_hw, pointwise, bias_column):
    geo = ConvGeometry.of(x_shape, w_shape, stride, pads, (1, 1), bias, pool_major)
    assert geo.out_hw == out_hw and geo.pointwise == pointwise and geo.bias_column == bias_column
    assert geo.kernel == w_shape[:2] and geo.in_hw == x_shape[1:3] and 1 <= geo.chunk <= x_shape[0]
    W = np.ones(w_shape, np.float32)
    assert geo.kernel_matrix(W, np.ones(w_shape[3], np.float32)).shape == (np.prod(w_shape[:3]) + bias_column,
                                                                            w_shape[3])


@pytest.mark.parametrize("fused", [False, True])
def test_a_small_conv_keeping_its_patches_for_backward_gives_the_same_bits(monkeypatch, fused, rng):
    from neurona.kernels import convolution

    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((3, 6, 6, 2), (3, 3, 2, 4), (4,)))
    g = rng.standard_normal((3, 3, 3, 4) if fused else (3, 6, 6, 4)).astype(np.float32)
    results = []
    for keep in (convolution.KEEP_PATCHES, -1):  # the default keeps these tiny patches; -1 builds them again
        monkeypatch.setattr(convolution, "KEEP_PATCHES", keep)
        xs, ws, bs = (nr.tensor(a, requires_grad=True) for a in (x, w, b))
        op = F.conv2d_relu_max_pool2d if fused else F.conv2d
        y = op(xs, ws, bs, padding="same")
        assert (y.creator.patches is not None) == (keep > 0)
        y.backward(g)
        results.append([y.numpy(), xs.grad, ws.grad, bs.grad])
    for a, b_ in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b_)


@needs_numba
def test_compiled_max_relu_of_four_gives_the_twins_bits(monkeypatch, rng):
    """The inference pass of conv2d_relu_max_pool2d: one compiled pass against NumPy's four, NaN and
    infinities included; then the whole op without backward against the op with it (the tournament)."""
    from neurona.kernels import convolution

    z = rng.standard_normal((4, 300, 5)).astype(np.float32)
    z[0, :5, 0] = [np.nan, -1, 2, np.inf, -np.inf]
    z[2, 5:9, 1], z[1, 3, 0], z[3, 10, 2] = np.nan, np.nan, -np.inf
    z[:, 20:24, 3] = [[0.0, -0.0, 0.0, -0.0], [-0.0, 0.0, -0.0, -0.0], [0.0, -0.0, -0.0, 0.0], [-0.0, -0.0, 0.0, 0.0]]
    z[:, 30:34, 4] = [[-1.0, -0.0, -2.0, -3.0], [-0.0, -1.0, -2.0, -0.0], [-2.0, -2.0, -0.0, -1.0], [-1.0, -0.0, -1, 0]]
    geo = ConvGeometry.of((1, 8, 8, 8), (3, 3, 8, 4), (1, 1), (1, 1, 1, 1), (1, 1), True, True)
    fast, twin = np.empty((300, 5), np.float32), np.empty((300, 5), np.float32)
    convolution.max_relu_of_four(dataclasses.replace(geo, large=True), z, fast)  # compiled
    convolution.max_relu_of_four(dataclasses.replace(geo, large=False), z, twin)
    np.testing.assert_array_equal(fast.view(np.uint32), twin.view(np.uint32))  # NaN and signed zeros too
    monkeypatch.setattr(convolution, "COMPILED_MIN_PATCHES", 0)
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((3, 8, 7, 4), (3, 3, 4, 6), (6,)))
    with nr.no_grad():
        inference = F.conv2d_relu_max_pool2d(nr.tensor(x), nr.tensor(w), nr.tensor(b), padding="same").numpy()
    training = F.conv2d_relu_max_pool2d(nr.tensor(x, requires_grad=True), nr.tensor(w), nr.tensor(b), padding="same")
    np.testing.assert_array_equal(inference, training.numpy())


@pytest.mark.parametrize("x_shape, w_shape, pads, large", [
    ((128, 14, 14, 6), (5, 5, 6, 16), (0, 0, 0, 0), True),     # LeNet-5's C3 at batch 128 (1.9M patch values)
    ((359, 4, 4, 32), (3, 3, 32, 64), (1, 1, 1, 1), False),    # the reference CNN's C2 on the digits' test set (1.7M)
    ((128, 14, 14, 32), (3, 3, 32, 64), (1, 1, 1, 1), True),   # ... and on Fashion-MNIST at batch 128 (7.2M)
])
def test_which_layers_repay_loading_the_compiled_kernels(x_shape, w_shape, pads, large):
    """`neurona train --model cnn` on the digits never loads numba (a threshold of 2^20 for every layer made
    it load it); layers with fewer than 8 channels, whose products the compiled im2col also speeds up, repay
    it from half as many patch values (2^20) as the others (2^21)."""
    assert ConvGeometry.of(x_shape, w_shape, (1, 1), pads, (1, 1), True, True).large == large
