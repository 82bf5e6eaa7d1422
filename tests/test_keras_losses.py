"""Keras's loss classes (target first): the same numbers as neurona's losses and PyTorch's, in compile,
fit and saved models (issue 16)."""

import numpy as np
import pytest

import neurona as nr
from neurona import functional as F
from neurona import losses, nn

R = np.random.default_rng(0)


def _torch():
    return pytest.importorskip("torch")


def _logits_labels(n=6, c=4):
    return R.standard_normal((n, c)), R.integers(0, c, n)


def test_sparse_categorical_is_neurona_cross_entropy_target_first():
    logits, y = _logits_labels()
    a = nr.tensor(logits, dtype=np.float64, requires_grad=True)
    b = nr.tensor(logits, dtype=np.float64, requires_grad=True)
    keras_loss = losses.SparseCategoricalCrossentropy(from_logits=True)(y, a)
    ours = losses.CrossEntropy()(b, y)
    assert keras_loss.item() == ours.item()
    keras_loss.backward()
    ours.backward()
    np.testing.assert_array_equal(a.grad, b.grad)
    # labels as (N, 1), as Keras accepts them
    assert losses.SparseCategoricalCrossentropy(from_logits=True)(y[:, None], a).item() == ours.item()


def test_cross_entropies_match_torch():
    torch = _torch()
    logits, y = _logits_labels()
    onehot = np.eye(4)[y]
    t = torch.tensor(logits)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(y)).item()
    probs = F.softmax(nr.tensor(logits, dtype=np.float64))  # Keras's default from_logits=False takes softmax outputs
    np.testing.assert_allclose(losses.SparseCategoricalCrossentropy()(y, probs).item(), expected, rtol=1e-10)
    np.testing.assert_allclose(losses.CategoricalCrossentropy()(onehot, probs).item(), expected, rtol=1e-10)
    smoothed = torch.nn.functional.cross_entropy(t, torch.tensor(y), label_smoothing=0.2).item()
    got = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)(onehot, nr.tensor(logits,
                                                                                                   dtype=np.float64))
    np.testing.assert_allclose(got.item(), smoothed, rtol=1e-10)
    per_sample = torch.nn.functional.cross_entropy(t, torch.tensor(y), reduction="none").numpy()
    got = losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(y, nr.tensor(logits,
                                                                                              dtype=np.float64))
    np.testing.assert_allclose(got.numpy(), per_sample, rtol=1e-10)
    got = losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")(y, nr.tensor(logits,
                                                                                               dtype=np.float64))
    np.testing.assert_allclose(got.item(), per_sample.sum(), rtol=1e-10)


def test_binary_crossentropy_matches_torch_with_and_without_smoothing():
    torch = _torch()
    z, y = R.standard_normal((8, 1)), R.integers(0, 2, (8, 1)).astype(np.float64)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    zt, yt = torch.tensor(z), torch.tensor(y)
    ours = losses.BinaryCrossentropy(from_logits=True)(y, nr.tensor(z, dtype=np.float64))
    np.testing.assert_allclose(ours.item(), bce(zt, yt).item(), rtol=1e-10)
    ours = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)(y, nr.tensor(z, dtype=np.float64))
    np.testing.assert_allclose(ours.item(), bce(zt, yt * 0.9 + 0.05).item(), rtol=1e-10)
    probs = F.sigmoid(nr.tensor(z, dtype=np.float64))
    ours = losses.BinaryCrossentropy()(y[:, 0], probs)  # (N,) labels for an (N, 1) output, as Keras
    np.testing.assert_allclose(ours.item(), bce(zt, yt).item(), rtol=1e-7)
    w = R.random(8)
    ours = losses.BinaryCrossentropy(from_logits=True)(y, nr.tensor(z, dtype=np.float64), sample_weight=w)
    expected = (bce(zt, yt, reduction="none")[:, 0] * torch.tensor(w)).mean().item()
    np.testing.assert_allclose(ours.item(), expected, rtol=1e-10)


def test_mse_and_mae_are_neurona_classes_symmetric_in_their_arguments():
    y_true, y_pred = R.standard_normal((5, 3)), R.standard_normal((5, 3))
    for cls, fn in ((losses.MeanSquaredError, F.mse_loss), (losses.MeanAbsoluteError, F.l1_loss)):
        keras_order = cls()(y_true, nr.tensor(y_pred, dtype=np.float64))
        assert keras_order.item() == fn(nr.tensor(y_pred, dtype=np.float64), y_true).item()
        assert cls(reduction="sum_over_batch_size").reduction == "mean"


def test_wrong_targets_name_the_loss_and_the_right_one():
    logits, y = _logits_labels()
    with pytest.raises(ValueError, match=r"SparseCategoricalCrossentropy.*use CategoricalCrossentropy"):
        losses.SparseCategoricalCrossentropy()(np.eye(4)[y], nr.tensor(logits))
    with pytest.raises(ValueError, match=r"CategoricalCrossentropy.*use SparseCategoricalCrossentropy"):
        losses.CategoricalCrossentropy()(y, nr.tensor(logits))
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.BinaryCrossentropy(reduction="average")


def _fit(loss, y, out_units=3, activation=None, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((40, 5)).astype(np.float32)
    nr.manual_seed(0)
    model = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(out_units, activation=activation)])
    model.compile(optimizer=nr.optim.SGD(lr=0.1), loss=loss, metrics=["accuracy"])
    h = model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False)
    return model, x, h.history


@pytest.mark.parametrize("keras_loss,name,targets,units,activation", [
    (losses.SparseCategoricalCrossentropy(from_logits=True), "sparse_categorical_crossentropy", "int", 3, None),
    (losses.SparseCategoricalCrossentropy(), "sparse_categorical_crossentropy", "int", 3, "softmax"),
    (losses.CategoricalCrossentropy(from_logits=True), "categorical_crossentropy", "onehot", 3, None),
    (losses.BinaryCrossentropy(from_logits=True), "binary_crossentropy", "binary", 1, None),
    (losses.BinaryCrossentropy(), "binary_crossentropy", "binary", 1, "sigmoid"),
])
def test_compile_with_a_keras_loss_trains_as_the_loss_name(keras_loss, name, targets, units, activation, tmp_path):
    labels = np.random.default_rng(1).integers(0, units if units > 1 else 2, 40)
    y = {"int": labels, "onehot": np.eye(3)[labels], "binary": labels[:, None].astype(np.float32)}[targets]
    model, x, ours = _fit(keras_loss, y, units, activation)
    _, _, by_name = _fit(name, y, units, activation)
    assert ours == by_name
    model.save(tmp_path / "m.neurona")
    loaded = nr.load_model(tmp_path / "m.neurona")
    assert type(loaded._trainer.loss) is type(keras_loss)
    assert loaded._trainer.loss.get_config() == keras_loss.get_config()
    np.testing.assert_array_equal(loaded.evaluate(x, y), model.evaluate(x, y))


def test_binary_label_smoothing_in_fit_is_the_smoothed_loss():
    y = np.random.default_rng(1).integers(0, 2, (40, 1)).astype(np.float32)
    model, x, h = _fit(losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2), y, 1)
    out = model.predict(x)
    expected = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2)(y, nr.tensor(out)).item()
    np.testing.assert_allclose(model.evaluate(x, y)[0], expected, rtol=1e-5)
    assert model.evaluate(x, y)[0] != pytest.approx(losses.BinaryCrossentropy(from_logits=True)(y, nr.tensor(out))
                                                    .item(), rel=1e-3)


def test_lists_and_keras_reduction_none():
    y, p = [0, 1], [[0.9, 0.1], [0.2, 0.8]]
    from_lists = losses.SparseCategoricalCrossentropy()(y, p).item()
    assert from_lists == losses.SparseCategoricalCrossentropy()(np.array(y), np.array(p)).item()
    assert losses.BinaryCrossentropy()([[1.0], [0.0]], [[0.8], [0.3]]).item() > 0
    per_value = losses.MeanSquaredError(reduction=None)(np.zeros((2, 3)), nr.tensor(np.ones((2, 3))))
    assert per_value.shape == (2, 3)
