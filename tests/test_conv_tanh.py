"""conv2d with tanh fused (Conv2dTanh): against its twin, PyTorch and central differences; the compiled
tanh passes against their array twins; a graph pass never fuses it as a ReLU convolution."""

import numpy as np
import pytest
import torch

import neurona as nr
from neurona import functional as F
from neurona.functional import reference as R
from neurona.functional.conv import Conv2dTanh
from neurona.kernels import tanh as tanh_module
from neurona.kernels.compiled import enabled
from neurona.testing import compare_with_torch, gradcheck

needs_numba = pytest.mark.skipif(not enabled(), reason="numba not installed or NEURONA_NUMBA=0")
compiled_on_cpu = pytest.mark.cpu_only(reason="the compiled kernels take NumPy arrays; elsewhere the twin runs")


def _inputs(rng, dtype, x_shape=(3, 9, 8, 2), w_shape=(3, 3, 2, 5)):
    x = nr.tensor(rng.standard_normal(x_shape).astype(dtype), dtype=dtype, requires_grad=True)
    w = nr.tensor((rng.standard_normal(w_shape) * 0.5).astype(dtype), dtype=dtype, requires_grad=True)
    b = nr.tensor(rng.standard_normal(w_shape[3]).astype(dtype), dtype=dtype, requires_grad=True)
    return x, w, b


def _run(fn, x, w, b, g, compiled=None):
    for t in (x, w, b):
        t.grad = None
    y = fn(x, w, b, padding="same", activation="tanh")
    if compiled is not None:
        assert (y.creator.kernels is not None) == compiled
    (y * nr.tensor(g)).sum().backward()
    return [nr.backend.to_numpy(a).copy() for a in (y.data, x.grad, w.grad, b.grad)]


def test_conv2d_tanh_is_one_fused_op():
    x, w, b = _inputs(np.random.default_rng(0), np.float32)
    y = F.conv2d(x, w, b, padding="same", activation="tanh")
    assert isinstance(y.creator, Conv2dTanh)


@pytest.mark.parametrize("compiled", [False, pytest.param(True, marks=[needs_numba, compiled_on_cpu])])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_tanh_equals_its_twin(monkeypatch, compiled, dtype, rng):
    """Forward and gradients as the twin's (conv2d, then tanh, in autograd primitives): within float32
    rounding (the compiled tanh is within 7 ulp of NumPy's), float64 always on the array twin."""
    monkeypatch.setattr(tanh_module, "COMPILED_MIN_VALUES", 0 if compiled else 1 << 62)
    x, w, b = _inputs(rng, dtype)
    g = rng.standard_normal((3, 9, 8, 5)).astype(dtype)
    fast, twin = _run(F.conv2d, x, w, b, g, compiled and dtype == np.float32), _run(R.conv2d, x, w, b, g)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for a, e in zip(fast, twin):
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol)


def test_conv2d_tanh_gradcheck(rng):
    x, w, b = rng.standard_normal((2, 5, 6, 2)), rng.standard_normal((3, 3, 2, 3)) * 0.5, rng.standard_normal(3)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding="same", activation="tanh"), x, w, b)


def test_conv2d_tanh_against_torch(rng):
    x = rng.standard_normal((2, 7, 6, 3))
    w = rng.standard_normal((3, 3, 3, 4))
    b = rng.standard_normal(4)
    compare_with_torch(
        lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1, activation="tanh"),
        lambda x, w, b: torch.tanh(torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), b,
                                                              padding=1)).permute(0, 2, 3, 1),
        x, w, b)


@needs_numba
def test_compiled_tanh_passes_agree_with_their_twins(rng):
    y = (rng.standard_normal(10007) * 4).astype(np.float32)
    y[:4] = [0.0, -0.0, 30.0, -30.0]
    kernels = tanh_module.tanh_kernels(y, compiled=True)
    fast = y.copy()
    tanh_module.tanh_(kernels, fast)
    twin = y.copy()
    tanh_module.tanh_(None, twin)
    ulp = np.spacing(np.abs(twin).astype(np.float32))
    assert np.all(np.abs(fast - twin) <= 7 * np.maximum(ulp, np.finfo(np.float32).tiny))
    assert np.array_equal(fast[:4], [0.0, 0.0, 1.0, -1.0])
    g = rng.standard_normal(y.shape).astype(np.float32)
    np.testing.assert_array_equal(tanh_module.tanh_grad(kernels, g, twin), tanh_module.tanh_grad(None, g, twin))


def test_the_compiled_tanh_runs_only_on_large_float32_layers():
    small = np.zeros(10, np.float32)
    assert tanh_module.tanh_kernels(small) is None
    assert tanh_module.tanh_kernels(np.zeros(1 << 18)) is None  # float64: the twin
    with pytest.raises(ValueError):
        tanh_module.tanh_kernels(np.zeros(10), compiled=True)


def test_a_tanh_convolution_followed_by_relu_and_pool_is_not_fused_as_a_relu_one(rng):
    """The jit's fusion pass turns Conv2d + ReLU + MaxPool2d into Conv2dMaxPoolRelu; a Conv2dTanh
    (whose ReLU comes after its tanh) must stay as it is, or the tanh would be lost."""
    from neurona import nn

    model = nn.Sequential([nn.Conv2D(4, 3, padding="same", activation="tanh"), nn.Activation("relu"),
                           nn.MaxPool2D(2), nn.Flatten(), nn.Dense(3)])
    x = rng.standard_normal((2, 6, 6, 1)).astype(np.float32)
    model.eval()
    with nr.no_grad():
        eager = nr.backend.to_numpy(model(nr.tensor(x)).data)
    jitted = nr.jit(model)
    jitted(nr.tensor(x))  # the first call traces (and runs eagerly); later calls replay the fused graph
    np.testing.assert_allclose(nr.backend.to_numpy(jitted(nr.tensor(x)).data), eager, rtol=1e-6, atol=1e-6)


@needs_numba
@compiled_on_cpu
def test_a_layer_whose_convolution_runs_compiled_kernels_runs_the_compiled_tanh_at_any_size(monkeypatch, rng):
    """Loading numba is what the size threshold guards; a layer large enough for the compiled im2col
    (ConvGeometry.large) loads it anyway, so its tanh runs compiled even below COMPILED_MIN_VALUES."""
    from neurona.kernels import convolution

    x, w, b = _inputs(rng, np.float32)
    assert F.conv2d(x, w, b, padding="same", activation="tanh").creator.kernels is None
    monkeypatch.setattr(convolution, "COMPILED_MIN_PATCHES", 0)
    assert F.conv2d(x, w, b, padding="same", activation="tanh").creator.kernels is not None
