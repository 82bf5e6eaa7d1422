"""Every primitive op and functional op: gradcheck in float64 and agreement with PyTorch.

One table: adding an op is adding a row. Each row gives neurona's function, the
equivalent torch function, and the inputs (arrays; integer arrays are labels).
"""


import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from op_case import Case

import neurona as nr
from neurona import functional as F
from neurona.testing import compare_with_torch, gradcheck

R = np.random.default_rng(42)


def randn(*shape):
    return R.standard_normal(shape)


def positive(*shape):
    return R.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    """Values with |x| >= 0.2, so kinks (relu, abs) are not crossed by finite differences."""
    x = R.uniform(0.2, 2.0, shape)
    return x * R.choice([-1.0, 1.0], shape)


def distinct(*shape):
    """A permutation of spread-out values: no ties for max/min."""
    n = int(np.prod(shape))
    return (R.permutation(n) * 0.37 - n * 0.15).reshape(shape)




CASES = [
    # arithmetic with broadcasting
    Case("add", lambda a, b: a + b, lambda a, b: a + b, [randn(3, 4), randn(3, 4)]),
    Case("add_broadcast_row", lambda a, b: a + b, lambda a, b: a + b, [randn(3, 4), randn(4)]),
    Case("add_broadcast_both", lambda a, b: a + b, lambda a, b: a + b, [randn(3, 1), randn(1, 4)]),
    Case("add_scalar", lambda a: a + 2.5, lambda a: a + 2.5, [randn(2, 3)]),
    Case("radd_scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, [randn(2, 3)]),
    Case("sub_broadcast", lambda a, b: a - b, lambda a, b: a - b, [randn(2, 3, 4), randn(3, 1)]),
    Case("rsub_scalar", lambda a: 1.0 - a, lambda a: 1.0 - a, [randn(5)]),
    Case("mul_broadcast", lambda a, b: a * b, lambda a, b: a * b, [randn(2, 3), randn(2, 1)]),
    Case("mul_same_tensor", lambda a: a * a, lambda a: a * a, [randn(4)]),
    Case("div", lambda a, b: a / b, lambda a, b: a / b, [randn(3, 4), positive(4)]),
    Case("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, [positive(3)]),
    Case("pow_int", lambda a: a**3, lambda a: a**3, [randn(3, 2)]),
    Case("pow_square", lambda a: a**2, lambda a: a**2, [randn(3, 2)]),
    Case("pow_fraction", lambda a: a**0.5, lambda a: a**0.5, [positive(3)]),
    Case("pow_tensor", lambda a, b: a**b, lambda a, b: a**b, [positive(3, 2), randn(3, 2)]),
    Case("rpow", lambda a: 2.0**a, lambda a: 2.0**a, [randn(4)]),
    Case("neg", lambda a: -a, lambda a: -a, [randn(3)]),
    Case("maximum", lambda a, b: a.maximum(b), lambda a, b: torch.maximum(a, b), [randn(3, 4), randn(3, 4)]),
    Case("clip", lambda a: a.clip(-0.5, 0.5), lambda a: a.clamp(-0.5, 0.5), [away_from_zero(4, 3) * 0.9]),
    # elementwise functions
    Case("exp", lambda a: a.exp(), torch.exp, [randn(3, 4)]),
    Case("log", lambda a: a.log(), torch.log, [positive(3, 4)]),
    Case("sqrt", lambda a: a.sqrt(), torch.sqrt, [positive(3, 4)]),
    Case("abs", lambda a: a.abs(), torch.abs, [away_from_zero(3, 4)]),
    Case("tanh", lambda a: a.tanh(), torch.tanh, [randn(3, 4)]),
    Case("sigmoid", lambda a: a.sigmoid(), torch.sigmoid, [randn(3, 4) * 3]),
    Case("relu", lambda a: a.relu(), torch.relu, [away_from_zero(3, 4)]),
    Case("astype", lambda a: a.astype(np.float32).astype(np.float64) * 2, lambda a: a.float().double() * 2,
         [randn(3)], gradcheck=False),
    # reductions
    Case("sum_all", lambda a: a.sum(), torch.sum, [randn(3, 4)]),
    Case("sum_axis0", lambda a: a.sum(axis=0), lambda a: a.sum(0), [randn(3, 4)]),
    Case("sum_axes_keepdims", lambda a: a.sum(axis=(0, 2), keepdims=True), lambda a: a.sum((0, 2), keepdim=True),
         [randn(2, 3, 4)]),
    Case("sum_negative_axis", lambda a: a.sum(axis=-1), lambda a: a.sum(-1), [randn(2, 3, 4)]),
    Case("mean_all", lambda a: a.mean(), torch.mean, [randn(3, 4)]),
    Case("mean_axis1", lambda a: a.mean(axis=1), lambda a: a.mean(1), [randn(3, 4)]),
    Case("max_all", lambda a: a.max(), torch.max, [distinct(3, 4)]),
    Case("max_axis", lambda a: a.max(axis=1), lambda a: a.amax(1), [distinct(3, 4)]),
    Case("max_keepdims", lambda a: a.max(axis=0, keepdims=True), lambda a: a.amax(0, keepdim=True), [distinct(3, 4)]),
    Case("min_axis", lambda a: a.min(axis=0), lambda a: a.amin(0), [distinct(3, 4)]),
    Case("max_ties", lambda a: a.max(axis=1), lambda a: a.amax(1), [np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])],
         gradcheck=False),
    Case("var", lambda a: a.var(axis=0), lambda a: a.var(0, unbiased=False), [randn(5, 3)]),
    Case("std_ddof1", lambda a: a.std(axis=1, ddof=1), lambda a: a.std(1), [randn(3, 5)]),
    # shape
    Case("reshape", lambda a: a.reshape(4, 3), lambda a: a.reshape(4, 3), [randn(3, 4)]),
    Case("reshape_infer", lambda a: a.reshape((2, -1)), lambda a: a.reshape(2, -1), [randn(3, 4)]),
    Case("flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), [randn(2, 3, 4)]),
    Case("transpose", lambda a: a.transpose(), lambda a: a.permute(2, 1, 0), [randn(2, 3, 4)]),
    Case("transpose_axes", lambda a: a.transpose(0, 2, 1), lambda a: a.permute(0, 2, 1), [randn(2, 3, 4)]),
    Case("T", lambda a: a.T, lambda a: a.T, [randn(3, 4)]),
    Case("squeeze_unsqueeze", lambda a: a.squeeze(1).unsqueeze(0), lambda a: a.squeeze(1).unsqueeze(0),
         [randn(3, 1, 4)]),
    Case("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [randn(3, 4)]),
    Case("getitem_int", lambda a: a[1], lambda a: a[1], [randn(3, 4)]),
    Case("getitem_fancy_repeats", lambda a: a[np.array([0, 2, 0, 0])], lambda a: a[torch.tensor([0, 2, 0, 0])],
         [randn(3, 4)]),
    Case("getitem_pairs", lambda a: a[np.arange(3), np.array([1, 0, 1])],
         lambda a: a[torch.arange(3), torch.tensor([1, 0, 1])], [randn(3, 2)]),
    Case("getitem_mask", lambda a: a[np.array([True, False, True])], lambda a: a[torch.tensor([True, False, True])],
         [randn(3, 2)]),
    Case("broadcast_to", lambda a: a.broadcast_to((3, 4)), lambda a: a.expand(3, 4), [randn(1, 4)]),
    Case("concat", lambda a, b: nr.concat([a, b], axis=1), lambda a, b: torch.cat([a, b], 1), [randn(2, 3), randn(2, 1)]),
    Case("stack", lambda a, b: nr.stack([a, b], axis=1), lambda a, b: torch.stack([a, b], 1), [randn(2, 3), randn(2, 3)]),
    # matrix products
    Case("matmul", lambda a, b: a @ b, lambda a, b: a @ b, [randn(3, 4), randn(4, 2)]),
    Case("matmul_batched", lambda a, b: a @ b, lambda a, b: a @ b, [randn(2, 3, 4), randn(2, 4, 5)]),
    Case("matmul_broadcast_batch", lambda a, b: a @ b, lambda a, b: a @ b, [randn(2, 3, 4), randn(4, 5)]),
    Case("matmul_vec_mat", lambda a, b: a @ b, lambda a, b: a @ b, [randn(4), randn(4, 3)]),
    Case("matmul_mat_vec", lambda a, b: a @ b, lambda a, b: a @ b, [randn(3, 4), randn(4)]),
    Case("matmul_vec_vec", lambda a, b: a @ b, lambda a, b: a @ b, [randn(4), randn(4)]),
    Case("matmul_batched_vec", lambda a, b: a @ b, lambda a, b: a @ b, [randn(2, 3, 4), randn(4)]),
    # graphs: diamond (a node used twice), composition
    Case("diamond", lambda a: (a * 2 + a.exp()) * a, lambda a: (a * 2 + a.exp()) * a, [randn(3)]),
    Case("contract_example", lambda x: ((x * 2).exp().sum(axis=1) ** 2).mean(),
         lambda x: ((x * 2).exp().sum(1) ** 2).mean(), [randn(2, 3) * 0.3]),
    # activations
    Case("F.relu", F.relu, torch.relu, [away_from_zero(3, 4)]),
    Case("F.leaky_relu", lambda a: F.leaky_relu(a, 0.1), lambda a: TF.leaky_relu(a, 0.1), [away_from_zero(3, 4)]),
    Case("F.elu", F.elu, TF.elu, [away_from_zero(3, 4)]),
    Case("F.selu", F.selu, TF.selu, [away_from_zero(3, 4)]),
    Case("F.gelu", F.gelu, TF.gelu, [randn(3, 4) * 2]),
    Case("F.softplus", F.softplus, TF.softplus, [randn(3, 4) * 3]),
    Case("F.swish", F.swish, TF.silu, [randn(3, 4) * 2]),
    Case("F.gaussian", F.gaussian, lambda a: torch.exp(-a * a), [randn(3, 4)]),
    Case("F.hard_tanh", F.hard_tanh, TF.hardtanh, [away_from_zero(3, 4) * 0.8]),
    Case("F.saturated_linear", F.saturated_linear, lambda a: a.clamp(0, 1), [R.uniform(-0.4, 1.4, (3, 4))]),
    Case("F.softmax", F.softmax, lambda a: torch.softmax(a, -1), [randn(3, 5)]),
    Case("F.softmax_axis0", lambda a: F.softmax(a, axis=0), lambda a: torch.softmax(a, 0), [randn(3, 5)]),
    Case("F.log_softmax", F.log_softmax, lambda a: torch.log_softmax(a, -1), [randn(3, 5)]),
    Case("F.logsumexp", lambda a: F.logsumexp(a, axis=1), lambda a: torch.logsumexp(a, 1), [randn(3, 5)]),
    # fused dense
    Case("F.linear", lambda x, W, b: F.linear(x, W, b), lambda x, W, b: x @ W + b, [randn(4, 3), randn(3, 2), randn(2)]),
    Case("F.linear_nobias", lambda x, W: F.linear(x, W), lambda x, W: x @ W, [randn(4, 3), randn(3, 2)]),
    Case("F.linear_relu", lambda x, W, b: F.linear(x, W, b, "relu"), lambda x, W, b: torch.relu(x @ W + b),
         [randn(4, 3), randn(3, 2), randn(2)]),
    Case("F.linear_sigmoid", lambda x, W, b: F.linear(x, W, b, "sigmoid"), lambda x, W, b: torch.sigmoid(x @ W + b),
         [randn(4, 3), randn(3, 2), randn(2)]),
    Case("F.linear_tanh", lambda x, W, b: F.linear(x, W, b, "tanh"), lambda x, W, b: torch.tanh(x @ W + b),
         [randn(4, 3), randn(3, 2), randn(2)]),
    Case("F.linear_softmax", lambda x, W, b: F.linear(x, W, b, "softmax"), lambda x, W, b: torch.softmax(x @ W + b, -1),
         [randn(4, 3), randn(3, 2), randn(2)]),
    Case("F.linear_3d", lambda x, W, b: F.linear(x, W, b, "tanh"), lambda x, W, b: torch.tanh(x @ W + b),
         [randn(2, 4, 3), randn(3, 2), randn(2)]),
    # losses
    Case("cross_entropy_labels", F.cross_entropy, TF.cross_entropy, [randn(6, 4), np.array([0, 3, 1, 1, 2, 3])]),
    Case("cross_entropy_sum", lambda x, t: F.cross_entropy(x, t, reduction="sum"),
         lambda x, t: TF.cross_entropy(x, t, reduction="sum"), [randn(5, 3), np.array([0, 2, 1, 1, 0])]),
    Case("cross_entropy_none", lambda x, t: F.cross_entropy(x, t, reduction="none"),
         lambda x, t: TF.cross_entropy(x, t, reduction="none"), [randn(5, 3), np.array([0, 2, 1, 1, 0])]),
    Case("cross_entropy_probs", F.cross_entropy, TF.cross_entropy, [randn(4, 3), np.eye(3)[[0, 2, 1, 2]] * 0.8 + 0.2 / 3],
         wrt=[0]),
    Case("cross_entropy_smoothing", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
         lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.1), [randn(5, 4), np.array([0, 3, 2, 1, 0])]),
    Case("cross_entropy_weight", lambda x, t, w: F.cross_entropy(x, t, weight=w),
         lambda x, t, w: TF.cross_entropy(x, t, weight=w), [randn(5, 3), np.array([0, 2, 1, 1, 0]), positive(3)],
         gradcheck=False, wrt=[0]),
    Case("cross_entropy_weight_smoothing", lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.2),
         lambda x, t, w: TF.cross_entropy(x, t, weight=w, label_smoothing=0.2),
         [randn(5, 3), np.array([0, 2, 1, 1, 0]), positive(3)], gradcheck=False, wrt=[0]),
    Case("cross_entropy_probs_weight_smoothing", lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1),
         lambda x, t, w: TF.cross_entropy(x, t, weight=w, label_smoothing=0.1),
         [randn(4, 3), np.eye(3)[[0, 2, 1, 2]], positive(3)], gradcheck=False, wrt=[0]),
    Case("cross_entropy_spatial", F.cross_entropy, lambda x, t: TF.cross_entropy(x.permute(0, 3, 1, 2), t),
         [randn(2, 3, 3, 4), R.integers(0, 4, (2, 3, 3))]),
    Case("cross_entropy_after_softmax", lambda x, t: F.cross_entropy(F.softmax(x), t), TF.cross_entropy,
         [randn(6, 4) * 30, np.array([0, 3, 1, 1, 2, 3])]),
    Case("cross_entropy_from_probs", lambda p, t: F.cross_entropy(p, t, from_logits=False),
         lambda p, t: TF.cross_entropy(torch.log(p), t), [R.dirichlet(np.ones(4), 5), np.array([0, 3, 1, 1, 2])], wrt=[0]),
    Case("bce", lambda p, t: F.binary_cross_entropy(p, t), TF.binary_cross_entropy,
         [R.uniform(0.05, 0.95, (4, 3)), R.integers(0, 2, (4, 3)).astype(float)], gradcheck=False, wrt=[0]),
    Case("bce_after_sigmoid", lambda x, t: F.binary_cross_entropy(F.sigmoid(x), t),
         lambda x, t: TF.binary_cross_entropy_with_logits(x, t),
         [randn(4, 3) * 40, R.integers(0, 2, (4, 3)).astype(float)], gradcheck=False, wrt=[0]),
    Case("bce_with_logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t),
         TF.binary_cross_entropy_with_logits, [randn(4, 3) * 3, R.uniform(0, 1, (4, 3))], gradcheck=False, wrt=[0]),
    Case("bce_with_logits_pos_weight", lambda x, t, w: F.binary_cross_entropy_with_logits(x, t, pos_weight=w),
         lambda x, t, w: TF.binary_cross_entropy_with_logits(x, t, pos_weight=w),
         [randn(4, 3) * 3, R.integers(0, 2, (4, 3)).astype(float), positive(3)], gradcheck=False, wrt=[0]),
    Case("mse", F.mse_loss, TF.mse_loss, [randn(4, 3), randn(4, 3)], gradcheck=False, wrt=[0]),
    Case("l1", F.l1_loss, TF.l1_loss, [randn(4, 3), randn(4, 3) + 3], gradcheck=False, wrt=[0]),
    Case("huber", lambda a, b: F.huber_loss(a, b, delta=0.7), lambda a, b: TF.huber_loss(a, b, delta=0.7),
         [randn(5, 3), randn(5, 3) * 2], gradcheck=False, wrt=[0]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_matches_torch(case):
    compare_with_torch(case.ours, case.theirs, *case.inputs, rtol=1e-6, atol=1e-10, wrt=case.wrt)


@pytest.mark.parametrize("case", [c for c in CASES if c.gradcheck], ids=[c.name for c in CASES if c.gradcheck])
def test_gradcheck(case):
    floating = case.wrt or [i for i, a in enumerate(case.inputs) if np.asarray(a).dtype.kind == "f"]
    labels = {i: a for i, a in enumerate(case.inputs) if i not in floating}

    def fn(*tensors):
        args = [labels.get(i, t) for i, t in enumerate(tensors)]
        return case.ours(*args)

    gradcheck(fn, *case.inputs, wrt=floating)


@pytest.mark.parametrize("loss", ["mse", "l1", "huber", "bce_with_logits", "cross_entropy_weight"])
def test_losses_gradcheck_with_targets_fixed(loss):
    """Losses whose targets are floats: differentiate only the prediction."""
    case = next(c for c in CASES if c.name == loss)
    gradcheck(case.ours, *case.inputs, wrt=[0])


def test_dropout_gradcheck():
    def fn(x):
        nr.manual_seed(3)  # the same mask on every evaluation
        return F.dropout(x, 0.4)

    gradcheck(fn, randn(4, 5))


def test_float32_stays_float32():
    x = nr.tensor(np.ones((2, 3)), requires_grad=True)
    y = (x * np.float64(2.0) + nr.backend.to_device(np.ones(3), x.device) / 3 - 1.5) ** 2
    z = F.cross_entropy(F.linear(y, nr.tensor(np.ones((3, 4))), None, "relu"), np.array([0, 1]))
    z.backward()
    assert x.dtype == y.dtype == z.dtype == x.grad.dtype == np.float32
