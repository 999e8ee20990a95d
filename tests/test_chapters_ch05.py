"""Chapter 5 runs end to end in --quick mode and shows what the book's §5 claims and misses."""

import pytest


@pytest.mark.slow
def test_ch05_quick(tmp_path, capsys, load_script):
    ch05 = load_script("chapters", "ch05_pruning_pipeline")
    out = ch05.main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    for step in ("initialise", "forward", "backward", "decide", "update", "retrain", "evaluate"):
        assert f"  {step}:" in printed

    # §5.3: without a mask the pruned weights grow back; with it they stay zero
    literal = [r for r in out["literal"] if r["version"].startswith("literal")]
    corrected = [r for r in out["literal"] if r["version"] == "corrected"]
    assert len(literal) == len(corrected) == ch05.QUICK_RETRAIN_EPOCHS + 1
    assert all(r["revived"] > 0 for r in literal)
    assert all(r["sparsity"] < ch05.LITERAL_SPARSITY for r in literal)
    assert all(r["revived"] == 0 for r in corrected)
    assert all(r["sparsity"] >= ch05.LITERAL_SPARSITY - 1e-9 for r in corrected)

    layers = {r["layer"] for r in out["sensitivity"]}
    assert layers == {"0.weight", "2.weight", "4.weight"}
    assert len(out["sensitivity"]) == 3 * len(ch05.SPARSITIES)
    for name in (
        "ch05_sensitivity.csv",
        "ch05_sensitivity.png",
        "ch05_sparsity_sweep.png",
        "ch05_threshold_sweep.png",
    ):
        assert (tmp_path / name).stat().st_size > 100
    swept = [r["sparsity"] for r in out["sparsity_sweep"]]
    assert swept == sorted(swept) and swept[-1] == pytest.approx(ch05.SPARSITIES[-1], abs=1e-4)
    thresholded = [r["sparsity"] for r in out["threshold_sweep"]]
    assert thresholded == sorted(thresholded)

    rows = out["one_shot_vs_iterative"]
    assert [r["schedule"] for r in rows] == ["one-shot"] + ["iterative"] * ch05.ROUNDS
    final = [r for r in rows if r["round"] == (1 if r["schedule"] == "one-shot" else ch05.ROUNDS)]
    assert all(r["sparsity"] == pytest.approx(ch05.FINAL_SPARSITY, abs=1e-4) for r in final)
    # 10 classes: chance is 10%; the retrained 90%-sparse MLP must stay far above it
    assert all(r["accuracy_retrained"] > 0.8 for r in final)
