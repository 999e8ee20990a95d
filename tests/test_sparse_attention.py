"""§6.2 top-k sparse attention: exact against dense attention, hand-checked on a small case."""

import numpy as np
import pytest

from nnprune import nn
from nnprune.casestudies.text_model import TransformerClassifier
from nnprune.nn.sparse_attention import topk_mask
from nnprune.prune import sparse_attention_eval


def _attn(seed=0, d=8, h=2):
    attn = nn.MultiHeadSelfAttention(d, h, seed=seed)
    for p in attn.parameters():  # non-zero biases, float64, so every term is exercised
        p.data = np.random.default_rng(seed + 1).normal(size=p.shape) * 0.5
    attn.eval()
    return attn


def test_k_equal_T_is_dense_attention_exactly():
    attn = _attn()
    x = np.random.default_rng(2).normal(size=(3, 5, 8))
    pad = np.zeros((3, 5), bool)
    pad[1, 3:] = True
    dense = attn(x, key_padding_mask=pad)
    for k in (5, 9):
        np.testing.assert_allclose(
            nn.topk_attention(attn, x, k, pad), dense, rtol=1e-12, atol=1e-12
        )


def test_small_case_by_hand():
    attn = _attn(d=4, h=1)
    x = np.random.default_rng(3).normal(size=(1, 4, 4))
    k = 2
    q = x[0] @ attn.q_proj.weight.data.T + attn.q_proj.bias.data
    kk = x[0] @ attn.k_proj.weight.data.T + attn.k_proj.bias.data
    v = x[0] @ attn.v_proj.weight.data.T + attn.v_proj.bias.data
    s = q @ kk.T / 2.0  # sqrt(d) with d = 4
    ref = np.zeros((4, 4))
    for i in range(4):
        top = np.argsort(-s[i])[:k]
        e = np.exp(s[i, top] - s[i, top].max())
        ref[i] = (e / e.sum()) @ v[top]
    ref = ref @ attn.out_proj.weight.data.T + attn.out_proj.bias.data
    out, (kept, valid) = nn.topk_attention(attn, x, k, return_kept=True)
    np.testing.assert_allclose(out[0], ref, rtol=1e-12, atol=1e-12)
    assert (kept, valid) == (8, 16)


def test_topk_mask_ties_and_padding():
    s = np.array([[1.0, 3.0, 3.0, -np.inf, 0.0]])
    np.testing.assert_array_equal(topk_mask(s, 2), [[False, True, True, False, False]])
    np.testing.assert_array_equal(topk_mask(s, 1), [[False, True, False, False, False]])
    np.testing.assert_array_equal(topk_mask(s, 10), [[True, True, True, False, True]])


def test_eval_on_a_transformer_restores_the_layers():
    model = TransformerClassifier(20, 3, d_model=8, nhead=2, num_layers=2, seed=0)
    ids = np.random.default_rng(0).integers(1, 20, size=(16, 6))
    ids[:4, 4:] = 0  # padding
    y = np.random.default_rng(1).integers(0, 3, size=16)
    before = model.forward(ids)
    rows = sparse_attention_eval(model, nn.CrossEntropyLoss(), (ids, y), [1, 3, 6])
    assert [r["k"] for r in rows] == [1, 3, 6]
    fr = [r["kept_fraction"] for r in rows]
    assert fr[0] < fr[1] < fr[2] == 1.0
    valid = 2 * 2 * (12 * 6 * 6 + 4 * 6 * 4)  # layers * heads * (queries x valid keys)
    assert fr[0] == pytest.approx(2 * 2 * 16 * 6 / valid)
    dense_loss = float(nn.CrossEntropyLoss().forward(before, y))
    assert rows[2]["loss"] == pytest.approx(dense_loss, rel=1e-5)
    np.testing.assert_array_equal(model.forward(ids), before)
    assert all(type(m).__name__ != "TopKAttention" for m in model.modules())


def test_errors():
    attn = _attn()
    with pytest.raises(ValueError, match="k must be"):
        nn.topk_attention(attn, np.zeros((1, 2, 8)), 0)
    with pytest.raises(ValueError, match=r"x must have shape \(N, T, 8\)"):
        nn.topk_attention(attn, np.zeros((1, 2, 4)), 1)
    with pytest.raises(ValueError, match="has no MultiHeadSelfAttention"):
        sparse_attention_eval(
            nn.Linear(2, 2), nn.CrossEntropyLoss(), (np.zeros((1, 2)), np.zeros(1)), 1
        )
