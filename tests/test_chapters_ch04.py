"""Chapter 4 runs end to end in --quick mode and shows what the book's errata claim."""

import numpy as np
import pytest


@pytest.mark.slow
def test_ch04_quick(tmp_path, capsys, load_script):
    ch04 = load_script("chapters", "ch04_sparsity_optimisation")
    res = ch04.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "Lambda path" in out and "ADMM" in out
    for name in ("ch04_lambda_path.png", "ch04_admm_residual.png"):
        assert (tmp_path / name).stat().st_size > 1000
    rows = res["lambda_path"]
    top = max(ch04.QUICK_L1_LAMS)
    ista = next(r for r in rows if r["method"] == "ista" and r["lam"] == top)
    sub = next(r for r in rows if r["method"] == "subgradient" and r["lam"] == top)
    assert ista["zero_fraction"] > sub["zero_fraction"]
    assert sub["zero_fraction"] < 0.01 < ista["zero_fraction"]
    assert all(r["zero_fraction"] == 0 for r in rows if r["lam"] == 0)
    # ADMM reaches the target sparsity exactly
    for row in res["admm"]:
        assert row["achieved"] == pytest.approx(row["sparsity"], abs=1e-4)
        assert len(row["residuals"]) == ch04.QUICK_ADMM["admm_iterations"]
    err = res["errata"]
    assert err["book_L0"] == pytest.approx(err["L1"]) and err["L0_of_W_half"] == err["L0"]
    assert err["book_L1_argmax"] == pytest.approx(np.sqrt(1e-4), rel=0.02)
    assert "don't match" in err["trace_error"]
    # the book's signed-minimum GSP hurts far more than pruning the smallest |gradient|
    assert res["saliency"]["drop_signed_min"] > res["saliency"]["drop_abs_gradient"] + 0.05
