"""neurona's own threads (neurona.kernels.threads) give the same bits as one thread; importing
neurona leaves BLAS alone, and fit/evaluate/predict restore whatever they change.

The test workers run with one thread each (conftest), so these tests switch to two
and compare, on arrays big enough to be split.
"""

import numpy as np
import pytest

import neurona as nr
from neurona import backend, kernels, nn, optim
from neurona import functional as F
from neurona.kernels import platform
from neurona.kernels.platform import BLAS_THREAD_VARIABLES, blas_threads_while_working


@pytest.fixture
def threads():
    previous = backend.get_num_threads()
    yield backend.set_num_threads
    backend.set_num_threads(previous)


def test_parallel_for_covers_every_index_once(threads):
    threads(3)
    seen = np.zeros(1000, dtype=int)

    def visit(s):
        seen[s] += 1

    kernels.parallel_for(visit, 1000)
    assert (seen == 1).all()
    with pytest.raises(ZeroDivisionError):
        kernels.parallel_for(lambda s: 1 / 0, 1000)


def test_parallel_chunks_covers_every_chunk_once_and_restores_blas(threads):
    threads(2)
    controllers = __import__("threadpoolctl").ThreadpoolController().select(user_api="blas").lib_controllers
    before = [c.get_num_threads() for c in controllers]
    seen = np.zeros(103, dtype=int)
    calls = []

    def visit(k, s):
        calls.append((k, s.start, s.stop))
        seen[s] += 1

    kernels.parallel_chunks(visit, 103, 10)
    assert (seen == 1).all()
    assert sorted(calls) == [(k, 10 * k, min(103, 10 * k + 10)) for k in range(11)]
    with pytest.raises(ZeroDivisionError):
        kernels.parallel_chunks(lambda k, s: 1 / 0, 103, 10)
    assert [c.get_num_threads() for c in controllers] == before


def _conv_pool_step():
    rng = np.random.default_rng(0)
    x = nr.tensor(rng.standard_normal((64, 16, 16, 32)), requires_grad=True)
    w = nr.tensor(rng.standard_normal((3, 3, 32, 32)) * 0.1, requires_grad=True)
    b = nr.tensor(rng.standard_normal(32), requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, w, b, padding="same", activation="relu"), 2)
    (y * nr.tensor(rng.standard_normal(y.shape))).sum().backward()
    return [y.numpy(), x.grad, w.grad, b.grad]


def _fused_conv_pool_step():
    rng = np.random.default_rng(0)
    x = nr.tensor(rng.standard_normal((64, 16, 16, 32)), requires_grad=True)
    w = nr.tensor(rng.standard_normal((3, 3, 32, 32)) * 0.1, requires_grad=True)
    b = nr.tensor(rng.standard_normal(32), requires_grad=True)
    y = F.conv2d_relu_max_pool2d(x, w, b, padding="same")
    (y * nr.tensor(rng.standard_normal(y.shape))).sum().backward()
    return [y.numpy(), x.grad, w.grad, b.grad]


def _dense_step():
    rng = np.random.default_rng(0)
    x = nr.tensor(rng.standard_normal((256, 3136)), requires_grad=True)  # 103M multiply-adds: split
    w = nr.tensor(rng.standard_normal((3136, 128)) * 0.02, requires_grad=True)
    b = nr.tensor(rng.standard_normal(128), requires_grad=True)
    y = F.linear(x, w, b, activation="relu")
    (y * nr.tensor(rng.standard_normal(y.shape))).sum().backward()
    return [y.numpy(), x.grad, w.grad, b.grad]


def _adam_steps():
    nr.manual_seed(0)
    p = nn.Parameter(np.random.default_rng(1).standard_normal(600_000))
    opt = optim.Adam([p], lr=1e-2)
    for k in range(3):
        p.grad = np.random.default_rng(k).standard_normal(p.shape).astype(np.float32)
        opt.step()
    return [p.data.copy()]


@pytest.mark.parametrize("work", [_conv_pool_step, _fused_conv_pool_step, _dense_step, _adam_steps],
                         ids=["conv_pool", "fused_conv_pool", "dense", "adam"])
@pytest.mark.cpu_only(reason="neurona's CPU threads (GPU work runs in one piece)")
def test_two_threads_give_the_same_bits_as_one(threads, work):
    threads(1)
    one = work()
    threads(2)
    two = work()
    for a, b in zip(one, two):
        np.testing.assert_array_equal(a, b)


def test_parallel_matmul_is_the_product_with_any_number_of_threads(threads):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 700)).astype(np.float32), rng.standard_normal((700, 90)).astype(np.float32)
    for left, right in ((a, b), (a.T[:, :300], a[:300])):  # also a transposed view, as x.T @ g in Linear
        results = []
        for n in (1, 2, 3):
            threads(n)
            results.append(kernels.parallel_matmul(left, right, min_work=1000))
        np.testing.assert_allclose(results[0], left @ right, rtol=1e-5, atol=1e-4)
        for other in results[1:]:
            np.testing.assert_array_equal(other, results[0])


def _blas_threads_in_fresh_process(code, **env):
    """BLAS's thread counts printed by ``code`` in a fresh interpreter, with these variables and no
    other BLAS thread variables; ``code`` may call ``blas()`` (threadpoolctl's current counts)."""
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES}
    prelude = ("import threadpoolctl\n"
               "def blas(): return [i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']\n")
    out = subprocess.run([sys.executable, "-c", prelude + code], env={**clean, **env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.splitlines()


def test_import_leaves_blas_threads_as_numpy_and_scikit_learn_had_them():
    code = ("import numpy, sklearn.utils; print(blas()); import neurona; print(blas())\n"
            "threadpoolctl.threadpool_limits(3); print(blas())")
    before, after, later = _blas_threads_in_fresh_process(code)
    assert before == after != "[]"  # every BLAS loaded (NumPy's, SciPy's) keeps its count
    assert set(eval(later)) == {3}  # and the user's own later setting holds
    # imported first, neurona changes nothing either (NumPy's BLAS starts with its own default)
    first, plain = _blas_threads_in_fresh_process("import neurona; print(blas())"), \
        _blas_threads_in_fresh_process("import numpy; print(blas())")
    assert first == plain


def test_fit_evaluate_predict_run_blas_on_one_thread_and_restore_the_users_count():
    code = """
import numpy as np
import neurona as nr
from neurona import nn
threadpoolctl.threadpool_limits(2)
seen = []
class Spy(nn.Module):
    def forward(self, x):
        seen.append(blas()[0])
        return x
model = nn.Sequential([nn.Dense(3), Spy()])
model.compile(optimizer="sgd", loss="mse")
x, y = np.ones((8, 4), np.float32), np.zeros((8, 3), np.float32)
model.fit(x, y, epochs=1, batch_size=4, verbose=0)
model.evaluate(x, y)
model.predict(x)
print(sorted(set(seen)))
print(blas())
with nr.performance():
    print(blas())
print(blas())
"""
    inside, after, block, after_block = _blas_threads_in_fresh_process(code)
    assert inside == "[1]" and block == "[1]"
    assert after == after_block == "[2]"


def test_neurona_blas_threads_is_the_count_while_working_and_checked():
    code = "import neurona\nwith neurona.performance(): print(blas())\nprint(blas())"
    assert _blas_threads_in_fresh_process(code, NEURONA_BLAS_THREADS="2", OPENBLAS_NUM_THREADS="1") == ["[2]", "[1]"]
    # the user's own setting is kept inside neurona's work too
    assert _blas_threads_in_fresh_process(code, OPENBLAS_NUM_THREADS="2") == ["[2]", "[2]"]
    with pytest.raises(ValueError, match="NEURONA_BLAS_THREADS must be a positive integer. Received: 'two'"):
        blas_threads_while_working({"NEURONA_BLAS_THREADS": "two"})
    with pytest.raises(ValueError, match="BLAS threads must be a positive integer. Received: 0"):
        kernels.set_blas_threads(0)


def test_performance_restores_flush_to_zero_and_nests():
    if platform._fenv is None:
        pytest.skip("flush-to-zero is only set on x86-64 Linux")
    assert not platform.flushes_denormals()
    with nr.performance():
        assert platform.flushes_denormals()
        with nr.performance():
            assert platform.flushes_denormals()
        assert platform.flushes_denormals()  # the inner block restores nothing early
    assert not platform.flushes_denormals()
    tiny = np.float32(1e-39)  # subnormal in float32
    assert tiny * np.float32(1) != 0  # the user's arithmetic keeps subnormals after the block


def test_parallel_chunks_of_an_empty_range_calls_nothing_on_any_device():
    calls = []
    kernels.parallel_chunks(lambda k, s: calls.append(s), 0, 4)
    kernels.parallel_chunks(lambda k, s: calls.append(s), 0, 4, xp=object())  # a device module: one chunk or none
    assert calls == []
    kernels.parallel_chunks(lambda k, s: calls.append((k, s)), 10, 4, xp=object())
    assert calls == [(0, slice(0, 10))]
