"""Per-pixel metrics (pixel accuracy, IoU) against a hand computation and scikit-learn, and the canvas task."""

import numpy as np
import pytest
from sklearn.metrics import jaccard_score

import neurona as nr
from benchmarks.zoo_segmentation import make_canvas_task


def test_pixel_accuracy_and_mean_iou_by_hand():
    t = np.array([[[0, 0, 1], [1, 2, 2]]])  # (1, 2, 3): 6 pixels
    p = np.array([[[0, 1, 1], [1, 2, 0]]])
    assert nr.metrics.pixel_accuracy(t, p) == pytest.approx(4 / 6)
    # class 0: truth {0,1}, pred {0,5}: 1 / 3; class 1: truth {2,3}, pred {1,2,3}: 2 / 3; class 2: truth {4,5}, pred {4}: 1/2
    np.testing.assert_allclose(nr.metrics.iou_per_class(t, p), [1 / 3, 2 / 3, 1 / 2])
    assert nr.metrics.mean_iou(t, p) == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    # a class absent from truth and prediction is left out of the mean, not counted as 0
    iou = nr.metrics.iou_per_class(t, p, num_classes=4)
    assert np.isnan(iou[3]) and nr.metrics.mean_iou(t, p, num_classes=4) == pytest.approx(0.5)
    # ignore_index: those pixels are not scored
    assert nr.metrics.pixel_accuracy(t, p, ignore_index=0) == pytest.approx(3 / 4)


def test_scores_are_argmaxed_and_mean_iou_equals_scikit_learns_jaccard():
    rng = np.random.default_rng(0)
    t = rng.integers(0, 4, (3, 8, 8))
    scores = rng.standard_normal((3, 8, 8, 4))
    p = scores.argmax(-1)
    assert nr.metrics.pixel_accuracy(t, scores) == nr.metrics.pixel_accuracy(t, p) == pytest.approx((t == p).mean())
    ref = jaccard_score(t.ravel(), p.ravel(), average=None, labels=[0, 1, 2, 3])
    np.testing.assert_allclose(nr.metrics.iou_per_class(t, scores), ref)
    assert nr.metrics.mean_iou(t, p) == pytest.approx(jaccard_score(t.ravel(), p.ravel(), average="macro"))


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"y_pred must be classes of y_true's shape \(2, 2\)"):
        nr.metrics.pixel_accuracy(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"classes must be in \[0, 1\]"):
        nr.metrics.mean_iou(np.array([0, 2]), np.array([0, 1]), num_classes=2)


def test_canvas_task_labels_every_inked_pixel_with_its_items_class():
    rng = np.random.default_rng(0)
    items = (rng.random((5, 28, 28)) * 255).astype(np.uint8)
    labels = np.arange(5)
    x, y = make_canvas_task(items, labels, 6, size=64, seed=3)
    assert x.shape == (6, 64, 64, 1) and y.shape == (6, 64, 64) and x.dtype == np.float32
    assert ((y > 0) == (x[..., 0] > 40 / 255)).all()  # labelled exactly where there is ink
    assert set(np.unique(y)) <= set(range(6)) and (y == 0).any()
    x2, y2 = make_canvas_task(items, labels, 6, size=64, seed=3)
    np.testing.assert_array_equal(y, y2)  # seeded
