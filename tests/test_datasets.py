"""Datasets: IDX files, the MNIST-style loaders and their search order, digits, image folders, CSV, teaching sets."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

import neurona as nr
from neurona.data import datasets, toy
from neurona.data.datasets import DatasetNotFoundError, find_dataset, load_digits, load_fashion_mnist, load_mnist
from neurona.data.folders import load_image_folder
from neurona.data.idx import IDXError, read_idx, write_idx
from neurona.data.tables import load_csv

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
IDX_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
             "t10k-labels-idx1-ubyte.gz")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No NEURONA_DATA, an empty cache, no system folders: only what the test puts there exists."""
    monkeypatch.delenv("NEURONA_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", (str(tmp_path / "system"),))
    return tmp_path


def make_idx_dataset(folder: Path, n_train=12, n_test=5, seed=0, gz=True) -> dict:
    """Four IDX files of random 28x28 images and labels; returns the arrays written."""
    r = np.random.default_rng(seed)
    arrays = {"train-images-idx3-ubyte": r.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": r.integers(0, 10, n_train).astype(np.uint8),
              "t10k-images-idx3-ubyte": r.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": r.integers(0, 10, n_test).astype(np.uint8)}
    folder.mkdir(parents=True, exist_ok=True)
    for name, a in arrays.items():
        write_idx(folder / (name + (".gz" if gz else "")), a)
    return arrays


# ---------------------------------------------------------------- IDX format
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, suffix):
    a = (np.random.default_rng(0).standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = write_idx(tmp_path / f"a.idx{suffix}", a)
    b = read_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    assert b.flags.writeable
    assert not list(tmp_path.glob(".*tmp"))


def test_idx_header_is_the_published_layout(tmp_path):
    write_idx(tmp_path / "labels", np.array([7, 2, 1], dtype=np.uint8))
    raw = (tmp_path / "labels").read_bytes()
    assert raw == bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 1])


@pytest.mark.parametrize("data, message", [
    (b"\x00\x00", "too short"),
    (b"\x01\x02\x08\x01\x00\x00\x00\x01\x05", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "not an IDX file"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated inside its header"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x04\x01\x02", "truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "longer than its header says"),
])
def test_idx_malformed_files_are_named(tmp_path, data, message):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(data)
    with pytest.raises(IDXError, match=message) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_idx_truncated_gzip(tmp_path):
    full = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 200]) + bytes(200))
    path = tmp_path / "cut.gz"
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(IDXError, match="damaged or truncated gzip"):
        read_idx(path)


def test_idx_errors_for_missing_file_and_bad_dtype(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_idx(tmp_path / "nope")
    with pytest.raises(TypeError, match="Received: dtype=int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


# ---------------------------------------------------------------- MNIST-style loaders
@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="the real Fashion-MNIST files are not installed "
                    "(Debian package dataset-fashion-mnist, /usr/share/datasets/fashion-mnist)")
def test_real_fashion_mnist(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURONA_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # an empty cache: found in the system folder
    loc = find_dataset("fashion-mnist")
    assert loc.source == "system" and loc.directory == FASHION_DIR
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert set(np.unique(y_train)) == set(range(10)) and set(np.unique(y_test)) == set(range(10))
    assert np.bincount(y_train).tolist() == [6000] * 10  # Fashion-MNIST is exactly balanced
    assert abs(x_train.mean() / 255 - 0.2860) < 1e-3  # its published mean pixel value
    info = {d["name"]: d for d in nr.data.dataset_info()}
    assert info["fashion-mnist"]["available"] and info["fashion-mnist"]["source"] == "system"


@pytest.mark.parametrize("gz", [True, False])
def test_loader_on_generated_idx_files(isolated, gz):
    arrays = make_idx_dataset(isolated / "mine", gz=gz)
    (x_train, y_train), (x_test, y_test) = load_mnist(path=isolated / "mine")
    np.testing.assert_array_equal(x_train, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_test, arrays["t10k-labels-idx1-ubyte"])
    assert y_train.dtype == np.int64 and x_test.shape == (5, 28, 28)


def test_search_order(isolated, monkeypatch):
    system = make_idx_dataset(isolated / "system" / "mnist", seed=1)
    assert find_dataset("mnist").source == "system"
    cached = make_idx_dataset(isolated / "cache" / "neurona" / "mnist", seed=2)
    assert find_dataset("mnist").source == "cache"
    mine = make_idx_dataset(isolated / "env" / "mnist", seed=3)
    monkeypatch.setenv("NEURONA_DATA", str(isolated / "env"))
    loc = find_dataset("mnist")
    assert loc.source == "NEURONA_DATA" and loc.directory == isolated / "env" / "mnist"
    (x, _), _ = load_mnist(download=False)
    np.testing.assert_array_equal(x, mine["train-images-idx3-ubyte"])
    assert not np.array_equal(x, cached["train-images-idx3-ubyte"])
    assert not np.array_equal(x, system["train-images-idx3-ubyte"])
    assert find_dataset("fashion-mnist") is None  # a folder per dataset: MNIST's files are not Fashion-MNIST's


def test_incomplete_folder_is_skipped(isolated):
    make_idx_dataset(isolated / "system" / "mnist")
    (isolated / "cache" / "neurona" / "mnist").mkdir(parents=True)
    write_idx(isolated / "cache" / "neurona" / "mnist" / "train-images-idx3-ubyte.gz", np.zeros((1, 2, 2), np.uint8))
    assert find_dataset("mnist").source == "system"


def test_not_found_without_download_says_where_to_put_files(isolated):
    with pytest.raises(DatasetNotFoundError) as err:
        load_mnist(download=False)
    msg = str(err.value)
    for name in IDX_NAMES:
        assert name in msg
    assert str(isolated / "cache" / "neurona" / "mnist") in msg and "NEURONA_DATA" in msg
    with pytest.raises(DatasetNotFoundError, match="does not hold the MNIST files"):
        load_mnist(path=isolated / "empty")


def test_wrong_contents_are_reported(isolated):
    make_idx_dataset(isolated / "d")
    write_idx(isolated / "d" / "train-labels-idx1-ubyte.gz", np.zeros(3, np.uint8))
    with pytest.raises(ValueError, match="should hold 12 labels"):
        load_mnist(path=isolated / "d")
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        find_dataset("cifar")


def test_dataset_info_reports_each_dataset(isolated):
    make_idx_dataset(isolated / "cache" / "neurona" / "fashion-mnist")
    info = {d["name"]: d for d in nr.data.dataset_info()}
    assert set(info) == {"digits", "mnist", "fashion-mnist"}
    assert info["digits"]["available"] and info["digits"]["source"] == "embedded"
    assert info["fashion-mnist"]["source"] == "cache"
    assert info["fashion-mnist"]["location"] == str(isolated / "cache" / "neurona" / "fashion-mnist")
    assert not info["mnist"]["available"] and "downloaded on first use" in info["mnist"]["location"]


# ---------------------------------------------------------------- digits
def test_digits_embedded_and_stratified():
    (x_train, y_train), (x_test, y_test) = load_digits()
    assert x_train.shape == (1438, 8, 8) and x_test.shape == (359, 8, 8)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert x_train.max() == 255 and x_train.min() == 0
    counts_train, counts_test = np.bincount(y_train), np.bincount(y_test)
    np.testing.assert_allclose(counts_test / (counts_train + counts_test), 0.2, atol=0.01)
    (x2, y2), (x3, y3) = load_digits()
    np.testing.assert_array_equal(x2, x_train)  # the split is fixed
    np.testing.assert_array_equal(y3, y_test)
    from sklearn.datasets import load_digits as sk
    raw = sk().images
    assert len(x_train) + len(x_test) == len(raw)
    np.testing.assert_array_equal(np.sort(np.concatenate([x_train, x_test]).reshape(-1)),
                                  np.sort(np.rint(raw * 255 / 16).astype(np.uint8).reshape(-1)))


# ---------------------------------------------------------------- image folders
def write_images(root: Path, size=(6, 5)) -> dict:
    """3 classes with PNG and JPEG files; pixel value = 60 * class (JPEG-safe flat colours)."""
    from PIL import Image

    counts = {"cat": 4, "dog": 3, "emu": 5}
    for k, (name, n) in enumerate(sorted(counts.items())):
        (root / name).mkdir(parents=True)
        for i in range(n):
            img = Image.new("RGB", (size[1], size[0]), (60 * k, 60 * k, 60 * k))
            img.save(root / name / f"{i}.{'png' if i % 2 else 'jpg'}")
        (root / name / "notes.txt").write_text("not an image")
    return counts


def test_image_folder_grayscale_and_rgb(tmp_path):
    counts = write_images(tmp_path / "pets")
    (x, y), names = load_image_folder(tmp_path / "pets")
    assert names == ["cat", "dog", "emu"]
    assert x.shape == (12, 6, 5) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [counts[n] for n in names]
    for k in range(3):  # labels follow the folder each image came from
        assert np.abs(x[y == k].astype(int) - 60 * k).max() <= 2
    (xr, yr), _ = load_image_folder(tmp_path / "pets", image_size=(8, 9), color_mode="rgb")
    assert xr.shape == (12, 8, 9, 3) and xr.dtype == np.uint8
    np.testing.assert_array_equal(yr, y)


def test_image_folder_validation_split(tmp_path):
    write_images(tmp_path / "pets")
    (xt, yt), (xv, yv), names = load_image_folder(tmp_path / "pets", validation_split=0.4, seed=3)
    assert len(xt) + len(xv) == 12 and len(yv) == 5  # round(0.4 * 4) + round(0.4 * 3) + round(0.4 * 5)
    assert set(yv.tolist()) == {0, 1, 2}
    (_, _), (xv2, yv2), _ = load_image_folder(tmp_path / "pets", validation_split=0.4, seed=3)
    np.testing.assert_array_equal(xv, xv2)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_image_folder(tmp_path / "missing")
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="one subfolder per class"):
        load_image_folder(tmp_path / "flat")
    write_images(tmp_path / "pets")
    from PIL import Image
    Image.new("L", (7, 7)).save(tmp_path / "pets" / "cat" / "big.png")
    with pytest.raises(ValueError, match="differ in size.*image_size"):
        load_image_folder(tmp_path / "pets")
    (tmp_path / "pets" / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read .*broken.png"):
        load_image_folder(tmp_path / "pets", image_size=(4, 4))
    (tmp_path / "pets2" / "empty").mkdir(parents=True)
    with pytest.raises(ValueError, match="holds no images"):
        load_image_folder(tmp_path / "pets2")
    with pytest.raises(ValueError, match="color_mode"):
        load_image_folder(tmp_path / "pets", color_mode="cmyk")


# ---------------------------------------------------------------- CSV tables
def write_csv(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_classification_and_regression(tmp_path):
    path = write_csv(tmp_path, "a,b,label\n1,2.5,0\n3,4,1\n\n5,6.5,2\n")
    x, y = load_csv(path, target="label")
    np.testing.assert_array_equal(x, [[1, 2.5], [3, 4], [5, 6.5]])
    assert x.dtype == np.float32 and y.dtype == np.int64 and y.tolist() == [0, 1, 2]
    x, y = load_csv(path, target="b")
    assert y.dtype == np.float32 and x.shape == (3, 2)
    x, y = load_csv(path, target="label", task="regression")
    assert y.dtype == np.float32
    x, y, features, classes = load_csv(path, target=0, drop=["b"], return_names=True)
    assert features == ["label"] and classes is None and y.dtype == np.int64


def test_csv_text_target_is_encoded(tmp_path):
    path = write_csv(tmp_path, "x1,x2,species\n1,2,setosa\n3,4,virginica\n5,6,setosa\n")
    x, y, _, classes = load_csv(path, target="species", return_names=True)
    assert classes == ["setosa", "virginica"] and y.tolist() == [0, 1, 0]


@pytest.mark.parametrize("text, kwargs, message", [
    ("a,b\n1,2\n", {"target": "price"}, "no column 'price'.*Columns: a, b"),
    ("a,b,y\n1,2,0\n3,,1\n", {"target": "y"}, "line 3: column 'b' has a missing value"),
    ("a,b,y\n1,2,0\n3,NA,1\n", {"target": "y"}, "line 3: column 'b' has a missing value"),
    ("a,y\n1,0\n2,\n", {"target": "y"}, "line 3: column 'y' has a missing value"),
    ("a,color,y\n1,red,0\n2,blue,1\n", {"target": "y"}, "column 'color' .* is not numeric \\(line 2 has 'red'\\)"),
    ("a,b,y\n1,2,0\n3,4\n", {"target": "y"}, "line 3 has 2 fields, the header has 3"),
    ("a,y\n1,0.5\n", {"target": "y", "task": "classification"}, "fractional values"),
    ("a,y\n1,cat\n", {"target": "y", "task": "regression"}, "holds text"),
    ("", {"target": "y"}, "is empty"),
    ("a,y\n", {"target": "y"}, "no data rows"),
    ("a,y\n1,0\n", {"target": "y", "drop": ["zz"]}, "cannot drop \\['zz'\\]"),
    ("a,y\ninf,0\n", {"target": "y"}, "infinite"),
])
def test_csv_errors_name_row_and_column(tmp_path, text, kwargs, message):
    path = write_csv(tmp_path, text)
    with pytest.raises(ValueError, match=message):
        load_csv(path, **kwargs)


def test_csv_dropping_a_text_column(tmp_path):
    path = write_csv(tmp_path, "id,a,y\nx1,1,0\nx2,2,1\n")
    x, y = load_csv(path, target="y", drop=["id"])
    assert x.tolist() == [[1.0], [2.0]]


# ---------------------------------------------------------------- teaching sets
@pytest.mark.parametrize("gate, expected", [("and", [0, 0, 0, 1]), ("or", [0, 1, 1, 1]), ("xor", [0, 1, 1, 0])])
def test_truth_tables(gate, expected):
    X, y = toy.truth_table(gate)
    assert X.dtype == np.float32 and y.dtype == np.int64 and y.tolist() == expected
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    Xb, yb = getattr(toy, f"make_{gate}")(bipolar=True)
    np.testing.assert_array_equal(Xb, 2 * X - 1)
    assert yb.tolist() == [2 * v - 1 for v in expected]


def test_noise_free_sets_match_scikit_learn():
    from sklearn import datasets as skd

    for ours, theirs in [(toy.make_moons(101, noise=0.0, shuffle=False), skd.make_moons(101, shuffle=False)),
                         (toy.make_circles(100, noise=0.0, factor=0.3, shuffle=False),
                          skd.make_circles(100, shuffle=False, factor=0.3))]:
        np.testing.assert_allclose(ours[0], theirs[0], atol=1e-6)
        np.testing.assert_array_equal(ours[1], theirs[1])


@pytest.mark.parametrize("make", [toy.make_circles, toy.make_moons, toy.make_spirals, toy.make_blobs])
def test_random_sets_shapes_seed_and_noise(make):
    X, y = make(n_samples=150, seed=4)
    assert X.shape == (150, 2) and X.dtype == np.float32 and y.shape == (150,) and y.dtype == np.int64
    X2, y2 = make(n_samples=150, seed=4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(make(n_samples=150, seed=5)[0], X)
    nr.manual_seed(7)
    a = make(n_samples=150)
    nr.manual_seed(7)
    b = make(n_samples=150)
    np.testing.assert_array_equal(a[0], b[0])
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1  # balanced classes


def test_noise_spreads_points_and_blobs_cluster():
    X0, y0 = toy.make_circles(200, noise=0.0, factor=0.5, shuffle=False)
    X1, y1 = toy.make_circles(200, noise=0.1, factor=0.5, shuffle=False, seed=0)
    r0, r1 = np.linalg.norm(X0, axis=1), np.linalg.norm(X1, axis=1)
    np.testing.assert_allclose(r0[y0 == 0], 1.0, atol=1e-6)
    assert 0.05 < np.std(r1[y1 == 0] - 1.0) < 0.15
    centers = np.array([[-5.0, 0.0], [5.0, 0.0]])
    X, y = toy.make_blobs(400, centers=centers, cluster_std=0.5, seed=0)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(0), centers[k], atol=0.1)
        np.testing.assert_allclose(X[y == k].std(0), 0.5, atol=0.06)
    Xs, ys = toy.make_spirals(300, n_classes=3, noise=0.0, shuffle=False)
    assert np.linalg.norm(Xs, axis=1).max() <= 1.0 + 1e-6 and set(ys.tolist()) == {0, 1, 2}


def test_teaching_set_errors():
    with pytest.raises(ValueError, match="gate must be one of"):
        toy.truth_table("xnor-ish")
    with pytest.raises(ValueError, match="noise must be >= 0"):
        toy.make_moons(noise=-1)
    with pytest.raises(ValueError, match="factor must be in"):
        toy.make_circles(factor=1.5)
    with pytest.raises(ValueError, match="shape \\(K, 2\\)"):
        toy.make_blobs(centers=np.zeros((3, 3)))



def test_csv_in_latin1_names_the_file_and_the_encoding(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("ciudad,año,y\nLeón,1,0\nCádiz,2,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin.csv is not UTF-8 text: byte 0xf1 .*save the file as UTF-8"):
        load_csv(path, target="y")


@pytest.mark.parametrize("data, message", [
    (b"a,y\n1,0\n2\x00,1\n", "column .a. .* is not numeric"),
    (b"a,y\n" + b"1" * 200_000 + b",0\n", "not a readable CSV table"),
])
def test_csv_damaged_tables_are_value_errors(tmp_path, data, message):
    path = tmp_path / "t.csv"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message):
        load_csv(path, target="y")


def test_csv_folder_or_fifo_is_refused_without_blocking(tmp_path):
    with pytest.raises(ValueError, match="not a regular file"):
        load_csv(tmp_path, target="y")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        load_csv(fifo, target="y")
    with pytest.raises(ValueError, match="not a regular file"):
        nr.data.load_image(fifo)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    from PIL import Image

    values = np.array([[0, 257, 32768, 65535], [1000, 20000, 40000, 60000]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    img = nr.data.load_image(tmp_path / "g16.png")
    np.testing.assert_array_equal(img, np.rint(values / 257.0).astype(np.uint8))
    rgb = nr.data.load_image(tmp_path / "g16.png", color_mode="rgb")
    np.testing.assert_array_equal(rgb, np.repeat(img[..., None], 3, axis=-1))
    assert nr.data.load_image(tmp_path / "g16.png", image_size=(4, 8)).shape == (4, 8)


def test_image_over_the_decompression_bomb_limit_is_refused(tmp_path, monkeypatch):
    from PIL import Image

    Image.new("L", (64, 64)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 4096 pixels: over the limit, under twice it
    with pytest.raises(ValueError, match="big.png is too large to open safely"):
        nr.data.load_image(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # over twice the limit: Pillow's error
    with pytest.raises(ValueError, match="big.png is too large to open safely"):
        nr.data.load_image(tmp_path / "big.png")
