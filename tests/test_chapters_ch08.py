"""The chapter 8 lessons in --quick mode: 2:4, schedules, tickets, one-shot LM pruning (ch08);
SET/RigL, multi-granularity, cross-domain, export (ch08b)."""

import numpy as np
import pytest

from nnprune.book import heading
from nnprune.pipeline import evaluate
from nnprune.prune import is_nm_sparse


@pytest.mark.slow
def test_ch08_quick(run_lesson):
    g, printed = run_lesson("ch08_trends")
    assert heading("8.1") in printed and heading("8.2") not in printed
    for name in ("gradual_schedule", "lottery", "oneshot_lm_perplexity"):
        assert (g["lesson"].out / f"ch08_{name}.png").stat().st_size > 1000

    # §8.1: 2:4 along the input axis, i.e. exactly 2 kept in every group of 4 (brute force)
    nm_model = g["nm"]["models"]["2:4 (N:M)"]
    params = dict(nm_model.named_parameters())
    kept = 0
    for name in ("0.weight", "2.weight"):
        mask, w = params[name].mask, params[name].data
        assert is_nm_sparse(mask, 2, 4, dim=1) and is_nm_sparse(w, 2, 4, dim=1)
        rows, cols = mask.shape
        assert all(mask[i, j : j + 4].sum() == 2 for i in range(rows) for j in range(0, cols, 4))
        kept += int(mask.sum())
    dense_b, nm_b = (r["bytes"] for r in g["nm_bytes"][:2])
    assert nm_b == kept * 4 + -(-kept * 2 // 8) and dense_b == 2 * kept * 4  # 4 B value, 2 bits
    assert all(r["test_retrained"] > 0.85 for r in g["nm"]["rows"])  # chance is 10%
    assert [r["model"] for r in g["timing"]][:2] == ["dense", "dense (timed again: noise)"]

    # gradual: the cubic schedule rises monotonically to the target, which is reached
    history = np.array(g["gradual"]["history"])
    assert np.all(np.diff(history[:, 1]) >= 0) and history[0, 1] == pytest.approx(0.0)
    assert history[-1, 1] == pytest.approx(g["SPARSITY"])
    assert history[-1, 2] == pytest.approx(g["SPARSITY"], abs=1e-4)

    # lottery: k=0 restarts the survivors at theta_0, k=1 at the weights after one epoch
    for k in (0, 1):
        ticket = g["lt"]["tickets"][k]
        first = ticket.rounds[1]
        for name, mask in first.masks.items():
            start = first.start_state[name][mask]
            np.testing.assert_array_equal(start, ticket.rewind_state[name][mask])
            same = np.array_equal(start, ticket.initial_state[name][mask])
            assert same == (k == 0)
            assert np.all(first.start_state[name][~mask] == 0)

    # beyond the book: SparseGPT's block is the one with the lowest calibration error, each
    # pruned layer at exactly 50%; magnitude once, Wanda and SparseGPT per calibration sampling
    assert g["BLOCK"] == min(g["sweep"], key=g["sweep"].get) and len(g["sweep"]) == 6
    for report in g["reports"].values():
        assert all(r["sparsity"] == 0.5 and 0 <= r["rel_error"] < 1 for r in report.values())
    runs = {(r["method"], r["pattern"]): len(r["ppl"]) for r in g["lm_rows"]}
    assert runs == {("dense", "-"): 1} | {(m, p): 1 if m == "magnitude" else 3
                                         for m in ("magnitude", "wanda", "sparsegpt")
                                         for p in ("50%", "2:4")}  # fmt: skip
    assert all(1 < x < g["corpus"].vocab_size for r in g["lm_rows"] for x in r["ppl"])
    assert "What we measured" in printed and "ch8.wanda_mask" in printed


@pytest.mark.slow
def test_ch08b_quick(run_lesson):
    g, printed = run_lesson("ch08b_future_directions")
    at = [printed.index(heading(n)) for n in ("8.2", "8.3")]
    assert at == sorted(at) and heading("8.1") not in printed
    for name in ("dynamic_sparse_training", "granularity_domain", "surviving_inputs"):
        assert (g["lesson"].out / f"ch08_{name}.png").stat().st_size > 1000
    assert "def update_mask(" in printed  # the SET/RigL update, in view

    # §8.2: every sparse method keeps exactly round(0.9 n) masked entries in every layer
    by = {r["method"]: r for r in g["dst"]["rows"]}
    assert set(by) == {"dense", "static random", "static magnitude", "SET", "RigL"}
    for method in ("static random", "static magnitude", "SET", "RigL"):
        model = g["dst"]["models"][method]
        for t in model.prunable_parameters():
            masked = t.param.size - int(t.param.mask.sum())
            assert masked == round(g["SPARSITY"] * t.param.size), (method, t.name)
            assert np.all(t.param.data[~t.param.mask] == 0)
        assert by[method]["zeros"] >= by[method]["masked"] - 1e-12
    assert len(g["dst"]["history"]["RigL"]) > 0 and len(g["dst"]["history"]["SET"]) > 0
    assert by["dense"]["test_accuracy"] > 0.8
    # the budget each row spent: static random is SET's and RigL's equal-budget control
    epochs, s = g["EPOCHS"], g["SPARSITY"]
    assert by["static random"]["weight_updates"] == by["RigL"]["weight_updates"] == 1 - s
    assert by["static magnitude"]["dense_epochs"] == epochs // 2
    half = epochs // 2
    assert by["static magnitude"]["weight_updates"] == (half + (epochs - half) * (1 - s)) / epochs

    # multi-granularity: physically smaller at each stage; the control keeps every stored
    # parameter and prunes weights only, to the same non-zeros
    stages, ctrl = g["stages"], g["ctrl"]
    assert [r["stage"] for r in stages] == ["dense", "layers", "units", "weights"]
    assert stages[0]["params"] > stages[1]["params"] > stages[2]["params"] == stages[3]["params"]
    assert ctrl["params"] == stages[0]["params"]
    assert abs(ctrl["weight_nonzeros"] - stages[-1]["weight_nonzeros"]) <= 1
    # cross-domain: three runs per shift, both pruned runs at the same sparsity
    for shift in ("flip", "rotate", "invert"):
        rows = [r for r in g["domain"] if r["shift"] == shift]
        assert len(rows) == 3 and rows[0]["sparsity"] == 0
        assert all(r["sparsity"] == pytest.approx(s, abs=1e-3) for r in rows[1:])

    # interpretability: kept connections per pixel, counted from the first layer's mask
    static = g["dst"]["models"]["static magnitude"]
    per_pixel = np.asarray(static[0].weight.mask).sum(axis=0).reshape(8, 8)
    np.testing.assert_array_equal(g["seen"]["kept"]["static magnitude"], per_pixel)
    assert g["seen"]["constant"].sum() == int(np.sum(g["splits"].train[0].std(axis=0) == 0))

    # §8.3: every file read back; CSR lossless and smaller, the codebook smaller still
    rows = {(r["model"], r["format"]): r for r in g["disk"]}
    rigl = g["dst"]["models"]["RigL"]
    direct = evaluate(rigl, g["splits"].test)[1]
    assert rows["RigL 90%", "csr"]["test_accuracy"] == pytest.approx(direct)
    assert rows["RigL 90%", "checkpoint"]["test_accuracy"] == pytest.approx(direct)
    assert rows["RigL 90%", "csr"]["kB_disk"] < rows["RigL 90%", "checkpoint"]["kB_disk"]
    assert rows["RigL 90%", "codebook"]["kB_disk"] < rows["RigL 90%", "csr"]["kB_disk"]
    assert rows["shrunk dense", "checkpoint"]["kB_disk"] < rows["dense", "checkpoint"]["kB_disk"]
    assert [r["model"] for r in g["latency"]][:2] == ["dense", "dense (timed again: noise)"]
    assert "ch8.regrow" in printed.split("Graded exercises")[1]
