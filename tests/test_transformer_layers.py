"""Transformer layers: gradient checks, independent formulas, PyTorch parity, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnprune import nn
from nnprune.backend import cupy_available, to_backend, to_numpy
from nnprune.gradcheck import gradcheck, numerical_gradient

PAD = np.array([[False, False, False, True], [False, True, True, True]])  # (N, T) = (2, 4)


def _randomize(module, rng, scale=0.5):
    """Give every parameter (LayerNorm gains and zero biases too) random float64 values."""
    module.double()
    for name, p in module.named_parameters():
        base = 1.0 if name.endswith("norm1.weight") or name.endswith("norm2.weight") else 0.0
        p.data = base + scale * rng.normal(size=p.shape)
    return module


def _gradcheck_attention(module, x, **kwargs):
    """gradcheck with every k_proj.bias held out: its exact gradient is 0 (see the docstring).

    A zero gradient makes the relative error pure rounding noise, so instead the
    analytic gradient must vanish (``test_key_bias_gradient_is_zero`` checks the
    numerical one).
    """
    biases = [m.k_proj.bias for m in module.modules() if isinstance(m, nn.MultiHeadSelfAttention)]
    for b in biases:
        b.requires_grad = False
    report = gradcheck(module, x, **kwargs)
    for b in biases:
        assert np.abs(b.grad).max() < 1e-12, f"dL/db_k should be 0, got {b.grad}"
        b.requires_grad = True
    return report


# ------------------------------------------------------------------ Embedding
@pytest.mark.parametrize("masked", [False, True])
def test_embedding_gradcheck(masked, rng):
    # no padding_idx: its row's zero gradient is a convention, not the derivative
    emb = nn.Embedding(7, 3, seed=0).double()
    if masked:
        emb.weight.mask = rng.random((7, 3)) > 0.4
    ids = np.array([[0, 3, 3, 6], [1, 0, 2, 3]])
    report = gradcheck(emb, ids, check_input=False)
    assert set(report.errors) == {"weight"}


def test_embedding_lookup_and_scatter_add(rng):
    emb = nn.Embedding(5, 2, padding_idx=-1, seed=1).double()
    assert emb.padding_idx == 4 and emb.weight.prunable
    np.testing.assert_array_equal(emb.weight.data[4], 0.0)
    ids = np.array([[1, 1, 4], [0, 1, 3]])
    y = emb(ids)
    for n in range(2):
        for t in range(3):
            np.testing.assert_array_equal(y[n, t], emb.weight.data[ids[n, t]])
    dout = rng.normal(size=(2, 3, 2))
    assert emb.backward(dout) is None  # integer ids have no gradient
    expected = np.zeros((5, 2))
    for n in range(2):
        for t in range(3):
            if ids[n, t] != 4:  # the padding row gets no gradient
                expected[ids[n, t]] += dout[n, t]
    np.testing.assert_allclose(emb.weight.grad, expected, atol=1e-14)


def test_embedding_init_is_standard_normal():
    w = nn.Embedding(400, 50, seed=0).weight.data
    assert w.dtype == np.float32
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1.0) < 0.02


# -------------------------------------------------------- PositionalEncoding
@pytest.mark.parametrize("d_model", [6, 5])
def test_positional_encoding_formula(d_model, rng):
    layer = nn.PositionalEncoding(d_model, max_len=9).double()
    x = rng.normal(size=(2, 7, d_model))
    y = layer(x)
    for pos in range(7):
        for j in range(d_model):
            angle = pos / 10000 ** ((j - j % 2) / d_model)
            pe = math.sin(angle) if j % 2 == 0 else math.cos(angle)
            np.testing.assert_allclose(y[:, pos, j] - x[:, pos, j], pe, atol=1e-7)
    gradcheck(layer, x)


# ----------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("shape, normalized", [((3, 4, 5), 5), ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_gradcheck_and_formula(shape, normalized, affine, rng):
    ln = nn.LayerNorm(normalized, elementwise_affine=affine).double()
    if affine:
        ln.weight.data = rng.normal(size=ln.normalized_shape)
        ln.bias.data = rng.normal(size=ln.normalized_shape)
        assert not ln.weight.prunable and not ln.bias.prunable
    x = rng.normal(1.0, 2.0, size=shape)
    axes = tuple(range(-len(ln.normalized_shape), 0))
    xhat = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
    expected = xhat * ln.weight.data + ln.bias.data if affine else xhat
    np.testing.assert_allclose(ln(x), expected, atol=1e-12)
    report = gradcheck(ln, x)
    assert set(report.errors) == ({"input", "weight", "bias"} if affine else {"input"})


# ---------------------------------------------------------------------- GELU
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck_and_formula(approximate, rng):
    x = rng.normal(0.0, 2.0, size=(3, 5))
    y = nn.GELU(approximate)(x)
    for v, out in zip(x.ravel(), y.ravel(), strict=True):
        if approximate == "none":
            ref = 0.5 * v * (1 + math.erf(v / math.sqrt(2)))
        else:
            ref = 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v**3)))
        assert out == pytest.approx(ref, abs=1e-13)
    gradcheck(nn.GELU(approximate), x)


# ------------------------------------------------------ MultiHeadSelfAttention
def _reference_attention(mha, x, padding, gate):
    """Per-head loops written from the formulas, independent of the layer's batched code."""
    n_batch, t_len, d = x.shape
    h, dh = mha.num_heads, mha.head_dim
    q = x @ mha.q_proj.weight.data.T + mha.q_proj.bias.data
    k = x @ mha.k_proj.weight.data.T + mha.k_proj.bias.data
    v = x @ mha.v_proj.weight.data.T + mha.v_proj.bias.data
    concat = np.zeros((n_batch, t_len, d))
    for n in range(n_batch):
        keys = [j for j in range(t_len) if not padding[n, j]]
        for head in range(h):
            cols = slice(head * dh, (head + 1) * dh)
            for i in range(t_len):
                if not keys:
                    continue
                s = np.array([q[n, i, cols] @ k[n, j, cols] / math.sqrt(dh) for j in keys])
                p = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
                attended = sum(pj * v[n, j, cols] for pj, j in zip(p, keys, strict=True))
                concat[n, i, cols] = gate[head] * attended
    return concat @ mha.out_proj.weight.data.T + mha.out_proj.bias.data


def test_attention_matches_reference_with_padding_and_head_mask(rng):
    mha = _randomize(nn.MultiHeadSelfAttention(6, 3, seed=0), rng)
    x = rng.normal(size=(3, 4, 6))
    padding = np.vstack([PAD, np.ones((1, 4), bool)])  # last sequence is all padding
    gate = np.array([1.0, 0.0, 0.5])
    y = mha(x, key_padding_mask=padding, head_mask=gate)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y, _reference_attention(mha, x, padding, gate), atol=1e-12)
    np.testing.assert_allclose(y[2], np.broadcast_to(mha.out_proj.bias.data, (4, 6)))


@pytest.mark.parametrize("padding", [None, PAD])
@pytest.mark.parametrize("masked", [False, True])
def test_attention_gradcheck(padding, masked, rng):
    mha = _randomize(nn.MultiHeadSelfAttention(4, 2, seed=0), rng)
    if masked:
        mha.q_proj.weight.mask = rng.random((4, 4)) > 0.5
    mha.head_mask = np.array([1.0, 0.7])
    x = rng.normal(size=(2, 4, 4))
    _gradcheck_attention(mha, x, forward_kwargs={"key_padding_mask": padding})


def test_attention_gradcheck_with_attention_dropout(rng):
    mha = _randomize(nn.MultiHeadSelfAttention(4, 2, dropout=0.3, seed=0), rng)

    def same_noise():
        mha.attn_dropout.rng = np.random.default_rng(7)

    x = rng.normal(size=(2, 3, 4))
    _gradcheck_attention(mha, x, setup=same_noise, forward_kwargs={"key_padding_mask": PAD[:, 1:]})


def test_head_mask_gradient_matches_numerical_and_accumulates(rng):
    mha = _randomize(nn.MultiHeadSelfAttention(6, 3, seed=0), rng)
    x, r = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 4, 6))
    gate = np.array([1.0, 0.3, 1.0])
    numeric = numerical_gradient(
        lambda: float((mha(x, key_padding_mask=PAD, head_mask=gate) * r).sum()), gate
    )
    mha.zero_grad()
    mha(x, key_padding_mask=PAD, head_mask=gate)
    mha.backward(r)
    np.testing.assert_allclose(mha.head_mask_grad_, numeric, rtol=1e-7, atol=1e-9)
    mha(x, key_padding_mask=PAD, head_mask=gate)
    mha.backward(r)
    np.testing.assert_allclose(mha.head_mask_grad_, 2 * numeric, rtol=1e-7, atol=1e-9)
    mha.zero_grad()
    np.testing.assert_array_equal(mha.head_mask_grad_, 0.0)


def test_key_bias_gradient_is_zero(rng):
    """Adding b_k shifts each row of scores by q_i . b_k, which softmax ignores."""
    mha = _randomize(nn.MultiHeadSelfAttention(4, 2, seed=0), rng)
    x, r = rng.normal(size=(2, 4, 4)), rng.normal(size=(2, 4, 4))
    bias = mha.k_proj.bias.data
    numeric = numerical_gradient(lambda: float((mha(x, key_padding_mask=PAD) * r).sum()), bias)
    assert np.abs(numeric).max() < 1e-8
    grad_q = numerical_gradient(lambda: float((mha(x) * r).sum()), mha.q_proj.bias.data)
    assert np.abs(grad_q).max() > 1e-3  # the same probe does see the query bias


def test_attention_init_like_pytorch_and_state():
    mha = nn.MultiHeadSelfAttention(16, 4, seed=0)
    bound = math.sqrt(6 / (4 * 16))
    for proj in (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj):
        assert proj.weight.prunable
        np.testing.assert_array_equal(proj.bias.data, 0.0)
    assert max(np.abs(p.weight.data).max() for p in (mha.q_proj, mha.k_proj)) <= bound
    assert "head_mask" in mha.state_dict()
    np.testing.assert_array_equal(mha.head_mask, np.ones(4))
    assert nn.MultiHeadSelfAttention(8, 2, bias=False, seed=0).num_parameters() == 4 * 64


# ---------------------------------------------------- TransformerEncoderLayer
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_gradcheck(norm_first, activation, rng):
    layer = nn.TransformerEncoderLayer(
        4, 2, dim_feedforward=6, dropout=0.0, activation=activation, norm_first=norm_first, seed=0
    )
    _randomize(layer, rng)
    layer.self_attn.q_proj.weight.mask = rng.random((4, 4)) > 0.5
    x = rng.normal(size=(2, 4, 4))
    report = _gradcheck_attention(layer, x, forward_kwargs={"src_key_padding_mask": PAD})
    assert len(report.errors) == 1 + 15  # input, 4 projections x 2 (less k_proj.bias), 4 x 2


def test_encoder_layer_keeps_float32(rng):
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation="gelu", seed=0)
    y = layer(rng.normal(size=(2, 4, 8)).astype(np.float32), src_key_padding_mask=PAD)
    assert y.dtype == np.float32
    assert layer.backward(np.ones_like(y)).dtype == np.float32


# ---------------------------------------------------------- SequenceMeanPool
def test_sequence_mean_pool(rng):
    pool = nn.SequenceMeanPool()
    x = rng.normal(size=(3, 4, 2))
    padding = np.vstack([PAD, np.ones((1, 4), bool)])
    y = pool(x, key_padding_mask=padding)
    np.testing.assert_allclose(y[0], x[0, :3].mean(axis=0))
    np.testing.assert_allclose(y[1], x[1, 0])
    np.testing.assert_array_equal(y[2], 0.0)
    np.testing.assert_allclose(pool(x), x.mean(axis=1))
    gradcheck(pool, x, forward_kwargs={"key_padding_mask": padding})


# ------------------------------------------------------------ PyTorch parity
def _torch_mha_from(mha, torch):
    ref = torch.nn.MultiheadAttention(
        mha.embed_dim, mha.num_heads, batch_first=True, dtype=torch.float64
    )
    with torch.no_grad():
        ref.in_proj_weight.copy_(
            torch.from_numpy(
                np.concatenate([p.weight.data for p in (mha.q_proj, mha.k_proj, mha.v_proj)])
            )
        )
        ref.in_proj_bias.copy_(
            torch.from_numpy(
                np.concatenate([p.bias.data for p in (mha.q_proj, mha.k_proj, mha.v_proj)])
            )
        )
        ref.out_proj.weight.copy_(torch.from_numpy(mha.out_proj.weight.data))
        ref.out_proj.bias.copy_(torch.from_numpy(mha.out_proj.bias.data))
    return ref


@pytest.mark.torch
def test_attention_matches_torch(rng):
    torch = pytest.importorskip("torch")
    mha = _randomize(nn.MultiHeadSelfAttention(6, 2, seed=0), rng)
    ref = _torch_mha_from(mha, torch)
    x, r = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 4, 6))
    xt = torch.tensor(x, requires_grad=True)
    out, _ = ref(xt, xt, xt, key_padding_mask=torch.from_numpy(PAD), need_weights=False)
    (out * torch.from_numpy(r)).sum().backward()
    y = mha(x, key_padding_mask=PAD)
    dx = mha.backward(r)
    np.testing.assert_allclose(y, out.detach().numpy(), atol=1e-12, err_msg="ours vs torch")
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    ours = np.concatenate([p.weight.grad for p in (mha.q_proj, mha.k_proj, mha.v_proj)])
    np.testing.assert_allclose(ours, ref.in_proj_weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(mha.out_proj.weight.grad, ref.out_proj.weight.grad.numpy())


@pytest.mark.torch
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(norm_first, activation, rng):
    torch = pytest.importorskip("torch")
    kwargs = dict(dim_feedforward=10, dropout=0.0, activation=activation, norm_first=norm_first)
    layer = _randomize(nn.TransformerEncoderLayer(6, 3, seed=0, **kwargs), rng)
    ref = torch.nn.TransformerEncoderLayer(6, 3, batch_first=True, dtype=torch.float64, **kwargs)
    ref.self_attn = _torch_mha_from(layer.self_attn, torch)
    with torch.no_grad():
        for name in ("linear1", "linear2", "norm1", "norm2"):
            for pname in ("weight", "bias"):
                src = getattr(getattr(layer, name), pname).data
                getattr(getattr(ref, name), pname).copy_(torch.from_numpy(src))
    ref.train()  # keeps PyTorch off its inference fast path
    x, r = rng.normal(size=(2, 4, 6)), rng.normal(size=(2, 4, 6))
    xt = torch.tensor(x, requires_grad=True)
    out = ref(xt, src_key_padding_mask=torch.from_numpy(PAD))
    (out * torch.from_numpy(r)).sum().backward()
    y = layer(x, src_key_padding_mask=PAD)
    dx = layer.backward(r)
    np.testing.assert_allclose(y, out.detach().numpy(), atol=1e-11, err_msg="ours vs torch")
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-11)
    for name in ("linear1", "linear2", "norm1", "norm2"):
        ours = getattr(layer, name).weight.grad
        np.testing.assert_allclose(ours, getattr(ref, name).weight.grad.numpy(), atol=1e-11)


@pytest.mark.torch
def test_layernorm_gelu_embedding_match_torch(rng):
    torch = pytest.importorskip("torch")
    x, r = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    ln = nn.LayerNorm((3, 4)).double()
    ln.weight.data, ln.bias.data = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    ref = torch.nn.LayerNorm((3, 4), dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.from_numpy(ln.weight.data))
        ref.bias.copy_(torch.from_numpy(ln.bias.data))
    modules = [(ln, ref)] + [(nn.GELU(a), torch.nn.GELU(approximate=a)) for a in ("none", "tanh")]
    for ours, theirs in modules:
        xt = torch.tensor(x, requires_grad=True)
        out = theirs(xt)
        (out * torch.from_numpy(r)).sum().backward()
        np.testing.assert_allclose(ours(x), out.detach().numpy(), atol=1e-12)
        np.testing.assert_allclose(ours.backward(r), xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ln.weight.grad, ref.weight.grad.numpy(), atol=1e-12)

    emb = nn.Embedding(6, 3, padding_idx=2, seed=0).double()
    temb = torch.nn.Embedding(6, 3, padding_idx=2, dtype=torch.float64)
    with torch.no_grad():
        temb.weight.copy_(torch.from_numpy(emb.weight.data))
    ids, dout = np.array([[2, 1, 1], [5, 2, 0]]), rng.normal(size=(2, 3, 3))
    out = temb(torch.from_numpy(ids))
    (out * torch.from_numpy(dout)).sum().backward()
    np.testing.assert_array_equal(emb(ids), out.detach().numpy())
    emb.backward(dout)
    np.testing.assert_allclose(emb.weight.grad, temb.weight.grad.numpy(), atol=1e-14)


# -------------------------------------------------------------------- errors
def test_embedding_errors():
    emb = nn.Embedding(50, 4, seed=0)
    with pytest.raises(ValueError, match="unknown token id 57 >= num_embeddings 50"):
        emb(np.array([[1, 57, 3]]))
    with pytest.raises(ValueError, match="token ids must be >= 0, got -2"):
        emb(np.array([[1, -2]]))
    with pytest.raises(TypeError, match="integer token ids, got float64"):
        emb(np.array([[1.0, 2.0]]))
    with pytest.raises(ValueError, match=r"different lengths \[3, 2\]; pad them"):
        emb([[1, 2, 3], [4, 5]])
    with pytest.raises(ValueError, match=r"padding_idx must be an int in \[-50, 50\), got 50"):
        nn.Embedding(50, 4, padding_idx=50)
    with pytest.raises(RuntimeError, match="before forward"):
        nn.Embedding(3, 2).backward(np.zeros((1, 1, 2)))
    np.testing.assert_array_equal(emb([[1, 2], [3, 4]]), emb.weight.data[[[1, 2], [3, 4]]])


def test_sequence_and_layer_errors(rng):
    with pytest.raises(ValueError, match="length 600 > max_len 512"):
        nn.PositionalEncoding(8)(np.zeros((1, 600, 8)))
    with pytest.raises(ValueError, match="num_heads 3 must divide embed_dim 8"):
        nn.MultiHeadSelfAttention(8, 3)
    with pytest.raises(ValueError, match="num_heads 4 must divide embed_dim 6"):
        nn.TransformerEncoderLayer(6, 4)
    with pytest.raises(ValueError, match="activation must be 'relu' or 'gelu', got 'tanh'"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'erf'"):
        nn.GELU("erf")
    with pytest.raises(ValueError, match="normalized_shape must be a positive int"):
        nn.LayerNorm(0)
    with pytest.raises(ValueError, match=r"last 1 dimension\(s\) are \(4,\), got shape"):
        nn.LayerNorm(4)(np.zeros((2, 3)))

    mha = nn.MultiHeadSelfAttention(4, 2, seed=0)
    x = rng.normal(size=(2, 4, 4)).astype(np.float32)
    with pytest.raises(ValueError, match=r"key_padding_mask must be a bool array .* got dtype int"):
        mha(x, key_padding_mask=PAD.astype(int))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(N, T\) = \(2, 4\)"):
        mha(x, key_padding_mask=PAD[:, :3])
    with pytest.raises(ValueError, match=r"head_mask must be .* \(2,\), got float64 of shape"):
        mha(x, head_mask=np.ones(3))
    with pytest.raises(ValueError, match="expects 4 input features"):
        mha(np.zeros((2, 4, 5)))
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, seed=0)
    with pytest.raises(ValueError, match=r"src_key_padding_mask must have shape \(N, T\)"):
        layer(x, src_key_padding_mask=PAD.T)
    ragged = [np.zeros((5, 4)), np.zeros((3, 4))]
    for module in (mha, layer, nn.PositionalEncoding(4), nn.SequenceMeanPool()):
        with pytest.raises(ValueError, match=r"different lengths \[5, 3\]; pad them.*key_padding"):
            module(ragged)


# ---------------------------------------------------------------------- CuPy
@pytest.mark.cupy
@pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a GPU")
def test_cupy_matches_numpy(rng):
    def run(backend):
        emb = nn.Embedding(9, 4, seed=0).double().to(backend)
        layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu", seed=0)
        layer.double().to(backend)
        ids = to_backend(np.array([[1, 2, 3, 0], [4, 8, 0, 0]]), backend)
        y = layer(emb(ids), src_key_padding_mask=PAD)
        emb.backward(layer.backward(to_backend(np.ones((2, 4, 4)), backend)))
        return to_numpy(y), to_numpy(emb.weight.grad), to_numpy(layer.self_attn.head_mask_grad_)

    for ours, ref in zip(run("cupy"), run("numpy"), strict=True):
        np.testing.assert_allclose(ours, ref, atol=1e-10)
