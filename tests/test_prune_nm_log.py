"""N:M sparsity (exact per-group counts, largest kept) and the pruning decision log."""

from __future__ import annotations

import itertools
import json
import os

import numpy as np
import pytest

from nnprune import nn, prune
from nnprune.nn.module import Module
from nnprune.nn.parameter import Parameter
from nnprune.prune import log as log_module


class Holder(Module):
    def __init__(self, array: np.ndarray) -> None:
        super().__init__()
        self.weight = Parameter(array, prunable=True)


def kept_by_group_brute_force(w: np.ndarray, n: int, m: int) -> np.ndarray:
    """Reference N:M mask along axis 1 with explicit loops over every group."""
    mask = np.zeros(w.shape, dtype=bool)
    out_ch, in_ch = w.shape[:2]
    for rest in itertools.product(*(range(s) for s in w.shape[2:])):
        for o in range(out_ch):
            for g in range(in_ch // m):
                idx = [(o, g * m + j, *rest) for j in range(m)]
                values = sorted(idx, key=lambda i: -abs(w[i]))
                for i in values[:n]:
                    mask[i] = True
    return mask


# ------------------------------------------------------------------------- N:M
@pytest.mark.parametrize("shape", [(6, 16), (4, 8, 3, 3)])
@pytest.mark.parametrize("n, m", [(2, 4), (1, 4), (3, 8), (4, 4)])
def test_nm_exact_counts_and_largest_kept(rng, shape, n, m):
    w = rng.standard_normal(shape)
    h = Holder(w)
    out = prune.nm_structured(h, "weight", n=n, m=m)
    assert out is h
    mask = h.weight.mask
    np.testing.assert_array_equal(mask, kept_by_group_brute_force(w, n, m))
    groups = np.moveaxis(mask, 1, -1).reshape(*np.moveaxis(mask, 1, -1).shape[:-1], -1, m)
    assert np.all(groups.sum(axis=-1) == n)  # exactly n kept in every group
    assert prune.is_nm_sparse(h.weight, n, m)
    assert prune.is_nm_sparse(h.weight.data, n, m, dim=1)


def test_nm_on_linear_defaults_to_2_4_along_inputs(rng):
    layer = nn.Linear(8, 3, seed=0).double()
    w = rng.standard_normal((3, 8))
    layer.weight.data = w
    prune.nm_structured(layer, "weight")
    np.testing.assert_array_equal(layer.weight.mask, kept_by_group_brute_force(w, 2, 4))
    assert int(layer.weight.mask.sum()) == 12


def test_nm_other_dim(rng):
    w = rng.standard_normal((8, 3))
    h = Holder(w)
    prune.nm_structured(h, "weight", n=1, m=2, dim=0)
    expected = kept_by_group_brute_force(w.T, 1, 2).T
    np.testing.assert_array_equal(h.weight.mask, expected)
    assert prune.is_nm_sparse(h.weight.data, 1, 2, dim=0)


def test_nm_after_unstructured_chooses_among_kept(rng):
    w = rng.standard_normal((4, 16))
    h = Holder(w)
    prune.l1_unstructured(h, "weight", 0.4)
    before = h.weight.mask.copy()
    prune.nm_structured(h, "weight", n=2, m=4)
    after = h.weight.mask
    assert not np.any(after & ~before)
    for o in range(4):
        for g in range(4):
            cols = slice(4 * g, 4 * g + 4)
            kept_before = np.flatnonzero(before[o, cols])
            expected = sorted(kept_before, key=lambda j: -abs(w[o, 4 * g + j]))[:2]
            assert sorted(np.flatnonzero(after[o, cols])) == sorted(expected)


def test_is_nm_sparse_detects_violations():
    a = np.array([[1.0, 2.0, 0.0, 0.0, 1.0, 0.0, 0.0, 3.0]])
    assert prune.is_nm_sparse(a, 2, 4)
    a[0, 2] = 5.0  # three non-zeros in the first group
    assert not prune.is_nm_sparse(a, 2, 4)
    assert prune.is_nm_sparse(a, 3, 4)


NM_ERRORS = [
    (dict(n=2, m=4), (3, 10), r"size of dim 1 \(10\) to be divisible by m=4"),
    (dict(n=5, m=4), (3, 8), "n must be <= m"),
    (dict(n=0, m=4), (3, 8), "n must be a positive integer"),
    (dict(n=2, m=2.5), (3, 8), "m must be a positive integer"),
    (dict(n=2, m=4, dim=2), (3, 8), r"dim must be an int in \[-2, 1\]"),
    (dict(n=2, m=4, dim="in"), (3, 8), "dim must be an int"),
]


@pytest.mark.parametrize("kwargs, shape, message", NM_ERRORS)
def test_nm_errors_leave_model_unchanged(rng, kwargs, shape, message):
    w = rng.standard_normal(shape)
    h = Holder(w)
    with pytest.raises(ValueError, match=message):
        prune.nm_structured(h, "weight", **kwargs)
    assert h.weight.mask is None
    np.testing.assert_array_equal(h.weight.data, w)


def test_is_nm_sparse_errors():
    with pytest.raises(ValueError, match="divisible by m=4"):
        prune.is_nm_sparse(np.ones((2, 6)), 2, 4)
    with pytest.raises(ValueError, match="n must be <= m"):
        prune.is_nm_sparse(np.ones((2, 8)), 3, 2)


# ------------------------------------------------------------------------- log
def model_and_weights(rng):
    model = nn.Sequential(nn.Linear(8, 6, seed=0), nn.ReLU(), nn.Linear(6, 4, seed=0)).double()
    model[0].weight.data = rng.standard_normal((6, 8))
    model[2].weight.data = rng.standard_normal((4, 6))
    return model


def test_log_records_every_call_with_correct_content(rng):
    model = model_and_weights(rng)
    w0 = model[0].weight.data.copy()
    with prune.PruningLog(model) as log:
        prune.l1_unstructured(model[0], "weight", 0.25)
        m_after_l1 = model[0].weight.mask.copy()
        w2 = model[2].weight.data.copy()
        prune.ln_structured(model[2], "weight", 2, n=1, dim=0)
        prune.global_unstructured(
            [(model[0], "weight"), (model[2], "weight")], prune.L1Unstructured, amount=5
        )
        prune.nm_structured(model[0], "weight", n=2, m=4)
        prune.random_unstructured(model[2], "weight", 1, seed=7)
        data_before_std = model[0].weight.data.copy()
        prune.std_threshold_unstructured(model[0], "weight", q=0.5)
        prune.remove(model[0], "weight")
    r = log.records
    assert [x["function"] for x in r] == [
        "l1_unstructured",
        "ln_structured",
        "global_unstructured",
        "global_unstructured",
        "nm_structured",
        "random_unstructured",
        "std_threshold_unstructured",
        "remove",
    ]
    assert [x["parameter"] for x in r] == ["0.weight", "2.weight", "0.weight", "2.weight"] + [
        "0.weight",
        "2.weight",
        "0.weight",
        "0.weight",
    ]
    # l1: 12 of 48 pruned; cut-off is the 12th smallest |w|, the next one stays
    l1 = r[0]
    s = np.sort(np.abs(w0).ravel())
    assert (l1["pruned_before"], l1["pruned_after"], l1["total"]) == (0, 12, 48)
    assert (l1["kept_before"], l1["kept_after"], l1["newly_pruned"]) == (48, 36, 12)
    assert l1["max_pruned_score"] == pytest.approx(s[11]) and l1["min_kept_score"] == pytest.approx(
        s[12]
    )
    assert l1["sparsity"] == pytest.approx(0.25) and l1["amount"] == 0.25
    assert l1["method"] == "L1Unstructured" and l1["criterion"] == "|w|"
    np.testing.assert_array_equal(m_after_l1, np.abs(w0) > s[11])
    # ln_structured: the two rows of smallest L1 norm, by index
    ln = r[1]
    assert ln["removed_channels"] == sorted(np.argsort(np.abs(w2).sum(axis=1))[:2].tolist())
    assert ln["dim"] == 0 and ln["pruned_after"] == 12
    # global: 5 pruned in all, one shared cut-off, scope "global"
    g0, g2 = r[2], r[3]
    assert g0["newly_pruned"] + g2["newly_pruned"] == 5
    assert (
        g0["scope"] == g2["scope"] == "global" and g0["max_pruned_score"] == g2["max_pruned_score"]
    )
    # each record's counts agree with the next record's "before"
    assert r[4]["pruned_before"] == g0["pruned_after"]
    assert r[4]["n"] == 2 and r[4]["m"] == 4 and r[4]["dim"] == 1
    assert r[5]["seed"] == 7 and r[5]["newly_pruned"] == 1
    std = r[6]
    assert std["std"] == pytest.approx(float(np.std(data_before_std)))
    assert std["threshold"] == pytest.approx(0.5 * np.std(data_before_std)) and std["q"] == 0.5
    assert r[7]["pruned_after"] == int((model[0].weight.data == 0).sum())
    json.dumps(r, allow_nan=False)  # serialisable as is


def test_log_without_model_and_nesting_and_scope(rng):
    layer = nn.Linear(4, 3, seed=0)
    prune.l1_unstructured(layer, "weight", 1)  # outside any log: not recorded anywhere
    with prune.PruningLog() as outer:
        with prune.PruningLog() as inner:
            prune.l1_unstructured(layer, "weight", 1)
        prune.l1_unstructured(layer, "weight", 1)
        with pytest.raises(ValueError, match="amount must be"):
            prune.l1_unstructured(layer, "weight", 2.0)  # failed call: no record
    prune.l1_unstructured(layer, "weight", 1)
    assert len(inner) == 1 and len(outer) == 2
    assert inner.records[0]["parameter"] == "Linear.weight"
    assert outer.records[0] == inner.records[0]
    assert log_module._ACTIVE == []


def test_log_json_round_trip_and_summary(rng, tmp_path):
    model = model_and_weights(rng)
    with prune.PruningLog(model) as log:
        prune.ln_structured(model[0], "weight", 0.5, n=float("inf"), dim=1)
        prune.threshold_unstructured(model[2], "weight", 0.3)
        prune.custom_from_mask(model[2], "weight", np.ones((4, 6), bool))
        prune.identity(model[0], "weight")
    path = tmp_path / "log.json"
    log.to_json(path)
    assert os.listdir(tmp_path) == ["log.json"]  # no temporary file left behind
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == log.records
    assert prune.PruningLog.from_json(path).records == log.records
    assert log.records[0]["n"] == "inf"
    text = log.summary()
    lines = text.splitlines()
    assert len(lines) == len(log.records) + 2
    assert lines[0].split()[:3] == ["#", "parameter", "function"]
    assert "0.weight" in lines[2] and "ln_structured" in lines[2]
    assert "threshold_unstructured" in lines[3] and "0.3" in lines[3]


def test_log_errors(tmp_path):
    with pytest.raises(TypeError, match="model must be an nnprune.nn.Module"):
        prune.PruningLog(model=[1])
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(ValueError, match="does not hold a list of pruning records"):
        prune.PruningLog.from_json(bad)
