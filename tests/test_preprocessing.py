"""Preprocessing: scalers and whitening against scikit-learn, and the Normalization / Rescaling layers
(gradcheck, PyTorch, state saved inside the model)."""

import numpy as np
import pytest
import torch
from sklearn import decomposition, preprocessing

import neurona as nr
from neurona import nn
from neurona.autograd import Tensor
from neurona.data.preprocessing import MeanImageSubtraction, MinMaxScaler, PCAWhitening, StandardScaler, ZCAWhitening
from neurona.nn.module import deserialize_layer, serialize_layer
from neurona.testing import compare_with_torch, gradcheck


@pytest.fixture
def correlated():
    r = np.random.default_rng(0)
    x = r.standard_normal((300, 6)) @ r.standard_normal((6, 6)) * [1, 2, 3, 4, 5, 6] + np.arange(6)
    return x[:200], x[200:]


# ---------------------------------------------------------------- scalers
@pytest.mark.parametrize("ours, theirs", [
    (StandardScaler(), preprocessing.StandardScaler()),
    (StandardScaler(with_mean=False), preprocessing.StandardScaler(with_mean=False)),
    (MinMaxScaler(), preprocessing.MinMaxScaler()),
    (MinMaxScaler((-1, 1)), preprocessing.MinMaxScaler((-1, 1))),
])
def test_scalers_match_scikit_learn(correlated, ours, theirs):
    train, test = correlated
    ours.fit(train)
    theirs.fit(train)
    np.testing.assert_allclose(ours.transform(test), theirs.transform(test), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(test)), test, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(ours.fit_transform(train), theirs.fit_transform(train), rtol=1e-10, atol=1e-10)


def test_constant_feature_and_float32_output():
    x = np.array([[1, 5], [3, 5], [5, 5]], dtype=np.uint8)
    z = StandardScaler().fit_transform(x)
    assert z.dtype == np.float32 and np.isfinite(z).all() and (z[:, 1] == 0).all()
    m = MinMaxScaler().fit_transform(x.astype(np.float32))
    assert m.dtype == np.float32 and np.isfinite(m).all()
    np.testing.assert_allclose(m[:, 0], [0, 0.5, 1])


def test_mean_image_subtraction_per_pixel():
    r = np.random.default_rng(1)
    train = r.integers(0, 256, (50, 4, 5, 3), dtype=np.uint8)
    sub = MeanImageSubtraction().fit(train)
    assert sub.mean_.shape == (4, 5, 3)
    out = sub.transform(train)
    assert out.dtype == np.float32 and out.shape == train.shape
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(sub.inverse_transform(out), train, atol=1e-4)


def test_pca_whitening_matches_scikit_learn(correlated):
    train, test = correlated
    ours = PCAWhitening(epsilon=0.0).fit(train)
    theirs = decomposition.PCA(whiten=True).fit(train)
    a, b = ours.transform(test), theirs.transform(test)
    signs = np.sign((a * b).sum(axis=0))  # eigenvectors are defined up to sign
    np.testing.assert_allclose(a * signs, b, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_, rtol=1e-10)
    z = ours.transform(train)
    np.testing.assert_allclose(np.cov(z.T), np.eye(6), atol=1e-8)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(test)), test, atol=1e-8)
    k3 = PCAWhitening(n_components=3, epsilon=0.0).fit(train)
    sk3 = decomposition.PCA(3, whiten=True).fit(train)
    assert k3.transform(test).shape == (100, 3)
    np.testing.assert_allclose(np.abs(k3.transform(test)), np.abs(sk3.transform(test)), rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(k3.inverse_transform(k3.transform(test)), sk3.inverse_transform(sk3.transform(test)),
                               rtol=1e-8, atol=1e-8)


def test_zca_whitening_defining_properties(correlated):
    train, test = correlated
    zca = ZCAWhitening(epsilon=0.0).fit(train)
    z = zca.transform(train)
    np.testing.assert_allclose(np.cov(z.T), np.eye(6), atol=1e-8)  # decorrelated, unit variance
    np.testing.assert_allclose(zca.whiten_, zca.whiten_.T, atol=1e-12)  # symmetric: rotated back to input space
    np.testing.assert_allclose(zca.inverse_transform(zca.transform(test)), test, atol=1e-8)
    # of all whitening maps ZCA moves the data least: closer to the centred input than PCA whitening
    pca = PCAWhitening(epsilon=0.0).fit(train)
    centred = train - train.mean(0)
    assert np.linalg.norm(z - centred) < np.linalg.norm(pca.transform(train) - centred)


def test_whitening_epsilon_and_images():
    r = np.random.default_rng(2)
    images = r.random((80, 4, 4)).astype(np.float32)
    images[:, 0, 0] = 0.5  # a constant pixel: zero variance, kept finite by epsilon
    zca = ZCAWhitening(epsilon=1e-2).fit(images)
    out = zca.transform(images)
    assert out.shape == images.shape and out.dtype == np.float32 and np.isfinite(out).all()
    cov = np.cov(out.reshape(80, -1).T)
    assert np.abs(np.diag(cov)[1:] - 1).max() < 0.3 and np.diag(cov)[0] < 1e-6  # epsilon damps small directions


@pytest.mark.parametrize("make", [StandardScaler, MinMaxScaler, MeanImageSubtraction, PCAWhitening, ZCAWhitening])
def test_errors_before_fit_and_on_wrong_features(make, correlated):
    train, _ = correlated
    t = make()
    with pytest.raises(RuntimeError, match=f"{make.__name__}.transform: call fit\\(x_train\\) first"):
        t.transform(train)
    t.fit(train)
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(6,\). Received: samples of shape \(5,\)"):
        t.transform(train[:, :5])
    with pytest.raises(ValueError, match="expected samples along axis 0"):
        t.transform(train[0])


def test_fit_uses_training_data_only(correlated):
    train, test = correlated
    s = StandardScaler().fit(train)
    before = s.mean_.copy()
    s.transform(test + 100)
    np.testing.assert_array_equal(s.mean_, before)


# ---------------------------------------------------------------- Normalization layer
def test_normalization_adapt_matches_standard_scaler(correlated):
    train, test = correlated
    norm = nn.Normalization()
    norm.adapt(train.astype(np.float32))
    out = norm(test.astype(np.float32))
    assert out.dtype == np.float32 and norm.mean.shape == (1, 6)
    np.testing.assert_allclose(out.numpy(), StandardScaler().fit(train).transform(test), rtol=1e-4, atol=1e-4)


def test_normalization_adapt_from_batches_equals_whole_array(correlated):
    train, _ = correlated
    whole = nn.Normalization().adapt(train)
    loader = nr.data.DataLoader(train, np.zeros(len(train)), batch_size=7)
    streamed = nn.Normalization().adapt(loader)
    np.testing.assert_allclose(streamed.mean, whole.mean, rtol=1e-6)
    np.testing.assert_allclose(streamed.variance, whole.variance, rtol=1e-5)


def test_normalization_axes_on_images():
    r = np.random.default_rng(3)
    x = (r.standard_normal((20, 5, 4, 3)) * [1, 2, 3] + [10, 20, 30]).astype(np.float32)
    per_channel = nn.Normalization().adapt(x)
    assert per_channel.mean.shape == (1, 1, 1, 3)
    y = per_channel(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(0, 1, 2)), 1, atol=1e-4)
    per_pixel = nn.Normalization(axis=(1, 2, 3)).adapt(x)
    assert per_pixel.mean.shape == (1, 5, 4, 3)
    scalar = nn.Normalization(axis=None).adapt(x)
    assert scalar.mean.shape == (1, 1, 1, 1)
    np.testing.assert_allclose(scalar(x).numpy().std(), 1, atol=1e-4)


def test_normalization_given_statistics_and_invert():
    x = np.array([[1.0, 2.0], [3.0, 6.0]], dtype=np.float32)
    norm = nn.Normalization(mean=[1.0, 2.0], variance=[4.0, 16.0])
    np.testing.assert_allclose(norm(x).numpy(), [[0, 0], [1, 1]])
    inv = nn.Normalization(mean=[1.0, 2.0], variance=[4.0, 16.0], invert=True)
    np.testing.assert_allclose(inv(norm(x)).numpy(), x)
    assert nn.Normalization()(x).numpy().tolist() == x.tolist()  # not adapted: the identity, as in Keras


def test_normalization_gradcheck_and_torch():
    r = np.random.default_rng(4)
    mean, var = r.standard_normal(5), r.uniform(0.5, 2.0, 5)
    nr.set_default_dtype(np.float64)
    try:
        norm = nn.Normalization(mean=mean, variance=var)
        assert gradcheck(lambda x: norm(x), r.standard_normal((3, 5)))
        compare_with_torch(lambda x: norm(x), lambda x: (x - torch.tensor(mean)) / torch.sqrt(torch.tensor(var)),
                           r.standard_normal((3, 5)))
        resc = nn.Rescaling(0.5, offset=-1.0)
        assert gradcheck(lambda x: resc(x), r.standard_normal((2, 3)))
        compare_with_torch(lambda x: resc(x), lambda x: x * 0.5 - 1.0, r.standard_normal((2, 3)))
    finally:
        nr.set_default_dtype(np.float32)


def test_normalization_is_saved_inside_the_model(correlated):
    train, test = correlated
    train, test = train.astype(np.float32), test.astype(np.float32)
    norm = nn.Normalization()
    norm.adapt(train)
    model = nn.Sequential([norm, nn.Dense(4)])
    model.eval()
    expected = model(test).numpy()
    state = model.state_dict()
    assert "0.mean" in state and "0.variance" in state
    rebuilt = deserialize_layer(serialize_layer(model))  # what load_model does: config, build, state
    rebuilt.build((None, 6))
    np.testing.assert_raises(AssertionError, np.testing.assert_allclose, rebuilt(test).numpy(), expected)
    rebuilt.load_state_dict(state)
    rebuilt.eval()
    np.testing.assert_array_equal(rebuilt(test).numpy(), expected)  # raw inputs in, same predictions out


def test_normalization_save_and_load_model(tmp_path, correlated):
    from neurona.training.saving import load_model, save_model

    train, test = (a.astype(np.float32) for a in correlated)
    model = nn.Sequential([nn.Normalization(), nn.Dense(3)])
    model.layers[0].adapt(train)
    model.build((None, 6))
    model.eval()
    save_model(model, tmp_path / "m.neurona")
    loaded = load_model(tmp_path / "m.neurona")
    loaded.eval()
    np.testing.assert_array_equal(loaded(test).numpy(), model(test).numpy())


def test_normalization_errors():
    norm = nn.Normalization().adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"Normalization layer 'normalization\w*': expected inputs of shape \(N, 3\)"):
        norm(np.ones((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="both mean and variance"):
        nn.Normalization(mean=[0.0])
    with pytest.raises(ValueError, match="batch axis 0"):
        nn.Normalization(axis=0).adapt(np.ones((4, 3)))
    with pytest.raises(ValueError, match="received no data"):
        nn.Normalization().adapt([])
    with pytest.raises(ValueError, match="do not fit"):
        nn.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0])(np.ones((2, 3), dtype=np.float32))


def test_normalization_config_round_trip():
    norm = nn.Normalization(axis=(1, 2), mean=1.5, variance=4.0, invert=True, name="norm")
    again = nn.Normalization.from_config(norm.get_config())
    assert again.get_config() == norm.get_config()
    x = np.ones((2, 3, 4), dtype=np.float32)
    np.testing.assert_array_equal(again(x).numpy(), norm(x).numpy())
    assert isinstance(norm(Tensor(x)), Tensor)


def test_input_shape_builds_the_model_before_adapt(correlated):
    train, test = (a.astype(np.float32) for a in correlated)
    model = nn.Sequential([nn.Normalization(input_shape=(6,)), nn.Dense(2)])
    assert model.layers[1].kernel.shape == (6, 2)  # built at construction, like Keras's input_shape=
    model.layers[0].adapt(train)
    np.testing.assert_allclose(model.layers[0](test).numpy(), StandardScaler().fit(train).transform(test),
                               rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"expected inputs of shape \(N, 6\)"):
        model.layers[0].adapt(np.ones((5, 4)))


@pytest.mark.parametrize("make", [PCAWhitening, ZCAWhitening])
def test_whitening_without_epsilon_rejects_rank_deficient_data(make):
    x = np.random.default_rng(5).standard_normal((30, 3))
    x = np.concatenate([x, x[:, :1]], axis=1)  # a duplicated feature: zero variance along x0 - x3
    with pytest.raises(ValueError, match="no variance along some direction.*epsilon > 0"):
        make(epsilon=0.0).fit(x)
    assert np.isfinite(make(epsilon=1e-3).fit_transform(x)).all()
