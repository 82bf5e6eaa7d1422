"""What compile was given comes back from the model file: weighted_metrics, and metric objects with their
names and arguments (issue 16)."""

import numpy as np
import pytest

import neurona as nr
from neurona import nn


def _data():
    rng = np.random.default_rng(0)
    x = rng.random((30, 3)).astype(np.float32)
    return x, (x[:, 0] > 0.5).astype(np.float32)[:, None], rng.random(30)


def test_weighted_and_named_metrics_survive_save_and_load(tmp_path):
    x, y, w = _data()
    nr.manual_seed(0)
    model = nn.Sequential([nn.Dense(1)])
    model.compile("adam", "binary_crossentropy",
                  metrics=[nr.metrics.TruePositives(name="tp", thresholds=0.3), nr.metrics.Precision(name="prec"),
                           "auc"],
                  weighted_metrics=["accuracy", nr.metrics.FalseNegatives(name="fn")])
    model.fit(x, y, epochs=1, verbose=0, sample_weight=w)
    model.save(tmp_path / "m.neurona")
    loaded = nr.load_model(tmp_path / "m.neurona")
    ours = model.evaluate(x, y, sample_weight=w, return_dict=True)
    assert list(ours) == ["loss", "tp", "prec", "auc", "weighted_accuracy", "fn"]
    assert loaded.evaluate(x, y, sample_weight=w, return_dict=True) == ours
    tp = loaded._trainer.metric_specs[0]
    assert type(tp) is nr.metrics.TruePositives and (tp.name, tp.threshold) == ("tp", 0.3)


def test_a_damaged_metric_entry_is_a_clear_error(tmp_path):
    import json
    import zipfile

    x, y, _ = _data()
    model = nn.Sequential([nn.Dense(1)])
    model.compile("adam", "binary_crossentropy", metrics=[nr.metrics.TruePositives(name="tp")])
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.neurona")
    with zipfile.ZipFile(tmp_path / "m.neurona") as z:
        files = {n: z.read(n) for n in z.namelist()}
    manifest_name = next(n for n in files if n.endswith(".json"))
    manifest = json.loads(files[manifest_name])
    manifest["compile"]["metrics"] = [{"class": "os.system", "config": {}}]
    files[manifest_name] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "bad.neurona", "w") as z:
        for n, data in files.items():
            z.writestr(n, data)
    with pytest.raises(nr.training.model_file.ModelFileError, match="unknown metric"):
        nr.load_model(tmp_path / "bad.neurona")
