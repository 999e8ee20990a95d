"""Chapter 8 runs end to end in --quick mode: 2:4 masks, the gradual schedule, rewinding."""

import numpy as np
import pytest

from nnprune.prune import is_nm_sparse


@pytest.mark.slow
def test_ch08_quick(tmp_path, load_script):
    ch08 = load_script("chapters", "ch08_trends")
    out = ch08.main(["--quick", "--out", str(tmp_path)])

    for name in ("ch08_gradual_schedule.png", "ch08_lottery.png"):
        assert (tmp_path / name).stat().st_size > 100

    # §8.1: 2:4 along the input axis, i.e. exactly 2 kept in every group of 4 (brute force)
    assert set(out["nm_masks"]) == set(ch08.NM_LAYERS)
    for name, mask in out["nm_masks"].items():
        assert is_nm_sparse(mask, 2, 4, dim=1)
        assert is_nm_sparse(out["nm_weights"][name], 2, 4, dim=1)
        assert np.count_nonzero(~mask) * 2 == mask.size  # exactly 50% zeros
        rows, cols = mask.shape
        for i in range(rows):
            for j in range(0, cols, 4):
                assert mask[i, j : j + 4].sum() == 2
    nm_rows = {r["method"]: r for r in out["nm"]}
    assert nm_rows["unstructured 50%"]["sparsity"] == pytest.approx(0.5, abs=1e-4)
    # 10 classes: chance is 10%; both 50%-sparse retrained MLPs stay far above it
    assert all(r["acc_retrained"] > 0.85 for r in out["nm"])
    dense, nm = (r["bytes"] for r in out["bytes"][:2])
    kept = sum(int(m.sum()) for m in out["nm_masks"].values())
    assert nm == kept * 4 + -(-kept * 2 // 8) and dense == 2 * kept * 4  # 4 B value, 2 bits
    times = out["timing"]
    assert times[0]["multiply_adds"] == times[1]["multiply_adds"]

    # §8.2: the cubic schedule rises monotonically to its final target, which is reached
    history = np.array(out["gradual_history"])
    assert np.all(np.diff(history[:, 1]) >= 0)
    assert history[-1, 1] == pytest.approx(out["gradual_final_target"])
    assert history[-1, 2] == pytest.approx(out["gradual_final_target"], abs=1e-4)
    assert history[0, 1] == pytest.approx(0.0)
    for row in out["gradual"]:
        assert row["sparsity"] == pytest.approx(ch08.GRADUAL_SPARSITY, abs=1e-4)
        assert row["test_accuracy"] > 0.8

    # §8.3: k=0 restarts the survivors at theta_0, k=1 at the weights after one epoch
    for k in (0, 1):
        ticket = out["tickets"][k]
        first = ticket.rounds[1]
        for name, mask in first.masks.items():
            start = first.start_state[name][mask]
            theta0 = ticket.initial_state[name][mask]
            rewind = ticket.rewind_state[name][mask]
            np.testing.assert_array_equal(start, rewind)
            if k == 0:
                np.testing.assert_array_equal(start, theta0)
            else:
                assert not np.allclose(start, theta0)
            assert np.all(first.start_state[name][~mask] == 0)
    runs = {r["run"] for r in out["lottery"]}
    assert any(run.startswith("random re-init") for run in runs)
