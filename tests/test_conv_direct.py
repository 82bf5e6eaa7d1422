"""The compiled direct convolution of one-channel images (kernels/_numba_conv.py, chosen by
``kernels.convolution.direct_kernels``): against its twin (im2col and the products), PyTorch and
central differences; the same bits on one thread and two; which layers take it."""

import numpy as np
import pytest
import torch

import neurona as nr
from neurona import functional as F
from neurona.kernels import convolution
from neurona.kernels.compiled import enabled
from neurona.kernels.convolution import ConvGeometry
from neurona.testing import compare_with_torch, gradcheck

needs_numba = pytest.mark.skipif(not enabled(), reason="numba not installed or NEURONA_NUMBA=0")
compiled_on_cpu = pytest.mark.cpu_only(reason="the compiled kernels take NumPy arrays; elsewhere the twin runs")


@pytest.fixture
def direct_from_any_size(monkeypatch):
    """The tiny test layers take the direct convolution too (it runs from COMPILED_MIN_PATCHES on)."""
    monkeypatch.setattr(convolution, "COMPILED_MIN_PATCHES", 0)


def _grads(x, w, b, g, numba, monkeypatch, **kw):
    """(y, gx, gW[, gb]) with NEURONA_NUMBA=numba, checking that the direct kernels ran exactly when numba is on."""
    from neurona.kernels import _numba_conv

    monkeypatch.setenv("NEURONA_NUMBA", numba)
    calls = []
    for name in ("conv_forward", "conv_weight_grad"):
        kernel = getattr(_numba_conv, name)
        monkeypatch.setattr(_numba_conv, name, lambda *a, kernel=kernel, name=name: calls.append(name) or kernel(*a))
    xs, ws = nr.tensor(x, dtype=x.dtype, requires_grad=True), nr.tensor(w, dtype=x.dtype, requires_grad=True)
    bs = None if b is None else nr.tensor(b, dtype=x.dtype, requires_grad=True)
    y = F.conv2d(xs, ws, bs, **kw)
    y.backward(nr.tensor(g, dtype=x.dtype))
    assert ({"conv_forward", "conv_weight_grad"} == set(calls)) == (numba == "1")
    return [nr.backend.to_numpy(a) for a in (y.data, xs.grad, ws.grad, None if bs is None else bs.grad)
            if a is not None]


CASES = [  # x shape, w shape, padding, activation, bias
    ((3, 12, 11, 1), (5, 5, 1, 6), "same", "tanh", True),   # LeNet-5's C1
    ((2, 9, 10, 1), (3, 3, 1, 4), "valid", "relu", True),
    ((2, 8, 8, 1), (3, 2, 1, 8), 1, None, False),           # no bias, uneven kernel, int padding
    ((4, 7, 6, 1), (2, 3, 1, 1), (0, 2), None, True),       # one filter, padding on the columns only
]


@needs_numba
@compiled_on_cpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_direct_convolution_equals_its_twin(direct_from_any_size, monkeypatch, case, dtype, rng):
    """Forward and all gradients as im2col and the products compute them (NEURONA_NUMBA=0), within rounding."""
    x_shape, w_shape, padding, activation, bias = case
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[3]).astype(dtype) if bias else None
    y_shape = F.conv2d(nr.tensor(x, dtype=dtype), nr.tensor(w, dtype=dtype), padding=padding).shape
    g = rng.standard_normal(y_shape).astype(dtype)
    fast = _grads(x, w, b, g, "1", monkeypatch, padding=padding, activation=activation)
    twin = _grads(x, w, b, g, "0", monkeypatch, padding=padding, activation=activation)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for a, e in zip(fast, twin, strict=True):
        np.testing.assert_allclose(a, e, rtol=tol, atol=tol * np.abs(e).max())


@needs_numba
@compiled_on_cpu
def test_direct_convolution_against_torch_and_gradcheck(direct_from_any_size, rng):
    x, w, b = rng.standard_normal((2, 7, 6, 1)), rng.standard_normal((3, 3, 1, 5)), rng.standard_normal(5)
    compare_with_torch(
        lambda x, w, b: F.conv2d(x, w, b, padding=1),
        lambda x, w, b: torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), b,
                                                   padding=1).permute(0, 2, 3, 1),
        x, w, b)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, padding="same"), x, w, b)


@needs_numba
@compiled_on_cpu
def test_direct_convolution_gives_the_same_bits_on_one_thread_and_two(direct_from_any_size, rng):
    x = rng.standard_normal((64, 12, 12, 1)).astype(np.float32)
    w = rng.standard_normal((5, 5, 1, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    results, before = [], nr.backend.get_num_threads()
    for threads in (1, 2):
        nr.backend.set_num_threads(threads)
        try:
            xs, ws, bs = (nr.tensor(a, requires_grad=True) for a in (x, w, b))
            y = F.conv2d(xs, ws, bs, padding="same", activation="tanh")
            assert y.creator.geo.direct and y.creator.geo.chunk < 64  # several chunks, on both threads
            y.sum().backward()
            results.append([y.numpy(), xs.grad, ws.grad, bs.grad])
        finally:
            nr.backend.set_num_threads(before)
    for a, e in zip(*results, strict=True):
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("x_shape, w_shape, stride, pool_major, direct", [
    ((128, 28, 28, 1), (5, 5, 1, 6), (1, 1), False, True),     # LeNet-5's C1 at batch 128
    ((2, 28, 28, 1), (5, 5, 1, 6), (1, 1), False, False),      # too small to repay loading numba
    ((128, 28, 28, 1), (3, 3, 1, 32), (1, 1), False, False),   # many filters: the product is as fast
    ((128, 14, 14, 6), (5, 5, 6, 16), (1, 1), False, False),   # several channels
    ((128, 28, 28, 1), (3, 3, 1, 6), (2, 2), False, False),    # stride 2
    ((128, 28, 28, 1), (3, 3, 1, 6), (1, 1), True, False),     # fused with the 2x2 max-pool
])
def test_which_layers_convolve_directly(x_shape, w_shape, stride, pool_major, direct):
    pads = (1, 1, 1, 1)
    assert ConvGeometry.of(x_shape, w_shape, stride, pads, (1, 1), True, pool_major).direct == direct
