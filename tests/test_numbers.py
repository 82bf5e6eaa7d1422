"""Numbers that must not be silently wrong: empty data, a missing batch axis, bad one-hot rows,
non-finite learning rates, float64 data that overflows float32, divergence, non-finite weights."""

import math

import numpy as np
import pytest

import neurona as nr
from neurona import nn, optim
from neurona.training.callback import Callback
from neurona.training.loop import TrainingWarning


def blobs(n=60, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = (np.eye(k)[y] @ rng.standard_normal((k, d)) * 2 + rng.standard_normal((n, d))).astype(np.float32)
    return x, y


def mlp(out=3, compile=True, lr=0.1, loss="cross_entropy"):
    nr.manual_seed(0)
    m = nn.Sequential([nn.Dense(8, activation="relu"), nn.Dense(out)])
    if compile:
        m.compile(optim.SGD(lr=lr), loss, metrics=["accuracy"] if loss == "cross_entropy" else None)
    return m


def weights(m):
    return {k: v.copy() for k, v in m.state_dict().items()}


# ---------------------------------------------------------------- empty and 1-D inputs
def test_evaluate_on_zero_samples_is_an_error():
    x, y = blobs()
    m = mlp()
    m.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="evaluate: x has no samples"):
        m.evaluate(x[:0], y[:0])
    with pytest.raises(ValueError, match="validation_data has no samples"):
        m.fit(x, y, validation_data=(x[:0], y[:0]), epochs=1, verbose=0)


@pytest.mark.parametrize("built", [False, True])
def test_one_dimensional_x_is_refused_for_a_model_that_takes_rows(built):
    x, y = blobs()
    m = mlp()
    if built:
        m.build((None, 5))
    before = weights(m) if built else None
    with pytest.raises(ValueError, match=r"x must have a batch axis.*Received: shape=\(60,\).*x\[None\]"):
        m.fit(x[:, 0], y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"x must have a batch axis.*Received: shape=\(5,\)"):
        m.predict(x[0])  # one sample without its batch axis: 5 features read as 5 samples before
    with pytest.raises(ValueError, match=r"x must have a batch axis"):
        m.evaluate(x[:, 0], y)
    assert m.built == built  # the refused calls did not build the model on a wrong shape
    if built:
        for k, v in weights(m).items():
            np.testing.assert_array_equal(v, before[k])
    m.fit(x, y, epochs=1, verbose=0)  # and it still trains on rows
    assert m.predict(x[:1]).shape == (1, 3)


def test_one_dimensional_x_still_works_for_a_model_of_one_number_per_sample():
    class PerSample(nn.Module):  # one scalar feature per sample, reshaped inside
        def __init__(self):
            super().__init__()
            self.fc = nn.Dense(1)

        def forward(self, x):
            return self.fc(x.reshape(-1, 1))

    nr.manual_seed(0)
    m = PerSample()
    m.compile(optim.SGD(lr=0.1), "mse")
    x = np.linspace(-1, 1, 40).astype(np.float32)
    h = m.fit(x, 3 * x, epochs=30, batch_size=8, verbose=0)
    assert h.history["loss"][-1] < 0.1 * h.history["loss"][0]
    assert m.predict(x).shape == (40, 1)


# ---------------------------------------------------------------- one-hot targets
@pytest.mark.parametrize("corrupt, message", [
    (lambda t: -t, "must not be negative.*minimum of -1"),
    (lambda t: 2 * t, "must each sum to 1.*60 rows.*row 0 summing to 2"),
    (lambda t: np.where(np.arange(60)[:, None] == 4, 0.0, t), "1 rows that do not, the first is row 4 summing to 0"),
])
def test_bad_one_hot_targets_are_refused(corrupt, message):
    x, y = blobs()
    m = mlp()
    with pytest.raises(ValueError, match=message):
        m.fit(x, corrupt(np.eye(3)[y]), epochs=1, verbose=0)
    assert m.optimizer.iterations == 0


def test_soft_labels_summing_to_one_are_accepted():
    x, y = blobs()
    soft = (np.eye(3)[y] * 0.9 + 0.1 / 3).astype(np.float32)
    h = mlp().fit(x, soft, epochs=2, verbose=0)
    assert np.isfinite(h.history["loss"]).all()


# ---------------------------------------------------------------- learning rates
NON_FINITE_LR = [
    lambda v: optim.SGD(lr=v),
    lambda v: optim.Adam(lr=v),
    lambda v: optim.AdamW(lr=v),
    lambda v: optim.RMSprop(lr=v),
    lambda v: optim.Adagrad(lr=v),
    lambda v: optim.Adam([{"params": [nr.tensor([1.0], requires_grad=True)], "lr": v}]),
    lambda v: optim.Adam(eps=v),
    lambda v: optim.SGD(weight_decay=v),
    lambda v: optim.StepDecay(v, step_size=3),
    lambda v: optim.StepDecay(0.1, step_size=3, gamma=v),
    lambda v: optim.ExponentialDecay(v, decay_steps=3, decay_rate=0.5),
    lambda v: optim.CosineDecay(v, decay_steps=3),
    lambda v: optim.CosineDecay(0.1, decay_steps=3, warmup_steps=2, warmup_target=v),
    lambda v: optim.PiecewiseConstant([3], [0.1, v]),
]


@pytest.mark.parametrize("value", [math.inf, math.nan], ids=["inf", "nan"])
@pytest.mark.parametrize("make", NON_FINITE_LR)
def test_non_finite_hyperparameters_are_refused(make, value):
    with pytest.raises(ValueError, match="finite"):
        make(value)


@pytest.mark.parametrize("value", [math.inf, math.nan], ids=["inf", "nan"])
def test_setting_a_non_finite_lr_or_a_schedule_reaching_one_is_refused(value):
    p = nr.tensor(np.ones(3), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match=f"lr must be a finite number >= 0.0. Received: lr={value}"):
        opt.lr = value
    assert opt.lr == 0.1
    opt = optim.SGD([p], lr=lambda step: 0.1 if step < 2 else value)
    for _ in range(2):
        (p * p).sum().backward()
        opt.step()
    (p * p).sum().backward()
    with pytest.raises(ValueError, match=f"schedule .* gave lr={value} at step 2"):
        opt.step()
    grown = optim.SGD([p], lr=optim.ExponentialDecay(0.1, decay_steps=1, decay_rate=1e300))
    grown.iterations = 5
    with pytest.raises(ValueError, match="gave lr=inf at step 5"):
        grown.step()


# ---------------------------------------------------------------- float64 overflowing float32
def test_finite_float64_beyond_float32_is_an_error_that_says_so():
    x, y = blobs()
    big = x.astype(np.float64)
    big[7, 2] = 1e300
    m = mlp()
    with pytest.raises(ValueError, match=r"x has finite values too large for float32.*up to 1e\+300.*sample 7"):
        m.fit(big, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_data x has finite values too large for float32"):
        m.fit(x, y, validation_data=(big, y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="x has finite values too large for float32"):
        m.evaluate(big, y)
    with pytest.raises(ValueError, match=r"x has finite values too large for float32.*sample 7"):
        m.predict(big)
    assert m.optimizer.iterations == 0
    r = mlp(out=1, loss="mse")
    with pytest.raises(ValueError, match="y has finite values too large for float32"):
        r.fit(x, np.full(60, -1e39), epochs=1, verbose=0)
    # float64 models take the same data: nothing overflows there
    with Float64():
        m64 = mlp()
        m64.build((None, 5))
    assert m64.predict(big).dtype == np.float64


class Float64:
    def __enter__(self):
        self.old = nr.get_default_dtype()
        nr.set_default_dtype(np.float64)

    def __exit__(self, *exc):
        nr.set_default_dtype(self.old)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_predict_refuses_rows_with_nan_or_inf(bad):
    x, y = blobs()
    m = mlp()
    m.fit(x, y, epochs=1, verbose=0)
    x[11, 3] = bad
    with pytest.raises(ValueError, match="x contains NaN or Inf.*1 samples, the first is sample 11"):
        m.predict(x)


# ---------------------------------------------------------------- divergence
class Watch(Callback):
    """Copies of the weights at the start and at the end of every batch."""

    def __init__(self, model):
        super().__init__()
        self.m, self.begin, self.end = model, {}, {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.begin[self.epoch, batch] = weights(self.m)

    def on_train_batch_end(self, batch, logs=None):
        self.end[self.epoch, batch] = weights(self.m)


def explode_after(m, steps):
    """Make the optimizer's update number ``steps`` send every weight to Inf."""
    opt = m.optimizer
    step = opt.step

    def exploding_step(*a, **k):
        out = step(*a, **k)
        if opt.iterations == steps:
            for p in m.parameters():
                p.data[...] = np.inf
        return out

    opt.step = exploding_step


def test_divergence_stops_and_restores_the_last_weights_that_gave_a_finite_loss():
    x, y = blobs(n=64)
    m = mlp(lr=0.1)
    explode_after(m, 6)  # the update of epoch 2, batch 2 blows up, so batch 3's loss is not finite
    watch = Watch(m)
    with np.errstate(all="ignore"), pytest.warns(
            TrainingWarning, match=r"at epoch 2, batch 3: training stopped; the model was put back to the last "
                                   r"weights that gave a finite loss \(those of epoch 2, batch 2, before its update"):
        h = m.fit(x, y, epochs=5, batch_size=16, shuffle=False, verbose=0, callbacks=[watch])
    assert len(h.history["loss"]) == 1 and "epoch 2, batch 3" in h.stop_reason
    assert not np.isfinite(watch.end[1, 1]["1.kernel"]).any()  # the weights had really gone
    for k, v in weights(m).items():
        np.testing.assert_array_equal(v, watch.begin[1, 1][k])
    assert np.isfinite(m.evaluate(x, y)).all()  # [loss, accuracy]


def test_divergence_restores_running_statistics_too():
    x, y = blobs(n=64)
    nr.manual_seed(0)
    m = nn.Sequential([nn.Dense(8), nn.BatchNorm(), nn.Activation("relu"), nn.Dense(3)])
    m.compile(optim.SGD(lr=0.1), "cross_entropy")
    explode_after(m, 2)
    watch = Watch(m)
    with np.errstate(all="ignore"), pytest.warns(TrainingWarning, match="epoch 1, batch 3.*epoch 1, batch 2"):
        m.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0, callbacks=[watch])
    after = weights(m)
    assert all(np.isfinite(v).all() for v in after.values())
    stats = [k for k in after if "running" in k or "moving" in k]
    assert stats and any(not np.array_equal(watch.begin[0, 0][k], watch.end[0, 1][k]) for k in stats)
    for k, v in after.items():  # the weights batch 2 started from, the statistics batch 2's forward left
        np.testing.assert_array_equal(v, (watch.end[0, 1] if k in stats else watch.begin[0, 1])[k])


def test_divergence_at_the_first_step_says_the_weights_are_the_starting_ones():
    x, y = blobs(n=32)
    m = mlp()
    m.build((None, 5))
    before = weights(m)
    m.compile(optim.SGD(lr=0.1), lambda out, t: (out * float("nan")).sum())
    with pytest.warns(TrainingWarning, match="epoch 1, batch 1.*no update was applied in this fit"):
        m.fit(x, y, epochs=2, verbose=0)
    for k, v in weights(m).items():
        np.testing.assert_array_equal(v, before[k])


# ---------------------------------------------------------------- non-finite weights
def test_evaluate_on_a_model_with_non_finite_weights_says_so():
    x, y = blobs()
    m = mlp()
    m.fit(x, y, epochs=1, verbose=0)
    m.layers[1].kernel.data[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"weights are not finite \(.*kernel holds NaN or Inf\)"):
        m.evaluate(x, y)
