"""The compiled ReLU passes (kernels/_numba_elementwise.py) against their NumPy twins (kernels/fused.py),
bit for bit, with the values where the two could part: -0.0, NaN, infinities."""

import numpy as np
import pytest

import neurona as nr
from neurona.kernels import compiled, fused

needs_numba = pytest.mark.skipif(not compiled.enabled(), reason="numba is not installed (or NEURONA_NUMBA=0)")
pytestmark = [needs_numba, pytest.mark.cpu_only(reason="the compiled kernels take NumPy arrays")]

SPECIAL = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-45, -1e-45, 3.0, -2.0]


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_relu_and_its_mask_give_the_twins_bits(dtype, rng):
    x = rng.standard_normal((3, 5, 7, 11)).astype(dtype)
    x.reshape(-1)[:len(SPECIAL)] = SPECIAL
    g = rng.standard_normal(x.shape).astype(dtype)
    g.reshape(-1)[-len(SPECIAL):] = SPECIAL
    y_twin, y = fused.relu(x, compiled=False), fused.relu(x, compiled=True)
    np.testing.assert_array_equal(_bits(y), _bits(y_twin))  # NaN kept, -0.0 made +0.0, as np.maximum
    inplace = x.copy()
    fused.relu(inplace, out=inplace, compiled=True)
    np.testing.assert_array_equal(_bits(inplace), _bits(y_twin))
    with np.errstate(invalid="ignore"):  # inf * 0 in the twin's product, as in the kernel
        np.testing.assert_array_equal(_bits(fused.relu_mask(g, y, compiled=True)),
                                      _bits(fused.relu_mask(g, y, compiled=False)))


def test_large_relus_run_compiled_and_others_the_twin(monkeypatch):
    big = np.zeros(fused.COMPILED_MIN_VALUES, np.float32)
    assert fused.elementwise_kernels(big) is not None
    assert fused.elementwise_kernels(big[:-1]) is None
    assert fused.elementwise_kernels(big.reshape(-1, 2)[:, 0]) is None  # not contiguous: the twin
    with pytest.raises(ValueError, match="C-contiguous"):
        fused.elementwise_kernels(big.reshape(-1, 2)[:, 0], compiled=True)


def test_relu_op_on_the_compiled_path_matches_the_twin(monkeypatch, rng):
    x = rng.standard_normal((4, 6, 6, 3)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    results = []
    for threshold in (1 << 62, 0):
        monkeypatch.setattr(fused, "COMPILED_MIN_VALUES", threshold)
        t = nr.tensor(x, requires_grad=True)
        y = t.relu()
        y.backward(nr.tensor(g))
        results.append((y.numpy(), t.grad.copy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(_bits(a), _bits(b))
