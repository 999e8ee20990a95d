"""Chapter 4's lesson runs end to end in --quick mode and shows what the book's errata claim."""

import numpy as np
import pytest


@pytest.mark.slow
def test_ch04_quick(run_lesson, lesson_out):
    env, out = run_lesson("ch04_sparsity_optimisation")
    for name in ("ch04_lambda_path.png", "ch04_admm_residual.png"):
        assert (lesson_out / name).stat().st_size > 1000
    rows = env["path"]
    top = max(env["L1_LAMS"])
    ista = next(r for r in rows if r["method"] == "ista" and r["lam"] == top)
    sub = next(r for r in rows if r["method"] == "subgradient" and r["lam"] == top)
    assert ista["zero_fraction"] > sub["zero_fraction"]
    assert sub["zero_fraction"] < 0.01 < ista["zero_fraction"]
    assert all(r["zero_fraction"] == 0 for r in rows if r["lam"] == 0)
    # ADMM reaches the target sparsity exactly, and the difference is printed in points
    for row in env["admm"]:
        assert row["achieved"] == pytest.approx(row["sparsity"], abs=1e-4)
        assert len(row["residuals"]) == env["ADMM"]["admm_iterations"]
        assert row["vs one-shot"] == pytest.approx(100 * (row["admm acc"] - row["one-shot acc"]))
    W, grid = env["W"], env["grid"]  # the book's formulas, computed in the lesson
    assert W.shape == (300, 64) and np.count_nonzero(W / 2) == np.count_nonzero(W)
    assert grid[env["book_l1"].argmax()] == pytest.approx(np.sqrt(env["EPS"]), rel=0.02)
    assert "IRLS weight 1/(α·trace(W)) cannot be computed: a trace needs a square" in out
    with pytest.raises(ValueError):  # the trace the book asks for does not exist
        np.einsum("ii", W)
    # the book's signed-minimum GSP hurts far more than pruning the smallest |gradient|
    sal = env["sal"]
    assert sal["drop_signed_min"] > sal["drop_abs_gradient"] + 0.05
    assert f"{100 * sal['drop_signed_min']:.2f} points" in out
