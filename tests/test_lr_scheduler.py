"""Tests for nnprune.optim.lr_scheduler: PyTorch parity, formulas, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from nnprune import optim
from nnprune.nn import Parameter
from nnprune.optim import lr_scheduler

EPOCHS = 30
BASE_LRS = (0.1, 0.02)


class _NnpruneLib:
    """Lets ``lib.optim.lr_scheduler`` name nnprune's schedulers as ``torch`` names torch's."""

    optim = optim


def make_optimizer(lib):
    """SGD with two parameter groups of different base rates, in nnprune or torch."""
    if lib is _NnpruneLib:
        a, b = Parameter(np.ones(2)), Parameter(np.ones(3))
    else:
        a, b = lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)
    return lib.optim.SGD(
        [{"params": [a]}, {"params": [b], "lr": BASE_LRS[1]}], lr=BASE_LRS[0], momentum=0.9
    )


SCHEDULES = {
    "step": lambda s, o: s.StepLR(o, step_size=7, gamma=0.5),
    "cosine": lambda s, o: s.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
    "cosine_zero_min": lambda s, o: s.CosineAnnealingLR(o, T_max=30),
    "linear_warmup": lambda s, o: s.LinearLR(o, start_factor=0.25, total_iters=5),
    "linear_default": lambda s, o: s.LinearLR(o),
    "linear_decay": lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10),
    "warmup_cosine": lambda s, o: s.SequentialLR(
        o, [s.LinearLR(o, start_factor=0.1, total_iters=5), s.CosineAnnealingLR(o, T_max=25)], [5]
    ),
    "three_phases": lambda s, o: s.SequentialLR(
        o,
        [
            s.LinearLR(o, start_factor=0.5, total_iters=3),
            s.StepLR(o, step_size=2, gamma=0.7),
            s.CosineAnnealingLR(o, T_max=8, eta_min=1e-4),
        ],
        [3, 10],
    ),
}


def lr_history(lib, name):
    opt = make_optimizer(lib)
    sched = SCHEDULES[name](lib.optim.lr_scheduler, opt)
    history = []
    for _ in range(EPOCHS):
        history.append(list(sched.get_last_lr()))
        assert [g["lr"] for g in opt.param_groups] == history[-1]
        opt.step()
        sched.step()
    return np.array(history)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_parity_with_torch(name):
    torch = pytest.importorskip("torch")
    ours = lr_history(_NnpruneLib, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = lr_history(torch, name)
    np.testing.assert_allclose(
        ours, theirs, rtol=1e-12, atol=1e-15, err_msg=f"ours vs torch {name}"
    )


def test_step_lr_formula():
    history = lr_history(_NnpruneLib, "step")
    for e, lrs in enumerate(history):
        for base, lr in zip(BASE_LRS, lrs, strict=True):
            assert lr == pytest.approx(base * 0.5 ** (e // 7), rel=1e-15)


def test_cosine_formula_endpoints():
    history = lr_history(_NnpruneLib, "cosine")
    for base, column in zip(BASE_LRS, history.T, strict=True):
        assert column[0] == pytest.approx(base)
        assert column[5] == pytest.approx((base + 1e-3) / 2)  # half-way: the mean
        assert column[10] == pytest.approx(1e-3)  # T_max: eta_min
        assert column[20] == pytest.approx(base)  # the cosine rises again, as in PyTorch
        assert np.all(np.diff(column[:11]) < 0)


def test_linear_warmup_then_constant():
    history = lr_history(_NnpruneLib, "linear_warmup")
    for base, column in zip(BASE_LRS, history.T, strict=True):
        expected = [base * (0.25 + 0.75 * min(e, 5) / 5) for e in range(EPOCHS)]
        np.testing.assert_allclose(column, expected, rtol=1e-14)


def test_sequential_restarts_the_second_schedule_at_the_milestone():
    history = lr_history(_NnpruneLib, "warmup_cosine")
    base = BASE_LRS[0]
    assert history[0, 0] == pytest.approx(0.1 * base)
    assert history[5, 0] == pytest.approx(base)  # cosine epoch 0
    expected = base * (1 + math.cos(math.pi * 10 / 25)) / 2  # cosine epoch 10
    assert history[15, 0] == pytest.approx(expected)


def test_scheduled_lr_is_used_by_the_optimizer():
    p = Parameter(np.zeros(1))
    opt = optim.SGD([p], lr=1.0)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(4):
        p.grad[...] = 1.0
        opt.step()
        sched.step()
    np.testing.assert_allclose(p.data, [-(1 + 0.5 + 0.25 + 0.125)])


def test_state_dict_round_trip():
    opt = make_optimizer(_NnpruneLib)
    sched = SCHEDULES["three_phases"](lr_scheduler, opt)
    for _ in range(6):
        sched.step()
    saved = sched.state_dict()
    expected = []
    for _ in range(10):
        sched.step()
        expected.append(sched.get_last_lr())
    opt2 = make_optimizer(_NnpruneLib)
    sched2 = SCHEDULES["three_phases"](lr_scheduler, opt2)
    sched2.load_state_dict(saved)
    got = []
    for _ in range(10):
        sched2.step()
        got.append(sched2.get_last_lr())
    assert got == expected


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=0), "step_size must be a positive integer"),
        (lambda o: lr_scheduler.StepLR(o, step_size=2.5), "step_size must be .*got 2.5"),
        (lambda o: lr_scheduler.StepLR(o, 3, gamma=0.0), r"gamma must be > 0, got 0.0"),
        (lambda o: lr_scheduler.StepLR(o, 3, gamma="x"), r"gamma must be a finite real number"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), "T_max must be a positive int"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, 5, eta_min=-1), "eta_min must be >= 0"),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=0), r"start_factor must be in \(0, 1\]"),
        (lambda o: lr_scheduler.LinearLR(o, start_factor=1.5), r"start_factor .*got 1.5"),
        (lambda o: lr_scheduler.LinearLR(o, end_factor=1.2), r"end_factor must be in \[0, 1\]"),
        (lambda o: lr_scheduler.LinearLR(o, total_iters=0), "total_iters must be a positive"),
        (lambda o: lr_scheduler.SequentialLR(o, [], []), "at least one scheduler, got none"),
        (
            lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)], [3]),
            r"len\(schedulers\) - 1 = 0 entries, got 1",
        ),
        (
            lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.LinearLR(o)] * 3, [5, 5]),
            r"milestones must be strictly increasing, got \[5, 5\]",
        ),
        (
            lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.LinearLR(o)] * 2, [0]),
            "each milestone must be a positive integer, got 0",
        ),
        (
            lambda o: lr_scheduler.SequentialLR(
                o, [lr_scheduler.StepLR(make_optimizer(_NnpruneLib), 2)] * 2, [3]
            ),
            r"schedulers\[0\] \(StepLR\) belongs to another optimizer",
        ),
    ],
)
def test_invalid_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make(make_optimizer(_NnpruneLib))


def test_type_errors():
    with pytest.raises(TypeError, match="optimizer must be an nnprune.optim.Optimizer, got dict"):
        lr_scheduler.StepLR({"lr": 0.1}, step_size=2)
    opt = make_optimizer(_NnpruneLib)
    with pytest.raises(TypeError, match=r"schedulers\[1\] must be an LRScheduler"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.LinearLR(opt), "cosine"], [3])


# ---------------------------------------------------------------- chaining
CHAINS = {
    "step_then_exponential": lambda s, o: [s.StepLR(o, step_size=4, gamma=0.5),
                                           s.ExponentialLR(o, gamma=0.9)],
    "step_then_cosine": lambda s, o: [s.StepLR(o, step_size=7, gamma=0.3),
                                      s.CosineAnnealingLR(o, T_max=EPOCHS, eta_min=1e-3)],
    "warmup_then_cosine": lambda s, o: [s.LinearLR(o, start_factor=0.2, total_iters=6),
                                        s.CosineAnnealingLR(o, T_max=EPOCHS)],
    "cosine_then_warmup": lambda s, o: [s.CosineAnnealingLR(o, T_max=EPOCHS, eta_min=1e-3),
                                        s.LinearLR(o, start_factor=0.5, total_iters=4)],
}  # fmt: skip


def chained_history(lib, name):
    opt = make_optimizer(lib)
    schedulers = CHAINS[name](lib.optim.lr_scheduler, opt)
    history = []
    for _ in range(EPOCHS):  # up to T_max: past it PyTorch's chained cosine adds (see module doc)
        history.append([g["lr"] for g in opt.param_groups])
        opt.step()
        for s in schedulers:
            s.step()
    return np.array(history)


@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chained_schedulers_match_torch(name):
    torch = pytest.importorskip("torch")
    ours = chained_history(_NnpruneLib, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = chained_history(torch, name)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15, err_msg=name)


def test_chained_multiplicative_schedules_multiply():
    history = chained_history(_NnpruneLib, "step_then_exponential")
    for e, lrs in enumerate(history):
        for base, lr in zip(BASE_LRS, lrs, strict=True):
            assert lr == pytest.approx(base * 0.5 ** (e // 4) * 0.9**e, rel=1e-13)


def test_a_scheduler_alone_sets_its_closed_form_to_the_bit():
    history = lr_history(_NnpruneLib, "cosine")
    for e, lrs in enumerate(history):
        for base, lr in zip(BASE_LRS, lrs, strict=True):
            assert lr == 1e-3 + (base - 1e-3) * (1 + math.cos(math.pi * e / 10)) / 2


def test_exponential_lr_errors():
    opt = make_optimizer(_NnpruneLib)
    with pytest.raises(ValueError, match=r"gamma must be > 0, got -0.5"):
        lr_scheduler.ExponentialLR(opt, gamma=-0.5)
