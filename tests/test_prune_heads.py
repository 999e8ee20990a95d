"""Attention-head pruning: removal equals masking, Michel importance, prune_heads."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from nnprune import nn
from nnprune.gradcheck import gradcheck, numerical_gradient
from nnprune.optim import Adam
from nnprune.prune import (
    head_importance,
    l1_unstructured,
    mask_heads,
    prune_heads,
    remove_heads,
)

D, H, T = 8, 4, 5


def _randomize(module: nn.Module, rng: np.random.Generator) -> nn.Module:
    """float64 with every parameter random (zero default biases would hide bias bugs)."""
    module.double()
    for p in module.parameters():
        p.data = rng.normal(scale=0.5, size=p.shape)
    return module


def _padding() -> np.ndarray:
    pad = np.zeros((3, T), bool)
    pad[1, 3:] = True
    pad[2, 1:] = True
    return pad


@pytest.mark.parametrize("heads", [[1], [0, 2], [3, 1, 2]])
@pytest.mark.parametrize("padded", [False, True])
def test_remove_equals_mask_attention(rng, heads, padded):
    attn = _randomize(nn.MultiHeadSelfAttention(D, H, seed=0), rng)
    l1_unstructured(attn.q_proj, "weight", 0.3)  # an existing mask must shrink too
    masked, removed = attn, copy.deepcopy(attn)
    x = rng.normal(size=(3, T, D))
    pad = _padding() if padded else None
    assert mask_heads(masked, heads) == tuple(sorted(heads))
    assert remove_heads(removed, heads) == tuple(sorted(heads))
    np.testing.assert_allclose(removed.forward(x, pad), masked.forward(x, pad), rtol=0, atol=1e-10)
    kept = H - len(heads)
    assert removed.num_heads == kept and removed.embed_dim == D and removed.head_dim == D // H
    assert removed.q_proj.weight.shape == (kept * D // H, D)
    assert removed.q_proj.weight.mask.shape == (kept * D // H, D)
    assert removed.v_proj.bias.shape == (kept * D // H,)
    assert removed.out_proj.weight.shape == (D, kept * D // H)
    assert removed.head_mask.shape == (kept,)


def test_removed_rows_are_the_heads_rows(rng):
    attn = _randomize(nn.MultiHeadSelfAttention(D, H, seed=0), rng)
    before_k, before_o = attn.k_proj.weight.data.copy(), attn.out_proj.weight.data.copy()
    remove_heads(attn, [2])
    d = D // H
    keep = [i for i in range(D) if not 2 * d <= i < 3 * d]
    np.testing.assert_array_equal(attn.k_proj.weight.data, before_k[keep])
    np.testing.assert_array_equal(attn.out_proj.weight.data, before_o[:, keep])


def test_kept_gate_values_survive_removal(rng):
    attn = _randomize(nn.MultiHeadSelfAttention(D, H, seed=0), rng)
    attn.head_mask[:] = [0.5, 1.0, 2.0, 0.0]
    remove_heads(attn, [1])
    np.testing.assert_array_equal(attn.head_mask, [0.5, 2.0, 0.0])


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("padded", [False, True])
def test_remove_equals_mask_encoder_layer(rng, norm_first, padded):
    layer = nn.TransformerEncoderLayer(D, H, 16, dropout=0.0, norm_first=norm_first, seed=0)
    layer = _randomize(layer, rng).eval()
    removed = copy.deepcopy(layer)
    x = rng.normal(size=(3, T, D))
    pad = _padding() if padded else None
    mask_heads(layer.self_attn, [0, 3])
    remove_heads(removed.self_attn, [0, 3])
    ours, reference = removed(x, src_key_padding_mask=pad), layer(x, src_key_padding_mask=pad)
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-10)


@pytest.mark.parametrize("padded", [False, True])
def test_shrunk_layer_gradchecks(rng, padded):
    attn = _randomize(nn.MultiHeadSelfAttention(D, H, seed=0), rng)
    l1_unstructured(attn.v_proj, "weight", 0.4)
    remove_heads(attn, [1, 2])
    x = rng.normal(size=(3, T, D))
    kwargs = {"key_padding_mask": _padding()} if padded else None
    attn.k_proj.bias.requires_grad = False  # its exact gradient is 0: relative error undefined
    report = gradcheck(attn, x, forward_kwargs=kwargs)
    assert set(report.errors) >= {"input", "q_proj.weight", "v_proj.weight", "out_proj.weight"}


def _classifier(rng, layers=2):
    blocks = [nn.TransformerEncoderLayer(D, H, 12, dropout=0.0, seed=k) for k in range(layers)]
    model = nn.Sequential(*blocks, nn.SequenceMeanPool(), nn.Linear(D, 3, seed=9))
    return _randomize(model, rng)


def test_shrunk_model_trains(rng):
    model = _classifier(rng)
    X = rng.normal(size=(24, T, D))
    y = (X[:, :, 0].mean(axis=1) > 0).astype(np.int64) + (X[:, 0, 1] > 1).astype(np.int64)
    remove_heads(model[0].self_attn, [0, 1, 2])
    remove_heads(model[1].self_attn, [3])
    loss_fn, opt = nn.CrossEntropyLoss(), Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        losses.append(loss_fn.forward(model.forward(X), y))
        model.backward(loss_fn.backward())
        opt.step()
    assert losses[-1] < 0.5 * losses[0]
    assert model[0].self_attn.q_proj.weight.shape == (D // H, D)


def _brute_force(model, X, y, batch_size):
    """n_b |dL_b/dxi| by central differences on each attention layer's head_mask buffer."""
    loss_fn = nn.CrossEntropyLoss()
    attns = [m for m in model.modules() if isinstance(m, nn.MultiHeadSelfAttention)]
    totals = [np.zeros(a.num_heads) for a in attns]
    for start in range(0, len(X), batch_size):
        xb, yb = X[start : start + batch_size], y[start : start + batch_size]
        for a, total in zip(attns, totals, strict=True):
            g = numerical_gradient(
                lambda xb=xb, yb=yb: loss_fn.forward(model.forward(xb), yb), a.head_mask
            )
            total += len(xb) * np.abs(g)
    return [t / len(X) for t in totals]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_head_importance_matches_finite_differences(rng, batch_size):
    model = _classifier(rng).eval()
    X, y = rng.normal(size=(7, T, D)), rng.integers(0, 3, size=7)
    expected = _brute_force(model, X, y, batch_size)
    raw = head_importance(model, nn.CrossEntropyLoss(), (X, y), batch_size, normalize=False)
    assert list(raw) == ["0.self_attn", "1.self_attn"]
    for got, want in zip(raw.values(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-10)
    normed = head_importance(model, nn.CrossEntropyLoss(), (X, y), batch_size)
    for got, want in zip(normed.values(), expected, strict=True):
        np.testing.assert_allclose(got, want / np.linalg.norm(want), rtol=1e-6)


def test_head_importance_leaves_no_trace(rng):
    model = _classifier(rng).train()
    model[1].eval()
    for p in model.parameters():
        p.grad[...] = 7.0
    model[0].self_attn.head_mask_grad_ = np.full(H, 3.0)
    X, y = rng.normal(size=(4, T, D)), rng.integers(0, 3, size=4)
    head_importance(model, nn.CrossEntropyLoss(), (X, y), batch_size=2)
    assert all(np.all(p.grad == 7.0) for p in model.parameters())
    np.testing.assert_array_equal(model[0].self_attn.head_mask_grad_, np.full(H, 3.0))
    assert model.training and model[0].training and not model[1].training


def test_head_importance_errors(rng):
    X, y = rng.normal(size=(2, T, D)), np.zeros(2, np.int64)
    with pytest.raises(ValueError, match="no MultiHeadSelfAttention"):
        head_importance(nn.Sequential(nn.Linear(D, 2)), nn.CrossEntropyLoss(), (X, y))
    model = _classifier(rng)
    with pytest.raises(ValueError, match="pair"):
        head_importance(model, nn.CrossEntropyLoss(), X)
    with pytest.raises(ValueError, match="equal lengths"):
        head_importance(model, nn.CrossEntropyLoss(), (X, y[:1]))
    with pytest.raises(ValueError, match="batch_size"):
        head_importance(model, nn.CrossEntropyLoss(), (X, y), batch_size=0)


def test_remove_and_mask_errors(rng):
    attn = nn.MultiHeadSelfAttention(D, H, seed=0)
    before = attn.q_proj.weight.data.copy()
    with pytest.raises(ValueError, match="cannot remove all 4 heads"):
        remove_heads(attn, [0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"heads must be in \[0, 4\)"):
        remove_heads(attn, [4])
    with pytest.raises(ValueError, match="must not repeat"):
        remove_heads(attn, [1, 1])
    with pytest.raises(ValueError, match="integers"):
        mask_heads(attn, [0.5])
    with pytest.raises(TypeError, match="MultiHeadSelfAttention"):
        remove_heads(nn.Linear(D, D), [0])
    assert attn.num_heads == H
    np.testing.assert_array_equal(attn.q_proj.weight.data, before)
    np.testing.assert_array_equal(attn.head_mask, np.ones(H))


def test_prune_heads_global_keeps_one_per_layer(rng):
    model = _classifier(rng)
    scores = {"0.self_attn": [0.1, 0.2, 0.3, 0.4], "1.self_attn": [0.9, 0.25, 0.8, 0.7]}
    # global order: (0,0) (0,1) (1,1) (0,2) (0,3)=last of layer 0, skipped, then (1,3)
    removed = prune_heads(model, scores, 5)
    assert removed == {"0.self_attn": (0, 1, 2), "1.self_attn": (1, 3)}
    assert model[0].self_attn.num_heads == 1 and model[1].self_attn.num_heads == 2


def test_prune_heads_layer_scope_and_fraction(rng):
    model = _classifier(rng)
    scores = {"0.self_attn": [0.4, 0.1, 0.3, 0.2], "1.self_attn": [0.2, 0.2, 0.1, 0.9]}
    removed = prune_heads(model, scores, 0.5, scope="layer")
    assert removed == {"0.self_attn": (1, 3), "1.self_attn": (0, 2)}  # tie 0.2: lower index


def test_prune_heads_equals_masking_on_importance(rng):
    model = _classifier(rng).eval()
    X, y = rng.normal(size=(6, T, D)), rng.integers(0, 3, size=6)
    scores = head_importance(model, nn.CrossEntropyLoss(), (X, y))
    masked = copy.deepcopy(model)
    removed = prune_heads(model, scores, 0.5)
    assert sum(len(h) for h in removed.values()) == 4
    for name, heads in removed.items():
        mask_heads(masked.get_submodule(name), heads)
    np.testing.assert_allclose(model.forward(X), masked.forward(X), rtol=0, atol=1e-10)


def test_prune_heads_errors(rng):
    model = _classifier(rng)
    good = {"0.self_attn": np.ones(H)}
    with pytest.raises(ValueError, match="scope must be one of"):
        prune_heads(model, good, 1, scope="model")
    with pytest.raises(ValueError, match="is not a MultiHeadSelfAttention"):
        prune_heads(model, {"0.linear1": np.ones(H)}, 1)
    with pytest.raises(ValueError, match=r"must have shape \(4,\)"):
        prune_heads(model, {"0.self_attn": np.ones(3)}, 1)
    with pytest.raises(ValueError, match="must be finite"):
        prune_heads(model, {"0.self_attn": [1.0, np.nan, 1.0, 1.0]}, 1)
    with pytest.raises(ValueError, match="at most 3 of 4"):
        prune_heads(model, good, 4)
    with pytest.raises(ValueError, match="would remove all 4 heads"):
        prune_heads(model, good, 1.0, scope="layer")
    assert model[0].self_attn.num_heads == H
