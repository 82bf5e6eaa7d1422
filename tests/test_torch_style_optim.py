"""optim.Adadelta and optim.lr_scheduler (StepLR, ExponentialLR, ReduceLROnPlateau) against torch.optim."""

import numpy as np
import pytest

import neurona as nr
from neurona import optim

torch = pytest.importorskip("torch")


def _pair(seed=0, shapes=((3, 4), (4,))):
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s) for s in shapes]
    ours = [nr.tensor(v, dtype=np.float64, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    return ours, theirs, rng


@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.01}])
def test_adadelta_matches_torch_for_n_steps(kwargs):
    ours, theirs, rng = _pair()
    opt, ref = optim.Adadelta(ours, **kwargs), torch.optim.Adadelta(theirs, **kwargs)
    for _ in range(7):
        grads = [rng.standard_normal(p.shape) for p in ours]
        for p, t, g in zip(ours, theirs, grads):
            p.grad, t.grad = nr.backend.to_device(g.copy(), p.device), torch.tensor(g)
        opt.step()
        ref.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_adadelta_state_round_trips_and_checks_rho():
    ours, _, _ = _pair()
    opt = optim.Adadelta(ours)
    for p in ours:
        p.grad = nr.backend.to_device(np.ones(p.shape), p.device)
    opt.step()
    again = optim.Adadelta(ours)
    again.load_state_dict(opt.state_dict())
    assert again.state_dict()["iterations"] == 1
    with pytest.raises(ValueError, match="rho must be in"):
        optim.Adadelta(ours, rho=1.5)


def _step_both(ours_sched, ref_sched, opt, ref, epochs=9):
    for epoch in range(epochs):
        assert opt.lr == pytest.approx(ref.param_groups[0]["lr"], rel=1e-12), epoch
        assert ours_sched.get_last_lr() == pytest.approx(ref_sched.get_last_lr(), rel=1e-12)
        opt.step()
        ref.step()
        ours_sched.step()
        ref_sched.step()


def test_step_lr_matches_torch_step_by_step():
    ours, theirs, _ = _pair()
    opt, ref = optim.SGD(ours, lr=0.1), torch.optim.SGD(theirs, lr=0.1)
    _step_both(optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.7),
               torch.optim.lr_scheduler.StepLR(ref, step_size=2, gamma=0.7), opt, ref)


def test_exponential_lr_matches_torch_with_two_groups():
    ours, theirs, _ = _pair()
    opt = optim.SGD([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.01}], lr=0.1)
    ref = torch.optim.SGD([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.01}], lr=0.1)
    s, r = optim.lr_scheduler.ExponentialLR(opt, gamma=0.9), torch.optim.lr_scheduler.ExponentialLR(ref, gamma=0.9)
    for _ in range(6):
        assert s.get_last_lr() == pytest.approx(r.get_last_lr(), rel=1e-12)
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([g["lr"] for g in ref.param_groups], rel=1e-12)
        ref.step()  # no gradients: nothing moves, but torch wants optimizer.step() first
        s.step()
        r.step()
    again = optim.lr_scheduler.ExponentialLR(optim.SGD(ours, lr=0.1), gamma=0.9)
    again.load_state_dict(s.state_dict())
    assert again.last_epoch == 6 and again.get_last_lr()[0] == pytest.approx(s.get_last_lr()[0])


def test_reduce_on_plateau_is_the_existing_one_and_matches_torch():
    assert optim.lr_scheduler.ReduceLROnPlateau is optim.ReduceLROnPlateau
    ours, theirs, _ = _pair()
    opt, ref = optim.SGD(ours, lr=1.0), torch.optim.SGD(theirs, lr=1.0)
    s = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    r = torch.optim.lr_scheduler.ReduceLROnPlateau(ref, patience=1, factor=0.5)
    for loss in [1.0, 0.9, 0.95, 0.97, 0.8, 0.85, 0.9, 0.91, 0.92]:
        s.step(loss)
        r.step(loss)
        assert opt.lr == pytest.approx(ref.param_groups[0]["lr"])


def test_scheduler_errors_are_clear():
    ours, _, _ = _pair()
    with pytest.raises(TypeError, match="expected a neurona Optimizer"):
        optim.lr_scheduler.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="step_size must be a finite number > 0"):
        optim.lr_scheduler.StepLR(optim.SGD(ours, lr=0.1), step_size=0)
    with pytest.raises(TypeError, match="already a schedule"):
        optim.lr_scheduler.StepLR(optim.SGD(ours, lr=optim.StepDecay(0.1, 2)), step_size=1)
