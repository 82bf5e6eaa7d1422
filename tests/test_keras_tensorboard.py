"""The TensorBoard callback writes event files that TensorBoard's own reader reads back (issue 16)."""

import numpy as np
import pytest

import neurona as nr

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")


def _read(folder):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def _fit(log_dir, **kwargs):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    nr.manual_seed(0)
    m = nr.Sequential([nr.layers.Dense(4, activation="relu"), nr.layers.Dense(2)])
    m.compile("adam", "cross_entropy", metrics=["accuracy"])
    return m, m.fit(x, y, epochs=3, batch_size=10, validation_split=0.25, verbose=0,
                    callbacks=[nr.callbacks.TensorBoard(log_dir, **kwargs)])


def test_epoch_scalars_as_keras_writes_them(tmp_path):
    _, h = _fit(tmp_path)
    train, val = _read(tmp_path / "train"), _read(tmp_path / "validation")
    assert set(train.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}
    assert set(val.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy"}
    for acc, prefix in ((train, ""), (val, "val_")):
        for name in ("loss", "accuracy"):
            events = acc.Scalars(f"epoch_{name}")
            assert [e.step for e in events] == [0, 1, 2]
            np.testing.assert_allclose([e.value for e in events], h.history[prefix + name], rtol=1e-6)
    assert [e.value for e in train.Scalars("epoch_learning_rate")] == pytest.approx([1e-3] * 3)


def test_batch_loss_and_weight_histograms(tmp_path):
    m, _ = _fit(tmp_path, update_freq=2, histogram_freq=1)
    train = _read(tmp_path / "train")
    assert [e.step for e in train.Scalars("batch_loss")] == [2, 4, 6, 8]  # 3 training batches a epoch, 9 in all
    params = dict(m.named_parameters())
    assert sorted(train.Tags()["histograms"]) == sorted(params)
    for name, p in params.items():
        hists = train.Histograms(name)
        assert [hv.step for hv in hists] == [0, 1, 2]
        last = hists[-1].histogram_value
        assert last.num == p.numpy().size
        assert last.min == pytest.approx(float(p.numpy().min())) and last.max == pytest.approx(float(p.numpy().max()))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="update_freq must be 'epoch', 'batch' or a positive integer. "
                                         "Received: update_freq='often'"):
        nr.callbacks.TensorBoard("logs", update_freq="often")
    with pytest.raises(ValueError, match="histogram_freq must be an integer >= 0. Received: histogram_freq=-1"):
        nr.callbacks.TensorBoard("logs", histogram_freq=-1)
