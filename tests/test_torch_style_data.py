"""PyTorch-style data pipeline: Dataset/TensorDataset/Subset, DataLoader over a dataset, ToTensor, nr.datasets."""

import numpy as np
import pytest

import neurona as nr
from neurona.autograd import Tensor
from neurona.data import DataLoader, Dataset, Subset, TensorDataset
from neurona.data.transforms import Compose, Normalize, Rescale, ToTensor, batchable

FMNIST = nr.data.find_dataset("fashion-mnist")
needs_fmnist = pytest.mark.skipif(FMNIST is None, reason="Fashion-MNIST IDX files not installed")


def test_tensor_dataset_indexing_and_loader_batches_are_tensors():
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10)
    ds = TensorDataset(x, y)
    xi, yi = ds[3]
    assert isinstance(xi, Tensor) and xi.tolist() == [9.0, 10.0, 11.0] and yi.item() == 3
    loader = DataLoader(ds, batch_size=4, shuffle=False, num_workers=2, pin_memory=True)
    assert loader.dataset is ds and len(loader) == 3
    batches = list(loader)
    assert [b[1].shape for b in batches] == [(4,), (4,), (2,)]
    assert all(isinstance(xb, Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64 for xb, yb in batches)
    np.testing.assert_array_equal(np.concatenate([xb.numpy() for xb, _ in batches]), x)
    assert batches[0][0].to(batches[0][0].device) is batches[0][0]  # already there: no copy


def test_dataset_loader_defaults_and_positional_batch_size_follow_pytorch():
    ds = TensorDataset(np.zeros((5, 2)), np.zeros(5))
    assert len(DataLoader(ds)) == 5  # batch_size=1 by default, as torch
    assert len(DataLoader(ds, 2)) == 3 and len(DataLoader(ds, 2, drop_last=True)) == 2
    assert len(DataLoader(np.zeros((64, 2)))) == 2  # arrays keep the Keras default of 32
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, batch_size=2, num_workers=-1)
    with pytest.raises(ValueError, match="same number of samples"):
        TensorDataset(np.zeros(3), np.zeros(4))


def test_shuffled_dataset_loader_keeps_pairs_and_covers_every_sample():
    nr.manual_seed(0)
    x = np.arange(50, dtype=np.float32)[:, None] * 2
    loader = DataLoader(TensorDataset(x, np.arange(50)), batch_size=8, shuffle=True)
    ys = []
    for xb, yb in loader:
        np.testing.assert_array_equal(xb.numpy()[:, 0], 2 * yb.numpy())
        ys.extend(yb.tolist())
    assert sorted(ys) == list(range(50)) and ys != list(range(50))


class Squares(Dataset):
    """A user's dataset with only __len__ and __getitem__: the loader collates its samples."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float32), i


def test_user_dataset_collates_and_subset_selects():
    xb, yb = next(iter(DataLoader(Squares(), batch_size=3)))
    assert xb.shape == (3, 2) and xb.tolist() == [[0, 0], [1, 1], [2, 4]] and yb.tolist() == [0, 1, 2]
    sub = Subset(Squares(), [6, 2])
    assert len(sub) == 2 and sub[0][1] == 6
    xb, yb = next(iter(DataLoader(sub, batch_size=2)))
    assert yb.tolist() == [6, 2] and xb.tolist() == [[6, 36], [2, 4]]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


def test_to_tensor_is_channels_last_and_scales_uint8():
    img = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    t = ToTensor()(img)
    assert isinstance(t, Tensor) and t.shape == (2, 2, 1) and t.dtype == np.float32
    np.testing.assert_allclose(t.numpy()[..., 0], img / 255, rtol=1e-6)
    assert ToTensor()(np.zeros((4, 5, 5, 3), dtype=np.uint8)).shape == (4, 5, 5, 3)
    with pytest.raises(ValueError, match="Received: shape=\\(3,\\)"):
        ToTensor()(np.zeros(3))
    n = Normalize((0.5,), (0.25,))(t)
    assert isinstance(n, Tensor)
    np.testing.assert_allclose(n.numpy(), (t.numpy() - 0.5) / 0.25, rtol=1e-6)


def test_to_tensor_normalize_match_torchvision_formula():
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    ours = Compose([ToTensor(), Normalize((0.1, 0.2, 0.3), (0.5, 0.6, 0.7))])(img)
    # torchvision's ToTensor: HWC uint8 -> CHW / 255; Normalize per channel (written out: no torchvision here)
    ref = torch.from_numpy(img).permute(2, 0, 1).float().div(255)
    ref = (ref - torch.tensor([0.1, 0.2, 0.3])[:, None, None]) / torch.tensor([0.5, 0.6, 0.7])[:, None, None]
    np.testing.assert_allclose(ours, ref.permute(1, 2, 0).numpy(), rtol=1e-6, atol=1e-6)


def test_batchable():
    assert batchable(None) and batchable(Compose([ToTensor(), Normalize(0.5, 0.5), Rescale(2.0)]))
    assert not batchable(lambda x: x) and not batchable(Compose([ToTensor(), lambda x: x]))


def test_image_dataset_batch_path_equals_sample_by_sample():
    rng = np.random.default_rng(1)
    data, targets = rng.integers(0, 256, (9, 4, 4), dtype=np.uint8), rng.integers(0, 3, 9)
    tf = Compose([ToTensor(), Normalize((0.3,), (0.2,))])
    fast = nr.datasets.ImageDataset(data, targets, transform=tf)
    slow = nr.datasets.ImageDataset(data, targets, transform=lambda im: tf(im))
    idx = np.array([4, 0, 8])
    (xf, yf), (xs, ys) = fast.get_batch(idx), slow.get_batch(idx)
    assert xf.shape == (3, 4, 4, 1)
    np.testing.assert_array_equal(xf.numpy(), xs.numpy())
    np.testing.assert_array_equal(yf.numpy(), ys.numpy())
    np.testing.assert_array_equal(yf.numpy(), targets[idx])


@needs_fmnist
def test_fashion_mnist_dataset_reads_the_idx_files(tmp_path):
    test = nr.datasets.FashionMNIST(root=str(tmp_path), train=False, download=False, transform=ToTensor())
    (_, _), (x_test, y_test) = nr.data.load_fashion_mnist()
    assert len(test) == 10000 and test.classes[0] == "T-shirt/top"
    img, label = test[5]
    assert img.shape == (28, 28, 1) and label == y_test[5]
    np.testing.assert_allclose(img.numpy()[..., 0], x_test[5] / 255, rtol=1e-6)
    xb, yb = next(iter(DataLoader(test, batch_size=64)))
    assert xb.shape == (64, 28, 28, 1) and xb.dtype == np.float32
    np.testing.assert_array_equal(yb.numpy(), y_test[:64])
    # root pointing at the folder itself works too; a wrong explicit folder is not silently replaced
    assert len(nr.datasets.FashionMNIST(str(FMNIST.directory), train=True)) == 60000


@needs_fmnist
def test_keras_style_load_data_is_the_data_loader():
    (a, b), (c, d) = nr.datasets.fashion_mnist.load_data()
    (a2, b2), (c2, d2) = nr.data.load_fashion_mnist()
    for u, v in ((a, a2), (b, b2), (c, c2), (d, d2)):
        np.testing.assert_array_equal(u, v)
    assert callable(nr.datasets.mnist.load_data)


def test_missing_dataset_names_the_folders(tmp_path, monkeypatch):
    monkeypatch.setattr(nr.data.datasets, "SYSTEM_DATA_DIRS", ())
    monkeypatch.setenv("NEURONA_DATA", str(tmp_path))
    monkeypatch.setattr(nr.data.datasets, "cache_dir", lambda: tmp_path / "cache")
    with pytest.raises(nr.data.DatasetNotFoundError, match="download=False"):
        nr.datasets.MNIST(root=str(tmp_path), train=True, download=False)
