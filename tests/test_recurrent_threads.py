"""Recurrent time loops on two halves of the batch (``kernels.recurrent.time_loop_chunk``).

The halves are cut by the shapes alone, so one and two threads give the same bits. Against the loop
over the whole batch at once the results agree within float32 rounding, not bit for bit: BLAS sums the
per-step product U^T h_{t-1} in a different order for a half of the columns than for all of them.
"""

import numpy as np
import pytest

import neurona as nr
from neurona import backend
from neurona import functional as F
from neurona.kernels import compiled
from neurona.kernels import recurrent as cell


@pytest.fixture
def threads():
    previous = backend.get_num_threads()
    yield backend.set_num_threads
    backend.set_num_threads(previous)


@pytest.fixture
def split(monkeypatch):
    """Every recurrence of at least two columns runs as two halves; returns a switch to turn it off."""
    def on(yes=True):
        monkeypatch.setattr(cell, "SPLIT_MIN_WORK", 0 if yes else 1 << 62)
        monkeypatch.setattr(cell, "SPLIT_MIN_COLUMNS", 1)
    on()
    return on


def _gru_reset_before(*args, **kwargs):
    return F.gru(*args, reset_after=False, **kwargs)


# name: (op, gates, bias shape for u units, states: h0 (and c0))
OPS = {
    "lstm": (F.lstm, 4, lambda u: (4 * u,), 2),
    "gru": (F.gru, 3, lambda u: (2, 3 * u), 1),
    "gru reset before": (_gru_reset_before, 3, lambda u: (3 * u,), 1),
    "simple_rnn": (F.simple_rnn, 1, lambda u: (u,), 1),
}


def _run(op, rng, N=9, T=5, Fe=3, u=6, states=True, backwards=False, masked=False, whole=True):
    """Outputs and every input's gradient, float32, of one op call with a loss on the sequence or the states."""
    fn, k, bias_shape, n_states = OPS[op]
    shapes = [(N, T, Fe), (Fe, k * u), (u, k * u), bias_shape(u)] + [(N, u)] * n_states
    arrays = [(rng.standard_normal(s) * 0.6).astype(np.float32) for s in shapes]
    if not states:
        arrays = arrays[:4]
    mask = (rng.random((N, u)) > 0.3).astype(np.float32) / 0.7 if masked else None
    ts = [nr.tensor(a, requires_grad=True) for a in arrays]
    outs = fn(*ts, go_backwards=backwards, recurrent_mask=mask)
    seq, rest = outs[0], outs[1:]
    loss = (seq * nr.tensor(np.linspace(-1, 1, seq.size, dtype=np.float32).reshape(seq.shape))).sum() if whole \
        else sum(((r * r).sum() for r in rest), nr.tensor(0.0))
    loss.backward()
    return [o.numpy() for o in outs] + [t.grad for t in ts]


CASES = [
    dict(),
    dict(states=False, whole=False),
    dict(backwards=True, masked=True),
    dict(N=2, masked=True, whole=False),  # halves of one column
]


@pytest.mark.parametrize("case", CASES, ids=["states given, sequence", "last states", "backwards masked", "two columns"])
@pytest.mark.parametrize("op, compiled_cell", [(op, False) for op in OPS] + [("lstm", True)],
                         ids=[*OPS, "lstm compiled cell"])
@pytest.mark.cpu_only(reason="neurona's CPU threads (GPU work runs in one piece)")
def test_halves_give_the_same_bits_on_one_and_two_threads_and_the_whole_loops_values(
        op, case, compiled_cell, split, threads, monkeypatch):
    if compiled_cell and not compiled.enabled():
        pytest.skip("numba is not installed (or NEURONA_NUMBA=0)")
    monkeypatch.setattr(cell, "COMPILED_MIN_VALUES", 0 if compiled_cell else 1 << 62)
    threads(1)
    one = _run(op, np.random.default_rng(5), **case)
    threads(2)
    two = _run(op, np.random.default_rng(5), **case)
    split(False)
    whole = _run(op, np.random.default_rng(5), **case)
    for a, b, c in zip(one, two, whole):
        assert a.dtype == c.dtype == np.float32
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=2e-6 * max(1.0, np.abs(c).max()))


def test_the_time_loop_is_split_only_for_large_recurrences():
    assert cell.time_loop_chunk(128, 28, 4 * 128, 128) == 64  # the benchmark's LSTM (128 units, 28 steps, batch 128)
    assert cell.time_loop_chunk(129, 28, 4 * 128, 128) == 65  # an odd batch: halves of 65 and 64
    assert cell.time_loop_chunk(32, 20, 4 * 64, 64) == 32  # LSTM(64) on (32, 20, 16): one piece
    assert cell.time_loop_chunk(16, 1000, 4 * 512, 512) == 16  # too few columns to halve
    assert cell.time_loop_chunk(128, 28, 3 * 128, 128) == 64  # GRU(128), the same data
