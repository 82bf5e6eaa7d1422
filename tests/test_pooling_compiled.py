"""Max pooling of any window in one compiled pass (kernels/_numba_pooling.py): the kernel against its
tap-by-tap array twin bit for bit, and F.max_pool2d on the compiled path against PyTorch and gradcheck.

The compiled path runs from ``kernels.pooling.COMPILED_MIN_VALUES`` input values on; the tests lower it
to 0 so that tiny shapes take it (tests/test_conv_pool.py's rows run the twin).
"""

import math

import numpy as np
import pytest
import torch.nn.functional as TF

import neurona as nr
from neurona import functional as F
from neurona.functional.pooling import _pool_geometry
from neurona.kernels import compiled
from neurona.kernels import pooling as pooling_kernels
from neurona.kernels.im2col import pad
from neurona.testing import compare_with_torch, gradcheck

needs_numba = pytest.mark.skipif(not compiled.enabled(), reason="numba is not installed (or NEURONA_NUMBA=0)")
pytestmark = [needs_numba, pytest.mark.cpu_only(reason="the compiled kernels take NumPy arrays")]

# (x shape, pool, stride, padding)
CASES = [
    ((2, 7, 6, 3), 3, 1, "same"),     # GoogLeNet's inception pool: every pixel in up to 9 windows
    ((2, 7, 7, 5), 3, 2, "same"),     # GoogLeNet's stage pools
    ((1, 8, 9, 2), 3, 2, "valid"),
    ((2, 6, 5, 4), (2, 3), (1, 2), "same"),
    ((1, 7, 7, 2), 2, 3, "valid"),    # gaps between windows: pixels no window reads
    ((1, 5, 6, 3), (3, 2), None, "valid"),
    ((1, 4, 4, 17), 4, 1, "same"),    # even window, "same": more padding below and right
    ((1, 6, 7, 4), 3, 1, "valid"),    # three taps a pass, no border columns
    ((2, 2, 2, 3), 3, 1, "same"),     # border columns only
    ((1, 3, 1, 2), 3, 1, "same"),
]


@pytest.fixture
def compiled_pools(monkeypatch):
    monkeypatch.setattr(pooling_kernels, "COMPILED_MIN_VALUES", 0)


def _twin(x, geo, gy):
    xpad = pad(x, geo.pads, -np.inf)
    y = pooling_kernels.max_pool_taps(xpad, geo)
    return y, geo.unpad(pooling_kernels.max_pool_taps_backward(gy, xpad, y, geo))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_compiled_max_pool_gives_the_twins_bits(case, ties, dtype, rng):
    shape, pool, stride, padding = case
    x = rng.standard_normal(shape).astype(dtype)
    if ties:  # many equal maxima: the first in row-major order must win in both
        x = np.round(x).clip(0, 1)
    geo = _pool_geometry(x, pool, stride, padding, "max_pool2d")
    kernels = pooling_kernels.pool_kernels(x, compiled=True)
    y, arg = pooling_kernels.max_pool_argmax(kernels, x, geo)
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = pooling_kernels.max_pool_argmax_backward(kernels, gy, arg, x.shape, geo)
    y_twin, gx_twin = _twin(x, geo, gy)
    assert y.dtype == gx.dtype == dtype
    np.testing.assert_array_equal(y, y_twin)
    np.testing.assert_array_equal(gx, gx_twin)


def test_a_window_of_minus_infinity_gives_its_gradient_to_a_real_pixel(rng, compiled_pools):
    """PyTorch's rule (the first real pixel), where the twin can pick a padded one; nothing is lost."""
    x = nr.tensor(np.full((1, 3, 3, 1), -np.inf, np.float32), requires_grad=True)
    y = F.max_pool2d(x, 3, 1, padding="same")
    y.sum().backward()
    assert x.grad.sum() == 9.0


def _torch_max_pool(pool, stride, padding):
    pool = (pool, pool) if isinstance(pool, int) else pool
    stride = pool if stride is None else (stride, stride) if isinstance(stride, int) else stride

    def fn(x):
        pads = [0, 0, 0, 0]
        if padding == "same":
            for axis in (1, 0):  # F.pad order: width first
                size = x.shape[1 + axis]
                total = max((math.ceil(size / stride[axis]) - 1) * stride[axis] + pool[axis] - size, 0)
                pads[2 * (1 - axis)], pads[2 * (1 - axis) + 1] = total // 2, total - total // 2
        y = TF.max_pool2d(TF.pad(x.permute(0, 3, 1, 2), pads, value=-math.inf), pool, stride)
        return y.permute(0, 2, 3, 1)

    return fn


@pytest.mark.parametrize("case", CASES)
def test_compiled_max_pool_matches_torch_and_central_differences(case, rng, compiled_pools):
    shape, pool, stride, padding = case
    n = int(np.prod(shape))
    x = (rng.permutation(n) * 0.37 - n * 0.15).reshape(shape)  # distinct values, gaps above gradcheck's eps
    op = F.max_pool2d(nr.tensor(x, requires_grad=True), pool, stride, padding).creator
    assert op.kernels is not None  # the compiled path ran
    compare_with_torch(lambda a: F.max_pool2d(a, pool, stride, padding), _torch_max_pool(pool, stride, padding), x)
    gradcheck(lambda a: F.max_pool2d(a, pool, stride, padding), x)


def test_ties_go_to_the_first_maximum_as_in_torch(compiled_pools):
    x = np.ones((2, 5, 6, 3))
    compare_with_torch(lambda a: F.max_pool2d(a, 3, 1, "same"), _torch_max_pool(3, 1, "same"), x)


def test_large_pools_run_compiled_and_small_ones_the_twin():
    big = nr.tensor(np.zeros((1, 64, 64, 64), np.float32), requires_grad=True)
    small = nr.tensor(np.zeros((1, 8, 8, 4), np.float32), requires_grad=True)
    assert F.max_pool2d(big, 3, 1, "same").creator.kernels is not None
    assert F.max_pool2d(small, 3, 1, "same").creator.kernels is None
    assert F.max_pool2d(big, 2).creator.kernels is None  # the 2x2 tournament
    assert pooling_kernels.pool_kernels(big.data, compiled=False) is None


def test_two_threads_give_the_same_bits_as_one():
    x = nr.tensor(np.random.default_rng(1).standard_normal((16, 20, 20, 64)).astype(np.float32), requires_grad=True)
    results = []
    previous = nr.backend.get_num_threads()
    try:
        for n in (1, 2):
            nr.backend.set_num_threads(n)
            x.grad = None
            y = F.max_pool2d(x, 3, 1, "same")
            assert y.creator.kernels is not None
            (y * y).sum().backward()
            results.append((y.numpy(), x.grad.copy()))
    finally:
        nr.backend.set_num_threads(previous)
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# (x shape, pool): windows that tile x (LeNet's 2x2 pools, and others)
TILED_CASES = [((2, 8, 6, 6), (2, 2)), ((3, 4, 6, 16), (2, 2)), ((1, 6, 6, 3), (3, 2)), ((2, 3, 4, 5), (1, 4)),
               ((1, 6, 9, 2), (3, 3))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", TILED_CASES)
def test_compiled_tiled_average_pool_gives_the_twins_bits(case, dtype, rng):
    shape, pool = case
    x = rng.standard_normal(shape).astype(dtype)
    kernels = pooling_kernels.pool_kernels(x, compiled=True)
    y = pooling_kernels.avg_pool_tiled(x, pool, kernels)
    np.testing.assert_array_equal(y, pooling_kernels.avg_pool_tiled(x, pool))
    gy = rng.standard_normal(y.shape).astype(dtype)
    gx = pooling_kernels.avg_pool_tiled_backward(gy, pool, kernels)
    assert y.dtype == gx.dtype == dtype
    np.testing.assert_array_equal(gx, pooling_kernels.avg_pool_tiled_backward(gy, pool))


def test_compiled_average_pool_matches_torch_and_central_differences(rng, compiled_pools):
    x = rng.standard_normal((2, 6, 4, 3))
    op = F.avg_pool2d(nr.tensor(x, requires_grad=True), 2).creator
    assert op.kernels is not None
    compare_with_torch(lambda a: F.avg_pool2d(a, 2),
                       lambda a: TF.avg_pool2d(a.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1), x)
    gradcheck(lambda a: F.avg_pool2d(a, (3, 2)), rng.standard_normal((1, 6, 4, 2)))
