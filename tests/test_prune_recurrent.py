"""Recurrent pruning: hidden-unit removal equals masking, gate scores, embeddings."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from nnprune import nn
from nnprune.gradcheck import gradcheck
from nnprune.optim import SGD
from nnprune.prune import (
    gate_unit_scores,
    l1_unstructured,
    ln_structured,
    mask_hidden_units,
    prune_hidden_units,
    remove_embedding_dims,
    remove_hidden_units,
)

D_IN, HID, T = 3, 6, 5
CELLS = [(nn.RNN, 1), (nn.LSTM, 4), (nn.GRU, 3)]


def _randomize(module: nn.Module, rng: np.random.Generator) -> nn.Module:
    module.double()
    for p in module.parameters():
        p.data = rng.normal(scale=0.6, size=p.shape)
    return module


def _kept(units, size=HID):
    return [j for j in range(size) if j not in units]


@pytest.mark.parametrize(("cls", "gates"), CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
def test_remove_equals_mask_sequence_consumer(rng, cls, gates, num_layers):
    rnn = _randomize(cls(D_IN, HID, num_layers=num_layers, seed=0), rng)
    head = _randomize(nn.Linear(HID, 2, seed=1), rng)
    l1_unstructured(rnn, "weight_hh_l0", 0.3)  # an existing mask must shrink too
    rnn2, head2 = copy.deepcopy(rnn), copy.deepcopy(head)
    units = [1, 4]
    assert mask_hidden_units(rnn, units, head) == ((1, 4),) * num_layers
    assert remove_hidden_units(rnn2, units, head2) == ((1, 4),) * num_layers
    x = rng.normal(size=(2, T, D_IN))
    out_masked, out_removed = rnn.forward(x), rnn2.forward(x)
    keep = _kept(units)
    np.testing.assert_allclose(out_removed, out_masked[..., keep], rtol=0, atol=1e-10)
    np.testing.assert_allclose(rnn2.h_n_, rnn.h_n_[..., keep], rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        head2.forward(out_removed), head.forward(out_masked), rtol=0, atol=1e-10
    )
    assert rnn2.hidden_size == HID - 2 and head2.in_features == HID - 2
    assert rnn2.weight_hh_l0.shape == (gates * (HID - 2), HID - 2)
    assert rnn2.weight_hh_l0.mask.shape == (gates * (HID - 2), HID - 2)
    assert rnn2.bias_ih_l0.shape == (gates * (HID - 2),)


@pytest.mark.parametrize(("cls", "gates"), CELLS)
def test_remove_equals_mask_last_state_and_rnn_consumer(rng, cls, gates):
    rnn = _randomize(cls(D_IN, HID, seed=0), rng)
    nxt = _randomize(nn.GRU(HID, 4, seed=2), rng)
    rnn2, nxt2 = copy.deepcopy(rnn), copy.deepcopy(nxt)
    mask_hidden_units(rnn, [0, 5], nxt)
    remove_hidden_units(rnn2, [0, 5], nxt2)
    x = rng.normal(size=(3, T, D_IN))
    np.testing.assert_allclose(
        nxt2.forward(rnn2.forward(x)), nxt.forward(rnn.forward(x)), rtol=0, atol=1e-10
    )
    assert nxt2.input_size == HID - 2 and nxt2.weight_ih_l0.shape == (3 * 4, HID - 2)
    # a Linear reading the last hidden state (N, H)
    head = _randomize(nn.Linear(HID, 2, seed=3), rng)
    rnn3 = _randomize(cls(D_IN, HID, seed=0), rng)
    rnn4, head3 = copy.deepcopy(rnn3), copy.deepcopy(head)
    mask_hidden_units(rnn3, [2], head)
    remove_hidden_units(rnn4, [2], head3)
    rnn3.forward(x)
    rnn4.forward(x)
    np.testing.assert_allclose(
        head3.forward(rnn4.h_n_[-1]), head.forward(rnn3.h_n_[-1]), rtol=0, atol=1e-10
    )


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU])
def test_incoming_rows_alone_do_not_silence_a_gated_unit(rng, cls):
    """Zero rows leave h_j != 0 (sigmoid(b) tanh(b) terms): outgoing columns must go too."""
    rnn = _randomize(cls(D_IN, HID, seed=0), rng)
    head = _randomize(nn.Linear(HID, 2, seed=1), rng)
    rnn2, head2 = copy.deepcopy(rnn), copy.deepcopy(head)
    gates = rnn._step.num_gates
    rows = [g * HID + 3 for g in range(gates)]
    for w in (rnn.weight_ih_l0, rnn.weight_hh_l0):
        keep = np.ones(w.shape, bool)
        keep[rows] = False
        w.mask = keep
    remove_hidden_units(rnn2, [3], head2)
    x = rng.normal(size=(2, T, D_IN))
    out = rnn.forward(x)
    assert np.abs(out[..., 3]).min() > 1e-3
    diff = np.abs(head.forward(out) - head2.forward(rnn2.forward(x))).max()
    assert diff > 1e-3


def test_removed_rows_are_every_gate(rng):
    lstm = _randomize(nn.LSTM(D_IN, HID, seed=0), rng)
    w_ih, w_hh = lstm.weight_ih_l0.data.copy(), lstm.weight_hh_l0.data.copy()
    remove_hidden_units(lstm, [2])
    rows = [r for r in range(4 * HID) if r % HID != 2]
    np.testing.assert_array_equal(lstm.weight_ih_l0.data, w_ih[rows])
    np.testing.assert_array_equal(lstm.weight_hh_l0.data, w_hh[rows][:, _kept([2])])


def test_per_layer_units_in_a_stack(rng):
    gru = _randomize(nn.GRU(D_IN, HID, num_layers=2, seed=0), rng)
    w1 = gru.weight_ih_l1.data.copy()
    gru2 = copy.deepcopy(gru)
    mask_hidden_units(gru, [[0], [5]])
    assert remove_hidden_units(gru2, [[0], [5]]) == ((0,), (5,))
    rows = [r for r in range(3 * HID) if r % HID != 5]
    np.testing.assert_array_equal(gru2.weight_ih_l1.data, w1[rows][:, 1:])
    x = rng.normal(size=(2, T, D_IN))
    np.testing.assert_allclose(gru2.forward(x), gru.forward(x)[..., :5], rtol=0, atol=1e-10)


@pytest.mark.parametrize(("cls", "gates"), CELLS)
def test_shrunk_layer_gradchecks(rng, cls, gates):
    rnn = _randomize(cls(D_IN, HID, num_layers=2, seed=0), rng)
    l1_unstructured(rnn, "weight_ih_l0", 0.3)
    remove_hidden_units(rnn, [1, 3])
    report = gradcheck(rnn, rng.normal(size=(2, 4, D_IN)))
    assert "weight_hh_l1" in report.errors


@pytest.mark.parametrize("criterion", ["l1", "l2"])
def test_gate_unit_scores_formula(rng, criterion):
    lstm = _randomize(nn.LSTM(D_IN, HID, num_layers=2, seed=0), rng)
    for layer in (0, 1):
        w_ih = getattr(lstm, f"weight_ih_l{layer}").data
        w_hh = getattr(lstm, f"weight_hh_l{layer}").data
        want = []
        for j in range(HID):
            rows = [np.concatenate([w_ih[g * HID + j], w_hh[g * HID + j]]) for g in range(4)]
            flat = np.concatenate(rows)
            want.append(np.abs(flat).sum() if criterion == "l1" else np.sqrt((flat**2).sum()))
        np.testing.assert_allclose(gate_unit_scores(lstm, criterion, layer), want, rtol=1e-12)


def test_prune_hidden_units_removes_lowest(rng):
    gru = _randomize(nn.GRU(D_IN, HID, seed=0), rng)
    head = _randomize(nn.Linear(HID, 2, seed=1), rng)
    scores = gate_unit_scores(gru)
    want = tuple(sorted(np.argsort(scores)[:2].tolist()))
    assert prune_hidden_units(gru, 2, head) == (want,)
    assert gru.hidden_size == HID - 2 and head.weight.shape == (2, HID - 2)


def test_unstructured_recurrent_masks_survive_training(rng):
    lstm = _randomize(nn.LSTM(D_IN, HID, seed=0), rng)
    model = nn.Sequential(lstm, nn.Linear(HID, 2, seed=1)).double()
    l1_unstructured(lstm, "weight_hh_l0", 0.75)
    w = lstm.weight_hh_l0
    assert int((~w.mask).sum()) == round(0.75 * w.size)
    before = w.data.copy()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    x, y = rng.normal(size=(4, T, D_IN)), rng.integers(0, 2, size=(4, T))
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(5):
        opt.zero_grad()
        loss_fn.forward(model.forward(x), y)
        model.backward(loss_fn.backward())
        opt.step()
    assert np.all(w.data[~w.mask] == 0.0)
    assert np.abs(w.data[w.mask] - before[w.mask]).max() > 1e-4


def test_recurrent_errors(rng):
    gru = nn.GRU(D_IN, HID, num_layers=2, seed=0)
    before = gru.weight_hh_l0.data.copy()
    with pytest.raises(TypeError, match="must be an RNN, LSTM or GRU"):
        remove_hidden_units(nn.Linear(3, 3), [0])
    with pytest.raises(ValueError, match=r"hidden units must be in \[0, 6\)"):
        remove_hidden_units(gru, [6])
    with pytest.raises(ValueError, match="cannot remove all 6 hidden units"):
        remove_hidden_units(gru, list(range(HID)))
    with pytest.raises(ValueError, match="same number of units"):
        mask_hidden_units(gru, [[0], [1, 2]])
    with pytest.raises(ValueError, match="2 sequences \\(one per layer\\), got 3 entries"):
        remove_hidden_units(gru, [[0], [1], [2]])
    with pytest.raises(ValueError, match="in_features=5"):
        remove_hidden_units(gru, [0], nn.Linear(5, 2))
    with pytest.raises(ValueError, match="next_layer must be a Linear"):
        remove_hidden_units(gru, [0], nn.Conv1d(HID, 2, 1))
    with pytest.raises(ValueError, match="criterion must be one of"):
        gate_unit_scores(gru, "l0")
    with pytest.raises(ValueError, match=r"layer must be in \[0, 2\)"):
        gate_unit_scores(gru, "l1", 2)
    assert gru.hidden_size == HID
    np.testing.assert_array_equal(gru.weight_hh_l0.data, before)
    assert gru.weight_hh_l0.mask is None


# ------------------------------------------------------------------ embeddings
def test_embedding_unstructured_and_structured(rng):
    emb = nn.Embedding(10, 6, seed=0)
    l1_unstructured(emb, "weight", 0.5)
    assert int((emb.weight.data == 0).sum()) == 30
    emb = nn.Embedding(10, 6, seed=0)
    norms = np.linalg.norm(emb.weight.data, axis=1)
    ln_structured(emb, "weight", 0.3, n=2, dim=0)  # whole token vectors
    dead = np.flatnonzero(~emb.weight.data.any(axis=1))
    np.testing.assert_array_equal(dead, np.sort(np.argsort(norms)[:3]))
    np.testing.assert_array_equal(emb.forward(np.array([[dead[0]]])), 0.0)
    emb = nn.Embedding(10, 6, seed=0)
    ln_structured(emb, "weight", 2, n=1, dim=1)  # whole embedding dimensions
    assert int((~emb.weight.data.any(axis=0)).sum()) == 2


@pytest.mark.parametrize("consumer", ["linear", "lstm"])
def test_remove_embedding_dims_equals_masking(rng, consumer):
    emb = _randomize(nn.Embedding(12, 6, padding_idx=0, seed=0), rng)
    nxt = nn.Linear(6, 3, seed=1) if consumer == "linear" else nn.LSTM(6, 4, seed=1)
    model = nn.Sequential(emb, nn.Dropout(0.5), _randomize(nxt, rng)).eval()
    masked = copy.deepcopy(model)
    record = remove_embedding_dims(model, "0", [4, 1])
    assert record.removed == (1, 4) and record.affected == ("0", "2")
    keep = np.ones(6, bool)
    keep[[1, 4]] = False
    masked[0].weight.data = masked[0].weight.data * keep
    w = masked[2].weight if consumer == "linear" else masked[2].weight_ih_l0
    w.data = w.data * keep
    ids = rng.integers(0, 12, size=(3, T))
    np.testing.assert_allclose(model.forward(ids), masked.forward(ids), rtol=0, atol=1e-10)
    assert model[0].embedding_dim == 4 and model[0].weight.shape == (12, 4)
    assert (
        record.params_before - record.params_after
        == 12 * 2 + (3 if consumer == "linear" else 16) * 2
    )


def test_remove_embedding_dims_refusals():
    model = nn.Sequential(nn.Embedding(10, 8, seed=0), nn.PositionalEncoding(8), nn.Linear(8, 2))
    with pytest.raises(ValueError, match="is read by '1' \\(PositionalEncoding\\)"):
        remove_embedding_dims(model, "0", [0])
    with pytest.raises(ValueError, match="not an Embedding"):
        remove_embedding_dims(model, "2", [0])
    with pytest.raises(ValueError, match=r"embedding dimensions must be in \[0, 8\)"):
        remove_embedding_dims(nn.Sequential(nn.Embedding(10, 8), nn.Linear(8, 2)), "0", [8])
    assert model[0].weight.shape == (10, 8)
