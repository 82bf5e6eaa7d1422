"""The compiled LSTM cell (``kernels/_numba_recurrent.py``) against its array twins (``kernels/recurrent.py``).

The backward kernel makes the twin's operations in the twin's order: the same bits. The forward's
tanh is a rational approximation (within 7 float32 ulp of tanh, NumPy's own within 1.4), so the
forward and, through it, the op's gradients agree within float32 rounding, not bit for bit.
The twins themselves are held to PyTorch and to float64 gradchecks in tests/test_norm_rnn.py.
"""

import subprocess
import sys

import numpy as np
import pytest
import torch

import neurona as nr
from neurona import functional as F
from neurona.functional.recurrent import CELL_ACTIVATIONS
from neurona.kernels import compiled
from neurona.kernels import recurrent as cell
from neurona.testing import compare_with_torch

needs_numba = pytest.mark.skipif(not compiled.enabled(), reason="numba is not installed (or NEURONA_NUMBA=0)")
TANH, SIGMOID = CELL_ACTIVATIONS["tanh"], CELL_ACTIVATIONS["sigmoid"]


@pytest.fixture
def on_cpu():
    if nr.get_device() != "cpu":
        pytest.skip("the compiled kernels run on NumPy arrays")


@pytest.fixture
def always_compiled(monkeypatch, on_cpu):
    """Every float32 LSTM runs the compiled cell, however short."""
    monkeypatch.setattr(cell, "COMPILED_MIN_VALUES", 0)
    assert cell.lstm_kernels(np.zeros((4, 1, 1), np.float32), "tanh", "sigmoid") is not None


@pytest.fixture
def never_compiled(monkeypatch, on_cpu):
    monkeypatch.setattr(cell, "COMPILED_MIN_VALUES", 1 << 62)


def _kernels():
    return cell.lstm_kernels(np.zeros((4, 1, 1), np.float32), "tanh", "sigmoid", compiled=True)


@needs_numba
def test_compiled_tanh_is_within_7_ulp_and_keeps_nan_and_the_limits():
    k = _kernels()
    x = np.concatenate([np.linspace(-12, 12, 200_001, dtype=np.float32),
                        np.geomspace(1e-30, 1, 2001, dtype=np.float32)])
    y = np.array([k.tanh32(v) for v in x[::50]] + [k.tanh32(v) for v in x[-2001:]], np.float32)
    x = np.concatenate([x[::50], x[-2001:]])
    exact = np.tanh(x.astype(np.float64))
    ulp = np.abs(y - exact) / np.spacing(np.abs(exact).astype(np.float32))
    assert ulp.max() <= 7
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e4], np.float32)
    out = np.array([k.tanh32(v) for v in specials])
    np.testing.assert_array_equal(out, [np.nan, 1, -1, 0, 0, 1])
    assert np.signbit(out[4])


def _cell_arrays(rng, u=5, T=3, N=7):
    Z = (rng.standard_normal((4 * u, T, N)) * 3).astype(np.float32)
    cs = rng.standard_normal((u, T + 1, N)).astype(np.float32)
    return Z, cs, np.zeros((u, T, N), np.float32), np.zeros((u, T, N), np.float32)


@needs_numba
@pytest.mark.parametrize("with_r", [True, False])
def test_compiled_cell_forward_matches_the_twin_within_float32_rounding(rng, with_r):
    Z, cs, tcs, hs = _cell_arrays(rng)
    r = (rng.standard_normal(Z[:, 1].shape) if with_r else np.zeros(Z[:, 1].shape)).astype(np.float32)
    twin = [a.copy() for a in (Z, cs, tcs, hs)]
    cell.lstm_cell_forward(None, twin[0], 1, r if with_r else None, *twin[1:], TANH, SIGMOID)
    cell.lstm_cell_forward(_kernels(), Z, 1, r if with_r else None, cs, tcs, hs, TANH, SIGMOID)
    for fast, slow in zip((Z, cs, tcs, hs), twin):
        np.testing.assert_allclose(fast, slow, rtol=2e-6, atol=1e-6)
    assert np.array_equal(cs[:, 1], twin[1][:, 1]) and np.array_equal(Z[:, 0], twin[0][:, 0])  # only step 1 written


@needs_numba
def test_compiled_cell_backward_gives_the_twins_bits(rng):
    Z, cs, tcs, _ = _cell_arrays(rng)
    Z = 1 / (1 + np.exp(-Z))  # gate values, as the forward leaves them
    Z[2 * 5:3 * 5] = np.tanh(rng.standard_normal(Z[2 * 5:3 * 5].shape))
    tcs = np.tanh(rng.standard_normal(tcs.shape)).astype(np.float32)
    gh, gc = rng.standard_normal((2, 5, 7)).astype(np.float32)
    gZ, gZ_twin, gc_twin = np.zeros_like(Z), np.zeros_like(Z), gc.copy()
    derivatives = cell.lstm_derivatives(None, Z, tcs, TANH, SIGMOID)
    cell.lstm_cell_backward(None, gh, gc_twin, Z, 2, cs, tcs, gZ_twin, derivatives)
    cell.lstm_cell_backward(_kernels(), gh, gc, Z, 2, cs, tcs, gZ, None)
    np.testing.assert_array_equal(gZ, gZ_twin)
    np.testing.assert_array_equal(gc, gc_twin)


# (name, (N, T, F, u), h0/c0 given, go_backwards, recurrent mask, loss on the whole sequence)
OP_CASES = [
    ("last state", (4, 6, 3, 8), False, False, False, False),
    ("h0 c0, sequence", (3, 5, 4, 6), True, False, False, True),
    ("go backwards", (2, 4, 3, 5), False, True, False, True),
    ("recurrent mask", (3, 5, 2, 4), True, False, True, True),
]


def _lstm_op(rng, case):
    _, (N, T, Fe, u), states, backwards, masked, whole = case
    arrays = [rng.standard_normal(s).astype(np.float32) * 0.7 for s in
              ((N, T, Fe), (Fe, 4 * u), (u, 4 * u), (4 * u,), (N, u), (N, u))]
    mask = (rng.random((N, u)) > 0.3).astype(np.float32) / 0.7 if masked else None
    ts = [nr.tensor(a, requires_grad=True) for a in (arrays if states else arrays[:4])]
    seq, h, c = F.lstm(*ts, go_backwards=backwards, recurrent_mask=mask)
    loss = (seq * nr.tensor(np.linspace(-1, 1, seq.size, dtype=np.float32).reshape(seq.shape))).sum() if whole \
        else (h * h).sum() + (c * 0.5).sum()
    loss.backward()
    return [seq.numpy(), h.numpy(), c.numpy()] + [t.grad for t in ts]


@needs_numba
@pytest.mark.parametrize("case", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_compiled_lstm_op_matches_the_twin_op(case, monkeypatch, on_cpu):
    monkeypatch.setattr(cell, "COMPILED_MIN_VALUES", 1 << 62)
    twin = _lstm_op(np.random.default_rng(3), case)
    monkeypatch.setattr(cell, "COMPILED_MIN_VALUES", 0)
    fast = _lstm_op(np.random.default_rng(3), case)
    for a, b in zip(fast, twin):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6 * max(1.0, np.abs(b).max()))


def _torch_lstm(x, W, U, b, h0, c0):
    m = torch.nn.LSTM(W.shape[0], U.shape[0], batch_first=True, dtype=x.dtype)
    params = {"weight_ih_l0": W.T, "weight_hh_l0": U.T, "bias_ih_l0": b, "bias_hh_l0": torch.zeros_like(b)}
    out, (h, c) = torch.func.functional_call(m, params, (x, (h0[None], c0[None])))
    return out, h[0], c[0]


@needs_numba
def test_compiled_lstm_op_matches_pytorch_in_float32(always_compiled, rng):
    N, T, Fe, u = 5, 7, 4, 16
    arrays = [rng.standard_normal(s) * 0.5 for s in ((N, T, Fe), (Fe, 4 * u), (u, 4 * u), (4 * u,), (N, u), (N, u))]
    compare_with_torch(F.lstm, _torch_lstm, *arrays, dtype=np.float32, rtol=1e-4, atol=1e-5)


def test_the_compiled_cell_runs_only_for_float32_default_activations_and_long_sequences(never_compiled):
    z32, z64 = np.zeros((4, 2, 3), np.float32), np.zeros((4, 2, 3))
    assert cell.lstm_kernels(z32, "tanh", "sigmoid") is None  # below the size threshold
    assert cell.lstm_kernels(z64, "tanh", "sigmoid", compiled=None) is None
    assert cell.lstm_kernels(z32, "relu", "sigmoid", compiled=None) is None
    with pytest.raises(ValueError, match="float32 NumPy arrays and activations tanh, sigmoid"):
        cell.lstm_kernels(z64, "tanh", "sigmoid", compiled=True)


def test_a_small_lstm_never_loads_numba_and_a_long_one_does():
    """A training step of a small LSTM compiles nothing (numba's import and the kernels' load cost
    about a second); an LSTM over COMPILED_MIN_VALUES state values loads them (when numba is installed)."""
    code = """
import sys
import numpy as np
import neurona as nr
from neurona import nn, optim, functional as F
from neurona.kernels.recurrent import COMPILED_MIN_VALUES
model = nn.Sequential([nn.LSTM(16), nn.Dense(3)])
opt = optim.Adam(model.parameters())
F.cross_entropy(model(nr.tensor(np.ones((8, 5, 3), np.float32))), np.zeros(8, int)).backward()
opt.step()
print('numba' in sys.modules)
x = nr.tensor(np.ones((COMPILED_MIN_VALUES // (16 * 4) + 1, 4, 2), np.float32))
nn.LSTM(16)(x)
print('numba' in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", str(compiled.enabled())]
