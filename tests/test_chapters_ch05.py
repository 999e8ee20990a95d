"""The chapter 5 lesson in --quick mode: the book's sections in order, §5 claims and misses."""

import pytest

from nnprune.book import heading
from nnprune.pipeline import evaluate


@pytest.mark.slow
def test_ch05_quick(run_lesson):
    g, printed = run_lesson("ch05_pruning_pipeline")
    tmp_path = g["lesson"].out
    at = [printed.index(heading(n)) for n in ("5.1", "5.2", "5.3")]
    assert at == sorted(at)  # the book's order, each once
    assert all(printed.count(heading(n)) == 1 for n in ("5.1", "5.2", "5.3"))
    for step in ("initialise", "forward", "backward", "decide", "update", "retrain", "evaluate"):
        assert f"  {step}:" in printed

    # every accuracy table says its split, and the dense reference on that split is printed
    dense_val = evaluate(g["trained"], g["splits"].val)[1]
    assert g["dense_val"] == dense_val
    assert printed.count(f"validation split; dense {dense_val:.2%}") == 2  # both sweeps
    assert f"test split; dense {g['dense_test']:.2%}" in printed
    assert g["table"][0]["sparsity"] == "dense"
    assert all(v == dense_val for k, v in g["table"][0].items() if k != "sparsity")

    # §5.3: without a mask the pruned weights grow back; with it they stay zero
    literal = [r for r in g["literal"] if r["version"].startswith("literal")]
    corrected = [r for r in g["literal"] if r["version"] == "corrected"]
    assert len(literal) == len(corrected) == g["RETRAIN"] + 1
    assert all(r["revived"] > 0 and r["sparsity"] < 0.8 for r in literal)
    assert all(r["revived"] == 0 and r["sparsity"] >= 0.8 - 1e-9 for r in corrected)

    sens = g["sens"]
    assert {r["layer"] for r in sens} == {"0.weight", "2.weight", "4.weight"}
    assert len(sens) == 3 * len(g["SPARSITIES"])
    for name in ("sensitivity.csv", "sensitivity.png", "sparsity_sweep.png", "threshold_sweep.png"):
        assert (tmp_path / f"ch05_{name}").stat().st_size > 100
    swept = [r["sparsity"] for r in g["sweeps"]["sparsity"]]
    assert swept == sorted(swept) and swept[-1] == pytest.approx(0.98, abs=1e-4)
    thresholded = [r["sparsity"] for r in g["sweeps"]["threshold"]]
    assert thresholded == sorted(thresholded)

    rows = g["schedules"]
    assert [r["schedule"] for r in rows] == ["one-shot"] + ["iterative"] * g["rounds"]
    final = [r for r in rows if r["round"] == (1 if r["schedule"] == "one-shot" else 3)]
    assert all(r["sparsity"] == pytest.approx(0.9, abs=1e-4) for r in final)
    assert all(r["test_retrained"] > 0.8 for r in final)  # 10 classes: chance is 10%
    # the closing sentences carry the measured numbers
    one_shot, iterative = (r["test_retrained"] for r in final)
    assert f"one-shot reached {one_shot:.2%}, 3 rounds {iterative:.2%}" in printed
