"""A look inside a CNN (examples/zoo/look_inside.py, neurona.viz.inside): the pictures are written,
the saliency is the input gradient of the class score, the top images are the strongest responses."""

import importlib.util
import pathlib

import numpy as np
import pytest
from PIL import Image

import neurona as nr
from neurona.viz import inside

EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "zoo" / "look_inside.py"


def test_the_example_writes_its_four_pictures_and_a_saliency_on_the_item(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("example_look_inside", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    r = module.main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and 0.0 <= r["test_accuracy"] <= 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "look_inside_feature_maps.png", "look_inside_filters.png", "look_inside_saliency.png", "look_inside_top_units.png"]
    for path in r["files"].values():
        image = np.asarray(Image.open(path).convert("L"), dtype=np.float64)
        assert image.shape[0] > 100 and image.shape[1] > 100 and image.std() > 10  # drawn, not blank
    x, g = r["inputs"], r["saliency"]
    assert g.shape == x.shape and np.isfinite(g).all()
    item = x[..., 0] > 0.1  # the garment's pixels
    for i in range(len(x)):
        assert np.abs(g[i][item[i]]).mean() > 0  # the class score depends on the item's pixels


def test_saliency_is_the_gradient_of_the_class_score():
    nr.manual_seed(0)
    model = nr.models.get("lenet5", (28, 28, 1), 10)  # tanh units and average pooling: smooth in x
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    classes = np.array([2, 7, 2])
    g = inside.saliency(model, x, classes)
    assert g.shape == x.shape
    d = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    h = 1e-2

    def score(z):
        return model.predict(z)[np.arange(3), classes].astype(np.float64)

    numeric = (score(x + h * d) - score(x - h * d)) / (2 * h)  # each score depends on its own image only
    analytic = (g.astype(np.float64) * d).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(analytic, numeric, rtol=2e-2, atol=1e-3)
    with pytest.raises(ValueError, match="3 images and 2 classes"):
        inside.saliency(model, x, classes[:2])


def test_top_activating_ranks_images_by_their_peak_response():
    a = np.zeros((5, 3, 3, 2), dtype=np.float32)
    a[3, 2, 1, 0], a[1, 0, 0, 0], a[4, 1, 1, 0] = 9.0, 5.0, 7.0  # unit 0: image 3, then 4, then 1
    a[2, 0, 2, 1] = 1.0
    idx, values = inside.top_activating(a, [0, 1], k=3)
    assert idx[0].tolist() == [3, 4, 1] and values[0].tolist() == [9.0, 7.0, 5.0]
    assert idx[1, 0] == 2
    assert inside.lively_units(a, 1) == [0]
    with pytest.raises(ValueError, match=r"units must be in \[0, 1\]"):
        inside.top_activating(a, [2])


def test_conv_activations_give_every_conv_layers_output_in_order():
    nr.manual_seed(0)
    model = nr.models.get("lenet5", (28, 28, 1), 10)
    x = np.random.default_rng(0).random((4, 28, 28)).astype(np.float32)
    found = inside.conv_activations(model, x, batch_size=3)  # two batches, joined
    assert [a.shape for _, a in found] == [(4, 28, 28, 6), (4, 10, 10, 16)]
    first = model.layers[0]
    np.testing.assert_allclose(found[0][1], first(nr.tensor(x[..., None])).numpy(), rtol=1e-6, atol=1e-6)
