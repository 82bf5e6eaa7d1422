"""The compiled join on the last axis (kernels/_numba_concat.py) against NumPy's concatenate, its twin,
and nr.concat on that path: the same values forward, the same gradients."""

import numpy as np
import pytest

import neurona as nr
from neurona.kernels import compiled
from neurona.kernels import concat as concat_kernels

needs_numba = pytest.mark.skipif(not compiled.enabled(), reason="numba is not installed (or NEURONA_NUMBA=0)")
pytestmark = [needs_numba, pytest.mark.cpu_only(reason="the compiled kernels take NumPy arrays")]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels", [(3, 5), (8, 16, 4, 4), (1, 2, 7)])
@pytest.mark.parametrize("lead", [(2, 5, 3), (7,)])
def test_compiled_join_equals_numpys(lead, channels, dtype, rng):
    xs = [rng.standard_normal(lead + (c,)).astype(dtype) for c in channels]
    y = concat_kernels.concatenate(xs, -1, compiled=True)
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, np.concatenate(xs, axis=-1))
    np.testing.assert_array_equal(concat_kernels.concatenate(xs, len(lead), compiled=True), y)


def test_other_joins_stay_with_numpy(rng):
    a, b = rng.standard_normal((600, 300)).astype(np.float32), rng.standard_normal((600, 300)).astype(np.float32)
    with pytest.raises(ValueError, match="last axis"):
        concat_kernels.concatenate([a, b], 0, compiled=True)
    with pytest.raises(ValueError, match="C-contiguous"):
        concat_kernels.concatenate([a.T, b], -1, compiled=True)
    np.testing.assert_array_equal(concat_kernels.concatenate([a.T, b.T], -1), np.concatenate([a.T, b.T], -1))
    np.testing.assert_array_equal(concat_kernels.concatenate([a, b.astype(np.float64)], -1),
                                  np.concatenate([a, b.astype(np.float64)], -1))


def test_concat_op_on_the_compiled_path_gives_the_twins_values_and_gradients(monkeypatch, rng):
    xs = [rng.standard_normal((2, 3, 4, c)).astype(np.float32) for c in (2, 5, 1)]
    g = rng.standard_normal((2, 3, 4, 8)).astype(np.float32)
    results = []
    for threshold in (1 << 62, 0):
        monkeypatch.setattr(concat_kernels, "COMPILED_MIN_VALUES", threshold)
        ts = [nr.tensor(x, requires_grad=True) for x in xs]
        y = nr.concat(ts, axis=-1)
        (y * nr.tensor(g)).sum().backward()
        results.append([y.numpy()] + [t.grad.copy() for t in ts])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
