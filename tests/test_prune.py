"""Pruning API: exact counts, repeated pruning, global ranking, random seeds, remove, errors.

References are computed independently in the tests (sorted values and cut-offs,
brute force over all entries), never copied from the library's output.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn, prune
from nnprune.nn.module import Module
from nnprune.nn.parameter import Parameter


class Holder(Module):
    """A tiny module with one prunable Parameter of any shape (e.g. a Conv2d weight)."""

    def __init__(self, array: np.ndarray) -> None:
        super().__init__()
        self.weight = Parameter(array, prunable=True)
        self.bias = Parameter(np.zeros(array.shape[0]))


def linear(rng: np.random.Generator, out_features: int = 6, in_features: int = 10) -> nn.Linear:
    layer = nn.Linear(in_features, out_features, seed=0)
    layer.weight.data = rng.standard_normal((out_features, in_features))
    return layer


def ref_smallest_k(values: np.ndarray, kept: np.ndarray, k: int) -> np.ndarray:
    """Keep-mask after pruning the k smallest |values| among kept entries (no ties)."""
    if k == 0:
        return kept.copy()
    cut = np.sort(np.abs(values[kept]))[k - 1]
    return kept & (np.abs(values) > cut)


def snapshot(module: Module) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    return {
        n: (p.data.copy(), None if p.mask is None else p.mask.copy())
        for n, p in module.named_parameters()
    }


def assert_unchanged(module: Module, before: dict) -> None:
    for n, p in module.named_parameters():
        data, mask = before[n]
        np.testing.assert_array_equal(p.data, data, err_msg=f"{n} data changed on error")
        if mask is None:
            assert p.mask is None, f"{n} got a mask on error"
        else:
            np.testing.assert_array_equal(p.mask, mask, err_msg=f"{n} mask changed on error")


# ----------------------------------------------------------------- unstructured
@pytest.mark.parametrize("amount, expected", [(0.3, 18), (17, 17), (0, 0), (1.0, 60), (60, 60)])
def test_l1_unstructured_exact_count_and_smallest(rng, amount, expected):
    layer = linear(rng)
    w = layer.weight.data.copy()
    out = prune.l1_unstructured(layer, "weight", amount)
    assert out is layer
    mask = layer.weight.mask
    assert mask.dtype == np.bool_ and mask.shape == w.shape
    assert int((~mask).sum()) == expected
    np.testing.assert_array_equal(mask, ref_smallest_k(w, np.ones_like(mask), expected))
    np.testing.assert_array_equal(layer.weight.data, np.where(mask, w, 0.0))


def test_fraction_rounds_half_to_even_like_python(rng):
    # 0.25 * 10 = 2.5 -> 2 ; 0.25 * 6 = 1.5 -> 2 (Python's round, as PyTorch uses)
    a = Holder(rng.standard_normal((2, 5)))
    b = Holder(rng.standard_normal((2, 3)))
    prune.l1_unstructured(a, "weight", 0.25)
    prune.l1_unstructured(b, "weight", 0.25)
    assert int((~a.weight.mask).sum()) == 2
    assert int((~b.weight.mask).sum()) == 2


def test_repeated_unstructured_applies_to_kept_entries(rng):
    layer = linear(rng)
    w = layer.weight.data.copy()
    prune.l1_unstructured(layer, "weight", 0.5)  # 30 pruned, 30 kept
    first = ref_smallest_k(w, np.ones(w.shape, bool), 30)
    prune.l1_unstructured(layer, "weight", 0.5)  # half of the 30 kept: 15 more
    second = ref_smallest_k(w, first, 15)
    np.testing.assert_array_equal(layer.weight.mask, second)
    assert int((~layer.weight.mask).sum()) == 45
    prune.l1_unstructured(layer, "weight", 4)
    np.testing.assert_array_equal(layer.weight.mask, ref_smallest_k(w, second, 4))


def test_importance_scores_rank_instead_of_weights(rng):
    layer = linear(rng)
    w = layer.weight.data.copy()
    scores = rng.standard_normal(w.shape)
    prune.l1_unstructured(layer, "weight", 20, importance_scores=scores)
    np.testing.assert_array_equal(
        layer.weight.mask, ref_smallest_k(scores, np.ones(w.shape, bool), 20)
    )
    np.testing.assert_array_equal(layer.weight.data, np.where(layer.weight.mask, w, 0))


def test_random_unstructured_deterministic_per_seed(rng):
    w = rng.standard_normal((8, 8))
    masks = []
    for seed in (0, 0, 1):
        h = Holder(w)
        prune.random_unstructured(h, "weight", 0.4, seed=seed)
        assert int((~h.weight.mask).sum()) == round(0.4 * 64)
        masks.append(h.weight.mask.copy())
    np.testing.assert_array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[0], masks[2])


def test_random_unstructured_repeated_prunes_only_kept(rng):
    h = Holder(rng.standard_normal((10, 10)))
    prune.random_unstructured(h, "weight", 0.5, seed=3)
    first = h.weight.mask.copy()
    prune.random_unstructured(h, "weight", 0.5, seed=4)
    assert not np.any(h.weight.mask & ~first)  # nothing revived
    assert int(h.weight.mask.sum()) == 25


# ------------------------------------------------------------------ structured
def ref_channel_norms(w: np.ndarray, n, dim: int) -> np.ndarray:
    moved = np.moveaxis(np.abs(w), dim, 0).reshape(w.shape[dim], -1)  # (C, rest)
    if n == "fro":
        n = 2
    if n == np.inf:
        return moved.max(axis=1)
    if n == -np.inf:
        return moved.min(axis=1)
    return np.array([sum(v**n for v in row) ** (1 / n) for row in moved])


@pytest.mark.parametrize("n", [1, 2, "fro", np.inf, -np.inf, 3.5])
@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_ln_structured_prunes_smallest_channels(rng, n, dim):
    w = rng.standard_normal((6, 4, 3, 3))
    h = Holder(w)
    prune.ln_structured(h, "weight", 0.5, n=n, dim=dim)
    d = dim % 4
    norms = ref_channel_norms(w, n, d)
    k = round(0.5 * w.shape[d])
    gone = set(np.argsort(norms)[:k].tolist())
    for j in range(w.shape[d]):
        channel = np.take(h.weight.mask, j, axis=d)
        assert channel.all() != (j in gone) and (channel.all() or not channel.any())


def test_repeated_structured_counts_only_kept_channels(rng):
    w = rng.standard_normal((8, 5))
    h = Holder(w)
    prune.ln_structured(h, "weight", 2, n=1, dim=0)
    prune.ln_structured(h, "weight", 0.5, n=1, dim=0)  # half of the 6 kept rows: 3 more
    norms = np.abs(w).sum(axis=1)
    kept_rows = np.sort(np.argsort(norms)[5:])
    np.testing.assert_array_equal(np.flatnonzero(h.weight.mask.all(axis=1)), kept_rows)
    assert not h.weight.mask[np.setdiff1d(np.arange(8), kept_rows)].any()


def test_structured_after_unstructured_uses_masked_weights(rng):
    w = rng.standard_normal((6, 10))
    h = Holder(w)
    prune.l1_unstructured(h, "weight", 0.5)
    m1 = h.weight.mask.copy()
    prune.ln_structured(h, "weight", 2, n=2, dim=0)
    norms = np.sqrt(((w * m1) ** 2).sum(axis=1))
    gone = np.argsort(norms)[:2]
    expected = m1.copy()
    expected[gone] = False
    np.testing.assert_array_equal(h.weight.mask, expected)


def test_random_structured_whole_channels_and_seeds(rng):
    w = rng.standard_normal((10, 6))
    masks = []
    for seed in (5, 5, 6):
        h = Holder(w)
        prune.random_structured(h, "weight", 4, dim=0, seed=seed)
        rows = h.weight.mask.all(axis=1)
        assert int((~rows).sum()) == 4
        assert np.array_equal(h.weight.mask.any(axis=1), rows)  # whole rows only
        masks.append(h.weight.mask.copy())
    np.testing.assert_array_equal(masks[0], masks[1])
    assert not np.array_equal(masks[0], masks[2])


# ---------------------------------------------------------------------- global
def test_global_unstructured_matches_brute_force(rng):
    layers = [linear(rng, 6, 10), linear(rng, 4, 6), Holder(rng.standard_normal((3, 2, 3, 3)))]
    layers[0].weight.data = layers[0].weight.data * 0.1  # small layer should lose more
    prune.l1_unstructured(layers[1], "weight", 5)
    weights = [m.weight.data.copy() for m in layers]
    kept = [m.weight.mask.copy() if m.weight.mask is not None else None for m in layers]
    kept = [np.ones(w.shape, bool) if k is None else k for w, k in zip(weights, kept, strict=True)]
    prune.global_unstructured(
        [(m, "weight") for m in layers], pruning_method=prune.L1Unstructured, amount=0.4
    )
    n_kept = sum(int(k.sum()) for k in kept)
    k_prune = round(0.4 * n_kept)
    cut = np.sort(np.concatenate([np.abs(w[k]) for w, k in zip(weights, kept, strict=True)]))[
        k_prune - 1
    ]
    for m, w, k in zip(layers, weights, kept, strict=True):
        np.testing.assert_array_equal(m.weight.mask, k & (np.abs(w) > cut))
    total_pruned = sum(int((~m.weight.mask).sum()) for m in layers)
    assert total_pruned == 5 + k_prune
    assert (~layers[0].weight.mask).mean() > (~layers[2].weight.mask).mean()


def test_global_unstructured_importance_scores_and_random(rng):
    sa = rng.standard_normal((3, 4))
    c, d = linear(rng, 3, 4), linear(rng, 2, 4)
    wd = d.weight.data.copy()
    prune.global_unstructured(
        [(c, "weight"), (d, "weight")],
        prune.L1Unstructured,
        7,
        importance_scores={(c, "weight"): sa},
    )
    flat = np.concatenate([np.abs(sa).ravel(), np.abs(wd).ravel()])
    cut = np.sort(flat)[6]
    np.testing.assert_array_equal(c.weight.mask, np.abs(sa) > cut)
    np.testing.assert_array_equal(d.weight.mask, np.abs(wd) > cut)
    e, f = linear(rng), linear(rng)
    prune.global_unstructured([(e, "weight"), (f, "weight")], prune.RandomUnstructured, 33, seed=0)
    assert int((~e.weight.mask).sum() + (~f.weight.mask).sum()) == 33


# ------------------------------------------------------- masks, remove, is_pruned
def test_custom_from_mask_combines_and_identity(rng):
    layer = linear(rng, 2, 3)
    w = layer.weight.data.copy()
    prune.identity(layer, "weight")
    assert layer.weight.mask.all() and prune.is_pruned(layer)
    m1 = np.array([[True, False, True], [True, True, False]])
    m2 = np.array([[False, True, True], [True, True, True]])
    prune.custom_from_mask(layer, "weight", m1)
    prune.custom_from_mask(layer, "weight", m2)
    np.testing.assert_array_equal(layer.weight.mask, m1 & m2)
    np.testing.assert_array_equal(layer.weight.data, w * (m1 & m2))
    prune.identity(layer, "weight")
    np.testing.assert_array_equal(layer.weight.mask, m1 & m2)


def test_remove_keeps_zeros_and_is_pruned(rng):
    model = nn.Sequential(linear(rng), nn.ReLU(), linear(rng, 3, 6))
    assert not prune.is_pruned(model)
    prune.l1_unstructured(model[2], "weight", 0.5)
    assert prune.is_pruned(model) and prune.is_pruned(model[2]) and not prune.is_pruned(model[0])
    pruned = model[2].weight.data.copy()
    out = prune.remove(model[2], "weight")
    assert out is model[2] and model[2].weight.mask is None
    np.testing.assert_array_equal(model[2].weight.data, pruned)
    assert int((pruned == 0).sum()) == 9
    assert not prune.is_pruned(model)
    model[2].weight.data = np.ones((3, 6))  # no mask any more: values can come back
    assert model[2].weight.data.all()


def test_force_prunes_a_bias(rng):
    layer = linear(rng)
    b = rng.standard_normal(6)
    layer.bias.data = b
    prune.l1_unstructured(layer, "bias", 2, force=True)
    np.testing.assert_array_equal(layer.bias.mask, ref_smallest_k(b, np.ones(6, bool), 2))


# ----------------------------------------------------------------- thresholds
def test_threshold_unstructured_formula(rng):
    layer = linear(rng)
    w = layer.weight.data.copy()
    prune.l1_unstructured(layer, "weight", 5)
    m0 = layer.weight.mask.copy()
    prune.threshold_unstructured(layer, "weight", 0.7)
    np.testing.assert_array_equal(layer.weight.mask, m0 & ~(np.abs(w) < 0.7))


def test_std_threshold_population_std_of_all_entries(rng):
    layer = linear(rng, 20, 30)
    w = layer.weight.data.astype(np.float64).copy()
    prune.std_threshold_unstructured(layer, "weight", 0.8)
    sigma = np.sqrt(np.mean((w - w.mean()) ** 2))
    np.testing.assert_array_equal(layer.weight.mask, np.abs(w) >= 0.8 * sigma)
    # again: std of the current (masked) tensor, zeros included
    w2 = layer.weight.data.astype(np.float64).copy()
    m1 = layer.weight.mask.copy()
    prune.std_threshold_unstructured(layer, "weight", 1.0)
    sigma2 = np.sqrt(np.mean((w2 - w2.mean()) ** 2))
    np.testing.assert_array_equal(layer.weight.mask, m1 & (np.abs(w2) >= sigma2))


# ---------------------------------------------------------------------- errors
ERRORS = [
    (lambda m: prune.l1_unstructured(m, "weight", 1.5), ValueError, r"amount must be .* got 1\.5"),
    (lambda m: prune.l1_unstructured(m, "weight", -1), ValueError, "amount must be .* got -1"),
    (lambda m: prune.l1_unstructured(m, "weight", 61), ValueError, r"amount=61 is larger .*\(60\)"),
    (lambda m: prune.l1_unstructured(m, "weight", True), TypeError, "amount must be"),
    (lambda m: prune.l1_unstructured(m, "weight", "half"), TypeError, "amount must be"),
    (
        lambda m: prune.l1_unstructured(m, "wieght", 0.5),
        ValueError,
        r"no parameter 'wieght'; its parameters are \['weight', 'bias'\]",
    ),
    (
        lambda m: prune.l1_unstructured(m, "bias", 0.5),
        ValueError,
        "not prunable .* pass force=True",
    ),
    (
        lambda m: prune.l1_unstructured(m, "weight", 0.5, np.ones((3, 3))),
        ValueError,
        r"importance_scores must have the parameter's shape \(6, 10\)",
    ),
    (
        lambda m: prune.l1_unstructured(m, "weight", 0.5, np.full((6, 10), np.nan)),
        ValueError,
        "must be finite",
    ),
    (
        lambda m: prune.ln_structured(m, "weight", 0.5, n=2, dim=2),
        ValueError,
        r"dim must be an int in \[-2, 1\]",
    ),
    (
        lambda m: prune.ln_structured(m, "weight", 0.5, n="nuc", dim=0),
        ValueError,
        "n must be a positive number",
    ),
    (
        lambda m: prune.ln_structured(m, "weight", 0.5, n=0, dim=0),
        ValueError,
        "n must be a positive number",
    ),
    (
        lambda m: prune.ln_structured(m, "weight", 7, n=1, dim=0),
        ValueError,
        r"larger than the number of channels along dim 0 still kept \(6\)",
    ),
    (
        lambda m: prune.ln_structured(m, "bias", 1, n=1, dim=0, force=True),
        ValueError,
        "at least 2 dimensions",
    ),
    (lambda m: prune.random_structured(m, "weight", 0.5, dim=5), ValueError, "dim must be an int"),
    (lambda m: prune.random_unstructured(m, "weight", 0.5, seed=-3), ValueError, "seed must be"),
    (
        lambda m: prune.custom_from_mask(m, "weight", np.ones((6, 10))),
        ValueError,
        "mask must be a bool array",
    ),
    (
        lambda m: prune.custom_from_mask(m, "weight", np.ones((6, 9), bool)),
        ValueError,
        r"mask must have the parameter's shape \(6, 10\)",
    ),
    (
        lambda m: prune.threshold_unstructured(m, "weight", -0.1),
        ValueError,
        "threshold must be a finite real number >= 0",
    ),
    (
        lambda m: prune.std_threshold_unstructured(m, "weight", float("inf")),
        ValueError,
        "q must be a finite real number",
    ),
    (
        lambda m: prune.remove(m, "weight"),
        ValueError,
        "has to be pruned before pruning can be removed",
    ),
    (
        lambda m: prune.global_unstructured([(m, "weight")], prune.LnStructured, 0.5, n=1, dim=0),
        TypeError,
        "needs an unstructured pruning method",
    ),
    (
        lambda m: prune.global_unstructured([(m, "weight")], "l1", 0.5),
        TypeError,
        "pruning_method must be a pruning method class",
    ),
    (
        lambda m: prune.global_unstructured([(m, "weight")], prune.L1Unstructured, 61),
        ValueError,
        "amount=61 is larger",
    ),
    (
        lambda m: prune.global_unstructured(
            [(m, "weight"), (m, "weight")], prune.L1Unstructured, 1
        ),
        ValueError,
        "twice",
    ),
    (lambda m: prune.global_unstructured([], prune.L1Unstructured, 1), ValueError, "at least one"),
    (
        lambda m: prune.global_unstructured([(m, "weight"), (m, "bias")], prune.L1Unstructured, 1),
        ValueError,
        "not prunable",
    ),
    (
        lambda m: prune.global_unstructured(
            [(m, "weight")], prune.L1Unstructured, 1, importance_scores={(m, "weight"): np.ones(3)}
        ),
        ValueError,
        "must have the parameter's shape",
    ),
    (
        lambda m: prune.global_unstructured(
            [(m, "weight")], prune.L1Unstructured, 1, importance_scores=[1]
        ),
        TypeError,
        "must be a dict",
    ),
    (
        lambda m: prune.global_unstructured(
            [(m, "weight")], prune.L1Unstructured, 1, importance_scores={(m, "bias"): np.ones(6)}
        ),
        ValueError,
        "keys that are not in parameters",
    ),
]


@pytest.mark.parametrize("call, exc, message", ERRORS)
@pytest.mark.parametrize("already_pruned", [False, True])
def test_errors_leave_model_unchanged(rng, call, exc, message, already_pruned):
    layer = linear(rng)
    if already_pruned and "remove" not in message and "larger" not in message:
        prune.l1_unstructured(layer, "weight", 0.2)
    before = snapshot(layer)
    with pytest.raises(exc, match=message):
        call(layer)
    assert_unchanged(layer, before)


def test_amount_larger_than_kept_after_pruning(rng):
    layer = linear(rng)
    prune.l1_unstructured(layer, "weight", 50)
    before = snapshot(layer)
    with pytest.raises(
        ValueError, match=r"amount=11 is larger than the number of entries still kept \(10\)"
    ):
        prune.l1_unstructured(layer, "weight", 11)
    assert_unchanged(layer, before)


def test_module_type_and_is_pruned_errors():
    with pytest.raises(TypeError, match="module must be an nnprune.nn.Module"):
        prune.l1_unstructured(object(), "weight", 0.5)
    with pytest.raises(TypeError, match="module must be an nnprune.nn.Module"):
        prune.is_pruned([1, 2])
    seq = nn.Sequential(nn.Linear(2, 2, seed=0))
    with pytest.raises(ValueError, match="has no parameters of its own"):
        prune.l1_unstructured(seq, "weight", 0.5)


class PruneLargest(prune.BasePruningMethod):
    """A user-defined method: prune the k largest |w| (to test the extension point)."""

    PRUNING_TYPE = "unstructured"
    CRITERION = "-|w|"

    def __init__(self, amount: int) -> None:
        self.amount = amount

    def compute_mask(self, t, default_mask):
        order = np.argsort(-np.abs(t).ravel())[: self.amount]
        keep = np.ones(t.size, bool)
        keep[order] = False
        return default_mask & keep.reshape(t.shape)


def test_user_defined_method_apply_and_global(rng):
    layer = linear(rng)
    w = layer.weight.data.copy()
    with prune.PruningLog() as log:
        out = PruneLargest.apply(layer, "weight", 4)
    assert out is layer
    cut = np.sort(np.abs(w).ravel())[-4]
    np.testing.assert_array_equal(layer.weight.mask, np.abs(w) < cut)
    assert log.records[0]["method"] == "PruneLargest" and log.records[0]["newly_pruned"] == 4
    a, b = linear(rng), linear(rng)
    wa, wb = a.weight.data.copy(), b.weight.data.copy()
    prune.global_unstructured([(a, "weight"), (b, "weight")], PruneLargest, 3)
    top = np.sort(np.abs(np.concatenate([wa.ravel(), wb.ravel()])))[-3]
    np.testing.assert_array_equal(a.weight.mask, np.abs(wa) < top)
    np.testing.assert_array_equal(b.weight.mask, np.abs(wb) < top)


def test_conv2d_weight_filters_and_bias_refused(rng):
    conv = nn.Conv2d(3, 8, 3, seed=0).double()
    w = rng.standard_normal(conv.weight.shape)
    conv.weight.data = w
    prune.ln_structured(conv, "weight", 3, n=1, dim=0)
    gone = np.argsort(np.abs(w).sum(axis=(1, 2, 3)))[:3]
    filters_kept = conv.weight.mask.all(axis=(1, 2, 3))
    assert sorted(np.flatnonzero(~filters_kept)) == sorted(gone)
    with pytest.raises(ValueError, match="not prunable"):
        prune.l1_unstructured(conv, "bias", 1)
