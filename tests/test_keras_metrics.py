"""Keras's counting metrics, Mean, and weighted_metrics vs metrics under class/sample weights (issue 16)."""

import numpy as np
import pytest

import neurona as nr
from neurona import metrics as M
from neurona import nn


def _counts(t, p, w=None):
    w = np.ones(len(t)) if w is None else w
    pos, hit = t > 0.5, p > 0.5
    return {"tp": w[pos & hit].sum(), "fp": w[~pos & hit].sum(), "tn": w[~pos & ~hit].sum(),
            "fn": w[pos & ~hit].sum()}


def _metrics():
    return {"tp": M.TruePositives(), "fp": M.FalsePositives(), "tn": M.TrueNegatives(), "fn": M.FalseNegatives()}


def test_binary_counts_over_batches_with_and_without_weights():
    rng = np.random.default_rng(0)
    t, p, w = rng.integers(0, 2, 50), rng.random(50), rng.random(50)
    for weights in (None, w):
        ms = _metrics()
        for sl in (slice(0, 20), slice(20, 50)):
            for m in ms.values():
                m.update_state(t[sl], p[sl], sample_weight=None if weights is None else weights[sl])
        expected = _counts(t, p, weights)
        assert {k: m.result() for k, m in ms.items()} == pytest.approx(expected)
    ms["tp"].reset_state()
    assert ms["tp"].result() == 0.0


def test_multiclass_labels_count_as_one_hot_entries_as_keras():
    t = np.array([0, 2, 1])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.4, 0.4, 0.2]])
    expected = _counts(np.eye(3)[t].reshape(-1), p.reshape(-1))
    for k, m in _metrics().items():
        m.update(t, p)
        assert m.result() == expected[k]


def test_counts_check_their_arguments():
    with pytest.raises(ValueError, match="thresholds must be one number in \\[0, 1\\]. Received: thresholds=\\[0.3, 0.6\\]"):
        M.TruePositives(thresholds=[0.3, 0.6])
    with pytest.raises(ValueError, match="expected y_pred of y_true's shape"):
        M.TruePositives(task="multilabel").update(np.ones((4, 2)), np.ones((4, 3)))
    assert M.FalseNegatives(name="fn").name == "fn"


def test_mean():
    m = M.Mean("jaccard_score")
    m.update_state(np.array([0.2, 0.4]))
    m.update_state(1.0, sample_weight=2.0)
    assert m.name == "jaccard_score" and m.result() == pytest.approx((0.2 + 0.4 + 2.0) / 4)
    m.reset_state()
    assert m.result() == 0.0
    with pytest.raises(ValueError, match="one sample_weight per value \\(3\\) or one for all. Received: 2"):
        m.update([1, 2, 3], sample_weight=[1, 2])


def _fit(class_weight, **compile_kwargs):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype(np.float32)
    y = (x[:, 0] > 0.8).astype(np.float32)[:, None]
    nr.manual_seed(0)
    m = nn.Sequential([nn.Dense(1, activation="sigmoid")])
    m.compile(nr.optim.SGD(lr=0.0), "binary_crossentropy", **compile_kwargs)  # lr 0: the weights stay put
    h = m.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False, class_weight=class_weight)
    return m, x, y, h.history


def test_class_weight_leaves_metrics_alone_and_weights_weighted_metrics():
    cw = {0: 0.1, 1: 5.0}
    m, x, y, hist = _fit(cw, metrics=[M.TruePositives(name="tp"), "accuracy"],
                         weighted_metrics=[M.TruePositives(name="wtp"), "accuracy"])
    p = m.predict(x).reshape(-1)
    t = y.reshape(-1)
    w = np.where(t > 0.5, cw[1], cw[0])
    assert hist["tp"] == [_counts(t, p)["tp"]]  # a count of samples, not of weights (was weighted before)
    assert hist["accuracy"][0] == pytest.approx(np.mean((p > 0.5) == t))
    assert hist["wtp"][0] == pytest.approx(_counts(t, p, w)["tp"])
    assert hist["weighted_accuracy"][0] == pytest.approx(np.sum(w * ((p > 0.5) == t)) / w.sum())


def test_evaluate_sample_weight_applies_to_weighted_metrics_only():
    m, x, y, _ = _fit(None, metrics=["accuracy"], weighted_metrics=["accuracy"])
    w = np.linspace(0, 1, len(x))
    logs = m.evaluate(x, y, sample_weight=w, return_dict=True)
    p, t = m.predict(x).reshape(-1), y.reshape(-1)
    assert list(logs) == ["loss", "accuracy", "weighted_accuracy"]
    assert logs["accuracy"] == pytest.approx(np.mean((p > 0.5) == t))
    assert logs["weighted_accuracy"] == pytest.approx(np.sum(w * ((p > 0.5) == t)) / w.sum())
