"""The engine's behaviour: accumulation, graph freeing, no_grad, anomaly detection, errors."""

import gc
import weakref

import numpy as np
import pytest
import torch

import neurona as nr
from neurona import functional as F
from neurona.testing import gradcheck


def test_contract_example_matches_torch():
    x = nr.tensor(np.ones((2, 3)), requires_grad=True)
    y = ((x * 2).exp().sum(axis=1) ** 2).mean()
    y.backward()
    xt = torch.ones((2, 3), requires_grad=True)
    ((xt * 2).exp().sum(1) ** 2).mean().backward()
    assert x.dtype == np.float32 and y.dtype == np.float32
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-6)


def test_tensor_defaults_and_dtypes():
    assert nr.tensor([1, 2, 3]).dtype == np.float32
    assert nr.tensor(np.arange(3.0)).dtype == np.float32
    assert nr.tensor(np.ones(2), dtype=np.float64).dtype == np.float64
    x = nr.tensor(np.ones((2, 3)), requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6 and x.device == nr.get_device()
    assert isinstance(x.numpy(), np.ndarray) and x.grad is None and x.is_leaf


def test_gradients_accumulate_until_zeroed():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad, [6.0, 6.0])
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_add_gives_each_input_its_own_gradient_array():
    a = nr.tensor([1.0, 2.0], requires_grad=True)
    b = nr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 10
    np.testing.assert_allclose(b.grad, [1.0, 1.0])


def test_diamond_graph_sums_both_paths():
    x = nr.tensor([2.0], requires_grad=True)
    h = x * 3  # used twice below
    y = h * h + h
    y.backward()
    np.testing.assert_allclose(x.grad, [2 * 6 * 3 + 3])


def test_graph_is_freed_after_backward():
    x = nr.tensor(np.ones(3), requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = nr.tensor(np.ones(3), requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 4 * np.e * np.ones(3), rtol=1e-6)


def test_saved_arrays_are_released():
    x = nr.tensor(np.ones(1000), requires_grad=True)
    y = x.exp()
    saved = weakref.ref(y.creator)
    loss = y.sum()
    loss.backward()
    assert y.creator.inputs is None and not y.creator.__dict__
    del y, loss
    gc.collect()
    assert saved() is None


def test_no_grad_records_nothing():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    with nr.no_grad():
        y = x * 2 + 1
    assert not y.requires_grad and y.creator is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()
    assert nr.is_grad_enabled()

    @nr.no_grad()
    def f(t):
        return t * t

    assert not f(x).requires_grad
    with nr.no_grad():
        with nr.enable_grad():
            assert (x * 2).requires_grad


def test_explicit_upstream_gradient():
    x = nr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(np.array([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(x.grad, [2.0, 0.0, 12.0])
    with pytest.raises(RuntimeError, match="one-element"):
        (x * 2).backward()
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(2))


def test_retain_grad_on_intermediate():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, [6.0, 12.0])


def test_deep_graph_has_no_recursion_limit():
    x = nr.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    np.testing.assert_allclose(x.grad, [1.0001**5000], rtol=1e-3)


def test_float64_works_end_to_end():
    x = nr.tensor(np.ones((2, 2)), dtype=np.float64, requires_grad=True)
    (x @ x).sum().backward()
    assert x.grad.dtype == np.float64


@pytest.mark.cpu_only(reason="a NumPy array operand, which only CPU tensors take (ops never move data)")
def test_numpy_on_the_left_gives_a_tensor():
    x = nr.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([2.0, 3.0]) * x
    assert isinstance(y, nr.Tensor) and y.dtype == np.float32
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 3.0])


def test_non_numeric_data_is_a_type_error():
    with pytest.raises(TypeError, match="str"):
        nr.tensor("abc")
    with pytest.raises(TypeError, match="numeric"):
        nr.tensor(["a", "b"])
    with pytest.raises(TypeError, match="dict"):
        nr.tensor({"a": 1})
    with pytest.raises(TypeError, match="floating"):
        nr.tensor([1, 2], dtype=np.int64, requires_grad=True)


def test_matmul_shape_error_names_op_and_shapes():
    a = nr.tensor(np.ones((2, 3)))
    b = nr.tensor(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"MatMul: shapes \(2, 3\) and \(4, 5\)"):
        a @ b


def test_broadcast_error_names_op_and_shapes():
    a = nr.tensor(np.ones((2, 3)))
    b = nr.tensor(np.ones((4,)))
    with pytest.raises(ValueError, match=r"Add: .*\(2, 3\), \(4,\)"):
        a + b


def test_detect_anomaly_names_the_op():
    x = nr.tensor([1.0, 0.0], requires_grad=True)
    with nr.detect_anomaly():
        with pytest.raises(FloatingPointError, match=r"Log .*shapes \(2,\)"):
            with np.errstate(divide="ignore"):
                x.log()
    y = nr.tensor([0.0, 1.0], requires_grad=True)
    z = y.sqrt()  # forward is finite; the gradient 1/(2 sqrt(0)) is not
    with nr.detect_anomaly():
        with pytest.raises(FloatingPointError, match="gradient Sqrt.backward"):
            with np.errstate(divide="ignore"):
                z.sum().backward()


def test_manual_seed_repeats_random_ops():
    nr.manual_seed(7)
    a = F.dropout(nr.tensor(np.ones(100)), 0.5).numpy()
    nr.manual_seed(7)
    b = F.dropout(nr.tensor(np.ones(100)), 0.5).numpy()
    np.testing.assert_array_equal(a, b)
    assert 20 < (a == 0).sum() < 80


def test_dropout_is_identity_in_eval_and_scales_in_training():
    x = nr.tensor(np.ones((1000,)))
    assert F.dropout(x, 0.3, training=False) is x
    y = F.dropout(x, 0.25).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    with pytest.raises(ValueError, match="rate"):
        F.dropout(x, 1.5)


def test_cross_entropy_label_errors():
    logits = nr.tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\[0, 3\] for 4 classes"):
        F.cross_entropy(logits, np.array([0, 4, 1]))
    with pytest.raises(ValueError, match="target must be"):
        F.cross_entropy(logits, np.array([0, 1]))


def test_softmax_cross_entropy_is_fused_with_or_without_grad():
    logits = np.array([[200.0, 0.0, -200.0]])
    x = nr.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(F.softmax(x), np.array([2]))
    with nr.no_grad():
        loss_eval = F.cross_entropy(F.softmax(nr.tensor(logits)), np.array([2]))
    np.testing.assert_allclose(loss.item(), 400.0, rtol=1e-6)
    np.testing.assert_allclose(loss_eval.item(), 400.0, rtol=1e-6)
    loss.backward()
    np.testing.assert_allclose(x.grad, [[1.0, 0.0, -1.0]], atol=1e-6)


class _WrongSquare(nr.Function):
    """y = x^2 with a backward that forgets the factor 2."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return self.x * gy


def test_gradcheck_perturbs_fortran_ordered_inputs():
    # A Fortran-ordered input (the orthogonal initializer makes them) used to be copied in
    # Fortran order, so the perturbation wrote into a reshape copy and the numeric gradient was 0.
    x = np.asfortranarray(np.random.default_rng(0).standard_normal((3, 4)))
    assert gradcheck(lambda t: (t * t).sum(axis=0), x)
    with pytest.raises(AssertionError, match="gradcheck failed"):
        gradcheck(lambda t: nr.apply(_WrongSquare(), t).sum(axis=0), x)
