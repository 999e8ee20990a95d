"""prune.to_sparsity: exact counts, scores keyed by name, parity, errors; no `._parameters` use."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

from nnprune import prune
from nnprune.models import mlp

SIZES = (12, 9, 7, 5)


def net(seed=0):
    return mlp(SIZES, seed=seed)


def masks(model):
    return {
        n: (np.ones(p.shape, bool) if p.mask is None else np.asarray(p.mask, bool).copy())
        for n, _, _, p in model.prunable_parameters()
    }


def sizes(model):
    return {n: p.size for n, _, _, p in model.prunable_parameters()}


@pytest.mark.parametrize("sparsity", [0.0, 0.33, 0.5, 0.9])
def test_global_prunes_exact_count_of_lowest_scores(sparsity):
    model = net()
    gen = np.random.default_rng(3)
    scores = {n: gen.random(p.shape) for n, _, _, p in model.prunable_parameters()}
    prune.to_sparsity(model, sparsity, scores, scope="global")
    flat = np.concatenate([scores[n].ravel() for n in scores])
    k = round(sparsity * flat.size)
    expected = np.ones(flat.size, bool)
    expected[np.argsort(flat, kind="stable")[:k]] = False  # brute force
    got = np.concatenate([m.ravel() for m in masks(model).values()])
    np.testing.assert_array_equal(got, expected)


def test_layer_scope_gives_each_parameter_its_own_exact_count():
    model = net(1)
    before = {n: np.abs(p.data).copy() for n, _, _, p in model.prunable_parameters()}
    prune.to_sparsity(model, 0.3, scope="layer")
    for n, m in masks(model).items():
        k = round(0.3 * m.size)
        assert int((~m).sum()) == k
        expected = np.ones(m.size, bool)
        expected[np.argsort(before[n].ravel(), kind="stable")[:k]] = False
        np.testing.assert_array_equal(m.ravel(), expected)


def test_global_and_layer_differ_but_both_reach_the_target_total():
    a, b = net(2), net(2)
    prune.to_sparsity(a, 0.6, scope="global")
    prune.to_sparsity(b, 0.6, scope="layer")
    ka = {n: int((~m).sum()) for n, m in masks(a).items()}
    kb = {n: int((~m).sum()) for n, m in masks(b).items()}
    n = sum(sizes(a).values())
    assert sum(ka.values()) == round(0.6 * n)
    assert abs(sum(kb.values()) - round(0.6 * n)) <= len(kb)
    assert ka != kb  # a global ranking does not prune every layer by the same share


def test_sparsity_is_absolute_already_pruned_entries_count_and_stay():
    model = net(4)
    first_layer = model.get_submodule("0")
    prune.l1_unstructured(first_layer, "weight", amount=0.5)
    prune.l1_unstructured(first_layer, "weight", amount=0.5)  # relative: 0.75 now
    old = masks(model)["0.weight"]
    assert (~old).sum() == round(0.5 * old.size) + round(0.5 * (old.size - round(0.5 * old.size)))
    prune.to_sparsity(model, 0.8, names=["0.weight"])
    new = masks(model)["0.weight"]
    assert int((~new).sum()) == round(0.8 * new.size)
    assert not np.any(new & ~old)  # pruned entries stay pruned
    prune.to_sparsity(model, 0.8, names=["0.weight"])  # the same target again: no change
    np.testing.assert_array_equal(masks(model)["0.weight"], new)


def test_glossary_example_amount_twice_is_sparsity_075_to_sparsity_twice_is_050():
    """The worked example of docs/tools.md (glossary: amount and sparsity)."""
    from nnprune import metrics

    layer = mlp((10, 10), seed=0)[0]  # one Linear, 100 weights
    prune.l1_unstructured(layer, "weight", amount=0.5)
    assert metrics.sparsity(layer.weight) == 0.5
    prune.l1_unstructured(layer, "weight", amount=0.5)
    assert metrics.sparsity(layer.weight) == 1 - 0.5**2
    model = mlp((10, 10), seed=0)
    prune.to_sparsity(model, 0.5)
    prune.to_sparsity(model, 0.5)
    assert metrics.sparsity(model[0].weight) == 0.5
    prune.to_sparsity(model, 0.75)
    assert metrics.sparsity(model[0].weight) == 0.75


def test_names_choose_a_subset_and_others_stay_dense():
    model = net()
    prune.to_sparsity(model, 0.5, names=["2.weight"])
    m = masks(model)
    assert int((~m["2.weight"]).sum()) == round(0.5 * m["2.weight"].size)
    assert m["0.weight"].all() and m["4.weight"].all()


def test_parity_with_global_unstructured_on_the_same_scores():
    a, b = net(5), net(5)
    gen = np.random.default_rng(0)
    scores = {n: gen.random(p.shape) for n, _, _, p in a.prunable_parameters()}
    prune.to_sparsity(a, 0.45, scores)
    pairs = [(m, attr) for _, m, attr, _ in b.prunable_parameters()]
    named = {n: (m, attr) for n, m, attr, _ in b.prunable_parameters()}
    total = sum(sizes(b).values())
    prune.global_unstructured(
        pairs,
        prune.L1Unstructured,
        amount=round(0.45 * total),
        importance_scores={named[n]: s for n, s in scores.items()},
    )
    for (n, ma), mb in zip(masks(a).items(), masks(b).values(), strict=True):
        np.testing.assert_array_equal(ma, mb, err_msg=n)


def test_ties_prune_the_earlier_entry_first():
    model = net()
    scores = {n: np.ones(p.shape) for n, _, _, p in model.prunable_parameters()}
    prune.to_sparsity(model, 0.5, scores)
    flat = np.concatenate([m.ravel() for m in masks(model).values()])
    k = round(0.5 * flat.size)
    assert not flat[:k].any() and flat[k:].all()


def test_default_scores_are_magnitudes():
    a, b = net(6), net(6)
    prune.to_sparsity(a, 0.7)
    prune.to_sparsity(b, 0.7, {n: np.abs(p.data) for n, _, _, p in b.prunable_parameters()})
    for ma, mb in zip(masks(a).values(), masks(b).values(), strict=True):
        np.testing.assert_array_equal(ma, mb)


def test_sparsity_to_count_rounds_half_to_even():
    assert prune.sparsity_to_count(0.5, 5) == 2  # round(2.5) -> 2
    assert prune.sparsity_to_count(0.5, 7) == 4  # round(3.5) -> 4
    assert prune.sparsity_to_count(0.0, 9) == 0


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1, float("nan"), True, "0.5"])
def test_error_sparsity_out_of_range(bad):
    model = net()
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\), got"):
        prune.to_sparsity(model, bad)
    assert all(m.all() for m in masks(model).values())


def test_error_unknown_score_key_lists_names():
    model = net()
    scores = {n: np.ones(p.shape) for n, _, _, p in model.prunable_parameters()}
    scores["0.bias"] = np.ones(12)
    with pytest.raises(ValueError, match=r"scores has unknown key\(s\) \['0.bias'\]"):
        prune.to_sparsity(model, 0.5, scores)


def test_error_module_keyed_scores_are_refused():
    model = net()
    with pytest.raises(ValueError, match="unknown key"):
        prune.to_sparsity(model, 0.5, {model.get_submodule("0"): np.ones((9, 12))})


def test_error_missing_score_key():
    model = net()
    with pytest.raises(ValueError, match=r"scores has no entry for \['2.weight', '4.weight'\]"):
        prune.to_sparsity(model, 0.5, {"0.weight": np.ones((9, 12))})


def test_error_wrong_shape_negative_and_nonfinite_scores():
    model = net()
    good = {n: np.ones(p.shape) for n, _, _, p in model.prunable_parameters()}
    with pytest.raises(ValueError, match=r"scores\['0.weight'\] must have the parameter's shape"):
        prune.to_sparsity(model, 0.5, {**good, "0.weight": np.ones((12, 9))})
    with pytest.raises(ValueError, match=r"must be non-negative importances"):
        prune.to_sparsity(model, 0.5, {**good, "2.weight": -np.ones((7, 9))})
    with pytest.raises(ValueError, match=r"must be finite"):
        prune.to_sparsity(model, 0.5, {**good, "4.weight": np.full((5, 7), np.nan)})
    with pytest.raises(TypeError, match="scores must be a dict"):
        prune.to_sparsity(model, 0.5, [np.ones(3)])
    assert all(m.all() for m in masks(model).values())


def test_error_scope_names_and_masks_only_grow():
    model = net()
    with pytest.raises(ValueError, match=r"scope must be one of \['global', 'layer'\], got 'all'"):
        prune.to_sparsity(model, 0.5, scope="all")
    with pytest.raises(ValueError, match=r"names has unknown parameter names \['9.weight'\]"):
        prune.to_sparsity(model, 0.5, names=["9.weight"])
    with pytest.raises(TypeError, match="names must be a list"):
        prune.to_sparsity(model, 0.5, names="0.weight")
    prune.to_sparsity(model, 0.5)
    before = masks(model)
    with pytest.raises(ValueError, match="below the current sparsity .* masks only grow"):
        prune.to_sparsity(model, 0.2)
    for n, m in masks(model).items():
        np.testing.assert_array_equal(m, before[n])


# ------------------------------------------------- one way to ask "which weights are prunable?"
ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_no_private_parameter_dict_outside_nn():
    """`grep -rn "\\._parameters" nnprune chapters benchmarks | grep -v ^nnprune/nn/` is empty."""
    pattern = re.compile(r"\._parameters")
    hits = []
    for top in ("nnprune", "chapters", "benchmarks"):
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix not in {".py", ".md", ".txt", ".rst", ".toml"}:
                continue
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("nnprune/nn/"):
                continue
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    hits.append(f"{rel}:{i}: {line.strip()}")
    assert not hits, "use model.prunable_parameters() instead:\n" + "\n".join(hits)
