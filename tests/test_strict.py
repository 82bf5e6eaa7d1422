"""The strict stand-in for CuPy (neurona/_strict.py): what it refuses, what it lets through."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from neurona import _strict as xp


@pytest.fixture
def d():
    return xp.asarray(np.arange(6.0).reshape(2, 3))


@pytest.mark.parametrize("convert", [
    np.asarray, np.array, float, int, complex,
    lambda a: a.item(), lambda a: a.tolist(), lambda a: a.tobytes(), lambda a: a.data,
], ids=["asarray", "array", "float", "int", "complex", "item", "tolist", "tobytes", "data"])
def test_implicit_conversions_to_the_host_are_refused(d, convert):
    one = d[0, 0]
    with pytest.raises(TypeError, match="strict device: .* implicitly convert a device array to NumPy"):
        convert(one)


@pytest.mark.parametrize("mix", [
    lambda d, h: d + h, lambda d, h: h * d, lambda d, h: np.maximum(d, h), lambda d, h: xp.exp(h),
    lambda d, h: np.concatenate([d, h]), lambda d, h: xp.stack([d, h]), lambda d, h: np.matmul(d, h.T),
    lambda d, h: d.__setitem__(slice(0, 2), h), lambda d, h: np.add(d, d, out=h),
], ids=["add", "radd", "np.maximum", "xp.exp", "np.concatenate", "xp.stack", "matmul", "slice-assign", "out"])
def test_mixing_with_a_host_array_is_refused(d, mix):
    with pytest.raises(TypeError, match=r"mixes a device array with a host numpy.ndarray \(shape \((2, 3|3, 2)\)"):
        mix(d, np.ones((2, 3)))


def test_explicit_transfers_and_what_cupy_allows(d):
    host = xp.asnumpy(d)
    assert type(host) is np.ndarray and np.array_equal(host, np.arange(6.0).reshape(2, 3))
    host[0, 0] = 99  # a copy, as from a GPU
    assert xp.asnumpy(d)[0, 0] == 0 and type(d.get()) is np.ndarray
    assert type(d.sum()) is xp.ndarray and d.sum().shape == ()  # reductions stay on the device
    assert bool((d >= 0).all()) and len(d) == 2 and [r.shape for r in d] == [(3,), (3,)]
    assert xp.asnumpy(d[np.array([1, 1])]).tolist() == [[3, 4, 5], [3, 4, 5]]  # host index arrays: copied
    d[np.array([0])] = np.full((1, 3), 7.0)  # advanced assignment from the host: CuPy copies it
    xp.add.at(d, np.array([1, 1]), xp.ones(3))
    assert xp.asnumpy(d).tolist() == [[7, 7, 7], [5, 6, 7]]
    assert xp.asarray(d) is d and np.multiply(d, 2, out=d) is d and xp.maximum(d, 0, out=d) is d
    assert (d * np.float32(0.5)).dtype == np.float64 and xp.float32 is np.float32


def test_random_draws_and_functions_live_on_the_device():
    g = xp.random.default_rng(0)
    a, b = g.standard_normal((3,)), np.random.default_rng(0).standard_normal((3,))
    assert type(a) is xp.ndarray and np.array_equal(xp.asnumpy(a), b)
    assert type(xp.zeros((2,))) is xp.ndarray and type(np.linalg.norm(a)) is xp.ndarray
    assert not hasattr(a, "__array_interface__")  # NumPy cannot read the data behind its back


def test_strict_mode_runs_a_model_and_flags_a_host_conversion():
    """NEURONA_DEVICE=strict makes 'gpu' the stand-in: a training step runs there, and
    float() on device data inside user code fails as the issue asks."""
    code = textwrap.dedent("""
        import numpy as np, pytest
        import neurona as nr
        from neurona import backend, nn, optim, functional as F
        assert backend.is_strict() and nr.get_device() == "gpu"
        model = nn.Sequential([nn.Dense(4, activation="relu"), nn.Dense(3)])
        opt = optim.Adam(model.parameters(), lr=1e-2)
        x = nr.tensor(np.ones((5, 2)))
        loss = F.cross_entropy(model(x), np.array([0, 1, 2, 0, 1]))
        loss.backward(); opt.step()
        assert model.parameters()[0].device == "gpu" and x.device == "gpu"
        assert isinstance(loss.item(), float) and isinstance(float(loss), float)
        try:
            float(loss.data)
        except TypeError as exc:
            print("refused:", exc)
    """)
    env = dict(os.environ, NEURONA_DEVICE="strict")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused: strict device: float()" in out.stdout
