"""The shortcuts the MLP benchmarks run through give what the plain paths give.

- predict checks each batch for NaN/Inf as it takes it (one pass over data already in cache)
  instead of the whole input up front: same results, same errors naming the same sample;
- the finiteness test is one pass (sums of squares), with the exact min/max test behind it
  whenever a sum is not finite, so large finite values are never refused by mistake;
- the dense op writes a parameter's gradient straight into the optimizer's flat buffer
  when the engine would copy it there: same bits, and accumulation still adds;
- an optimizer step inside ``nr.performance()`` (flush-to-zero already on) does not switch
  it again, and gives the same bits as outside it and on any thread count.
"""

import subprocess
import sys

import numpy as np
import pytest

import neurona as nr
from neurona import backend, nn, optim
from neurona import functional as F
from neurona.kernels import compiled as kernels_compiled
from neurona.optim import adam as adam_module
from neurona.training import data as D


@pytest.fixture
def threads():
    previous = backend.get_num_threads()
    yield backend.set_num_threads
    backend.set_num_threads(previous)


def _mlp(n_in=12, seed=0):
    nr.manual_seed(seed)
    model = nn.Sequential([nn.Dense(16, activation="relu"), nn.Dense(3)])
    model.build((None, n_in))
    return model


def test_predict_on_a_ragged_last_batch_is_the_models_call_batch_by_batch():
    model = _mlp()
    x = np.random.default_rng(0).standard_normal((23, 12)).astype(np.float32)
    got = model.predict(x, batch_size=10)  # batches of 10, 10 and 3 rows
    model.eval()
    with nr.no_grad():
        each = np.concatenate([model(nr.tensor(x[i:i + 10])).numpy() for i in range(0, 23, 10)])
        whole = model(nr.tensor(x)).numpy()
    np.testing.assert_array_equal(got, each)  # the same shapes through the same kernels: the same bits
    np.testing.assert_allclose(got, whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_predict_refuses_a_bad_row_in_a_later_batch_and_names_it(bad):
    model = _mlp()
    x = np.random.default_rng(1).standard_normal((50, 12)).astype(np.float32)
    x[37, 4] = bad
    x[44, 0] = bad
    model.train()
    with pytest.raises(ValueError, match="x contains NaN or Inf .2 samples, the first is sample 37."):
        model.predict(x, batch_size=16)
    assert model.training  # the mode predict found is back


def test_predict_refuses_float64_beyond_float32_in_a_later_batch():
    model = _mlp()
    x = np.random.default_rng(2).standard_normal((40, 12))
    x[33, 1] = 1e39
    with pytest.raises(ValueError, match=r"x has finite values too large for float32.*sample 33"):
        model.predict(x, batch_size=8)
    x[33, 1] = float(np.finfo(np.float32).max)  # the largest float32 itself is fine
    assert np.isfinite(model.predict(x, batch_size=8)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_values_whose_squares_overflow_are_not_refused(dtype):
    big = np.finfo(dtype).max / 4
    a = np.full((6, 5), big, dtype=dtype)  # the sum of squares overflows; every value is finite
    assert D.is_finite(a)
    D.check_finite(a, "x")  # no error
    a[4, 2] = np.nan
    assert not D.is_finite(a)
    with pytest.raises(ValueError, match="x contains NaN or Inf .1 samples, the first is sample 4."):
        D.check_finite(a, "x")


def test_finiteness_of_strided_and_integer_arrays():
    a = np.arange(60, dtype=np.float32).reshape(6, 10)[:, ::2]  # not contiguous: the min/max test
    assert D.is_finite(a)
    a[3, 1] = np.inf
    assert not D.is_finite(a)
    assert D.is_finite(np.arange(10))
    assert D.is_finite(np.zeros((0, 3), np.float32))
    x64 = np.ones((4, 3))
    x64[2, 2] = 3.5e38
    assert D.is_finite(x64) and not D.is_finite(x64, np.float32)
    assert D.is_finite(x64, np.float64)


@pytest.mark.cpu_only(reason="neurona's CPU threads")
def test_finiteness_split_over_threads_finds_a_bad_value_in_any_slice(threads):
    threads(2)
    n = 1 << 22  # split in two (a slice per thread from 2^21 values)
    a = np.zeros(n, np.float32)
    for i in (0, n // 2 - 1, n // 2, n - 1):
        a[i] = np.nan
        assert not D.is_finite(a), i
        a[i] = 0
    assert D.is_finite(a)


def _gradients(with_optimizer: bool, shared: bool = False):
    rng = np.random.default_rng(3)
    nr.manual_seed(0)
    model = nn.Sequential([nn.Dense(20, activation="relu"), nn.Dense(4)])
    model.build((None, 9))
    if with_optimizer:
        opt = optim.Adam(model.parameters(), lr=1e-3)
        opt.step()  # builds the flat buffers: backward now finds each parameter's slot
        opt.zero_grad()
    x = nr.tensor(rng.standard_normal((32, 9)))
    y = rng.integers(0, 4, 32)
    loss = F.cross_entropy(model(x), y)
    if shared:  # the first kernel used a second time: its gradient sums two parts
        loss = loss + (model.layers[0].kernel * model.layers[0].kernel).sum() * 0.01
    loss.backward()
    return [p.grad.copy() for p in model.parameters()], model


@pytest.mark.parametrize("shared", [False, True])
def test_dense_gradients_written_into_the_optimizers_buffer_are_the_same_bits(shared):
    plain, _ = _gradients(False, shared)
    flat, model = _gradients(True, shared)
    for a, b in zip(plain, flat):
        np.testing.assert_array_equal(a, b)
    for p in model.parameters():  # and they are where the optimizer reads them
        assert p.grad is p._grad_view


def test_gradients_still_accumulate_without_zero_grad():
    nr.manual_seed(0)
    model = nn.Sequential([nn.Dense(5, activation="tanh"), nn.Dense(2)])
    model.build((None, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    opt.step()
    opt.zero_grad()
    x = nr.tensor(np.random.default_rng(4).standard_normal((8, 3)))
    model(x).sum().backward()
    once = [p.grad.copy() for p in model.parameters()]
    model(x).sum().backward()
    for p, g in zip(model.parameters(), once):
        np.testing.assert_allclose(p.grad, 2 * g, rtol=1e-6)


def test_a_training_step_in_fit_equals_the_hand_written_loop():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((64, 12)).astype(np.float32), rng.integers(0, 3, 64)
    fitted = _mlp()
    fitted.compile(optimizer=optim.Adam(lr=1e-2), loss="cross_entropy")
    fitted.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    hand = _mlp()
    opt = optim.Adam(hand.parameters(), lr=1e-2)
    for _ in range(2):
        for i in range(0, 64, 16):
            opt.zero_grad()
            F.cross_entropy(hand(nr.tensor(x[i:i + 16])), y[i:i + 16]).backward()
            opt.step()
    for a, b in zip(fitted.parameters(), hand.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("make", [lambda ps: optim.Adam(ps, lr=1e-2), lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: optim.RMSprop(ps, lr=1e-2)], ids=["adam", "sgd", "rmsprop"])
@pytest.mark.cpu_only(reason="neurona's CPU threads")
def test_an_update_gives_the_same_bits_on_threads_and_inside_performance(threads, make):
    def run():
        rng = np.random.default_rng(6)
        ps = [nn.Parameter(rng.standard_normal(s).astype(np.float32)) for s in ((600, 450), (450,), (450, 10))]
        opt = make(ps)
        for k in range(3):
            for p in ps:
                p.grad = np.random.default_rng(k).standard_normal(p.shape).astype(np.float32)
            opt.step()
        return [p.data.copy() for p in ps]

    threads(1)
    one = run()
    threads(2)
    two = run()
    with nr.performance():  # flush-to-zero already on: the step does not switch it again
        three = run()
    for a, b, c in zip(one, two, three):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("make", [lambda ps: optim.Adam(ps, lr=1e-2), lambda ps: optim.AdamW(ps, lr=1e-2),
                                  lambda ps: optim.Adam(ps, lr=1e-2, amsgrad=True)], ids=["adam", "adamw", "amsgrad"])
def test_adams_compiled_pass_gives_the_bits_of_its_array_passes(monkeypatch, make):
    def run(skip_one: bool):
        rng = np.random.default_rng(7)
        ps = [nn.Parameter(rng.standard_normal(s).astype(np.float32)) for s in ((40, 30), (30,), (30, 5))]
        opt = make(ps)
        for k in range(4):
            for i, p in enumerate(ps):  # skip_one: a parameter without a gradient, so each is updated on its own
                g = np.random.default_rng(k).standard_normal(p.shape).astype(np.float32)
                p.grad = None if skip_one and k == 2 and i == 1 else backend.to_device(g, backend.device_of(p.data))
            opt.step()
        return [p.data.copy() for p in ps] + [opt.state_dict()["state"][0]["exp_avg_sq"]]

    monkeypatch.setattr(adam_module, "COMPILED_MIN", 0)  # these small buffers take the compiled pass too
    if kernels_compiled.enabled():  # numba installed: the compiled pass is what runs on the flat buffers
        a = np.zeros(8, np.float32)
        assert adam_module._compiled_adam(a, a, a, a) is not None
    for skip_one in (False, True):
        compiled = run(skip_one)
        monkeypatch.setenv("NEURONA_NUMBA", "0")  # the array passes (Adam.update's NumPy form)
        arrays = run(skip_one)
        monkeypatch.delenv("NEURONA_NUMBA")
        for a, b in zip(compiled, arrays):
            np.testing.assert_array_equal(a, b)


def test_adam_keeps_its_array_passes_below_the_compiled_size():
    """A small model's Adam never loads numba: its first step would pay ~1 s for a saving of microseconds."""
    small = np.zeros(adam_module.COMPILED_MIN - 1, np.float32)
    assert adam_module._compiled_adam(small, small, small, small) is None
    if kernels_compiled.enabled():
        large = np.zeros(adam_module.COMPILED_MIN, np.float32)
        assert adam_module._compiled_adam(large, large, large, large) is not None


def test_a_small_model_trained_with_adam_never_imports_numba():
    """`make run` and a newcomer's first script: fit a small MLP with Adam, then predict; numba stays unloaded."""
    code = """
import sys
import numpy as np
import neurona as nr
from neurona import nn
model = nn.Sequential([nn.Dense(64, activation="relu"), nn.Dense(3)])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
x = np.random.default_rng(0).random((256, 20), dtype=np.float32)
model.fit(x, np.arange(256) % 3, epochs=2, batch_size=32, verbose=0)
model.predict(x, verbose=0)
print("numba" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_take_gathers_the_rows_fancy_indexing_gives(dtype):
    """fit's batch gather (``ndarray.take`` on the batch axis) against its twin, ``a[index]``."""
    a = (np.random.default_rng(10).random((30, 4, 5, 2)) * 200).astype(dtype)
    index = np.array([29, 0, 7, 7, -1, 15, 3])  # repeated and negative indices as NumPy reads them
    got = D.take(a, index, np.float32)
    assert got.dtype == np.float32 and got.flags.c_contiguous
    np.testing.assert_array_equal(got, a[index].astype(np.float32))
    assert np.array_equal(D.take(a, index), a[index]) and D.take(a, index).dtype == dtype
    view = D.take(a, slice(5, 9))  # a slice stays a view
    assert np.shares_memory(view, a) and view.shape == (4, 4, 5, 2)
