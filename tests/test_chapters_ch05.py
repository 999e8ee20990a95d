"""The chapter 5 lessons in --quick mode: §5.1-5.2 (ch05), §5.3 and Appendix B (ch05b)."""

import numpy as np
import pytest

from nnprune.book import heading
from nnprune.pipeline import evaluate


@pytest.mark.slow
def test_ch05_quick(run_lesson):
    g, printed = run_lesson("ch05_pruning_pipeline")
    tmp_path = g["lesson"].out
    at = [printed.index(heading(n)) for n in ("5.1", "5.2")]
    assert at == sorted(at)  # the book's order, each once
    assert all(printed.count(heading(n)) == 1 for n in ("5.1", "5.2"))
    assert heading("5.3") not in printed  # §5.3 is in ch05b
    for step, zh in zip(g["pipeline"].STEPS, g["zh"], strict=True):
        assert f" {zh} {step}:" in printed

    # every accuracy table says its split, and the dense reference on that split is printed
    dense_val = evaluate(g["trained"], g["splits"].val)[1]
    assert g["dense_val"] == dense_val
    assert printed.count(f"validation split; dense {dense_val:.2%}") == 3  # 2 sweeps, retraining
    assert f"test split; dense {g['dense_test']:.2%}" in printed
    assert g["table"][0]["sparsity"] == "dense"
    assert all(v == dense_val for k, v in g["table"][0].items() if k != "sparsity")

    # §5.1 compensation: same units removed both ways; the next layer's mean input is kept
    rows = g["comp_rows"]
    assert len(rows) == 6 and max(g["exact"]) < 1e-4
    for r in rows:
        assert r["gain_pts"] == pytest.approx(100 * (r["compensated"] - r["plain"]))
    assert "raised test accuracy in" in printed

    # §5.2: a larger threshold prunes more (the book has it backwards)
    direction = g["direction"]
    assert [r["sparsity"] for r in direction] == sorted(r["sparsity"] for r in direction)
    assert direction[-1]["accuracy"] < direction[0]["accuracy"]
    sens = g["sens"]
    assert {r["layer"] for r in sens} == {"0.weight", "2.weight", "4.weight"}
    assert len(sens) == 3 * len(g["SPARSITIES"])
    for name in ("sensitivity.csv", "sensitivity.png", "sparsity_sweep.png", "threshold_sweep.png"):
        assert (tmp_path / f"ch05_{name}").stat().st_size > 100
    swept = [r["sparsity"] for r in g["sweeps"]["sparsity"]]
    assert swept == sorted(swept) and swept[-1] == pytest.approx(0.98, abs=1e-4)
    thresholded = [r["sparsity"] for r in g["sweeps"]["threshold"]]
    assert thresholded == sorted(thresholded)

    # §5.2 retraining: a control, 4 learning-rate rows (the decays decay), 3 freezing rows
    tune = g["tune"]
    assert [r["retraining"] for r in tune][0] == "none (control)" and len(tune) == 8
    lrs = {r["retraining"]: [float(x) for x in r["lr"].split()] for r in tune[1:5]}
    assert all(len(v) == g["TUNE"] for v in lrs.values())
    for decay in ("linear decay", "cosine annealing"):
        assert lrs[decay][0] == g["LR"] and lrs[decay] == sorted(lrs[decay], reverse=True)
    assert lrs["constant, 0.1x"] == pytest.approx([g["LR"] * g["LR_FACTOR"]] * g["TUNE"], rel=1e-3)
    assert tune[1]["accuracy"] == tune[5]["accuracy"]  # fit and retrain: the same run

    sched = g["schedules"]
    assert [r["schedule"] for r in sched] == ["one-shot"] + ["iterative"] * g["rounds"]
    final = [r for r in sched if r["round"] == (1 if r["schedule"] == "one-shot" else 3)]
    assert all(r["sparsity"] == pytest.approx(0.9, abs=1e-4) for r in final)
    assert all(r["test_retrained"] > 0.8 for r in final)  # 10 classes: chance is 10%
    one_shot, iterative = (r["test_retrained"] for r in final)
    assert f"one-shot reached {one_shot:.2%}, 3 rounds {iterative:.2%}" in printed


@pytest.mark.slow
def test_ch05b_quick(run_lesson):
    g, printed = run_lesson("ch05b_pruning_code")
    assert printed.count(heading("5.3")) == 1
    assert "source of book_s5_3" in printed and "source of corrected_s5_3" in printed
    assert "W_pruned = pruning_decision(W, threshold)" in printed  # BOOK_TEXT itself
    assert "    +W_updated = W - learning_rate * gradients * mask  # fix:" in printed  # the diff

    rows = {r["version"]: r for r in g["loop_rows"]}
    text, book, fixed = rows["book text (exec)"], rows["book_s5_3"], rows["corrected_s5_3"]
    assert {k: v for k, v in text.items() if k != "version"} == {
        k: v for k, v in book.items() if k != "version"
    }
    assert book["exact_0"] < 0.2 < 0.7 < book["below_t"]  # not sparse, though below threshold
    assert 0 < book["max_below"] < g["setup"].threshold
    assert fixed["exact_0"] == fixed["below_t"] and fixed["max_below"] == 0

    for error in (g["error1"], g["error2"]):
        assert error == "NameError: name 'loss' is not defined"
    assert np.array_equal(g["b1_W"], g["book"].W)  # B.1 with `loss` defined is §5.3
    assert "    -loss = compute_loss(y, output)" in printed
    assert "    +evaluate_model_performance(W)" in printed
    assert g["has_l1"] is False
    l1 = g["b1_rows"][1]
    assert l1["exact_0"] > 0.5 and l1["exact_0"] == l1["below_t"]
    b2_book, b2_fixed = g["b2_rows"]
    assert b2_book["exact_0"] < 0.2 and b2_fixed["exact_0"] > 0.7
    assert "quick run: these numbers are not findings" in printed
    assert (g["lesson"].out / "ch05b_returned_weights.png").stat().st_size > 1000
