"""Metrics against scikit-learn on random inputs; streaming metrics against the functions on whole epochs."""

import warnings

import numpy as np
import pytest
import sklearn.metrics as S
import torch

import neurona as nr
from neurona import metrics as M

SEEDS = [0, 1, 2, 3]


def labels(seed, n=60, k=2, offset=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, k, n)
    p = np.where(rng.random(n) < 0.5, t, rng.integers(0, k, n))  # better than chance, not perfect
    return t + offset, p + offset


def weights(seed, n=60):
    return np.random.default_rng(seed + 100).uniform(0.1, 2.0, n)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def assert_same(ours, theirs, rtol=1e-12):
    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray) and ours.shape == theirs.shape
    else:
        assert isinstance(ours, float)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-15)


# ---------------------------------------------------------------- label metrics
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("weighted", [False, True])
def test_accuracy(seed, k, weighted):
    t, p = labels(seed, k=k)
    w = weights(seed) if weighted else None
    assert_same(M.accuracy(t, p, sample_weight=w), S.accuracy_score(t, p, sample_weight=w))
    assert_same(M.accuracy(t, p, normalize=False, sample_weight=w),
                float(S.accuracy_score(t, p, normalize=False, sample_weight=w)))


PRF = [(M.precision, S.precision_score), (M.recall, S.recall_score), (M.f1_score, S.f1_score)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ours,theirs", PRF, ids=["precision", "recall", "f1"])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_rates(seed, ours, theirs, weighted):
    t, p = labels(seed)
    w = weights(seed) if weighted else None
    assert_same(ours(t, p, sample_weight=w), float(theirs(t, p, sample_weight=w)))
    assert_same(ours(t, p, pos_label=0, sample_weight=w), float(theirs(t, p, pos_label=0, sample_weight=w)))
    for average in ("macro", "micro", "weighted"):
        assert_same(ours(t, p, average=average, sample_weight=w),
                    float(theirs(t, p, average=average, sample_weight=w)))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("ours,theirs", PRF, ids=["precision", "recall", "f1"])
@pytest.mark.parametrize("weighted", [False, True])
def test_multiclass_rates(seed, k, ours, theirs, weighted):
    t, p = labels(seed, k=k)
    w = weights(seed) if weighted else None
    for average in ("macro", "micro", "weighted", None):
        expected = theirs(t, p, average=average, sample_weight=w, zero_division=0)
        assert_same(ours(t, p, average=average, sample_weight=w), expected if average is None else float(expected))
    subset = [k - 1, 0]  # a subset of the labels, in a chosen order
    assert_same(ours(t, p, labels=subset, average=None), theirs(t, p, labels=subset, average=None))
    assert_same(ours(t, p, labels=subset, average="macro"), float(theirs(t, p, labels=subset, average="macro")))


def _sk_one_vs_rest(t, p, **kw):
    """tn, fp, fn, tp per label from scikit-learn's multilabel_confusion_matrix."""
    mcm = S.multilabel_confusion_matrix(t, p, **kw)
    return mcm[:, 0, 0], mcm[:, 0, 1], mcm[:, 1, 0], mcm[:, 1, 1]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("weighted", [False, True])
def test_specificity_and_npv(seed, k, weighted):
    t, p = labels(seed, k=k)
    w = weights(seed) if weighted else None
    tn, fp, fn, tp = _sk_one_vs_rest(t, p, sample_weight=w)
    spec, npv_ = tn / (tn + fp), tn / (tn + fn)
    support = tp + fn
    assert_same(M.specificity(t, p, average=None, sample_weight=w), spec)
    assert_same(M.npv(t, p, average=None, sample_weight=w), npv_)
    assert_same(M.specificity(t, p, average="macro", sample_weight=w), float(spec.mean()))
    assert_same(M.npv(t, p, average="weighted", sample_weight=w), float(np.average(npv_, weights=support)))
    assert_same(M.specificity(t, p, average="micro", sample_weight=w), float(tn.sum() / (tn.sum() + fp.sum())))
    if k == 2:  # binary: the rates of pos_label=1, which are the recall and precision of class 0
        assert_same(M.specificity(t, p, sample_weight=w), float(S.recall_score(t, p, pos_label=0, sample_weight=w)))
        assert_same(M.npv(t, p, sample_weight=w), float(S.precision_score(t, p, pos_label=0, sample_weight=w)))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("beta", [0.5, 2.0, 0.0])
def test_fbeta(seed, beta):
    t, p = labels(seed, k=4)
    for average in ("macro", "micro", "weighted"):
        assert_same(M.fbeta_score(t, p, beta=beta, average=average), float(S.fbeta_score(t, p, beta=beta,
                                                                                         average=average)))
    tb, pb = labels(seed)
    assert_same(M.fbeta_score(tb, pb, beta=beta), float(S.fbeta_score(tb, pb, beta=beta)))


@pytest.mark.parametrize("zero_division", [0.0, 1.0, np.nan])
def test_zero_division(zero_division):
    t = np.array([0, 1, 2, 2, 1, 0, 3, 3])
    p = np.array([0, 1, 1, 1, 1, 0, 0, 1])  # classes 2 and 3 never predicted
    for ours, theirs in PRF:
        for average in ("macro", "weighted", None):
            expected = theirs(t, p, average=average, zero_division=zero_division)
            got = ours(t, p, average=average, zero_division=zero_division)
            np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the default: 0 without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert M.precision(t, p, average=None)[2] == 0.0
        assert M.precision([0, 0, 1], [0, 0, 0]) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [2, 4])
def test_confusion_matrix(seed, k):
    t, p = labels(seed, k=k)
    w = weights(seed)
    cm = M.confusion_matrix(t, p)
    np.testing.assert_array_equal(cm, S.confusion_matrix(t, p))
    assert cm.dtype == np.int64
    np.testing.assert_allclose(M.confusion_matrix(t, p, sample_weight=w), S.confusion_matrix(t, p, sample_weight=w))
    order = list(range(k))[::-1]
    np.testing.assert_array_equal(M.confusion_matrix(t, p, labels=order), S.confusion_matrix(t, p, labels=order))
    extra = [0, k + 3]  # a label absent from the data
    np.testing.assert_array_equal(M.confusion_matrix(t, p, labels=extra), S.confusion_matrix(t, p, labels=extra))
    for norm in ("true", "pred", "all"):
        np.testing.assert_allclose(M.confusion_matrix(t, p, normalize=norm), S.confusion_matrix(t, p, normalize=norm))


def test_string_labels_and_pos_label():
    t = np.array(["cat", "dog", "dog", "cat", "dog", "cat"])
    p = np.array(["cat", "cat", "dog", "cat", "dog", "dog"])
    np.testing.assert_array_equal(M.confusion_matrix(t, p), S.confusion_matrix(t, p))
    assert_same(M.precision(t, p, pos_label="dog"), float(S.precision_score(t, p, pos_label="dog")))
    assert_same(M.recall(list(t), list(p), pos_label="cat"), float(S.recall_score(t, p, pos_label="cat")))
    with pytest.raises(ValueError, match="pos_label"):
        M.precision(t, p)


@pytest.mark.parametrize("seed", SEEDS)
def test_multilabel_indicator(seed):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, (40, 4))
    p = np.where(rng.random((40, 4)) < 0.6, t, 1 - t)
    w = weights(seed, 40)
    assert_same(M.accuracy(t, p), S.accuracy_score(t, p))
    for ours, theirs in PRF:
        for average in ("macro", "micro", "weighted", "samples", None):
            expected = theirs(t, p, average=average, sample_weight=w, zero_division=0)
            got = ours(t, p, average=average, sample_weight=w)
            np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert_same(M.fbeta_score(t, p, beta=2, average="samples"), float(S.fbeta_score(t, p, beta=2, average="samples")))


def test_one_hot_targets_and_tensors():
    t, p = labels(0, k=3)
    onehot = np.eye(3)[t]
    assert M.accuracy(onehot, p) == S.accuracy_score(t, p)
    assert M.f1_score(onehot, p, average="macro") == pytest.approx(S.f1_score(t, p, average="macro"), rel=1e-12)
    np.testing.assert_array_equal(M.confusion_matrix(onehot, np.eye(3)[p]), S.confusion_matrix(t, p))
    assert M.accuracy(nr.tensor(t.astype(np.float32)), nr.tensor(p)) == S.accuracy_score(t, p)
    assert M.accuracy(torch.tensor(t), list(p)) == S.accuracy_score(t, p)
    assert M.mse(nr.tensor(np.ones(3), requires_grad=True), [1.0, 2.0, 3.0]) == pytest.approx(5 / 3)


@pytest.mark.parametrize("seed", SEEDS[:2])
@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("options", [dict(), dict(digits=4), dict(weighted=True), dict(labels=[0, 1]),
                                     dict(names=True, digits=3)])
def test_classification_report_text(seed, k, options):
    t, p = labels(seed, k=k)
    kw = {}
    if options.get("weighted"):
        kw["sample_weight"] = weights(seed)
    if "digits" in options:
        kw["digits"] = options["digits"]
    if "labels" in options:
        kw["labels"] = options["labels"]
    if options.get("names"):
        kw["target_names"] = [f"class number {i}" for i in range(k)]
    assert M.classification_report(t, p, **kw) == S.classification_report(t, p, zero_division=0, **kw)
    ours = M.classification_report(t, p, output_dict=True, **kw)
    theirs = S.classification_report(t, p, output_dict=True, zero_division=0, **kw)
    assert ours.keys() == theirs.keys()
    for key in theirs:
        np.testing.assert_allclose(ours[key] if key == "accuracy" else list(ours[key].values()),
                                   theirs[key] if key == "accuracy" else list(theirs[key].values()), rtol=1e-12)


def test_classification_report_multilabel():
    rng = np.random.default_rng(5)
    t = rng.integers(0, 2, (30, 3))
    p = np.where(rng.random((30, 3)) < 0.7, t, 1 - t)
    assert M.classification_report(t, p) == S.classification_report(t, p, zero_division=0)


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_confusion(seed):
    t, p = labels(seed)
    table = M.binary_confusion(t, p)
    tn, fp, fn, tp = S.confusion_matrix(t, p).ravel()
    assert (table.tp, table.fp, table.fn, table.tn) == (tp, fp, fn, tn)
    assert isinstance(table.tp, int)
    assert table.sensitivity == table.recall == table.tpr == pytest.approx(S.recall_score(t, p))
    assert table.precision == table.ppv == pytest.approx(S.precision_score(t, p))
    assert table.specificity == table.tnr == pytest.approx(S.recall_score(t, p, pos_label=0))
    assert table.npv == pytest.approx(S.precision_score(t, p, pos_label=0))
    assert table.accuracy == pytest.approx(S.accuracy_score(t, p))
    assert table.f1 == pytest.approx(S.f1_score(t, p))
    assert table.fpr == pytest.approx(1 - table.specificity) and table.fnr == pytest.approx(1 - table.sensitivity)
    assert table.as_dict()["tn"] == tn
    text = str(table)
    assert f"TP = {tp}" in text and f"TN = {tn}" in text and f"{table.specificity:.4f}" in text
    flipped = M.binary_confusion(t, p, pos_label=0)
    assert (flipped.tp, flipped.tn, flipped.fp, flipped.fn) == (tn, tp, fn, fp)
    weighted = M.binary_confusion(t, p, sample_weight=weights(seed))
    np.testing.assert_allclose([weighted.tn, weighted.fp, weighted.fn, weighted.tp],
                               S.confusion_matrix(t, p, sample_weight=weights(seed)).ravel())


# ---------------------------------------------------------------- scores
def scores(seed, n=80, ties=False):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, n)
    s = rng.random(n) + 0.4 * t
    return t, (np.round(s, 1) if ties else s)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("drop", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_roc_curve(seed, ties, drop, weighted):
    t, s = scores(seed, ties=ties)
    w = weights(seed, len(t)) if weighted else None
    if weighted:
        w[::7] = 0.0  # zero weights are dropped, as scikit-learn does
    ours = M.roc_curve(t, s, sample_weight=w, drop_intermediate=drop)
    theirs = S.roc_curve(t, s, sample_weight=w, drop_intermediate=drop)
    for a, b in zip(ours, theirs, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert_same(M.roc_auc(t, s, sample_weight=w), float(S.roc_auc_score(t, s, sample_weight=w)))
    assert_same(M.auc(ours[0], ours[1]), float(S.auc(theirs[0], theirs[1])))


def test_roc_curve_labels():
    t, s = scores(0)
    for a, b in zip(M.roc_curve(2 * t - 1, s), S.roc_curve(2 * t - 1, s), strict=True):
        np.testing.assert_allclose(a, b)
    names = np.where(t == 1, "spam", "ham")
    for a, b in zip(M.roc_curve(names, s, pos_label="spam"), S.roc_curve(names, s, pos_label="spam"), strict=True):
        np.testing.assert_allclose(a, b)
    with pytest.raises(ValueError, match="pos_label"):
        M.roc_curve(names, s)
    assert M.roc_auc(t, np.stack([1 - s, s], axis=1)) == pytest.approx(S.roc_auc_score(t, s))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [3, 5])
@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_roc_auc_multiclass(seed, k, average):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, k, 100)
    prob = softmax(rng.standard_normal((100, k)) + 1.5 * np.eye(k)[t])
    w = weights(seed, 100)
    assert_same(M.roc_auc(t, prob, average=average), float(S.roc_auc_score(t, prob, multi_class="ovr",
                                                                            average=average)))
    assert_same(M.roc_auc(t, prob, average=average, sample_weight=w),
                float(S.roc_auc_score(t, prob, multi_class="ovr", average=average, sample_weight=w)))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("average", ["macro", "weighted", "micro", None])
def test_roc_auc_multilabel(seed, average):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 2, (60, 4))
    s = rng.random((60, 4)) + 0.5 * t
    np.testing.assert_allclose(M.roc_auc(t, s, average=average), S.roc_auc_score(t, s, average=average), rtol=1e-12)


def test_roc_auc_one_class_is_nan_with_warning():
    with pytest.warns(M.UndefinedMetricWarning):
        assert np.isnan(M.roc_auc([1, 1, 1], [0.2, 0.5, 0.9]))


@pytest.mark.filterwarnings("ignore:'k' .* greater than or equal to 'n_classes'")  # scikit-learn's, binary k >= 2
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_top_k_accuracy(seed, k, weighted):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 5, 70)
    s = np.round(rng.random((70, 5)) + 0.3 * np.eye(5)[t], 1)  # rounded: many ties
    w = weights(seed, 70) if weighted else None
    assert_same(M.top_k_accuracy(t, s, k=k, sample_weight=w),
                float(S.top_k_accuracy_score(t, s, k=k, sample_weight=w)))
    assert_same(M.top_k_accuracy(t, s, k=k, normalize=False, sample_weight=w),
                float(S.top_k_accuracy_score(t, s, k=k, normalize=False, sample_weight=w)))
    assert_same(M.top_k_accuracy(np.eye(5)[t], s, k=k), float(S.top_k_accuracy_score(t, s, k=k)))
    letters = np.array(list("abcde"))[t]
    assert_same(M.top_k_accuracy(letters, s, k=k), float(S.top_k_accuracy_score(letters, s, k=k)))
    tb, sb = scores(seed)
    assert_same(M.top_k_accuracy(tb, sb, k=k), float(S.top_k_accuracy_score(tb, sb, k=k)))
    assert_same(M.top_k_accuracy(tb, sb - 0.5, k=1), float(S.top_k_accuracy_score(tb, sb - 0.5, k=1)))


def test_top_k_accuracy_needs_no_full_batch_of_classes():
    s = np.array([[0.1, 0.5, 0.2, 0.2], [0.7, 0.1, 0.1, 0.1]])
    assert M.top_k_accuracy([1, 2], s, k=1) == 0.5 and M.top_k_accuracy([1, 2], s, k=3) == 1.0
    with pytest.raises(ValueError, match="classes"):
        M.top_k_accuracy(["a", "b"], s, k=1)


# ---------------------------------------------------------------- regression
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(50,), (50, 1), (50, 3)])
@pytest.mark.parametrize("weighted", [False, True])
def test_regression(seed, shape, weighted):
    rng = np.random.default_rng(seed)
    t = rng.standard_normal(shape)
    p = t + 0.5 * rng.standard_normal(shape)
    w = weights(seed, 50) if weighted else None
    pairs = [(M.mse, S.mean_squared_error), (M.mae, S.mean_absolute_error), (M.rmse, S.root_mean_squared_error),
             (M.r2_score, S.r2_score)]
    outputs = ["uniform_average", "raw_values"] + ([np.array([0.2, 0.3, 0.5])] if len(shape) == 2 and shape[1] == 3
                                                   else [])
    for ours, theirs in pairs:
        for multioutput in outputs:
            expected = theirs(t, p, sample_weight=w, multioutput=multioutput)
            got = ours(t, p, sample_weight=w, multioutput=multioutput)
            np.testing.assert_allclose(got, expected, rtol=1e-12)
            assert isinstance(got, float if not isinstance(expected, np.ndarray) else np.ndarray)
    assert_same(M.r2_score(t, p, multioutput="variance_weighted", sample_weight=w),
                float(S.r2_score(t, p, multioutput="variance_weighted", sample_weight=w)))
    # float32 inputs are scored in float64
    assert M.mse(t.astype(np.float32), p.astype(np.float32)) == pytest.approx(S.mean_squared_error(t, p), rel=1e-6)


def test_r2_constant_target():
    t = np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 4.0]])
    for p in (t.copy(), t + np.array([[0.5, 0.1]])):
        for force_finite in (True, False):
            for multioutput in ("raw_values", "uniform_average", "variance_weighted"):
                with np.errstate(divide="ignore", invalid="ignore"):  # scikit-learn's own division by zero
                    expected = S.r2_score(t, p, force_finite=force_finite, multioutput=multioutput)
                np.testing.assert_allclose(M.r2_score(t, p, force_finite=force_finite, multioutput=multioutput),
                                           expected)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("call,match", [
    (lambda: M.accuracy([0, 1, 1], [0, 1]), "same number of samples"),
    (lambda: M.precision([0, 1, 2], [0, 1, 1]), "average='binary'"),
    (lambda: M.precision([0, 1, 1], [0, 1, 1], average="mean"), "average must be one of"),
    (lambda: M.f1_score([0, 1, 1], [0, 1, 1], average="samples"), "samples"),
    (lambda: M.recall([0, 1, 1], [0.2, 0.7, 0.9]), "continuous"),
    (lambda: M.confusion_matrix([0, 1], [0, 1], normalize="rows"), "normalize"),
    (lambda: M.roc_curve([0, 1, 2], [0.1, 0.5, 0.7]), "two classes"),
    (lambda: M.roc_auc([0, 1, 2, 1], np.ones((4, 2))), "shape"),
    (lambda: M.roc_auc([0, 1], [0.1, 0.2], average="mean"), "average"),
    (lambda: M.top_k_accuracy([0, 1], np.ones((3, 2))), "same number of samples"),
    (lambda: M.mse([1.0, 2.0], [[1.0, 2.0], [3.0, 4.0]]), "same shape"),
    (lambda: M.mae([1.0, 2.0], [1.0, 2.0], multioutput="median"), "multioutput"),
    (lambda: M.accuracy([0, 1], [0, 1], sample_weight=[1.0]), "sample_weight"),
    (lambda: M.binary_confusion([0, 1, 2], [0, 1, 2]), "two classes"),
    (lambda: M.classification_report([0, 1], [0, 1], target_names=["a"]), "target_names"),
])
def test_errors_name_the_metric(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- streaming
def batches(n, sizes=(7, 16, 16, 3)):
    """Uneven batches covering range(n), like an epoch with a smaller last batch."""
    start = 0
    while start < n:
        for size in sizes:
            if start >= n:
                break
            yield slice(start, start + size)
            start += size


def stream(metric, y_true, y_pred, sample_weight=None):
    metric.reset()
    for sl in batches(len(y_true)):
        metric.update(y_true[sl], y_pred[sl], None if sample_weight is None else sample_weight[sl])
    return metric.result()


def problem(task, seed, n=90, k=4):
    rng = np.random.default_rng(seed)
    if task == "binary":
        t = rng.integers(0, 2, n)
        return t, 1 / (1 + np.exp(-(rng.standard_normal(n) + 1.5 * (2 * t - 1))))
    if task == "multiclass":
        t = rng.integers(0, k, n)
        return t, softmax(rng.standard_normal((n, k)) + 1.2 * np.eye(k)[t])
    t = rng.integers(0, 2, (n, k))  # multilabel
    return t, 1 / (1 + np.exp(-(rng.standard_normal((n, k)) + 1.5 * (2 * t - 1))))


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("weighted", [False, True])
def test_streaming_binary(seed, weighted):
    t, prob = problem("binary", seed)
    w = weights(seed, len(t)) if weighted else None
    hard = (prob > 0.5).astype(int)
    expected = {"accuracy": M.accuracy(t, hard, sample_weight=w), "precision": M.precision(t, hard, sample_weight=w),
                "recall": M.recall(t, hard, sample_weight=w), "f1": M.f1_score(t, hard, sample_weight=w),
                "auc": M.roc_auc(t, prob, sample_weight=w)}
    for name, value in expected.items():
        assert stream(M.get_metric(name), t, prob, w) == pytest.approx(value, rel=1e-12), name
        # (N, 1) columns, as a Dense(1) + sigmoid model gives, read the same
        assert stream(M.get_metric(name), t[:, None].astype(np.float32), prob[:, None], w) == pytest.approx(
            value, rel=1e-6), name
    assert expected["precision"] == pytest.approx(S.precision_score(t, hard, sample_weight=w))


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("k", [2, 5])
@pytest.mark.parametrize("weighted", [False, True])
def test_streaming_multiclass(seed, k, weighted):
    t, prob = problem("multiclass", seed, k=k)
    w = weights(seed, len(t)) if weighted else None
    hard = prob.argmax(axis=1)
    average = "binary" if k == 2 else "macro"
    expected = {
        "accuracy": M.accuracy(t, hard, sample_weight=w),
        "precision": M.precision(t, hard, average=average, sample_weight=w),
        "recall": M.recall(t, hard, average=average, sample_weight=w),
        "f1": M.f1_score(t, hard, average=average, sample_weight=w),
        "auc": M.roc_auc(t, prob[:, 1] if k == 2 else prob, sample_weight=w),
        "top_k_accuracy": M.top_k_accuracy(t, prob, k=5, sample_weight=w),
        "top_2_accuracy": M.top_k_accuracy(t, prob, k=2, sample_weight=w),
    }
    for name, value in expected.items():
        assert stream(M.get_metric(name), t, prob, w) == pytest.approx(value, rel=1e-12), name
        onehot = np.eye(k)[t]
        assert stream(M.get_metric(name), onehot, prob, w) == pytest.approx(value, rel=1e-12), name
    if k > 2:  # the epoch's macro precision is not the mean of the batches' values
        per_batch = np.mean([M.precision(t[sl], hard[sl], average="macro") for sl in batches(len(t))])
        assert per_batch != pytest.approx(expected["precision"], rel=1e-6)


def test_streaming_multiclass_knows_classes_missing_from_the_epoch():
    """Labels 0 and 1 only, from a 4-class softmax: still macro over the classes seen, not a binary problem."""
    t = np.array([0, 1, 1, 0, 1])
    prob = np.eye(4)[[0, 1, 2, 2, 1]] * 0.7 + 0.075
    m = M.get_metric("precision")
    m.update(t, prob)
    assert m.result() == pytest.approx(M.precision(t, prob.argmax(1), average="macro"))


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_streaming_multilabel(seed):
    t, prob = problem("multilabel", seed)
    hard = (prob > 0.5).astype(int)
    assert stream(M.get_metric("accuracy"), t, prob) == pytest.approx((hard == t).mean())  # Keras's binary accuracy
    assert stream(M.get_metric("precision"), t, prob) == pytest.approx(M.precision(t, hard, average="micro"))
    assert stream(M.get_metric("recall"), t, prob) == pytest.approx(M.recall(t, hard, average="micro"))
    assert stream(M.get_metric("auc"), t, prob) == pytest.approx(M.roc_auc(t, prob, average="macro"), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS[:3])
@pytest.mark.parametrize("shape", [(70,), (70, 1), (70, 3)])
@pytest.mark.parametrize("weighted", [False, True])
def test_streaming_regression(seed, shape, weighted):
    rng = np.random.default_rng(seed)
    t = rng.standard_normal(shape)
    p = (t + 0.3 * rng.standard_normal(shape)).astype(np.float32)
    w = weights(seed, 70) if weighted else None
    assert stream(M.get_metric("mse"), t, p, w) == pytest.approx(M.mse(t, p, sample_weight=w), rel=1e-12)
    assert stream(M.get_metric("mae"), t, p, w) == pytest.approx(M.mae(t, p, sample_weight=w), rel=1e-12)
    rmse = np.sqrt(M.mse(t, p, sample_weight=w))  # of all outputs together, as Keras
    assert stream(M.get_metric("rmse"), t, p, w) == pytest.approx(rmse, rel=1e-12)
    if len(shape) == 1:
        assert rmse == pytest.approx(M.rmse(t, p, sample_weight=w), rel=1e-12)
    r2 = M.get_metric(M.r2_score)
    assert r2.name == "r2_score"
    assert stream(r2, t, p, w) == pytest.approx(M.r2_score(t, p, sample_weight=w), rel=1e-12)


def test_get_metric_specs():
    assert isinstance(M.get_metric("acc"), M.Accuracy) and M.get_metric("acc").name == "acc"
    assert M.get_metric("top_3_accuracy").k == 3 and M.get_metric("top_k_accuracy").k == 5
    assert M.get_metric("sparse_categorical_accuracy").task == "multiclass"
    m = M.Precision(name="p")
    assert M.get_metric(m) is m and M.get_metric(m, task="binary").task == "binary"
    assert isinstance(M.get_metric(M.Recall), M.Recall)

    def always_half(y_true, y_pred):
        return 0.5

    f = M.get_metric(always_half)
    f.update(np.zeros(3), np.zeros(3))
    assert f.name == "always_half" and f.result() == 0.5
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        M.get_metric("acuracy")
    with pytest.raises(ValueError, match="task"):
        M.get_metric("accuracy", task="segmentation")
    with pytest.raises(TypeError, match="Received: int"):
        M.get_metric(3)


def test_streaming_reset_and_explicit_task():
    m = M.get_metric("accuracy", task="multilabel")
    m.update(np.array([[1, 0], [0, 1]]), np.array([[0.9, 0.6], [0.2, 0.8]]))
    assert m.result() == 0.75
    m.reset()
    assert m.result() == 0.0
    m.update(np.array([[1, 0]]), np.array([[0.9, 0.1]]))
    assert m.result() == 1.0
    # the same arrays read as multiclass (one-hot next to probabilities summing to 1)
    auto = M.get_metric("accuracy")
    auto.update(np.array([[1, 0], [0, 1]]), np.array([[0.6, 0.4], [0.7, 0.3]]))
    assert auto._task == "multiclass" and auto.result() == 0.5


@pytest.mark.parametrize("name", ["accuracy", "precision", "auc", "mse", "top_k_accuracy"])
def test_streaming_errors(name):
    m = M.get_metric(name)
    with pytest.raises(ValueError, match=f"metric '{name}'"):
        m.update(np.zeros(4), np.zeros((3, 6)))
        m.result()


def test_streaming_regression_task_rejects_accuracy():
    m = M.get_metric("accuracy", task="regression")
    with pytest.raises(ValueError, match="classification"):
        m.update(np.zeros(3), np.zeros(3))
