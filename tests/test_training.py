"""compile / fit / evaluate / predict / train_step, the loss objects, hard examples and lr_find."""

import contextlib
import io

import numpy as np
import pytest

import neurona as nr
from neurona import backend, nn, optim
from neurona import functional as F
from neurona import losses as L
from neurona.testing import compare_with_torch, gradcheck
from neurona.training import HardExampleSampler, TrainingWarning, lr_find


def blobs(n=120, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, d)) * 3
    y = rng.integers(0, classes, n)
    x = (centres[y] + rng.standard_normal((n, d))).astype(np.float32)
    return x, y


def mlp(out=3, activation=None, dropout=0.0, reg=None):
    layers = [nn.Dense(16, activation="relu", kernel_regularizer=reg)]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Dense(out, activation=activation))
    return nn.Sequential(layers)


def weights(model):
    return model.state_dict()


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


# ---------------------------------------------------------------- losses
LOSS_ROWS = [  # (loss object, torch function, target maker)
    (L.CrossEntropy(), lambda t, x, y: t.nn.functional.cross_entropy(x, y, reduction="none"), "labels"),
    (L.CrossEntropy(label_smoothing=0.1), lambda t, x, y: t.nn.functional.cross_entropy(
        x, y, reduction="none", label_smoothing=0.1), "labels"),
    (L.BinaryCrossEntropy(from_logits=True), lambda t, x, y: t.nn.functional.binary_cross_entropy_with_logits(
        x, y, reduction="none").mean(dim=1), "binary"),
    (L.MeanSquaredError(), lambda t, x, y: ((x - y) ** 2).mean(dim=1), "values"),
    (L.MeanAbsoluteError(), lambda t, x, y: (x - y).abs().mean(dim=1), "values"),
    (L.Huber(delta=0.5), lambda t, x, y: t.nn.functional.huber_loss(x, y, delta=0.5, reduction="none").mean(dim=1),
     "values"),
]


def _target(kind, rng, n=5, c=4):
    if kind == "labels":
        return rng.integers(0, c, n)
    if kind == "binary":
        return rng.integers(0, 2, (n, c)).astype(np.float64)
    return rng.standard_normal((n, c))


@pytest.mark.parametrize("loss, torch_fn, kind", LOSS_ROWS, ids=lambda r: repr(r) if isinstance(r, L.Loss) else "")
def test_loss_objects_match_torch_with_sample_weights(loss, torch_fn, kind, rng):
    """Weighted mean as Keras: sum(w_i l_i) / N, forward and gradient, against torch."""
    x = rng.standard_normal((5, 4))
    y = _target(kind, rng)
    w = rng.uniform(0.1, 2.0, 5)
    gradcheck(lambda a: loss(a, y, sample_weight=w), x)
    gradcheck(lambda a: loss(a, y), x)
    compare_with_torch(lambda a: loss(a, y, sample_weight=w),
                       lambda a: _torch_weighted(torch_fn, a, y, w), x)


def _torch_weighted(torch_fn, a, y, w):
    import torch

    yt = torch.as_tensor(y)
    return (torch_fn(torch, a, yt) * torch.as_tensor(w)).sum() / a.shape[0]


def test_get_loss_names_and_errors():
    for name in ["cross_entropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]:
        assert isinstance(L.get_loss(name), L.CrossEntropy)
    for name in ["binary_cross_entropy", "binary_crossentropy"]:
        assert isinstance(L.get_loss(name), L.BinaryCrossEntropy)
    for name in ["mse", "quadratic", "mean_squared_error"]:
        assert isinstance(L.get_loss(name), L.MeanSquaredError)
    for name in ["mae", "mean_absolute_error"]:
        assert isinstance(L.get_loss(name), L.MeanAbsoluteError)
    assert isinstance(L.get_loss("huber"), L.Huber)
    huber = L.Huber(0.3)
    assert L.get_loss(huber) is huber
    assert L.deserialize_loss(L.serialize_loss(huber)).delta == 0.3
    with pytest.raises(ValueError, match="unknown loss.*'hinge'"):
        L.get_loss("hinge")
    with pytest.raises(ValueError, match="reduction"):
        L.MeanSquaredError(reduction="avg")


def test_cross_entropy_on_softmax_output_equals_logits(rng):
    """A model ending in softmax is fused back to its logits, never softmaxed twice."""
    logits = nr.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    y = rng.integers(0, 4, 6)
    a = L.CrossEntropy()(logits, y)
    b = L.CrossEntropy()(F.softmax(logits), y)
    assert a.item() == b.item()


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy"])
def test_compile_treats_final_activation_and_logits_alike(loss, rng):
    """Same weights, one model ending without an activation (logits) and one ending in softmax/sigmoid:
    the same loss, the same metrics; predict gives logits vs probabilities."""
    out, act = (3, "softmax") if loss == "cross_entropy" else (1, "sigmoid")
    x, y = blobs()
    y = y if loss == "cross_entropy" else (y == 0).astype(np.float32)
    logits_model, prob_model = mlp(out), mlp(out, activation=act)
    logits_model.build((None, 6))
    prob_model.build((None, 6))
    prob_model.load_state_dict(logits_model.state_dict())
    for m in (logits_model, prob_model):
        m.compile("sgd", loss, metrics=["accuracy"])
    a, b = logits_model.evaluate(x, y, return_dict=True), prob_model.evaluate(x, y, return_dict=True)
    assert a["accuracy"] == b["accuracy"]
    np.testing.assert_allclose(a["loss"], b["loss"], rtol=1e-5)
    z, p = logits_model.predict(x), prob_model.predict(x)
    expected = F.softmax(nr.tensor(z)).numpy() if act == "softmax" else 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(p, expected, rtol=1e-5, atol=1e-6)
    assert prob_model._trainer.activation == act and logits_model._trainer.activation is None
    if loss == "binary_cross_entropy":
        assert prob_model._trainer.loss_fn.from_logits is False
        assert logits_model._trainer.loss_fn.from_logits is True


# ---------------------------------------------------------------- fit == hand-written loop
def test_fit_equals_hand_written_loop_bit_for_bit():
    """Same seed, same permutation per epoch: fit and the PyTorch-style loop end with identical weights
    (dropout included, so the random draws happen in the same order)."""
    x, y = blobs(n=100)
    nr.manual_seed(3)
    model = mlp(dropout=0.2)
    model.compile(optim.Adam(lr=1e-2), "cross_entropy")
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)

    nr.manual_seed(3)
    ref = mlp(dropout=0.2)
    ref.build((None, 6))  # fit builds the model before drawing its first permutation
    opt = optim.Adam(ref.parameters(), lr=1e-2)
    for _ in range(3):
        perm = backend.rng().permutation(len(x))
        for s in range(0, len(x), 16):
            idx = perm[s:s + 16]
            opt.zero_grad()
            loss = F.cross_entropy(ref(nr.tensor(x[idx])), y[idx])
            loss.backward()
            opt.step()
    assert_same_weights(weights(model), weights(ref))


def test_fit_works_for_subclassed_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Dense(16, activation="relu")
            self.out = nn.Dense(3)

        def forward(self, x):
            return self.out(self.hidden(x))

    x, y = blobs()
    model = Net()
    model.compile(optim.SGD(lr=0.1, momentum=0.9), "cross_entropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_history_contents_and_validation_split():
    x, y = blobs(n=100)
    model = mlp()
    model.compile("adam", "cross_entropy", metrics=["accuracy"])
    h = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0)
    assert list(h.history) == ["loss", "accuracy", "val_loss", "val_accuracy", "lr"]
    assert all(len(v) == 3 for v in h.history.values()) and h.epoch == [0, 1, 2]
    assert h.history["lr"] == [pytest.approx(1e-3)] * 3
    # validation_split takes the last 20 samples, before shuffling
    ev = model.evaluate(x[80:], y[80:], return_dict=True)
    assert ev["loss"] == h.history["val_loss"][-1] and ev["accuracy"] == h.history["val_accuracy"][-1]


def test_validation_data_and_evaluate_predict_modes():
    x, y = blobs()
    model = mlp(dropout=0.5)
    model.compile("adam", "cross_entropy")
    h = model.fit(x[:90], y[:90], validation_data=(x[90:], y[90:]), epochs=2, verbose=0)
    assert len(h.history["val_loss"]) == 2
    assert model.training  # fit restores the mode it found
    p1, p2 = model.predict(x, batch_size=7), model.predict(x)
    assert p1.shape == (120, 3) and p1.dtype == np.float32
    # Dropout is off, so the batch size changes nothing but rounding: BLAS may block the rows of a
    # 7-row product differently from a 32-row one, so equal within float32 rounding, not in every bit.
    np.testing.assert_allclose(p1, p2, rtol=1e-5, atol=1e-6)
    assert model.training
    with pytest.raises(ValueError, match="either validation_split or validation_data"):
        model.fit(x, y, validation_split=0.1, validation_data=(x, y), verbose=0)


def test_train_step_is_one_fit_step():
    x, y = blobs(n=40)
    nr.manual_seed(1)
    a = mlp()
    a.compile(optim.SGD(lr=0.1), "cross_entropy", metrics=["accuracy"])
    logs = a.train_step(x, y)
    assert set(logs) == {"loss", "accuracy"} and np.isfinite(logs["loss"])
    nr.manual_seed(1)
    b = mlp()
    b.compile(optim.SGD(lr=0.1), "cross_entropy")
    b.fit(x, y, epochs=1, batch_size=40, shuffle=False, verbose=0)
    assert_same_weights(weights(a), weights(b))


def test_sample_and_class_weights():
    x, y = blobs(n=60)
    cw = {0: 2.0, 1: 0.5, 2: 1.0}
    runs = []
    for kwargs in ({"class_weight": cw}, {"sample_weight": np.array([cw[int(c)] for c in y])}):
        nr.manual_seed(0)
        m = mlp()
        m.compile("adam", "cross_entropy")
        m.fit(x, y, epochs=2, batch_size=16, verbose=0, **kwargs)
        runs.append(weights(m))
    assert_same_weights(*runs)
    # evaluate's weighted loss is Keras's sum(w l) / N
    w = np.linspace(0.0, 2.0, 60).astype(np.float32)
    per = F.cross_entropy(nr.tensor(m.predict(x)), y, reduction="none").numpy()
    np.testing.assert_allclose(m.evaluate(x, y, sample_weight=w), (per * w).sum() / 60, rtol=1e-5)


def test_regularization_is_added_to_the_loss():
    x, y = blobs(n=50)
    m = mlp(reg=nn.regularizers.L2(0.5))
    m.compile("sgd", "cross_entropy")
    ev = m.evaluate(x, y, return_dict=True)
    data_loss = F.cross_entropy(nr.tensor(m.predict(x)), y).item()
    np.testing.assert_allclose(ev["loss"], data_loss + m.regularization_loss().item(), rtol=1e-5)


def test_compile_optimizers_by_name_and_object():
    x, y = blobs(n=32)
    for name in ["sgd", "adam", "adamw", "rmsprop", "adagrad"]:
        m = mlp()
        m.compile(name, "cross_entropy")
        m.fit(x, y, epochs=1, batch_size=8, verbose=0)
        assert type(m.optimizer).__name__.lower() == name and m.optimizer.iterations == 4
        assert m.optimizer.param_groups[0]["params"][0] is m.parameters()[0]
    m = mlp()
    m.build((None, 6))
    opt = optim.SGD(m.parameters(), lr=0.5)  # made with the parameters (PyTorch style)
    m.compile(opt, "cross_entropy")
    m.fit(x, y, epochs=1, verbose=0)
    assert m.optimizer is opt and opt.iterations == 1
    with pytest.raises(ValueError, match="optimizer must be one of"):
        mlp().compile("adamax", "mse")
    with pytest.raises(ValueError, match="a loss is required"):
        mlp().compile("adam")
    with pytest.raises(RuntimeError, match="not compiled"):
        mlp().fit(x, y)


def test_regression_multi_output_and_1d_targets(rng):
    x = rng.standard_normal((80, 3)).astype(np.float32)
    y = x @ np.array([[1.0, -2.0], [0.5, 0.0], [0.0, 1.0]], dtype=np.float32)
    m = nn.Sequential([nn.Dense(2)])
    m.compile(optim.SGD(lr=0.1), "mse", metrics=["mae"])
    h = m.fit(x, y, epochs=30, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < 1e-3 and h.history["mae"][-1] < 0.05
    single = nn.Sequential([nn.Dense(1)])
    single.compile("adam", "huber")
    single.fit(x, y[:, 0], epochs=1, verbose=0)  # (N,) targets for one output
    assert single.predict(x).shape == (80, 1)


def test_data_loader_iterable():
    x, y = blobs(n=64)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    m = mlp()
    m.compile(optim.SGD(lr=0.1), "cross_entropy")
    h = m.fit(batches, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3 and h.history["loss"][-1] < h.history["loss"][0]
    assert m.optimizer.iterations == 12
    with pytest.raises(TypeError, match="one-shot iterator"):
        m.fit(iter(batches), epochs=2, verbose=0)
    with pytest.raises(ValueError, match="validation_split.*need arrays"):
        m.fit(batches, validation_split=0.2, verbose=0)


# ---------------------------------------------------------------- bad input
BAD_INPUTS = [
    ("length", lambda x, y: (x, y[:-3]), "same number of samples.*len\\(x\\)=120, len\\(y\\)=117"),
    ("labels", lambda x, y: (x, np.where(y == 2, 3, y)), "labels must be in \\[0, 2\\] for a model with 3 outputs"),
    ("negative", lambda x, y: (x, y - 1), "labels must be in \\[0, 2\\].*from -1"),
    ("nan x", lambda x, y: (np.where(np.arange(120)[:, None] == 7, np.nan, x), y), "x contains NaN or Inf.*sample 7"),
    ("inf y", lambda x, y: (x, np.where(np.arange(120) == 4, np.inf, y)), "y contains NaN or Inf.*sample 4"),
    ("string x", lambda x, y: (x.astype(str), y), "x must hold numbers.*dtype=<U"),
    ("object y", lambda x, y: (x, np.array([str(v) for v in y], dtype=object)), "y must hold numbers.*object"),
    ("fractional labels", lambda x, y: (x, y + 0.5), "whole numbers"),
    ("wrong features", lambda x, y: (x[:, :4], y), "Dense layer 'dense'.*last axis has size 6.*\\(2, 4\\)"),
]


@pytest.mark.parametrize("name, corrupt, message", BAD_INPUTS, ids=[r[0] for r in BAD_INPUTS])
def test_bad_input_fails_before_training(name, corrupt, message):
    nn.reset_names()
    x, y = blobs()
    model = mlp()
    model.build((None, 6))
    before = weights(model)
    model.compile(optim.SGD(lr=1.0), "cross_entropy")
    bx, by = corrupt(x, y)
    with pytest.raises((ValueError, TypeError), match=message):
        model.fit(bx, by, epochs=1, verbose=0)
    assert_same_weights(before, weights(model))
    assert model.optimizer.iterations == 0


def test_bad_targets_for_binary_and_regression():
    x, y = blobs()
    m = mlp(out=1)
    m.compile("adam", "binary_cross_entropy")
    with pytest.raises(ValueError, match="binary cross-entropy targets must be in \\[0, 1\\].*to 2.0"):
        m.fit(x, y, verbose=0)
    r = mlp(out=2)
    r.compile("adam", "mse")
    with pytest.raises(ValueError, match="regression loss takes targets of the output's shape \\(120, 2\\)"):
        r.fit(x, y, verbose=0)
    c = mlp(out=1)
    c.compile("adam", "cross_entropy")
    with pytest.raises(ValueError, match="at least 2 outputs"):
        c.fit(x, y, verbose=0)


def test_nan_loss_stops_training_naming_epoch_and_batch():
    x, y = blobs(n=64)
    calls = []

    def sometimes_nan(pred, target):
        calls.append(1)
        loss = F.cross_entropy(pred, target)
        return loss * float("nan") if len(calls) == 7 else loss  # epoch 2, batch 3 (4 batches per epoch)

    m = mlp()
    m.compile(optim.SGD(lr=0.1), sometimes_nan)
    with pytest.warns(TrainingWarning, match="at epoch 2, batch 3"):
        h = m.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0)
    assert len(h.history["loss"]) == 1 and "epoch 2, batch 3" in h.stop_reason
    assert all(np.isfinite(v).all() for v in weights(m).values())  # the bad batch was not applied
    assert m.optimizer.iterations == 6


# ---------------------------------------------------------------- verbose
def _fit_output(verbose, epochs=2):
    x, y = blobs(n=64)
    m = mlp()
    m.compile("adam", "cross_entropy", metrics=["accuracy"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        m.fit(x, y, epochs=epochs, batch_size=16, validation_split=0.25, verbose=verbose)
    return out.getvalue()


def test_verbose_modes():
    assert _fit_output(0) == ""
    lines = _fit_output(2).splitlines()
    assert len(lines) == 2
    for i, line in enumerate(lines):
        assert line.startswith(f"Epoch {i + 1}/2 - ")
        for key in ("samples/s", "loss: ", "accuracy: ", "val_loss: ", "val_accuracy: ", "lr: 0.001"):
            assert key in line
    assert _fit_output("auto").count("\n") == 2  # not a terminal: one line per epoch
    bar = _fit_output(1)
    assert "sample/s" in bar and "\r" in bar  # tqdm's live bar with throughput
    summaries = [s for s in bar.replace("\r", "\n").splitlines() if " - loss: " in s]
    assert [s[:10] for s in summaries] == ["Epoch 1/2 ", "Epoch 2/2 "]


# ---------------------------------------------------------------- hard examples
def test_hard_example_sampler_probabilities():
    s = HardExampleSampler(emphasis=0.5)
    rng = np.random.default_rng(0)
    first = s.order(4, rng)
    assert sorted(first) == [0, 1, 2, 3]  # no losses yet: a plain permutation
    s.record(np.array([0, 1, 2, 3]), np.array([0.0, 1.0, 1.0, 2.0]))
    np.testing.assert_allclose(s.probabilities(), 0.5 / 4 + 0.5 * np.array([0, 1, 1, 2]) / 4)
    counts = np.bincount(np.concatenate([s.order(4, rng) for _ in range(10000)]), minlength=4)
    assert counts[3] > counts[1] > counts[0] > 0
    with pytest.raises(ValueError, match="emphasis must be in \\[0, 1\\]"):
        HardExampleSampler(1.5)


def test_fit_with_hard_examples_draws_high_loss_samples_more():
    x, y = blobs(n=200, seed=2)
    y = y.copy()
    y[:20] = (y[:20] + 1) % 3  # 20 mislabelled samples: they keep a high loss
    m = mlp()
    m.compile(optim.SGD(lr=0.1), "cross_entropy")
    m.fit(x, y, epochs=4, batch_size=20, hard_examples=0.9, verbose=0)
    sampler = m._trainer.sampler
    p = sampler.probabilities()
    assert sampler.seen.all()
    assert p[:20].mean() > 3 * p[20:].mean()
    with pytest.raises(TypeError, match="hard_examples must be"):
        m.fit(x, y, hard_examples="yes", verbose=0)


# ---------------------------------------------------------------- lr_find
def test_lr_find_restores_everything_and_suggests_a_rate():
    x, y = blobs(n=200)
    m = mlp()
    m.compile(optim.SGD(lr=1e-3, momentum=0.9), "cross_entropy")
    m.fit(x, y, epochs=1, verbose=0)  # some optimizer state to restore
    before, opt_before, rng_before = weights(m), m.optimizer.state_dict(), backend.get_rng_state()
    r = lr_find(m, x, y, start_lr=1e-5, end_lr=100.0, num_steps=60, batch_size=16)
    assert np.all(np.diff(r.lrs) > 0) and len(r.lrs) == len(r.losses) == len(r.raw_losses) <= 60
    assert len(r.lrs) < 60  # a rate of 100 makes SGD diverge: the test stops early
    assert 1e-4 < r.suggestion < 10 and r.suggestion <= r.min_loss_lr
    assert_same_weights(before, weights(m))
    after = m.optimizer.state_dict()
    assert after["iterations"] == opt_before["iterations"] and m.optimizer.lr == 1e-3
    for k in opt_before["state"]:
        assert np.array_equal(after["state"][k]["momentum_buffer"], opt_before["state"][k]["momentum_buffer"])
    assert backend.get_rng_state() == rng_before


def test_uint8_inputs_are_converted_per_batch_not_rescaled():
    rng = np.random.default_rng(0)
    x8 = rng.integers(0, 4, (48, 6)).astype(np.uint8)
    y = rng.integers(0, 3, 48)
    runs = []
    for x in (x8, x8.astype(np.float32)):
        nr.manual_seed(0)
        m = mlp()
        m.compile(optim.SGD(lr=0.01), "cross_entropy")
        m.fit(x, y, epochs=2, batch_size=16, verbose=0)
        runs.append((weights(m), m.predict(x)))
    assert_same_weights(runs[0][0], runs[1][0])
    assert runs[0][1].dtype == np.float32 and np.array_equal(runs[0][1], runs[1][1])


def test_batch_norm_switches_modes(rng):
    x = rng.standard_normal((40, 5)).astype(np.float32) * 3 + 1
    y = rng.integers(0, 2, 40)
    m = nn.Sequential([nn.Dense(8), nn.BatchNorm(), nn.Activation("relu"), nn.Dense(2)])
    m.compile("adam", "cross_entropy")
    m.fit(x, y, epochs=2, batch_size=8, verbose=0)
    stats = {k: v for k, v in m.state_dict().items() if "running" in k or "moving" in k}
    assert stats
    a, b = m.evaluate(x, y), m.evaluate(x, y)
    assert a == b  # the same batches: the same bits
    # Running statistics, so each sample alone decides its output; reversed, the rows fall in other
    # batches and other GEMM blocks, so equal within float32 rounding.
    np.testing.assert_allclose(m.predict(x), m.predict(x[::-1])[::-1], rtol=1e-5, atol=1e-6)
    for k, v in m.state_dict().items():
        if k in stats:
            assert np.array_equal(v, stats[k])  # evaluate/predict leave the running statistics alone


def test_fit_evaluate_predict_on_device(device, tmp_path):
    """The same calls on the CPU and (when there is one) the GPU: batches are moved to the model's device."""
    x, y = blobs(n=64)
    m = mlp(dropout=0.1)
    m.compile(optim.Adam(lr=0.02), "cross_entropy", metrics=["accuracy"])
    h = m.fit(x, y, epochs=5, batch_size=16, validation_split=0.25, hard_examples=0.3, verbose=0)
    assert m.parameters()[0].device == device
    assert h.history["accuracy"][-1] > 0.8 and np.isfinite(h.history["val_loss"]).all()
    assert m.predict(x).shape == (64, 3) and set(m.evaluate(x, y, return_dict=True)) == {"loss", "accuracy"}
    m.save(tmp_path / "m.neurona")
    assert np.array_equal(nr.training.load_model(tmp_path / "m.neurona").predict(x), m.predict(x))
