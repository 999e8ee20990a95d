"""Parity with torch.nn.utils.prune: identical tensors give identical masks.

Weights are random float64 (no ties). nnprune stores ``weight.mask`` where
PyTorch stores the ``weight_mask`` buffer; both are compared entry by entry.
Random methods cannot share PyTorch's generator, so for them the counts and
the structure (whole channels, nothing revived) are compared instead.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn, prune
from nnprune.nn.module import Module
from nnprune.nn.parameter import Parameter

torch = pytest.importorskip("torch")
tprune = pytest.importorskip("torch.nn.utils.prune")

pytestmark = pytest.mark.torch


class Holder(Module):
    def __init__(self, array: np.ndarray) -> None:
        super().__init__()
        self.weight = Parameter(array, prunable=True)


class THolder(torch.nn.Module):
    def __init__(self, array: np.ndarray) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor(array, dtype=torch.float64))


def pair(array: np.ndarray) -> tuple[Module, torch.nn.Module]:
    """An nnprune module and a PyTorch module holding the same float64 weight."""
    if array.ndim == 2:
        ours = nn.Linear(array.shape[1], array.shape[0], seed=0).double()
        ours.weight.data = array
        theirs = torch.nn.Linear(array.shape[1], array.shape[0]).double()
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(array))
        return ours, theirs
    return Holder(array), THolder(array)


def torch_mask(module: torch.nn.Module) -> np.ndarray:
    return module.weight_mask.detach().numpy().astype(bool)


def assert_same(ours: Module, theirs: torch.nn.Module) -> None:
    np.testing.assert_array_equal(
        ours.weight.mask, torch_mask(theirs), err_msg="mask: ours vs torch"
    )
    np.testing.assert_allclose(ours.weight.data, theirs.weight.detach().numpy(), rtol=0, atol=0)


SHAPES = [(12, 20), (6, 4, 3, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("amounts", [[0.3], [7], [0.25, 0.5, 3], [1.0], [0]])
def test_l1_unstructured_parity(rng, shape, amounts):
    w = rng.standard_normal(shape)
    ours, theirs = pair(w)
    for amount in amounts:
        prune.l1_unstructured(ours, "weight", amount)
        tprune.l1_unstructured(theirs, "weight", amount)
        assert_same(ours, theirs)


@pytest.mark.parametrize("shape", SHAPES)
def test_l1_unstructured_importance_scores_parity(rng, shape):
    w, s = rng.standard_normal(shape), rng.standard_normal(shape)
    ours, theirs = pair(w)
    prune.l1_unstructured(ours, "weight", 0.4, importance_scores=s)
    tprune.l1_unstructured(theirs, "weight", 0.4, importance_scores=torch.tensor(s))
    assert_same(ours, theirs)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("n", [1, 2, "fro", float("inf"), float("-inf"), 3])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_ln_structured_parity(rng, shape, n, dim):
    w = rng.standard_normal(shape)
    ours, theirs = pair(w)
    # torch's 'fro' fails when more than two axes are reduced; ours is the 2-norm then
    torch_n = 2 if n == "fro" and len(shape) > 3 else n
    for amount in (0.34, 1):
        prune.ln_structured(ours, "weight", amount, n=n, dim=dim)
        tprune.ln_structured(theirs, "weight", amount, n=torch_n, dim=dim)
        assert_same(ours, theirs)


@pytest.mark.parametrize("shape", SHAPES)
def test_mixed_repeated_pruning_parity(rng, shape):
    w, s = rng.standard_normal(shape), rng.standard_normal(shape)
    ours, theirs = pair(w)
    steps = [
        ("l1", {"amount": 0.3}),
        ("ln", {"amount": 0.25, "n": 1, "dim": 0}),
        ("l1", {"amount": 5}),
        ("ln", {"amount": 1, "n": 2, "dim": 1}),
        ("ln_scores", {"amount": 0.5, "n": 2, "dim": 0}),
        ("l1", {"amount": 0.5}),
    ]
    for kind, kw in steps:
        if kind == "l1":
            prune.l1_unstructured(ours, "weight", **kw)
            tprune.l1_unstructured(theirs, "weight", **kw)
        elif kind == "ln":
            prune.ln_structured(ours, "weight", **kw)
            tprune.ln_structured(theirs, "weight", **kw)
        else:
            prune.ln_structured(ours, "weight", importance_scores=s, **kw)
            tprune.ln_structured(theirs, "weight", importance_scores=torch.tensor(s), **kw)
        assert_same(ours, theirs)


def test_custom_from_mask_identity_and_remove_parity(rng):
    w = rng.standard_normal((5, 8))
    ours, theirs = pair(w)
    prune.identity(ours, "weight")
    tprune.identity(theirs, "weight")
    assert_same(ours, theirs)
    m = rng.random((5, 8)) > 0.3
    prune.custom_from_mask(ours, "weight", m)
    tprune.custom_from_mask(theirs, "weight", torch.tensor(m))
    assert_same(ours, theirs)
    prune.l1_unstructured(ours, "weight", 0.5)
    tprune.l1_unstructured(theirs, "weight", 0.5)
    assert_same(ours, theirs)
    assert prune.is_pruned(ours) == tprune.is_pruned(theirs) is True
    prune.remove(ours, "weight")
    tprune.remove(theirs, "weight")
    assert ours.weight.mask is None and not hasattr(theirs, "weight_mask")
    np.testing.assert_array_equal(ours.weight.data, theirs.weight.detach().numpy())
    assert prune.is_pruned(ours) == tprune.is_pruned(theirs) is False


@pytest.mark.parametrize("amount", [0.45, 17])
@pytest.mark.parametrize("with_scores", [False, True])
def test_global_unstructured_parity(rng, amount, with_scores):
    arrays = [rng.standard_normal((6, 10)), rng.standard_normal((4, 6)) * 0.5]
    arrays.append(rng.standard_normal((3, 2, 3, 3)) * 2)
    pairs = [pair(a) for a in arrays]
    ours = [(o, "weight") for o, _ in pairs]
    theirs = [(t, "weight") for _, t in pairs]
    # a layer already pruned: only its kept entries take part
    prune.l1_unstructured(pairs[1][0], "weight", 0.5)
    tprune.l1_unstructured(pairs[1][1], "weight", 0.5)
    our_scores = their_scores = None
    if with_scores:
        s = rng.standard_normal(arrays[0].shape)
        our_scores = {ours[0]: s}
        their_scores = {theirs[0]: torch.tensor(s)}
    prune.global_unstructured(ours, prune.L1Unstructured, amount, importance_scores=our_scores)
    tprune.global_unstructured(
        theirs, tprune.L1Unstructured, importance_scores=their_scores, amount=amount
    )
    for o, t in pairs:
        assert_same(o, t)
    # and again, on top
    prune.global_unstructured(ours, prune.L1Unstructured, 0.3)
    tprune.global_unstructured(theirs, tprune.L1Unstructured, amount=0.3)
    for o, t in pairs:
        assert_same(o, t)


@pytest.mark.parametrize("shape", SHAPES)
def test_random_methods_match_counts_and_structure(rng, shape):
    w = rng.standard_normal(shape)
    ours, theirs = pair(w)
    torch.manual_seed(0)
    for amount in (0.3, 4, 0.5):
        prune.random_unstructured(ours, "weight", amount, seed=1)
        tprune.random_unstructured(theirs, "weight", amount)
        assert ours.weight.mask.sum() == torch_mask(theirs).sum()
    ours, theirs = pair(w)
    for amount in (0.34, 1):
        prev = None if ours.weight.mask is None else ours.weight.mask.copy()
        prune.random_structured(ours, "weight", amount, dim=1, seed=2)
        tprune.random_structured(theirs, "weight", amount, dim=1)
        o, t = ours.weight.mask, torch_mask(theirs)
        assert o.sum() == t.sum()
        axes = tuple(a for a in range(len(shape)) if a != 1)
        assert np.array_equal(o.all(axis=axes), o.any(axis=axes))  # whole channels
        if prev is not None:
            assert not np.any(o & ~prev)
