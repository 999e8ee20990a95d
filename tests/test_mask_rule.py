"""The mask rule holds for code a student writes.

Whenever a layer computes, a pruned weight contributes exactly zero, and what
``p.data``, the metrics and the saved files show agrees with what the layer
computed. Each student case below is written the way a student would write it;
on the code before the rule moved into the ``Parameter.data`` getter each of
them left the pruned weights non-zero (or NaN) while ``weight.mask`` said
pruned.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import nnprune.optim
from nnprune import io, metrics, nn, optim, prune
from nnprune.optim import lr_scheduler

LR = 0.1


def _pruned_model(seed: int = 0, pruned: bool = True) -> tuple[nn.Module, np.ndarray, np.ndarray]:
    """A 2-layer MLP whose first weight has every other entry pruned; data to train it on."""
    model = nn.Sequential(nn.Linear(6, 5, seed=seed), nn.ReLU(), nn.Linear(5, 3, seed=seed + 1))
    if pruned:
        mask = np.zeros((5, 6), dtype=bool)
        mask.flat[::2] = True
        prune.custom_from_mask(model[0], "weight", mask)
    rng = np.random.default_rng(seed)
    return model, rng.normal(size=(8, 6)).astype(np.float32), rng.integers(0, 3, 8)


def _backward(model: nn.Module, x: np.ndarray, y: np.ndarray) -> None:
    loss_fn = nn.CrossEntropyLoss()
    model.zero_grad()
    loss_fn.forward(model(x), y)
    model.backward(loss_fn.backward())


def _first_layer_by_hand(model: nn.Module, x: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """What the first layer must compute: only the kept weights, pruned ones as exact zeros."""
    w = np.where(model[0].weight.mask, kept, 0.0)
    return x @ w.T + model[0].bias.data


def _assert_rule(model: nn.Module, tmp_path, x: np.ndarray | None = None, kept=None) -> None:
    p = model[0].weight
    pruned = ~p.mask
    assert np.all(p.data[pruned] == 0), "p.data shows a revived pruned weight"
    prunable = [q for _, _, _, q in model.prunable_parameters()]
    assert metrics.model_sparsity(model) == pytest.approx(
        int(pruned.sum()) / sum(q.size for q in prunable)
    )  # random float weights: the only exact zeros are the pruned ones
    assert metrics.parameter_sparsity(model)["0.weight"] == pytest.approx(pruned.mean())
    state = model.state_dict()
    assert np.all(state["0.weight"][pruned] == 0)
    io.save(model, tmp_path / "m.npz")
    saved, _ = io.load_state(tmp_path / "m.npz")
    assert np.all(saved["0.weight"][pruned] == 0)
    if x is not None:
        got = model[0](x)
        np.testing.assert_allclose(got, _first_layer_by_hand(model, x, kept), rtol=1e-5)


# ------------------------------------------------------------- student cases
def test_student_optimizer_that_overrides_step(tmp_path) -> None:
    class MySGD(optim.Optimizer):
        """Plain SGD, as a student writes it after reading the SGD formula."""

        def __init__(self, params, lr):
            super().__init__(params, dict(lr=lr))

        def step(self):
            for group in self.param_groups:
                for p in group["params"]:
                    p.data[...] -= group["lr"] * p.grad

    model, x, y = _pruned_model()
    opt = MySGD(model.parameters(), lr=LR)
    for _ in range(3):
        _backward(model, x, y)
        assert np.any(model[0].weight.grad[~model[0].weight.mask] != 0)  # dense gradients
        opt.step()
    _assert_rule(model, tmp_path)


def test_student_hand_written_loop(tmp_path) -> None:
    model, x, y = _pruned_model()
    for _ in range(3):
        _backward(model, x, y)
        for p in model.parameters():
            w = p.data
            w -= LR * p.grad
    _assert_rule(model, tmp_path)


def test_student_alias_is_zeroed_at_the_next_read_and_the_layer_computes_with_zeros(
    tmp_path,
) -> None:
    model, x, _ = _pruned_model()
    w = model[0].weight.data
    w += 1.0  # every weight moves, the pruned ones too
    kept = w.copy()
    _assert_rule(model, tmp_path, x, kept)
    assert np.all(w[~model[0].weight.mask] == 0)  # the student's alias shows it too


def test_nan_checkpoint_loaded_with_load_state_dict(tmp_path) -> None:
    model, x, _ = _pruned_model()
    state = model.state_dict()
    kept = state["0.weight"].copy()
    state["0.weight"][~state["0.weight_mask"]] = np.nan  # another tool wrote NaN there
    model.load_state_dict(state)
    out = model(x)
    assert np.all(np.isfinite(out))  # NaN * 0 would be NaN: zero by selection
    _assert_rule(model, tmp_path, x, kept)


def test_nan_and_inf_written_by_hand_into_pruned_entries(tmp_path) -> None:
    model, x, y = _pruned_model()
    _backward(model, x, y)
    kept = model[0].weight.data.copy()
    for p in model.parameters():
        w = p.data
        if p.mask is not None:
            w -= np.where(p.mask, 0.0, math.inf * p.grad)  # lr = inf, on the pruned ones only
            w[~p.mask & (p.grad == 0)] = np.nan
    assert np.all(np.isfinite(model(x)))
    _assert_rule(model, tmp_path, x, kept)


# -------------------------------------------------------------- learning rates
@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_optimizers_reject_non_finite_lr(bad) -> None:
    p = nn.Parameter(np.ones(2))
    for cls in (optim.SGD, optim.Adam, optim.AdamW):
        with pytest.raises(ValueError, match=r"lr must be"):
            cls([p], lr=bad)


def test_step_rejects_a_non_finite_lr_set_by_hand() -> None:
    p = nn.Parameter(np.ones(2))
    opt = optim.SGD([p], lr=0.1)
    opt.param_groups[0]["lr"] = math.inf
    with pytest.raises(ValueError, match=r"lr must be a finite real number >= 0, got inf"):
        opt.step()


def test_scheduler_rejects_a_non_finite_lr() -> None:
    p = nn.Parameter(np.ones(2))
    opt = optim.SGD([p], lr=1e300)
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=1e10)
    with pytest.raises(ValueError, match=r"lr .*must be finite, got inf"):
        sched.step()


# ------------------------------------------------------- every optimiser class
def _all_optimizer_classes() -> list[type]:
    """Every ``Optimizer`` subclass the library defines, found by walking ``__subclasses__``."""
    found, todo = [], list(nnprune.optim.Optimizer.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("nnprune."):
            found.append(cls)
    return sorted(set(found), key=lambda c: c.__qualname__)


def test_the_walk_finds_the_library_optimizers() -> None:
    names = {cls.__name__ for cls in _all_optimizer_classes()}
    assert {"SGD", "Adam", "AdamW"} <= names


@pytest.mark.parametrize("cls", _all_optimizer_classes(), ids=lambda c: c.__name__)
def test_every_library_optimizer_keeps_pruned_weights_and_state_zero(cls, tmp_path) -> None:
    sig = inspect.signature(cls.__init__).parameters
    kwargs = {"lr": LR}
    for name, value in (("momentum", 0.9), ("weight_decay", 0.1)):
        if name in sig:
            kwargs[name] = value
    model, x, y = _pruned_model(pruned=False)  # train dense first: fill momentum, averages
    opt = cls(model.parameters(), **kwargs)
    for _ in range(2):
        _backward(model, x, y)
        opt.step()
    mask = np.zeros((5, 6), dtype=bool)
    mask.flat[1::3] = True
    prune.custom_from_mask(model[0], "weight", mask)
    p = model[0].weight
    for _ in range(3):
        _backward(model, x, y)
        opt.step()
        kept = p.data.copy()
        _assert_rule(model, tmp_path, x, kept)
    for key, value in opt.state[p].items():
        if hasattr(value, "shape"):
            assert np.all(value[~p.mask] == 0), f"{cls.__name__} state {key!r} at pruned entries"


def test_masks_lifted_restores_the_masks_even_after_an_error() -> None:
    from nnprune.nn.parameter import masks_lifted

    p = nn.Parameter(np.array([1.0, 2.0, 3.0]))
    p.mask = np.array([True, False, True])
    with pytest.raises(RuntimeError, match="boom"), masks_lifted([p]):
        assert p.mask is None
        p.data[1] = 5.0  # inside the block the pruned entry can move
        assert p.data[1] == 5.0
        raise RuntimeError("boom")
    np.testing.assert_array_equal(p.mask, [True, False, True])
    np.testing.assert_array_equal(p.data, [1.0, 0.0, 3.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_selection_zeroes_any_pruned_value_and_keeps_kept_bits(dtype):
    # The two primitives of the rule, in place and as a copy, on the values that
    # multiplying by the mask would get wrong (nan * 0 = nan, -x * 0 = -0.0).
    from nnprune.nn.parameter import pruned_zeroed, zero_pruned

    values = np.array([np.nan, np.inf, -np.inf, -0.0, -1.5, 2.5, np.nan, -np.inf], dtype=dtype)
    mask = np.array([False, False, False, False, False, True, True, True])
    copy = pruned_zeroed(values, mask)
    assert copy.dtype == values.dtype and copy is not values
    expected_bits = np.where(mask, values, 0).view(f"u{values.itemsize}")
    assert np.array_equal(copy.view(expected_bits.dtype), expected_bits)  # bit for bit
    assert not np.signbit(copy[~mask]).any()  # +0.0, not -0.0
    assert np.isnan(values[0])  # the input is untouched
    zero_pruned(values, mask)
    assert np.array_equal(values.view(expected_bits.dtype), expected_bits)
