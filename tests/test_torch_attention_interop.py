"""Attention state dicts move to and from PyTorch under PyTorch's names (in_proj_weight ...)."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn, prune
from nnprune.export import from_torch_state_dict, to_torch_state_dict

torch = pytest.importorskip("torch")

D, H, FF = 8, 2, 16


def _x(n=3, t=5, seed=0):
    return np.random.default_rng(seed).standard_normal((n, t, D))


def _ours_layer(seed=0):
    return nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, seed=seed).double().eval()


def _torch_layer():
    return torch.nn.TransformerEncoderLayer(D, H, FF, dropout=0.0, batch_first=True).double()


def _run_torch(module, x, padding=None):
    module.eval()
    with torch.no_grad():
        xt = torch.from_numpy(x)
        pad = None if padding is None else torch.from_numpy(padding)
        if isinstance(module, torch.nn.MultiheadAttention):
            return module(xt, xt, xt, key_padding_mask=pad, need_weights=False)[0].numpy()
        return module(xt, src_key_padding_mask=pad).numpy()


def test_encoder_layer_loads_into_torch_and_agrees():
    ours = _ours_layer()
    state = to_torch_state_dict(ours)
    assert "self_attn.in_proj_weight" in state and "self_attn.q_proj.weight" not in state
    theirs = _torch_layer()
    theirs.load_state_dict(state, strict=True)
    x = _x()
    padding = np.zeros((3, 5), bool)
    padding[1, 3:] = True
    np.testing.assert_allclose(_run_torch(theirs, x), ours(x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        _run_torch(theirs, x, padding), ours(x, src_key_padding_mask=padding), rtol=0, atol=1e-12
    )


def test_multihead_attention_both_ways():
    ours = nn.MultiHeadSelfAttention(D, H, seed=1).double()
    theirs = torch.nn.MultiheadAttention(D, H, batch_first=True).double()
    theirs.load_state_dict(to_torch_state_dict(ours), strict=True)
    x = _x(seed=1)
    np.testing.assert_allclose(_run_torch(theirs, x), ours(x), rtol=0, atol=1e-12)
    # the other way: PyTorch's random weights into a fresh nnprune layer
    theirs = torch.nn.MultiheadAttention(D, H, batch_first=True).double()
    with torch.no_grad():
        theirs.in_proj_bias.normal_()
    fresh = from_torch_state_dict(nn.MultiHeadSelfAttention(D, H, seed=2).double(),
                                  theirs.state_dict())  # fmt: skip
    np.testing.assert_allclose(fresh(x), _run_torch(theirs, x), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(
        fresh.k_proj.weight.data, theirs.in_proj_weight[D : 2 * D].detach().numpy()
    )


def test_round_trip_is_exact_with_masks_and_head_mask_is_not_a_pruning_mask():
    ours = _ours_layer(seed=3)
    prune.l1_unstructured(ours.self_attn.k_proj, "weight", amount=0.5)
    prune.l1_unstructured(ours.linear1, "weight", amount=0.3)
    state = to_torch_state_dict(ours, masks=True)
    assert "self_attn.head_mask" not in state and "self_attn.head_mask_mask" not in state
    mask = state["self_attn.in_proj_weight_mask"].numpy()
    assert mask.dtype == np.float32 and mask[:D].all() and mask[2 * D :].all()
    assert mask[D : 2 * D].mean() == 0.5
    back = from_torch_state_dict(_ours_layer(seed=9), state)
    before, after = ours.state_dict(), back.state_dict()
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)
    assert back.self_attn.k_proj.weight.mask is not None
    assert back.self_attn.q_proj.weight.mask is None or back.self_attn.q_proj.weight.mask.all()


def test_a_gated_head_is_folded_into_out_proj():
    ours = _ours_layer(seed=4)
    ours.self_attn.head_mask[...] = [1.0, 0.0]
    theirs = _torch_layer()
    theirs.load_state_dict(to_torch_state_dict(ours), strict=True)
    x = _x(seed=4)
    np.testing.assert_allclose(_run_torch(theirs, x), ours(x), rtol=0, atol=1e-12)


def test_removed_heads_are_refused_by_name():
    ours = nn.MultiHeadSelfAttention(D, H, seed=0)
    from nnprune.prune.heads import remove_heads

    remove_heads(ours, [1])
    with pytest.raises(ValueError, match=r"heads removed.*MultiheadAttention cannot hold it"):
        to_torch_state_dict(ours)


def test_own_transformer_classifier_round_trips():
    from nnprune.casestudies.text_model import TransformerClassifier

    model = TransformerClassifier(30, 3, d_model=D, nhead=H, num_layers=2, dim_feedforward=FF,
                                  max_len=16, seed=np.random.default_rng(0))  # fmt: skip
    for _, m in model.named_modules():
        if isinstance(m, nn.MultiHeadSelfAttention):
            prune.l1_unstructured(m.v_proj, "weight", amount=0.25)
    again = TransformerClassifier(30, 3, d_model=D, nhead=H, num_layers=2, dim_feedforward=FF,
                                  max_len=16, seed=np.random.default_rng(1))  # fmt: skip
    from_torch_state_dict(again, to_torch_state_dict(model, masks=True))
    ids = np.random.default_rng(0).integers(1, 30, (4, 7))
    np.testing.assert_array_equal(again.eval()(ids), model.eval()(ids))
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key], value, err_msg=key)
