"""Attention masks (``attn_mask`` / ``src_mask``, ``causal_mask``): formulas, gradients, torch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from nnprune import nn
from nnprune.gradcheck import gradcheck

PAD = np.array([[False, False, False, True], [False, False, True, True]])  # (N, T) = (2, 4)
CAUSAL_BOOL = np.triu(np.ones((4, 4), bool), k=1)  # True above the diagonal = not allowed


def _randomize(module, rng, scale=0.5):
    module.double()
    for name, p in module.named_parameters():
        base = 1.0 if name.endswith(("norm1.weight", "norm2.weight")) else 0.0
        p.data = base + scale * rng.normal(size=p.shape)
    return module


def _float_mask(rng, t=4):
    """A causal float mask plus finite random offsets: checks that the mask is *added*."""
    return nn.causal_mask(t, dtype=np.float64) + rng.normal(size=(t, t))


def _reference(mha, x, allowed_add, padding):
    """Per query loops from the formulas: S = QK^T/sqrt(d) + M, -inf where padded."""
    n_batch, t_len, d = x.shape
    dh = mha.head_dim
    q, k, v = (x @ p.weight.data.T + p.bias.data for p in (mha.q_proj, mha.k_proj, mha.v_proj))
    concat = np.zeros((n_batch, t_len, d))
    for n in range(n_batch):
        for head in range(mha.num_heads):
            cols = slice(head * dh, (head + 1) * dh)
            for i in range(t_len):
                keys = [
                    j
                    for j in range(t_len)
                    if not (padding is not None and padding[n, j]) and allowed_add[i, j] > -np.inf
                ]
                s = np.array(
                    [
                        q[n, i, cols] @ k[n, j, cols] / math.sqrt(dh) + allowed_add[i, j]
                        for j in keys
                    ]
                )
                p = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
                concat[n, i, cols] = sum(pj * v[n, j, cols] for pj, j in zip(p, keys, strict=True))
    return concat @ mha.out_proj.weight.data.T + mha.out_proj.bias.data


def test_causal_mask_values():
    m = nn.causal_mask(3)
    assert m.dtype == np.float32 and m.shape == (3, 3)
    expected = np.array([[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]], np.float32)
    np.testing.assert_array_equal(m, expected)
    assert nn.causal_mask(2, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize("padding", [None, PAD])
def test_attention_masks_match_reference(padding, rng):
    mha = _randomize(nn.MultiHeadSelfAttention(6, 3, seed=0), rng)
    x = rng.normal(size=(2, 4, 6))
    as_float = np.where(CAUSAL_BOOL, -np.inf, 0.0)
    y_bool = mha(x, key_padding_mask=padding, attn_mask=CAUSAL_BOOL)
    y_float = mha(x, key_padding_mask=padding, attn_mask=nn.causal_mask(4))
    ref = _reference(mha, x, as_float, padding)
    np.testing.assert_allclose(y_bool, ref, atol=1e-12)
    np.testing.assert_allclose(y_float, ref, atol=1e-12)
    offsets = _float_mask(rng)
    y_off = mha(x, key_padding_mask=padding, attn_mask=offsets)
    np.testing.assert_allclose(y_off, _reference(mha, x, offsets, padding), atol=1e-12)


def test_causal_output_ignores_the_future(rng):
    """Changing x at position 3 leaves the outputs at positions 0..2 unchanged."""
    layer = _randomize(nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, seed=0), rng)
    x = rng.normal(size=(1, 4, 4))
    y = layer(x, src_mask=nn.causal_mask(4))
    x2 = x.copy()
    x2[0, 3] += 1.0
    y2 = layer(x2, src_mask=nn.causal_mask(4))
    np.testing.assert_allclose(y2[0, :3], y[0, :3], atol=1e-13)
    assert np.abs(y2[0, 3] - y[0, 3]).max() > 1e-3
    assert np.abs(layer(x2)[0, :3] - layer(x)[0, :3]).max() > 1e-3  # without the mask it leaks


@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("padding", [None, PAD])
def test_attention_gradcheck_with_attn_mask(kind, padding, rng):
    mha = _randomize(nn.MultiHeadSelfAttention(4, 2, seed=0), rng)
    mha.k_proj.bias.requires_grad = False  # its exact gradient is 0 (see test_transformer_layers)
    mha.v_proj.weight.mask = rng.random((4, 4)) > 0.4
    mask = CAUSAL_BOOL if kind == "bool" else _float_mask(rng)
    x = rng.normal(size=(2, 4, 4))
    kwargs = {"key_padding_mask": padding, "attn_mask": mask, "head_mask": np.array([1.0, 0.6])}
    report = gradcheck(mha, x, forward_kwargs=kwargs)
    assert len(report.errors) == 1 + 7


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_gradcheck_with_src_mask(norm_first, rng):
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=norm_first, seed=0)
    _randomize(layer, rng)
    layer.self_attn.k_proj.bias.requires_grad = False
    x = rng.normal(size=(2, 4, 4))
    kwargs = {"src_mask": nn.causal_mask(4, np.float64), "src_key_padding_mask": PAD}
    report = gradcheck(layer, x, forward_kwargs=kwargs)
    assert len(report.errors) == 1 + 15


def test_mask_errors(rng):
    mha = nn.MultiHeadSelfAttention(4, 2, seed=0)
    x = rng.normal(size=(2, 4, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=r"attn_mask must be a bool .* or float .* got dtype int"):
        mha(x, attn_mask=CAUSAL_BOOL.astype(int))
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(T, T\) = \(4, 4\), got"):
        mha(x, attn_mask=nn.causal_mask(3))
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, seed=0)
    with pytest.raises(ValueError, match=r"src_mask must have shape \(T, T\) = \(4, 4\)"):
        layer(x, src_mask=nn.causal_mask(5))
    with pytest.raises(ValueError, match="size must be a positive int"):
        nn.causal_mask(0)
    y = layer(x, src_mask=nn.causal_mask(4, np.float64))  # a float64 mask keeps float32 outputs
    assert y.dtype == np.float32


# ------------------------------------------------------------ PyTorch parity
def _copy_to_torch(layer, ref, torch):
    attn = layer.self_attn
    projections = (attn.q_proj, attn.k_proj, attn.v_proj)
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(
            torch.from_numpy(np.concatenate([p.weight.data for p in projections]))
        )
        ref.self_attn.in_proj_bias.copy_(
            torch.from_numpy(np.concatenate([p.bias.data for p in projections]))
        )
        for name in ("weight", "bias"):
            getattr(ref.self_attn.out_proj, name).copy_(
                torch.from_numpy(getattr(attn.out_proj, name).data)
            )
            for sub in ("linear1", "linear2", "norm1", "norm2"):
                src = getattr(getattr(layer, sub), name).data
                getattr(getattr(ref, sub), name).copy_(torch.from_numpy(src))


def _compare_all_grads(layer, ref):
    attn = layer.self_attn
    projections = (attn.q_proj, attn.k_proj, attn.v_proj)
    pairs = [
        (np.concatenate([p.weight.grad for p in projections]), ref.self_attn.in_proj_weight),
        (np.concatenate([p.bias.grad for p in projections]), ref.self_attn.in_proj_bias),
        (attn.out_proj.weight.grad, ref.self_attn.out_proj.weight),
        (attn.out_proj.bias.grad, ref.self_attn.out_proj.bias),
    ]
    for sub in ("linear1", "linear2", "norm1", "norm2"):
        for name in ("weight", "bias"):
            pairs.append(
                (getattr(getattr(layer, sub), name).grad, getattr(getattr(ref, sub), name))
            )
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs.grad.numpy(), atol=1e-11, err_msg="ours vs torch")
    return len(pairs)


@pytest.mark.torch
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("kind", ["bool", "float", "causal"])
@pytest.mark.parametrize("padded", [False, True])
def test_encoder_layer_with_mask_matches_torch(norm_first, kind, padded, rng):
    torch = pytest.importorskip("torch")
    kwargs = dict(dim_feedforward=10, dropout=0.0, activation="gelu", norm_first=norm_first)
    layer = _randomize(nn.TransformerEncoderLayer(6, 3, seed=0, **kwargs), rng)
    ref = torch.nn.TransformerEncoderLayer(6, 3, batch_first=True, dtype=torch.float64, **kwargs)
    _copy_to_torch(layer, ref, torch)
    ref.train()  # keeps PyTorch off its inference fast path
    if kind == "bool":
        mask = CAUSAL_BOOL
    elif kind == "float":
        mask = _float_mask(rng)
    else:
        mask = nn.causal_mask(4, np.float64)
        theirs = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
        np.testing.assert_array_equal(mask, theirs.numpy())
    padding = PAD if padded else None
    x, r = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 4, 6))
    xt = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about a float mask with a bool padding mask
        out = ref(
            xt,
            src_mask=torch.from_numpy(mask),
            src_key_padding_mask=None if padding is None else torch.from_numpy(padding),
        )
    (out * torch.from_numpy(r)).sum().backward()
    y = layer(x, src_mask=mask, src_key_padding_mask=padding)
    dx = layer.backward(r)
    np.testing.assert_allclose(y, out.detach().numpy(), atol=1e-11, err_msg="ours vs torch")
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-11, err_msg="ours vs torch")
    assert _compare_all_grads(layer, ref) == 12


@pytest.mark.torch
def test_attention_with_mask_matches_torch(rng):
    torch = pytest.importorskip("torch")
    mha = _randomize(nn.MultiHeadSelfAttention(6, 2, seed=0), rng)
    ref = torch.nn.MultiheadAttention(6, 2, batch_first=True, dtype=torch.float64)
    projections = (mha.q_proj, mha.k_proj, mha.v_proj)
    with torch.no_grad():
        ref.in_proj_weight.copy_(
            torch.from_numpy(np.concatenate([p.weight.data for p in projections]))
        )
        ref.in_proj_bias.copy_(torch.from_numpy(np.concatenate([p.bias.data for p in projections])))
        ref.out_proj.weight.copy_(torch.from_numpy(mha.out_proj.weight.data))
        ref.out_proj.bias.copy_(torch.from_numpy(mha.out_proj.bias.data))
    for mask in (CAUSAL_BOOL, _float_mask(rng)):
        ref.zero_grad()
        mha.zero_grad()
        x, r = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 4, 6))
        xt = torch.tensor(x, requires_grad=True)
        out, _ = ref(xt, xt, xt, attn_mask=torch.from_numpy(mask), need_weights=False)
        (out * torch.from_numpy(r)).sum().backward()
        y = mha(x, attn_mask=mask)
        dx = mha.backward(r)
        np.testing.assert_allclose(y, out.detach().numpy(), atol=1e-12, err_msg="ours vs torch")
        np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
        ours = np.concatenate([p.weight.grad for p in projections])
        np.testing.assert_allclose(ours, ref.in_proj_weight.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(mha.out_proj.weight.grad, ref.out_proj.weight.grad.numpy())
