"""Chapter 1's lesson runs end to end in --quick mode and trains both models."""

import pytest


@pytest.mark.slow
def test_ch01_quick_trains_mlp_and_cnn(run_lesson, lesson_out):
    env, out = run_lesson("ch01_neural_network_basics")
    assert out.count("gradcheck OK") == 2
    assert (lesson_out / "ch01_learning_curves.png").stat().st_size > 1000
    by_name = {r["model"]: r for r in env["results"]}
    mlp = by_name["MLP 64-300-100-10"]
    assert mlp["parameters"] == 64 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    # 10 balanced classes: chance is 10%; a few epochs on digits must learn far beyond it
    assert all(r["test accuracy"] > 0.8 for r in env["results"])
    assert len(mlp["history"]) == env["EPOCHS"] < 20  # quick mode picked the small scale
    assert f"{mlp['test accuracy']:.2%}" in out.split("What we measured")[-1]
