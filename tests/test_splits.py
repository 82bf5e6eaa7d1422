"""nr.data.train_val_test_split: stratified, seeded, disjoint (issue 14)."""

import numpy as np
import pytest

import neurona as nr
from neurona.data import train_val_test_split

# unbalanced classes: 500, 300, 150, 47, 3
Y = np.repeat(np.arange(5), [500, 300, 150, 47, 3])
X = np.arange(len(Y) * 2, dtype=np.float32).reshape(-1, 2)


def _ids(part):
    return part[0][:, 0].astype(int) // 2


def test_three_disjoint_sets_covering_everything_with_the_right_sizes():
    (xt, yt), (xv, yv), (xs, ys) = train_val_test_split(X, Y, val=0.1, test=0.2, seed=0)
    assert (len(xt), len(xv), len(xs)) == (700, 100, 200)
    ids = np.concatenate([_ids(p) for p in [(xt, yt), (xv, yv), (xs, ys)]])
    np.testing.assert_array_equal(np.sort(ids), np.arange(len(Y)))
    for x, y in [(xt, yt), (xv, yv), (xs, ys)]:
        np.testing.assert_array_equal(Y[_ids((x, y))], y)  # rows stay paired with their labels
    # counts work as well as fractions
    sizes = [len(p[0]) for p in train_val_test_split(X, Y, val=50, test=25, seed=1)]
    assert sizes == [925, 50, 25]


def test_stratified_shares_match_scikit_learn():
    sklearn = pytest.importorskip("sklearn.model_selection")
    (xt, yt), (xv, yv), (xs, ys) = train_val_test_split(X, Y, val=0.1, test=0.2, stratify=True, seed=0)
    # scikit-learn's two-stage stratified split with the same sizes
    x_rest, x_test, y_rest, y_test = sklearn.train_test_split(X, Y, test_size=200, stratify=Y, random_state=0)
    _, _, y_train, y_val = sklearn.train_test_split(x_rest, y_rest, test_size=100, stratify=y_rest, random_state=0)
    for ours, theirs in [(yt, y_train), (yv, y_val), (ys, y_test)]:
        a, b = np.bincount(ours, minlength=5), np.bincount(theirs, minlength=5)
        assert np.abs(a - b).max() <= 1, (a, b)
        # and each set's share of a class is the whole set's share, to within one sample
        assert np.abs(a - len(ours) * np.bincount(Y) / len(Y)).max() < 1
    # the rare class (3 samples) is not lost from training
    assert np.bincount(yt, minlength=5)[4] >= 1


def test_seeded_reproducible_and_independent_of_the_global_seed():
    nr.manual_seed(0)
    a = train_val_test_split(X, Y, seed=3)
    nr.manual_seed(1)
    b = train_val_test_split(X, Y, seed=3)
    c = train_val_test_split(X, Y, seed=4)
    for pa, pb in zip(a, b):
        np.testing.assert_array_equal(pa[0], pb[0])
    assert not np.array_equal(a[2][0], c[2][0])
    # seed=None follows nr.manual_seed
    nr.manual_seed(2)
    d = train_val_test_split(X, Y, seed=None)
    nr.manual_seed(2)
    e = train_val_test_split(X, Y, seed=None)
    np.testing.assert_array_equal(d[1][0], e[1][0])


def test_unstratified_one_hot_lists_and_tensors():
    (xt, yt), (xv, yv), (xs, ys) = train_val_test_split(X, None, val=0.1, test=0.1, stratify=False, shuffle=False)
    assert yt is None and len(xt) == 800
    np.testing.assert_array_equal(_ids((xs, None)), np.arange(900, 1000))
    onehot = np.eye(5)[Y]
    (_, yt1), _, (_, ys1) = train_val_test_split(X, onehot, seed=0)
    (_, yt2), _, (_, ys2) = train_val_test_split(X, Y, seed=0)
    np.testing.assert_array_equal(yt1.argmax(axis=1), yt2)
    (tx, ty), _, _ = train_val_test_split(nr.tensor(X), nr.tensor(Y, dtype=np.int64), seed=0)
    assert isinstance(tx, nr.Tensor) and tx.shape == (800, 2)
    (lx, ly), _, _ = train_val_test_split(X.tolist(), Y.tolist(), seed=0)
    assert lx.shape == (800, 2)


def test_bad_arguments_say_what_was_expected():
    with pytest.raises(ValueError, match=r"test as a fraction must be in \[0, 1\). Received: test=1.5"):
        train_val_test_split(X, Y, test=1.5)
    with pytest.raises(ValueError, match="leave no training samples"):
        train_val_test_split(X, Y, val=0.5, test=0.5)
    with pytest.raises(ValueError, match="stratify=True needs the labels y"):
        train_val_test_split(X)
    with pytest.raises(ValueError, match="same number of samples. Received: 1000 and 3"):
        train_val_test_split(X, Y[:3])
    with pytest.raises(TypeError, match="val must be a fraction in \\[0, 1\\) or a count. Received: val='10%'"):
        train_val_test_split(X, Y, val="10%")
