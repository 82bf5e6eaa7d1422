"""evaluate / train_on_batch / test_on_batch return what Keras returns (issue 16)."""

import numpy as np
import pytest

import neurona as nr
from neurona import nn


def data(n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 1)
    return x, y


def model(metrics=None):
    nr.manual_seed(0)
    m = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3)])
    m.compile(nr.optim.SGD(lr=0.1), "cross_entropy", metrics=metrics)
    return m


def test_evaluate_without_metrics_is_the_loss_as_a_float():
    x, y = data()
    m = model()
    loss = m.evaluate(x, y)
    assert isinstance(loss, float)
    assert loss == m.evaluate(x, y, return_dict=True)["loss"]


def test_evaluate_with_metrics_unpacks_as_in_keras():
    x, y = data()
    m = model(["accuracy", "auc"])
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    test_loss, test_acc, test_auc = m.evaluate(x, y)
    logs = m.evaluate(x, y, return_dict=True)
    assert list(logs) == ["loss", "accuracy", "auc"]
    assert [test_loss, test_acc, test_auc] == list(logs.values())
    score = m.evaluate(x, y, verbose=0)
    assert score[0] == test_loss and score[1] == test_acc  # Keras's score[0], score[1]
    acc = np.mean(m.predict(x).argmax(axis=1) == y)
    assert test_acc == pytest.approx(acc)


def test_return_dict_must_be_a_bool():
    x, y = data()
    with pytest.raises(TypeError, match="return_dict must be True or False. Received: return_dict='yes'"):
        model().evaluate(x, y, return_dict="yes")


def test_train_on_batch_is_one_train_step():
    x, y = data()
    a = model(["accuracy"])
    loss, acc = a.train_on_batch(x[:16], y[:16])
    b = model(["accuracy"])  # seeded again: built with the same weights as a
    logs = b.train_step(x[:16], y[:16])
    assert [loss, acc] == [logs["loss"], logs["accuracy"]]
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy())  # the same update
    # reset_metrics=True (the default): the metrics of this batch only
    second = a.train_on_batch(x[16:32], y[16:32], return_dict=True)
    b.reset_metrics()
    assert second == b.train_step(x[16:32], y[16:32])
    # reset_metrics=False: running over the calls, as train_step's
    third = a.train_on_batch(x[32:], y[32:], reset_metrics=False, return_dict=True)
    assert third == b.train_step(x[32:], y[32:])


def test_train_on_batch_without_metrics_is_a_float_and_lowers_the_loss():
    x, y = data()
    m = model()
    first = m.train_on_batch(x, y)
    assert isinstance(first, float)
    for _ in range(20):
        last = m.train_on_batch(x, y)
    assert last < first


def test_test_on_batch_equals_evaluate_on_that_batch_and_changes_nothing():
    x, y = data()
    m = model(["accuracy"])
    before = [p.numpy().copy() for p in m.parameters()]
    loss, acc = m.test_on_batch(x[:20], y[:20])
    assert [loss, acc] == m.evaluate(x[:20], y[:20], batch_size=20)
    assert m.test_on_batch(x[:20], y[:20], return_dict=True) == {"loss": loss, "accuracy": acc}
    for p, q in zip(m.parameters(), before):
        np.testing.assert_array_equal(p.numpy(), q)


def test_functional_model_evaluate_and_on_batch():
    inp = nn.Input(shape=(4,))
    out = nn.Dense(3)(nn.Dense(8, activation="relu")(inp))
    m = nn.Model(inp, out)
    m.compile("adam", "cross_entropy", metrics=["accuracy"])
    x, y = data()
    loss, acc = m.evaluate(x, y)
    assert 0.0 <= acc <= 1.0 and loss > 0
    assert isinstance(m.train_on_batch(x, y), list)
    assert m.test_on_batch(x, y, return_dict=True)["loss"] < loss  # one step on the same batch helped


class _AddsToLogs(nr.callbacks.Callback):
    """A Keras recipe: a value computed in on_epoch_end and put into logs."""

    def on_epoch_end(self, epoch, logs=None):
        logs["val_f1"] = 0.5 + epoch


def test_a_value_a_callback_adds_to_logs_reaches_the_history():
    x, y = data()
    h = model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[_AddsToLogs()])
    assert h.history["val_f1"] == [0.5, 1.5]
    assert list(h.history)[:1] == ["loss"] and len(h.history["loss"]) == 2


class _Arrays:
    """Not a loader of batches: it yields bare arrays."""

    def __iter__(self):
        return iter([np.zeros((2, 4), np.float32)])


def test_validation_data_may_be_a_loader_of_batches():
    x, y = data()
    xv, yv = data(20, seed=1)
    loader = nr.utils.data.DataLoader(nr.utils.data.TensorDataset(xv, yv), batch_size=8)
    h = model().fit(x, y, epochs=1, batch_size=16, verbose=0, validation_data=loader)
    h2 = model().fit(x, y, epochs=1, batch_size=16, verbose=0, validation_data=(xv, yv))
    assert h.history["val_loss"] == h2.history["val_loss"]
    with pytest.raises(ValueError, match="validation_data: a data loader must give"):
        model().fit(x, y, epochs=1, verbose=0, validation_data=_Arrays())
