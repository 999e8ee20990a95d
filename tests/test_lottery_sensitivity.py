"""Lottery tickets (rewinding, the random re-init control), sensitivity analysis and sweeps."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from nnprune import nn, optim, prune
from nnprune.data import digits_splits
from nnprune.data.loader import Splits
from nnprune.models import mlp
from nnprune.pipeline import (
    lottery_ticket,
    plot_sensitivity,
    plot_sweep,
    random_reinit_control,
    retrain,
    sensitivity_analysis,
    sparsity_sweep,
    threshold_sweep,
    write_csv,
)
from nnprune.train import evaluate, fit

SIZES = (64, 24, 16, 10)
LR = 0.05


def build(seed):
    return mlp(SIZES, seed=seed)


@pytest.fixture(scope="module")
def splits():
    full = digits_splits(0)
    return Splits((full.train[0][:300], full.train[1][:300]), full.val, full.test)


@pytest.fixture(scope="module")
def trained(splits):
    model = build(0)
    retrain(model, splits, 3, LR, seed=0)
    return model


def train_by_hand(model, splits, epochs, seed=0):
    opt = optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    fit(model, nn.CrossEntropyLoss(), opt, splits.train, epochs=epochs, batch_size=64, seed=seed,
        progress=False)  # fmt: skip
    return model


def state_equal(a, b):
    assert set(a) == set(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# ----------------------------------------------------------------- lottery
def test_lottery_rewinds_survivors_to_theta0_and_hits_per_layer_rates(splits):
    result = lottery_ticket(build, splits, final_sparsity=0.75, rounds=2, epochs=1, lr=LR)
    theta0 = build(0).state_dict()  # independent rebuild of the initial weights
    state_equal(result.initial_state, theta0)
    p = 1 - 0.25**0.5
    assert result.rounds[0].sparsity == 0.0
    for r in (1, 2):
        rnd = result.rounds[r]
        for name, value in theta0.items():
            mask = rnd.masks.get(name)
            expect = value if mask is None else value * mask
            np.testing.assert_array_equal(rnd.start_state[name], expect, err_msg=name)
        for name, layer_p in (("0.weight", p), ("2.weight", p), ("4.weight", p / 2)):
            size = theta0[name].size
            assert rnd.layer_sparsity[name] == round((1 - (1 - layer_p) ** r) * size) / size
    assert [r.round for r in result.rounds] == [0, 1, 2]


def test_lottery_round_equals_training_the_masked_theta0_by_hand(splits):
    result = lottery_ticket(build, splits, final_sparsity=0.5, rounds=1, epochs=2, lr=LR)
    model = build(0)
    for name, mask in result.rounds[1].masks.items():
        prune.custom_from_mask(model.get_submodule(name.rpartition(".")[0]), "weight", mask)
    train_by_hand(model, splits, 2)
    state_equal(model.state_dict(), result.model.state_dict())


def test_lottery_rewinds_to_epoch_k_checkpoint(splits):
    result = lottery_ticket(build, splits, final_sparsity=0.5, rounds=1, epochs=2, lr=LR,
                            rewind_epoch=1)  # fmt: skip
    after_one = train_by_hand(build(0), splits, 1).state_dict()
    masks = result.rounds[1].masks
    for name, value in after_one.items():
        expect = value * masks[name] if name in masks else value
        np.testing.assert_allclose(result.rounds[1].start_state[name], expect, rtol=0, atol=0)


def test_random_reinit_control_same_masks_new_weights(splits):
    result = lottery_ticket(build, splits, final_sparsity=0.6, rounds=1, epochs=1, lr=LR)
    masks = result.rounds[1].masks
    control = random_reinit_control(build, masks, splits, epochs=1, lr=LR, seed=7)
    assert set(control.masks) == set(masks)
    for name, mask in masks.items():
        np.testing.assert_array_equal(control.masks[name], mask)
        kept = mask
        assert not np.allclose(control.initial_state[name][kept], result.initial_state[name][kept])
        np.testing.assert_array_equal(
            control.initial_state[name], build(7).state_dict()[name] * mask
        )
        assert np.all(control.model.state_dict()[name][~mask] == 0)
    assert control.sparsity == pytest.approx(result.rounds[1].sparsity)
    with pytest.raises(ValueError, match=r"masks has unknown parameter names \['9.weight'\]"):
        random_reinit_control(build, {"9.weight": np.ones(3, bool)}, splits, epochs=1, lr=LR)


def test_lottery_errors(splits):
    kw = dict(epochs=1, lr=LR)
    with pytest.raises(ValueError, match=r"final_sparsity must be in \[0, 1\), got 1.0"):
        lottery_ticket(build, splits, final_sparsity=1.0, rounds=1, **kw)
    with pytest.raises(ValueError, match="rounds must be an integer >= 1, got 0"):
        lottery_ticket(build, splits, final_sparsity=0.5, rounds=0, **kw)
    with pytest.raises(ValueError, match=r"rewind_epoch must be an integer in \[0, epochs=1\]"):
        lottery_ticket(build, splits, final_sparsity=0.5, rounds=1, rewind_epoch=2, **kw)
    with pytest.raises(ValueError, match=r"scope must be one of"):
        lottery_ticket(build, splits, final_sparsity=0.5, rounds=1, scope="unit", **kw)
    with pytest.raises(TypeError, match=r"build_model\(seed\) must return an nnprune Module"):
        lottery_ticket(lambda s: None, splits, final_sparsity=0.5, rounds=1, **kw)


# ------------------------------------------------------------- sensitivity
def test_sensitivity_prunes_one_layer_per_row_and_restores_model(trained, splits):
    before = trained.state_dict()
    sizes = {n: p.size for n, p in trained.named_parameters() if p.prunable}
    rows = sensitivity_analysis(trained, splits, (0.3, 0.8))
    state_equal(trained.state_dict(), before)
    assert not any(p.mask is not None for p in trained.parameters())
    assert [(r["layer"], r["sparsity"]) for r in rows] == [
        (n, s) for n in sizes for s in (0.3, 0.8)
    ]
    for r in rows:
        assert r["pruned"] == round(r["sparsity"] * sizes[r["layer"]])
        assert r["model_pruned"] == r["pruned"]  # nothing else in the model is pruned
    # independent: prune that one layer by hand with the pruning API and evaluate
    copy = build(0)
    copy.load_state_dict(before)
    prune.l1_unstructured(copy.get_submodule("2"), "weight", amount=round(0.8 * sizes["2.weight"]))
    loss, acc = evaluate(copy, nn.CrossEntropyLoss(), splits.val)
    row = next(r for r in rows if r["layer"] == "2.weight" and r["sparsity"] == 0.8)
    assert row["accuracy"] == acc and row["loss"] == pytest.approx(loss)


def test_sensitivity_outputs_and_errors(trained, splits, tmp_path):
    rows = sensitivity_analysis(trained, splits, (0.5,), layers=["4"])
    assert [r["layer"] for r in rows] == ["4.weight"]
    path = write_csv(rows, tmp_path / "sens.csv")
    with open(path, newline="") as fh:
        read = list(csv.DictReader(fh))
    assert len(read) == 1 and float(read[0]["accuracy"]) == pytest.approx(rows[0]["accuracy"])
    assert plot_sensitivity(rows, tmp_path).stat().st_size > 1000
    with pytest.raises(ValueError, match=r"sparsities must be in \[0, 1\), got 1.0"):
        sensitivity_analysis(trained, splits, (0.5, 1.0))
    with pytest.raises(ValueError, match=r"unknown layer names \['fc9'\]"):
        sensitivity_analysis(trained, splits, layers=["fc9"])
    with pytest.raises(ValueError, match=r"criterion must be one of \['magnitude', 'random'\]"):
        sensitivity_analysis(trained, splits, criterion="taylor")


# ------------------------------------------------------------------ sweeps
def test_sparsity_sweep_monotone_exact_and_leaves_model(trained, splits, tmp_path):
    before = trained.state_dict()
    total = sum(p.size for p in trained.parameters() if p.prunable)
    targets = (0.2, 0.5, 0.9)
    rows = sparsity_sweep(trained, splits, targets, retrain_epochs=1)
    state_equal(trained.state_dict(), before)
    achieved = [r["sparsity"] for r in rows]
    assert achieved == [round(s * total) / total for s in targets]
    assert achieved == sorted(achieved)
    assert plot_sweep(rows, tmp_path, "s.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"criterion must be one of"):
        sparsity_sweep(trained, splits, targets, criterion="l2")


def test_threshold_sweep_matches_q_std_rule(trained, splits):
    before = trained.state_dict()
    qs = (0.0, 0.5, 1.0, 2.0)
    rows = threshold_sweep(trained, splits, qs)
    state_equal(trained.state_dict(), before)
    weights = [before[n] for n, p in trained.named_parameters() if p.prunable]
    total = sum(w.size for w in weights)
    for q, row in zip(qs, rows, strict=True):
        expect = sum(int((np.abs(w) < q * np.std(w.astype(np.float64))).sum()) for w in weights)
        assert row["q"] == q and row["sparsity"] == expect / total
    achieved = [r["sparsity"] for r in rows]
    assert achieved == sorted(achieved) and achieved[0] == 0.0
    with pytest.raises(ValueError, match="qs must hold numbers >= 0, got -1"):
        threshold_sweep(trained, splits, (0.5, -1))


def test_sweep_and_sensitivity_plots_draw_dense_and_chance(monkeypatch, tmp_path):
    from nnprune.pipeline import sensitivity as module

    figures = []
    monkeypatch.setattr(module, "save_figure", lambda fig, out, name: figures.append(fig) or name)
    rows = [{"q": q, "sparsity": s, "accuracy": a}
            for q, s, a in ((0.5, 0.3, 0.97), (2.0, 0.97, 0.4))]  # fmt: skip
    plot_sweep(rows, tmp_path, "s.png", dense=0.96, chance=0.1)
    plot_sensitivity([{"layer": "0.weight", **r} for r in rows], tmp_path, dense=0.96, chance=0.1)
    for fig in figures:
        ax = fig.axes[0]
        levels = sorted(ln.get_ydata()[0] for ln in ax.lines if list(ln.get_xdata()) == [0, 1])
        assert levels == pytest.approx([10.0, 96.0]), levels
        assert ax.get_ylim()[0] <= 10 and ax.get_ylim()[1] >= 100
    labels = [t for t in figures[0].axes[0].texts if t.get_text().startswith("q=")]
    assert [t.get_text() for t in labels] == ["q=0.5", "q=2"]
    assert all(t.get_position()[1] < 0 for t in labels)  # offset below the point, off the line
