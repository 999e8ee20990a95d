"""FLOPs, connection sparsity and the layer table for sequence layers, against formulas."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn
from nnprune.metrics import (
    connection_sparsity,
    flops,
    format_table,
    layer_flops,
    layer_table,
)
from nnprune.prune import l1_unstructured, ln_structured, mask_hidden_units, remove_heads


def test_conv1d_flops():
    conv = nn.Conv1d(3, 5, kernel_size=4, stride=2, padding=1, seed=0)
    l_out = (20 + 2 * 1 - 4) // 2 + 1
    assert flops(nn.Sequential(conv, nn.ReLU()), (3, 20)) == (5 * 3 * 4 * l_out,) * 2
    l1_unstructured(conv, "weight", 25)
    assert flops(nn.Sequential(conv), (3, 20)) == (60 * l_out, 35 * l_out)


@pytest.mark.parametrize(("cls", "gates"), [(nn.RNN, 1), (nn.LSTM, 4), (nn.GRU, 3)])
def test_recurrent_flops(cls, gates):
    d, h, t = 3, 5, 7
    rnn = cls(d, h, num_layers=2, seed=0)
    model = nn.Sequential(rnn, nn.Linear(h, 2, seed=1))
    dense = t * gates * ((d + h) * h + (h + h) * h)  # per step: G (D_k + H) H MACs per layer
    got = layer_flops(model, (t, d))
    assert got["0"] == (dense, dense)
    assert got["1"] == (t * h * 2, t * h * 2)  # the Linear reads all T positions
    l1_unstructured(rnn, "weight_hh_l1", 0.5)
    pruned = round(0.5 * gates * h * h)
    assert layer_flops(model, (t, d))["0"] == (dense, dense - t * pruned)


def test_recurrent_flops_need_batch_first():
    with pytest.raises(ValueError, match="batch_first=False"):
        flops(nn.Sequential(nn.GRU(3, 4, batch_first=False)), (5, 3))


def test_attention_flops_and_head_removal():
    d, heads, t = 8, 4, 6
    attn = nn.MultiHeadSelfAttention(d, heads, seed=0)
    model = nn.Sequential(attn)
    got = layer_flops(model, (t, d))
    for key in ("q_proj", "k_proj", "v_proj", "out_proj"):
        assert got[f"0.{key}"] == (t * d * d, t * d * d)
    assert got["0"] == (2 * t * t * d, 2 * t * t * d)  # QK^T and PV
    assert flops(model, (t, d)) == (4 * t * d * d + 2 * t * t * d,) * 2
    l1_unstructured(attn.q_proj, "weight", 16)
    total, nonzero = flops(model, (t, d))
    assert total - nonzero == 16 * t  # the attention products stay dense
    remove_heads(attn, [0, 3])
    inner = 2 * d // heads
    want = 3 * t * inner * d + t * d * inner + 2 * t * t * inner
    assert flops(model, (t, d))[0] == want


def test_encoder_layer_and_embedding_flops():
    d, heads, ff, t, vocab = 8, 2, 12, 5, 30
    model = nn.Sequential(
        nn.Embedding(vocab, d, seed=0),
        nn.PositionalEncoding(d),
        nn.TransformerEncoderLayer(d, heads, ff, dropout=0.0, activation="gelu", seed=1),
        nn.SequenceMeanPool(),
        nn.Linear(d, 3, seed=2),
    )
    got = layer_flops(model, (t,))  # a sample is T token ids
    assert "0" not in got and "1" not in got  # lookups and additions: 0 MACs
    assert got["2.linear1"] == (t * d * ff,) * 2 and got["2.linear2"] == (t * ff * d,) * 2
    want = 4 * t * d * d + 2 * t * t * d + 2 * t * d * ff + d * 3
    assert flops(model, (t,)) == (want, want)
    rows = layer_table(model, (t,))
    assert sum(r["flops"] for r in rows) == want
    attn_row = next(r for r in rows if r["name"] == "2.self_attn")
    assert attn_row["flops"] == 2 * t * t * d and attn_row["params"] == 0
    assert "2.self_attn" in format_table(rows)


def test_connection_sparsity_conv1d_and_embedding():
    conv = nn.Conv1d(4, 6, 3, seed=0)
    ln_structured(conv, "weight", 2, n=1, dim=0)
    emb = nn.Embedding(10, 5, seed=0)
    ln_structured(emb, "weight", 3, n=2, dim=0)
    ln_structured(emb, "weight", 1, n=2, dim=1)
    conn = connection_sparsity(nn.Sequential(emb, nn.Linear(5, 4), conv))
    assert conn["2"]["units"] == "filters" and conn["2"]["zero_outputs"] == 2
    assert conn["0"]["units"] == "tokens" and conn["0"]["zero_outputs"] == 3
    assert conn["0"]["inputs_unit"] == "dimensions" and conn["0"]["zero_inputs"] == 1


def test_connection_sparsity_recurrent_and_table():
    lstm = nn.LSTM(3, 6, num_layers=2, seed=0)
    model = nn.Sequential(lstm, nn.Linear(6, 2, seed=1))
    mask_hidden_units(lstm, [1, 4], model[1])
    w = lstm.weight_ih_l0
    keep = w.mask.copy()
    keep[:, 0] = False  # input 0 feeds nothing
    w.mask = keep
    row = connection_sparsity(model)["0"]
    assert row["units"] == "hidden units" and row["outputs"] == 12
    assert row["zero_outputs"] == 4  # 2 units in each of the 2 layers
    assert row["inputs"] == 3 and row["zero_inputs"] == 1
    table = {r["name"]: r for r in layer_table(model)}
    assert table["0"]["zero_rows"] == 4 and table["0"]["shape"] == (24, 3)
    assert table["0"]["params"] == sum(p.size for p in lstm.parameters())


def test_flops_of_small_resnet_counts_every_convolution():
    from nnprune.metrics import flops
    from nnprune.models_resnet import small_resnet

    model = small_resnet(1, 10, widths=(4, 8), blocks_per_stage=1, seed=0)
    # stem 3x3 1->4 on 8x8 (pad 1): 64 positions; stage 1 block: two 3x3 4->4 at 8x8;
    # stage 2 block (stride 2): 3x3 4->8 and 3x3 8->8 at 4x4, 1x1 4->8 shortcut at 4x4;
    # classifier 8->10.
    expected = (
        64 * 4 * 1 * 9 + 2 * 64 * 4 * 4 * 9 + 16 * 8 * 4 * 9 + 16 * 8 * 8 * 9 + 16 * 8 * 4 + 8 * 10
    )
    dense, nonzero = flops(model, (1, 8, 8))
    assert dense == nonzero == expected
    block = next(m for m in model.modules() if type(m).__name__ == "BasicBlock")
    block.conv1.weight.mask = np.zeros(block.conv1.weight.shape, dtype=bool)
    assert flops(model, (1, 8, 8))[1] == expected - 64 * 4 * 4 * 9
