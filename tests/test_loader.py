"""DataLoader: batching, shuffling, drop_last, transforms, determinism, and a PyTorch-style loop on it."""

import numpy as np
import pytest

import neurona as nr
from neurona import functional as F
from neurona import nn, optim
from neurona.autograd import Tensor
from neurona.data import DataLoader, load_digits
from neurona.data.transforms import Compose, Normalize, Rescale


def data(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return x, np.arange(n, dtype=np.int64)


def test_batches_in_order():
    x, y = data(10)
    loader = DataLoader(x, y, batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in batches]), x)
    assert all(isinstance(xb, np.ndarray) and xb.dtype == np.float32 for xb, _ in batches)


def test_drop_last():
    x, y = data(10)
    loader = DataLoader(x, y, batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(yb) for _, yb in loader] == [4, 4]
    assert len(DataLoader(x, y, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(x, y, batch_size=20, drop_last=True)) == 0 and list(DataLoader(x, batch_size=20,
                                                                                         drop_last=True)) == []


def test_shuffle_is_a_new_permutation_each_epoch_and_keeps_pairs():
    x, y = data(50)
    loader = DataLoader(x, y, batch_size=8, shuffle=True)
    epochs = []
    for _ in range(2):
        ys = np.concatenate([yb for _, yb in loader])
        epochs.append(ys)
        assert sorted(ys.tolist()) == list(range(50))  # every sample once per epoch
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[0], np.arange(50))
    for xb, yb in loader:
        np.testing.assert_array_equal(xb[:, 0], 3 * yb)  # x and y stay paired


def test_shuffle_is_repeatable():
    x, y = data(40)
    nr.manual_seed(3)
    a = [yb.tolist() for _, yb in DataLoader(x, y, batch_size=8, shuffle=True)]
    nr.manual_seed(3)
    b = [yb.tolist() for _, yb in DataLoader(x, y, batch_size=8, shuffle=True)]
    assert a == b
    own1 = DataLoader(x, y, batch_size=8, shuffle=True, seed=5)
    own2 = DataLoader(x, y, batch_size=8, shuffle=True, seed=5)
    for _ in range(2):  # both loaders walk the same sequence of epochs
        assert [yb.tolist() for _, yb in own1] == [yb.tolist() for _, yb in own2]


def test_x_only_and_tensors():
    x, y = data(6)
    batches = list(DataLoader(x, batch_size=4))
    assert isinstance(batches[0], np.ndarray) and batches[0].shape == (4, 3)
    xb, yb = next(iter(DataLoader(x.astype(np.uint8), y, batch_size=4, tensors=True)))
    assert isinstance(xb, Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64


def test_transform_is_applied_once_per_batch():
    x, y = data(10)
    calls = []

    def double(xb):
        calls.append(xb.shape)
        return xb * 2

    out = list(DataLoader(x, y, batch_size=4, transform=double))
    assert calls == [(4, 3), (4, 3), (2, 3)]  # whole batches, not samples
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in out]), 2 * x)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in out]), y)
    np.testing.assert_array_equal(x, data(10)[0])  # the data itself is untouched


def test_augmentation_layers_as_transforms_keep_labels():
    # each image is flat at the value of its label: flips, rotations and shifts keep that, so labels must match
    y = np.arange(64) % 10
    x = np.broadcast_to(y[:, None, None], (64, 12, 12)).astype(np.uint8) * 20
    aug = Compose([nn.RandomFlip(), nn.RandomRotation(0.2), nn.RandomTranslation(0.2, 0.2), nn.RandomZoom(0.2),
                   Rescale(1 / 20)])
    for xb, yb in DataLoader(x, y, batch_size=16, shuffle=True, transform=aug):
        assert xb.shape == (len(yb), 12, 12) and xb.dtype == np.float32
        np.testing.assert_allclose(xb, np.broadcast_to(yb[:, None, None], xb.shape), atol=1e-4)


def test_transforms_rescale_and_normalize():
    x = np.full((2, 2, 2, 3), 255, dtype=np.uint8)
    out = Compose([Rescale(1 / 255), Normalize([0.5, 0.5, 0.0], [0.5, 0.25, 1.0])])(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0, 0], [1.0, 2.0, 1.0], rtol=1e-6)
    with pytest.raises(ValueError, match="std must be > 0"):
        Normalize([0.0], [0.0])
    with pytest.raises(TypeError, match="must be callable"):
        Compose([1])


@pytest.mark.parametrize("kwargs, message", [
    ({"y": np.zeros(3)}, "same number of samples"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"batch_size": 2.5}, "batch_size must be a positive integer"),
    ({"transform": "flip"}, "transform must be callable"),
])
def test_errors(kwargs, message):
    x, _ = data(5)
    with pytest.raises((ValueError, TypeError), match=message):
        DataLoader(x, **kwargs)


def test_pytorch_style_loop_learns_digits():
    (x_train, y_train), (x_test, y_test) = load_digits()
    x_train = x_train.reshape(len(x_train), -1)
    loader = DataLoader(x_train, y_train, batch_size=64, shuffle=True, transform=Rescale(1 / 255))
    model = nn.Sequential([nn.Dense(32, activation="relu"), nn.Dense(10)])
    opt = None
    losses = []
    for _ in range(5):
        total = 0.0
        for xb, yb in loader:
            logits = model(nr.tensor(xb))  # to the default device
            opt = opt or optim.Adam(model.parameters(), lr=1e-2)
            opt.zero_grad()
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            total += float(loss.item()) * len(yb)
        losses.append(total / len(y_train))
    assert losses[-1] < 0.5 * losses[0]
    with nr.no_grad():
        pred = model(nr.tensor(x_test.reshape(len(x_test), -1) / 255)).numpy().argmax(1)
    assert (pred == y_test).mean() > 0.85
