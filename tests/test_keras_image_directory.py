"""nr.utils.image_dataset_from_directory as Keras defines it, load_img/img_to_array, and fit on the
datasets it returns (issue 16)."""

import numpy as np
import pytest
from PIL import Image

import neurona as nr
from neurona import nn
from neurona.utils import image_dataset_from_directory

CLASSES = ["cat", "dog", "fox"]


def _write(root, counts=(5, 4, 3), sizes=((12, 10), (9, 14))):
    """Each class's images are one flat grey level (40, 120, 200): a resized image keeps it, so any
    batch shows which label each image must carry."""
    for k, (name, n) in enumerate(zip(CLASSES, counts)):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(n):
            h, w = sizes[i % len(sizes)]
            img = np.full((h, w, 3), 40 + 80 * k, np.uint8)
            Image.fromarray(img).save(folder / f"{i:03d}.{'png' if i % 2 else 'bmp'}")
    (root / "notes.txt").write_text("not an image, ignored")
    return root


def _level(images):
    return np.round((images.numpy()[..., 0].mean(axis=(1, 2)) - 40) / 80).astype(int)


def test_inferred_labels_follow_the_folders(tmp_path):
    root = _write(tmp_path / "pets")
    (root / "dog" / "readme.md").write_text("ignored too")
    ds = image_dataset_from_directory(root, image_size=(8, 6), batch_size=5, seed=3)
    assert ds.class_names == CLASSES and len(ds.file_paths) == 12 and len(ds) == 3
    seen = []
    for images, labels in ds:
        assert images.dtype == np.float32 and images.shape[1:] == (8, 6, 3) and labels.dtype == np.int32
        np.testing.assert_array_equal(_level(images), labels.numpy())
        seen += list(labels.numpy())
    assert sorted(seen) == [0] * 5 + [1] * 4 + [2] * 3


def test_label_and_color_modes(tmp_path):
    root = _write(tmp_path / "pets")
    images, labels = next(iter(image_dataset_from_directory(root, label_mode="categorical", image_size=(4, 4),
                                                            color_mode="grayscale", shuffle=False)))
    assert images.shape == (12, 4, 4, 1) and labels.shape == (12, 3) and labels.dtype == np.float32
    np.testing.assert_array_equal(labels.numpy().argmax(axis=1), [0] * 5 + [1] * 4 + [2] * 3)
    images = next(iter(image_dataset_from_directory(root, labels=None, image_size=(4, 4), color_mode="rgba")))
    assert images.shape == (12, 4, 4, 4) and np.all(images.numpy()[..., 3] == 255)
    with pytest.raises(ValueError, match="label_mode='binary' needs exactly 2 classes"):
        image_dataset_from_directory(root, label_mode="binary")


def test_binary_labels_and_class_names_order(tmp_path):
    root = tmp_path / "two"
    _write(root, counts=(3, 2, 0))
    (root / "fox").rmdir()
    ds = image_dataset_from_directory(root, label_mode="binary", class_names=["dog", "cat"], image_size=(4, 4),
                                      shuffle=False)
    images, labels = next(iter(ds))
    assert ds.class_names == ["dog", "cat"] and labels.shape == (5, 1)
    np.testing.assert_array_equal(labels.numpy()[:, 0], [0, 0, 1, 1, 1])  # dog first, as class_names says
    np.testing.assert_array_equal(_level(images), [1, 1, 0, 0, 0])
    with pytest.raises(ValueError, match=r"class_names must be the names of the subfolders.*\['cat', 'dog'\]"):
        image_dataset_from_directory(root, class_names=["cat", "wolf"])


def test_explicit_labels_in_sorted_path_order(tmp_path):
    root = _write(tmp_path / "pets")
    n = 12
    ds = image_dataset_from_directory(root, labels=list(range(n)), image_size=(4, 4), shuffle=False, batch_size=4)
    paths = [p for p in ds.file_paths]
    assert paths == sorted(paths)
    np.testing.assert_array_equal(np.concatenate([y.numpy() for _, y in ds]), np.arange(n))
    with pytest.raises(ValueError, match="12 integer labels"):
        image_dataset_from_directory(root, labels=[0, 1])


def test_validation_split_both_is_disjoint_and_reproducible(tmp_path):
    root = _write(tmp_path / "pets")
    train, val = image_dataset_from_directory(root, validation_split=0.25, subset="both", seed=7, image_size=(4, 4),
                                              batch_size=4)
    assert len(val.file_paths) == 3 and len(train.file_paths) == 9
    assert not set(train.file_paths) & set(val.file_paths)
    again = image_dataset_from_directory(root, validation_split=0.25, subset="validation", seed=7, image_size=(4, 4))
    assert again.file_paths == val.file_paths
    passes = [tuple(np.concatenate([y.numpy() for _, y in train])) for _ in range(3)]
    assert len(set(passes)) > 1 and len({tuple(sorted(p)) for p in passes}) == 1  # reshuffled on each pass
    assert [tuple(y.numpy()) for _, y in val] == [tuple(y.numpy()) for _, y in val]  # validation is not
    with pytest.raises(ValueError, match="pass a seed"):
        image_dataset_from_directory(root, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="validation_split and subset go together"):
        image_dataset_from_directory(root, validation_split=0.2, seed=1)


def test_missing_empty_and_unreadable(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory"):
        image_dataset_from_directory(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images found.*one subfolder of images per class"):
        image_dataset_from_directory(tmp_path / "empty")
    (tmp_path / "empty" / "cat").mkdir()
    (tmp_path / "empty" / "cat" / "a.txt").write_text("x")
    with pytest.raises(ValueError, match=r"no images found.*\.png"):
        image_dataset_from_directory(tmp_path / "empty")
    root = _write(tmp_path / "pets")
    (root / "dog" / "broken.jpg").write_bytes(b"this is not a JPEG")
    with pytest.raises(ValueError, match=r"1 of the 13 image files cannot be read.*broken\.jpg"):
        image_dataset_from_directory(root)
    with pytest.raises(ValueError, match="color_mode must be one of"):
        image_dataset_from_directory(root, color_mode="bgr")
    with pytest.raises(ValueError, match="image_size must be"):
        image_dataset_from_directory(root, image_size=(0, 4))


def test_a_truncated_file_fails_when_read_naming_it(tmp_path):
    root = _write(tmp_path / "pets")
    path = root / "cat" / "000.bmp"
    path.write_bytes(path.read_bytes()[:80])  # the header survives, the pixels do not
    ds = image_dataset_from_directory(root, image_size=(4, 4))
    with pytest.raises(ValueError, match=r"cannot read .*000\.bmp"):
        list(ds)


def test_take_map_cache_prefetch(tmp_path):
    root = _write(tmp_path / "pets")
    ds = image_dataset_from_directory(root, image_size=(4, 4), batch_size=5, shuffle=False)
    assert len(ds.take(2)) == 2 and len(list(ds.take(2))) == 2 and ds.prefetch(8) is ds
    flipped = ds.map(lambda x, y: (x * 0 + 1, y), num_parallel_calls=4)
    assert flipped.class_names == CLASSES
    for (x, y), (_, y0) in zip(flipped, ds):
        assert float(x.numpy().min()) == 1.0
        np.testing.assert_array_equal(y.numpy(), y0.numpy())
    cached = ds.cache()
    a = [y.numpy() for _, y in cached]
    b = [y.numpy() for _, y in cached]
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert cached.batches is not None


def test_fit_takes_the_datasets_as_it_takes_the_arrays(tmp_path):
    root = _write(tmp_path / "pets", counts=(6, 6, 6))
    _, val = image_dataset_from_directory(root, validation_split=0.25, subset="both", seed=1, image_size=(6, 6),
                                          batch_size=4)
    x = next(iter(image_dataset_from_directory(root, labels=None, image_size=(6, 6), shuffle=False))).numpy()
    fixed = image_dataset_from_directory(root, image_size=(6, 6), batch_size=4, shuffle=False)
    y = np.concatenate([b.numpy() for _, b in fixed])
    xv = np.concatenate([a.numpy() for a, _ in val])
    yv = np.concatenate([b.numpy() for _, b in val])

    def run(data, **kw):
        nr.manual_seed(0)
        model = nn.Sequential([nn.Rescaling(1 / 255), nn.Flatten(), nn.Dense(3)])
        model.compile(optimizer=nr.optim.SGD(lr=0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model.fit(*data, epochs=2, verbose=0, **kw).history

    from_ds = run((fixed,), validation_data=val)
    from_arrays = run((x, y), batch_size=4, shuffle=False, validation_data=(xv, yv))
    assert from_ds == from_arrays


def test_load_img_and_img_to_array(tmp_path):
    root = _write(tmp_path / "pets")
    img = nr.utils.load_img(root / "dog" / "001.png", target_size=(5, 7))
    a = nr.utils.img_to_array(img)
    assert img.size == (7, 5) and a.shape == (5, 7, 3) and a.dtype == np.float32 and np.all(a == 120)
    assert nr.utils.img_to_array(nr.utils.load_img(root / "dog" / "001.png", color_mode="grayscale")).shape[-1] == 1
