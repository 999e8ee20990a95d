"""Chapter 1 runs end to end in --quick mode and trains both models."""

import pytest


@pytest.mark.slow
def test_ch01_quick_trains_mlp_and_cnn(tmp_path, capsys, load_script):
    ch01 = load_script("chapters", "ch01_neural_network_basics")
    results = ch01.main(["--quick", "--out", str(tmp_path), "--seed", "1"])
    out = capsys.readouterr().out
    assert "gradcheck OK" in out
    assert (tmp_path / "ch01_learning_curves.png").stat().st_size > 1000
    by_name = {r["model"]: r for r in results}
    mlp = by_name["MLP 64-300-100-10"]
    assert mlp["parameters"] == 64 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10
    # 10 balanced classes: chance is 10%; three epochs on digits must learn far beyond it
    assert all(r["test_accuracy"] > 0.8 for r in results)
    assert len(mlp["history"]) == ch01.QUICK_EPOCHS
