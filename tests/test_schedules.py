"""Learning-rate schedules against torch.optim.lr_scheduler, step by step, and ReduceLROnPlateau against torch's."""

import copy
import json
import math

import numpy as np
import pytest
import torch

import neurona as nr
from neurona import optim
from neurona.optim import (
    CosineDecay,
    ExponentialDecay,
    PiecewiseConstant,
    ReduceLROnPlateau,
    StepDecay,
    get_schedule,
    serialize_schedule,
)

N = 60


def torch_lrs(base_lr, make_scheduler, n=N):
    """The lr a torch optimizer uses at steps 0..n-1 when its scheduler is stepped after every step."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs)


S = torch.optim.lr_scheduler
CASES = [
    ("step", StepDecay(0.1, step_size=7, gamma=0.5), 0.1, lambda o: S.StepLR(o, step_size=7, gamma=0.5), N),
    ("step_default_gamma", StepDecay(0.3, step_size=10), 0.3, lambda o: S.StepLR(o, step_size=10), N),
    ("exponential", ExponentialDecay(0.1, decay_steps=1, decay_rate=0.95), 0.1,
     lambda o: S.ExponentialLR(o, gamma=0.95), N),
    ("exponential_staircase", ExponentialDecay(0.1, decay_steps=5, decay_rate=0.7, staircase=True), 0.1,
     lambda o: S.StepLR(o, step_size=5, gamma=0.7), N),
    ("cosine", CosineDecay(0.1, decay_steps=40), 0.1, lambda o: S.CosineAnnealingLR(o, T_max=40), 41),
    ("cosine_alpha", CosineDecay(0.1, decay_steps=30, alpha=0.1), 0.1,
     lambda o: S.CosineAnnealingLR(o, T_max=30, eta_min=0.01), 31),
    ("cosine_warmup", CosineDecay(0.01, decay_steps=40, warmup_steps=10, warmup_target=0.1), 0.1,
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=10),
                                  S.CosineAnnealingLR(o, T_max=40)], milestones=[10]), 51),
    ("cosine_warmup_alpha", CosineDecay(0.02, decay_steps=25, alpha=0.05, warmup_steps=5, warmup_target=0.2), 0.2,
     lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5),
                                  S.CosineAnnealingLR(o, T_max=25, eta_min=0.01)], milestones=[5]), 31),
    ("piecewise", PiecewiseConstant([9, 24, 39], [0.1, 0.05, 0.025, 0.0125]), 0.1,
     lambda o: S.MultiStepLR(o, milestones=[10, 25, 40], gamma=0.5), N),
]


@pytest.mark.parametrize("name,schedule,base,make,n", CASES, ids=[c[0] for c in CASES])
def test_schedule_matches_torch(name, schedule, base, make, n):
    ours = np.array([schedule(step) for step in range(n)])
    theirs = torch_lrs(base, make, n)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)
    assert len(set(np.round(ours, 12))) > 1  # the schedule does change


def test_exponential_decay_is_continuous_keras_formula():
    s = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(0) == 0.1 and s(10) == pytest.approx(0.05) and s(5) == pytest.approx(0.1 * 0.5**0.5)
    theirs = torch_lrs(0.1, lambda o: S.ExponentialLR(o, gamma=0.5 ** 0.1))
    np.testing.assert_allclose([s(t) for t in range(N)], theirs, rtol=1e-9)


def test_cosine_holds_after_decay_steps():
    s = CosineDecay(0.1, decay_steps=20, alpha=0.1)
    assert s(20) == pytest.approx(0.01) and s(100) == s(20)
    w = CosineDecay(0.0, decay_steps=20, warmup_steps=5, warmup_target=0.1)
    assert w(0) == 0.0 and w(5) == pytest.approx(0.1) and w(2) == pytest.approx(0.04) and w(1000) == w(25)
    # as in Keras, warmup_steps without warmup_target does nothing
    assert CosineDecay(0.1, 20, warmup_steps=5)(0) == 0.1


def test_piecewise_boundaries_follow_keras():
    s = PiecewiseConstant([10, 20], [1.0, 0.5, 0.1])
    assert [s(t) for t in (0, 10, 11, 20, 21, 1000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]


@pytest.mark.parametrize("schedule", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_config_round_trip_through_json(schedule):
    text = json.dumps(serialize_schedule(schedule))
    rebuilt = get_schedule(json.loads(text))
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()
    assert [rebuilt(t) for t in range(50)] == [schedule(t) for t in range(50)]
    assert get_schedule(schedule) is schedule
    assert type(schedule).__name__ in repr(schedule)


def test_custom_schedule_round_trip():
    class Halving(optim.LearningRateSchedule):
        def __init__(self, lr):
            self.lr = lr

        def __call__(self, step):
            return self.lr / 2 ** step

        def get_config(self):
            return {"lr": self.lr}

    rebuilt = get_schedule(serialize_schedule(Halving(0.4)), custom_objects={"Halving": Halving})
    assert rebuilt(2) == 0.1
    with pytest.raises(ValueError, match="unknown schedule 'Halving'"):
        get_schedule(serialize_schedule(Halving(0.4)))


@pytest.mark.parametrize("make,match", [
    (lambda: StepDecay(0.1, step_size=0), "step_size"),
    (lambda: StepDecay(-0.1, step_size=3), "initial_lr"),
    (lambda: ExponentialDecay(0.1, decay_steps=0, decay_rate=0.9), "decay_steps"),
    (lambda: CosineDecay(0.1, decay_steps=10, alpha=2.0), "alpha"),
    (lambda: PiecewiseConstant([1, 2], [0.1, 0.2]), "one more value"),
    (lambda: PiecewiseConstant([5, 2], [0.1, 0.2, 0.3]), "increase"),
    (lambda: get_schedule({"config": {}}), "class_name"),
    (lambda: serialize_schedule(lambda t: 0.1), "LearningRateSchedule"),
])
def test_schedule_errors(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


# ---------------------------------------------------------------- reduce on plateau
def _param():
    return nr.tensor(np.zeros(3), dtype=np.float64, requires_grad=True)


def _pair(n_groups=1, lr=0.1, **kw):
    ours_params = [_param() for _ in range(n_groups)]
    theirs_params = [torch.zeros(3, requires_grad=True) for _ in range(n_groups)]
    lrs = [lr * (i + 1) for i in range(n_groups)]
    ours = optim.SGD([{"params": [p], "lr": r} for p, r in zip(ours_params, lrs, strict=True)], lr=lr)
    theirs = torch.optim.SGD([{"params": [p], "lr": r} for p, r in zip(theirs_params, lrs, strict=True)], lr=lr)
    return ours, theirs, ReduceLROnPlateau(ours, **kw), torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **kw)


def _metrics(kind, n=80, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "noisy_decay":
        return list(np.exp(-np.arange(n) / 15) + 0.05 * rng.standard_normal(n))
    if kind == "plateaus":
        return list(np.repeat([1.0, 0.8, 0.79995, 0.5, 0.5, 0.49], n // 6 + 1)[:n])
    if kind == "rising":
        return list(np.linspace(0, 1, n) + 0.02 * rng.standard_normal(n))
    return list(np.round(rng.uniform(0, 1, n), 1))  # many ties


PLATEAU_CASES = [
    dict(),
    dict(patience=2),
    dict(patience=0, factor=0.5),
    dict(patience=3, cooldown=2, factor=0.5),
    dict(patience=1, min_lr=0.004, factor=0.3),
    dict(patience=2, threshold=0.01, threshold_mode="abs"),
    dict(patience=2, threshold=0.05),
    dict(mode="max", patience=2, factor=0.5),
    dict(mode="max", patience=1, threshold=0.02, threshold_mode="abs", cooldown=1),
    dict(patience=1, factor=0.9, eps=1e-3),
]


@pytest.mark.parametrize("kw", PLATEAU_CASES, ids=[str(k) for k in PLATEAU_CASES])
@pytest.mark.parametrize("kind", ["noisy_decay", "plateaus", "rising", "ties"])
def test_plateau_matches_torch(kw, kind):
    ours_opt, theirs_opt, ours, theirs = _pair(**kw)
    for metric in _metrics(kind):
        ours.step(metric)
        theirs.step(metric)
        assert ours_opt.lr == pytest.approx(theirs_opt.param_groups[0]["lr"], rel=1e-12)
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter) == (
            theirs.best, theirs.num_bad_epochs, theirs.cooldown_counter)
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12)


def test_plateau_reduces_and_reports_it():
    opt = optim.Adam(lr=1e-3)
    opt.add_params([_param()])
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=1, min_lr=3e-4)
    assert [plateau.step(m) for m in (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)] == [
        False, False, True, False, True, False, False]
    assert opt.lr == 3e-4 and opt.defaults["lr"] == 3e-4


def test_plateau_per_group_min_lr_matches_torch():
    ours_opt, theirs_opt, ours, theirs = _pair(n_groups=2, patience=0, min_lr=[0.01, 0.05])
    for metric in [1.0] * 6:
        ours.step(metric)
        theirs.step(metric)
    assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx([g["lr"] for g in theirs_opt.param_groups])
    assert [g["lr"] for g in ours_opt.param_groups] == pytest.approx([0.01, 0.05])


def test_plateau_before_parameters_are_attached():
    opt = optim.SGD(lr=0.1)
    plateau = ReduceLROnPlateau(opt, patience=0)
    plateau.step(1.0)
    assert plateau.step(1.0) and opt.lr == pytest.approx(0.01)


def test_plateau_state_dict_resume():
    metrics = _metrics("noisy_decay")
    opt, _, straight, _ = _pair(patience=2, cooldown=1, factor=0.5)
    for m in metrics:
        straight.step(m)
    opt2, _, first, _ = _pair(patience=2, cooldown=1, factor=0.5)
    for m in metrics[:30]:
        first.step(m)
    saved = json.loads(json.dumps(first.state_dict()))  # JSON types only
    second = ReduceLROnPlateau(opt2, patience=7)
    second.load_state_dict(copy.deepcopy(saved))
    assert second.patience == 2
    for m in metrics[30:]:
        second.step(m)
    assert opt2.lr == opt.lr and second.state_dict() == straight.state_dict()


def test_plateau_with_schedule_is_an_error():
    opt = optim.SGD([_param()], lr=StepDecay(0.1, 10))
    plateau = ReduceLROnPlateau(opt, patience=0)
    plateau.step(1.0)
    with pytest.raises(TypeError, match="schedule"):
        plateau.step(1.0)


@pytest.mark.parametrize("kw,match", [
    (dict(mode="mean"), "mode"),
    (dict(threshold_mode="pct"), "threshold_mode"),
    (dict(factor=1.0), "factor"),
    (dict(patience=-1), "patience"),
    (dict(min_lr=[0.1, 0.2]), "min_lr"),
])
def test_plateau_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        ReduceLROnPlateau(optim.SGD([_param()]), **kw)
    with pytest.raises(TypeError, match="Optimizer"):
        ReduceLROnPlateau(torch.optim.SGD([torch.zeros(1, requires_grad=True)]))


def test_plateau_nan_metric_counts_as_bad():
    opt, topt, ours, theirs = _pair(patience=1)
    for m in [1.0, math.nan, math.nan, 0.5]:
        ours.step(m)
        theirs.step(m)
    assert opt.lr == pytest.approx(topt.param_groups[0]["lr"]) and ours.best == 0.5
