"""Every fast op against its plain reference twin (neurona/functional/reference.py): no PyTorch needed.

One table: each row names a fast op, its twin, and the inputs. Both run on the same
inputs; outputs and the gradients of every float input (after backward with the same
random upstream gradient) must agree: to float64 rounding in float64, and to float32
rounding in float32 (the two compute the same sums in different orders). The twins
themselves are checked against central differences (float64).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import pytest

import neurona as nr
from neurona import functional as F
from neurona import optim
from neurona.autograd import Tensor
from neurona.functional import reference as R
from neurona.testing import gradcheck


@dataclass
class Twin:
    name: str
    fast: Callable
    ref: Callable
    shapes: list  # input shapes; an int entry k means int labels in [0, k) for a batch of shapes[0][0]


def _conv(stride=1, padding=0, dilation=1, activation=None):
    return (partial(F.conv2d, stride=stride, padding=padding, dilation=dilation, activation=activation),
            partial(R.conv2d, stride=stride, padding=padding, dilation=dilation, activation=activation))


def _convT(stride=1, padding=0, output_padding=None, dilation=1, activation=None):
    kw = dict(stride=stride, padding=padding, output_padding=output_padding, dilation=dilation, activation=activation)
    return partial(F.conv2d_transpose, **kw), partial(R.conv2d_transpose, **kw)


def _pool(kind, size, stride=None, padding="valid"):
    fast, ref = (F.max_pool2d, R.max_pool2d) if kind == "max" else (F.avg_pool2d, R.avg_pool2d)
    return (lambda x: fast(x, size, stride, padding)), (lambda x: ref(x, size, stride, padding))


def _cpool(stride=1, padding=0):
    return (partial(F.conv2d_relu_max_pool2d, stride=stride, padding=padding),
            partial(R.conv2d_relu_max_pool2d, stride=stride, padding=padding))


def _dense(activation):
    return partial(F.linear, activation=activation), partial(R.dense, activation=activation)


_RNG = np.random.default_rng(9)
RUNNING = _RNG.standard_normal(4), _RNG.uniform(0.5, 1.5, 4)  # inference statistics (constants)
_P = np.exp(_RNG.standard_normal((6, 5)))
PROBS = _P / _P.sum(axis=1, keepdims=True)  # a probability target (constant)


def _bn_infer(fn):
    """batch_norm in inference mode, with the running statistics as constants."""
    return lambda x, g, b: fn(x, g, b, *(nr.backend.to_device(r.astype(x.dtype), x.device) for r in RUNNING),
                              training=False)


def _bn_train(fn):
    return lambda x, g, b: fn(x, g, b, training=True)


def _rnn(fast, ref, with_h0):
    if with_h0:
        return fast, ref
    return (lambda x, W, U, b: fast(x, W, U, b)), (lambda x, W, U, b: ref(x, W, U, b))


TABLE = [
    Twin("conv2d 3x3 valid", *_conv(), [(2, 5, 7, 3), (3, 3, 3, 4), (4,)]),
    Twin("conv2d 3x3 stride 2 same", *_conv(2, "same"), [(2, 7, 6, 3), (3, 3, 3, 4), (4,)]),
    Twin("conv2d 1x1", *_conv(1, "valid"), [(2, 3, 5, 4), (1, 1, 4, 3), (3,)]),
    Twin("conv2d 1x1 stride 2", *_conv(2), [(2, 5, 5, 2), (1, 1, 2, 3), (3,)]),
    Twin("conv2d 2x3 stride (2, 1) pad 1, no bias", *_conv((2, 1), 1), [(1, 6, 5, 2), (2, 3, 2, 3)]),
    Twin("conv2d 5x5 same relu", *_conv(1, "same", activation="relu"), [(2, 6, 5, 1), (5, 5, 1, 3), (3,)]),
    Twin("conv2d 3x3 dilation 2 same", *_conv(1, "same", 2), [(1, 7, 7, 2), (3, 3, 2, 2), (2,)]),
    Twin("conv2d_transpose 3x3 stride 2 same", *_convT(2, "same"), [(2, 3, 4, 3), (3, 3, 3, 2), (2,)]),
    Twin("conv2d_transpose 2x2 stride 2 valid", *_convT(2, "valid"), [(2, 3, 3, 2), (2, 2, 2, 3), (3,)]),
    Twin("conv2d_transpose 3x3 stride 2 pad 1 output_padding 1", *_convT(2, 1, 1), [(1, 3, 2, 2), (3, 3, 2, 2)]),
    Twin("conv2d_transpose 3x3 stride 1 valid relu", *_convT(1, "valid", activation="relu"),
         [(2, 4, 3, 2), (3, 3, 2, 3), (3,)]),
    Twin("conv2d_relu_max_pool2d same", *_cpool(1, "same"), [(2, 6, 8, 3), (3, 3, 3, 4), (4,)]),
    Twin("conv2d_relu_max_pool2d odd valid", *_cpool(1, "valid"), [(2, 9, 7, 2), (3, 3, 2, 3), (3,)]),
    Twin("conv2d_relu_max_pool2d stride 2", *_cpool(2, "same"), [(1, 9, 9, 2), (3, 3, 2, 2), (2,)]),
    Twin("max_pool2d 2", *_pool("max", 2), [(2, 6, 8, 3)]),
    Twin("max_pool2d 2 odd", *_pool("max", 2), [(2, 5, 7, 3)]),
    Twin("max_pool2d 3 stride 2 same", *_pool("max", 3, 2, "same"), [(2, 7, 6, 2)]),
    Twin("max_pool2d 2 stride 1", *_pool("max", 2, 1), [(1, 5, 4, 2)]),
    Twin("avg_pool2d 2", *_pool("avg", 2), [(2, 6, 8, 3)]),
    Twin("avg_pool2d (3, 2) tiling x", *_pool("avg", (3, 2)), [(2, 6, 8, 3)]),
    Twin("avg_pool2d (1, 3) tiling x", *_pool("avg", (1, 3)), [(2, 2, 6, 3)]),
    Twin("avg_pool2d 2, an odd row left over", *_pool("avg", 2), [(2, 7, 8, 3)]),
    Twin("avg_pool2d 3 stride 2 same", *_pool("avg", 3, 2, "same"), [(2, 7, 6, 2)]),
    Twin("avg_pool2d (2, 3) odd same", *_pool("avg", (2, 3), None, "same"), [(1, 5, 7, 2)]),
    Twin("batch_norm training (N, C)", _bn_train(F.batch_norm), _bn_train(R.batch_norm), [(7, 3), (3,), (3,)]),
    Twin("batch_norm training (N, H, W, C)", _bn_train(F.batch_norm), _bn_train(R.batch_norm),
         [(2, 3, 5, 4), (4,), (4,)]),
    Twin("batch_norm inference", _bn_infer(F.batch_norm), _bn_infer(R.batch_norm),
         [(2, 3, 3, 4), (4,), (4,)]),
    Twin("dense relu", *_dense("relu"), [(5, 7), (7, 3), (3,)]),
    Twin("dense tanh", *_dense("tanh"), [(5, 7), (7, 3), (3,)]),
    Twin("dense sigmoid", *_dense("sigmoid"), [(5, 7), (7, 3), (3,)]),
    Twin("dense linear, 3-d input", *_dense(None), [(2, 4, 7), (7, 3), (3,)]),
    Twin("softmax", F.softmax, R.softmax, [(4, 5)]),
    Twin("softmax axis 1", partial(F.softmax, axis=1), partial(R.softmax, axis=1), [(2, 3, 4)]),
    Twin("log_softmax", F.log_softmax, R.log_softmax, [(4, 5)]),
    Twin("cross_entropy labels", F.cross_entropy, R.cross_entropy, [(6, 5), 5]),
    Twin("cross_entropy probabilities", lambda x: F.cross_entropy(x, PROBS.astype(x.dtype)),
         lambda x: R.cross_entropy(x, PROBS.astype(x.dtype)), [(6, 5)]),
    Twin("simple_rnn", *_rnn(F.simple_rnn, R.simple_rnn, False), [(3, 4, 5), (5, 6), (6, 6), (6,)]),
    Twin("simple_rnn h0", *_rnn(F.simple_rnn, R.simple_rnn, True), [(3, 4, 5), (5, 6), (6, 6), (6,), (3, 6)]),
    Twin("lstm", *_rnn(F.lstm, R.lstm, False), [(3, 4, 5), (5, 12), (3, 12), (12,)]),
    Twin("lstm h0 c0", F.lstm, R.lstm, [(2, 5, 3), (3, 16), (4, 16), (16,), (2, 4), (2, 4)]),
    Twin("gru", *_rnn(F.gru, R.gru, False), [(3, 4, 5), (5, 9), (3, 9), (2, 9)]),
    Twin("gru h0", F.gru, R.gru, [(2, 3, 4), (4, 6), (2, 6), (2, 6), (2, 2)]),
]


def _inputs(case: Twin, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = []
    for s in case.shapes:
        if isinstance(s, int):
            arrays.append(rng.integers(0, s, case.shapes[0][0]))
        else:
            arrays.append(rng.standard_normal(s))
    return arrays


def _run(fn: Callable, arrays: list[np.ndarray], dtype: type) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Outputs, and the gradients of the float inputs after backward of sum_k (y_k * g_k) with seeded random g_k."""
    ts = [Tensor(a.astype(dtype), dtype=dtype, requires_grad=True) if a.dtype.kind == "f" else a for a in arrays]
    out = fn(*ts)
    ys = list(out) if isinstance(out, tuple) else [out]
    rng = np.random.default_rng(1)
    total = None
    for y in ys:
        term = (y * nr.backend.to_device(rng.standard_normal(y.shape).astype(dtype), y.device)).sum()
        total = term if total is None else total + term
    total.backward()
    grads = [t.grad if isinstance(t, Tensor) else None for t in ts]
    return [y.numpy() for y in ys], [None if g is None else nr.backend.to_numpy(g) for g in grads]


def _close(what: str, ours: np.ndarray, theirs: np.ndarray, dtype: type) -> None:
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} against {theirs.shape}"
    assert ours.dtype == dtype, f"{what}: dtype {ours.dtype}, expected {np.dtype(dtype)}"
    scale = max(1.0, float(np.abs(theirs).max(initial=0.0)))
    rtol, atol = (1e-10, 1e-12 * scale) if dtype == np.float64 else (2e-4, 2e-5 * scale)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", TABLE, ids=[c.name for c in TABLE])
def test_fast_op_equals_its_reference_twin(case: Twin, dtype: type) -> None:
    arrays = _inputs(case)
    fast_y, fast_g = _run(case.fast, arrays, dtype)
    ref_y, ref_g = _run(case.ref, arrays, dtype)
    assert len(fast_y) == len(ref_y)
    for k, (a, b) in enumerate(zip(fast_y, ref_y)):
        _close(f"{case.name}: output {k}", a, b, dtype)
    for k, (a, b) in enumerate(zip(fast_g, ref_g)):
        if arrays[k].dtype.kind != "f":
            continue
        assert a is not None and b is not None, f"{case.name}: no gradient for input {k}"
        _close(f"{case.name}: gradient of input {k}", a, b, dtype)


GRADCHECKED = [c for c in TABLE if not any(isinstance(s, int) for s in c.shapes)]


@pytest.mark.parametrize("case", GRADCHECKED, ids=[c.name for c in GRADCHECKED])
def test_reference_twin_gradcheck(case: Twin) -> None:
    assert gradcheck(case.ref, *_inputs(case, seed=2))


def test_reference_cross_entropy_with_labels_gradcheck() -> None:
    labels = np.array([0, 2, 1, 2])
    assert gradcheck(lambda x: R.cross_entropy(x, labels), np.random.default_rng(3).standard_normal((4, 3)))


def test_reference_batch_norm_updates_running_statistics_as_the_fast_op() -> None:
    x = np.random.default_rng(4).standard_normal((6, 2, 3, 4))
    stats = {name: [nr.tensor(np.full(4, v), np.float64).data for v in (0.5, 2.0)] for name in ("fast", "ref")}
    F.batch_norm(Tensor(x, dtype=np.float64), None, None, *stats["fast"], training=True, momentum=0.9)
    R.batch_norm(Tensor(x, dtype=np.float64), None, None, *stats["ref"], training=True, momentum=0.9)
    for fast, ref, start in zip(stats["fast"], stats["ref"], (0.5, 2.0)):
        assert not np.allclose(fast, start)  # the batch moved them
        np.testing.assert_allclose(fast, ref, rtol=1e-12)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_step_formula_equals_optim_adam(weight_decay: float) -> None:
    rng = np.random.default_rng(5)
    p0 = rng.standard_normal((4, 3)).astype(np.float32)
    grads = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(5)]
    param = nr.nn.Parameter(p0.copy())
    opt = optim.Adam([param], lr=0.01, weight_decay=weight_decay)
    p, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(grads, start=1):
        param.grad = nr.backend.to_device(g.copy(), param.device)
        opt.step()
        p, m, v = R.adam_step(p, g, m, v, t, lr=0.01, weight_decay=weight_decay)
        assert p.dtype == np.float32
        np.testing.assert_allclose(param.numpy(), p, rtol=1e-5, atol=1e-6)
    assert not np.allclose(p, p0)  # the steps moved the weights
