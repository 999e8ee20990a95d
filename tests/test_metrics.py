"""Tests for nnprune.metrics: sparsity measures, size, FLOPs, bytes and the layer table.

Expected values come from hand-made weights with known zero counts and from
the formulas written out in the tests, never from the code under test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnprune import metrics, nn
from nnprune.sparse import SparseLinear


def _set_weight(layer: nn.Module, w: np.ndarray) -> None:
    layer.weight.data = w.astype(np.float32)


def _zero_entries(shape: tuple[int, ...], count: int, rng: np.random.Generator) -> np.ndarray:
    """A random non-zero array with exactly ``count`` zeros at random places."""
    w = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    flat = w.reshape(-1)
    flat[rng.choice(flat.size, size=count, replace=False)] = 0.0
    return w.astype(np.float32)


# ----------------------------------------------------------------- weight sparsity
def test_sparsity_of_known_arrays(rng):
    w = _zero_entries((10, 20), 37, rng)
    assert metrics.sparsity(w) == pytest.approx(37 / 200)
    assert metrics.density(w) == pytest.approx(163 / 200)
    assert metrics.count_zeros(w) == 37
    assert metrics.sparsity(nn.Parameter(w)) == pytest.approx(37 / 200)
    assert metrics.sparsity(np.array([0.0, -0.0, 1e-30])) == pytest.approx(2 / 3)


def test_sparsity_empty_array_raises():
    with pytest.raises(ValueError, match="empty array"):
        metrics.sparsity(np.zeros((0, 3)))


def test_parameter_layer_and_model_sparsity(rng):
    model = nn.Sequential(nn.Linear(20, 10, seed=0), nn.ReLU(), nn.Linear(10, 5, seed=1))
    _set_weight(model[0], _zero_entries((10, 20), 50, rng))
    _set_weight(model[2], _zero_entries((5, 10), 40, rng))
    model[0].bias.data = np.array([0.0] * 4 + [1.0] * 6, np.float32)
    model[2].bias.data = np.ones(5, np.float32)

    assert metrics.parameter_sparsity(model) == pytest.approx({"0.weight": 0.25, "2.weight": 0.8})
    per_param_all = metrics.parameter_sparsity(model, which="all")
    assert per_param_all["0.bias"] == pytest.approx(0.4)
    assert metrics.layer_sparsity(model) == pytest.approx({"0": 0.25, "2": 0.8})
    assert metrics.layer_sparsity(model, which="all") == pytest.approx(
        {"0": (50 + 4) / 210, "2": 40 / 55}
    )
    assert metrics.model_sparsity(model) == pytest.approx(90 / 250)
    assert metrics.model_sparsity(model, which="all") == pytest.approx(94 / 265)


def test_which_errors():
    model = nn.Sequential(nn.Linear(3, 2, seed=0))
    with pytest.raises(ValueError, match="which must be one of"):
        metrics.model_sparsity(model, which="weights")
    with pytest.raises(ValueError, match="no parameters to count"):
        metrics.model_sparsity(nn.Sequential(nn.ReLU()))


# ------------------------------------------------------------ connection sparsity
def test_connection_sparsity_linear_designed_rows_and_cols(rng):
    layer = nn.Linear(8, 6, seed=0)
    w = rng.uniform(0.5, 1.0, size=(6, 8))
    w[[1, 4], :] = 0.0  # neurons 1 and 4 receive nothing
    w[:, [0, 3, 7]] = 0.0  # inputs 0, 3, 7 feed nothing
    w[2, 5] = 0.0  # a lone zero kills neither a row nor a column
    _set_weight(layer, w)
    np.testing.assert_array_equal(
        metrics.zero_outputs(layer.weight), [False, True, False, False, True, False]
    )
    np.testing.assert_array_equal(np.flatnonzero(metrics.zero_inputs(layer.weight.data)), [0, 3, 7])
    row = metrics.connection_sparsity(nn.Sequential(layer, nn.ReLU()))["0"]
    assert (row["outputs"], row["zero_outputs"], row["inputs"], row["zero_inputs"]) == (6, 2, 8, 3)
    assert row["output_sparsity"] == pytest.approx(2 / 6)
    assert row["input_sparsity"] == pytest.approx(3 / 8)
    assert (row["units"], row["inputs_unit"]) == ("neurons", "inputs")


def test_connection_sparsity_conv_filters_and_channels(rng):
    conv = nn.Conv2d(4, 5, 3, seed=0)
    w = rng.uniform(0.5, 1.0, size=(5, 4, 3, 3))
    w[3] = 0.0  # filter 3
    w[:, 1] = 0.0  # input channel 1
    w[0, 2, 1, 1] = 0.0  # not a whole filter or channel
    _set_weight(conv, w)
    row = metrics.connection_sparsity(conv)[""]
    assert (row["zero_outputs"], row["zero_inputs"], row["units"]) == (1, 1, "filters")
    assert row["output_sparsity"] == pytest.approx(1 / 5)
    assert row["input_sparsity"] == pytest.approx(1 / 4)


# ------------------------------------------------------------ activation sparsity
def test_activation_sparsity_relu_on_negative_inputs(rng):
    first = nn.Linear(4, 6, seed=0)
    _set_weight(first, np.ones((6, 4)))
    first.bias.data = np.zeros(6, np.float32)
    inner = nn.Sequential(first, nn.ReLU())
    model = nn.Sequential(inner, nn.Dropout(0.5, seed=0), nn.Linear(6, 3, seed=1))
    x = -rng.uniform(0.1, 1.0, size=(5, 4)).astype(np.float32)  # every pre-activation < 0
    model.train()
    model[1].eval()  # a module in its own mode must get it back
    act = metrics.activation_sparsity(model, x)
    assert list(act) == ["0.0", "0.1", "1", "2"]
    assert act["0.0"] == 0.0
    assert act["0.1"] == 1.0
    assert act["1"] == 1.0  # eval mode: Dropout passes the zeros through unchanged
    assert [m.training for m in model.modules()] == [True, True, True, True, False, True]


def test_activation_sparsity_half_negative(rng):
    model = nn.Sequential(nn.ReLU())
    x = np.abs(rng.standard_normal((6, 10))).astype(np.float32) + 0.1
    x[:, :4] *= -1
    assert metrics.activation_sparsity(model, x) == {"0": pytest.approx(0.4)}


# ------------------------------------------------------------------ size and FLOPs
def test_model_size_and_compression_ratio(rng):
    model = nn.Sequential(nn.Linear(20, 10, seed=0), nn.ReLU(), nn.Linear(10, 5, seed=1))
    assert metrics.model_size(model) == (20 * 10 + 10 + 10 * 5 + 5,) * 2
    _set_weight(model[0], _zero_entries((10, 20), 150, rng))
    size, size_nz = metrics.model_size(model)
    assert (size, size_nz) == (265, 265 - 150)
    assert metrics.compression_ratio(model) == pytest.approx(265 / 115)
    for p in model.parameters():
        p.data = np.zeros(p.shape, np.float32)
    assert metrics.compression_ratio(model) == math.inf
    with pytest.raises(ValueError, match="no parameters"):
        metrics.compression_ratio(nn.Sequential(nn.ReLU()))


def test_flops_linear_formula(rng):
    model = nn.Sequential(nn.Linear(784, 300, seed=0), nn.ReLU(), nn.Linear(300, 10, seed=1))
    dense = 784 * 300 + 300 * 10
    assert metrics.flops(model, (784,)) == (dense, dense)
    _set_weight(model[0], _zero_entries((300, 784), 200_000, rng))
    total, nonzero = metrics.flops(model, (784,))
    assert (total, nonzero) == (dense, dense - 200_000)
    assert metrics.theoretical_speedup(model, (784,)) == pytest.approx(dense / (dense - 200_000))


def test_flops_linear_on_sequences_counts_positions():
    model = nn.Sequential(nn.Linear(8, 4, seed=0))
    assert metrics.flops(model, (7, 8)) == (7 * 8 * 4,) * 2


def test_flops_conv_formula_with_padding_and_stride(rng):
    conv = nn.Conv2d(3, 8, (3, 5), stride=(2, 1), padding=(1, 2), seed=0)
    pool = nn.MaxPool2d(2)
    model = nn.Sequential(conv, nn.BatchNorm2d(8), nn.ReLU(), pool, nn.Flatten())
    h, w = 11, 9
    out_h = (h + 2 * 1 - 3) // 2 + 1
    out_w = (w + 2 * 2 - 5) // 1 + 1
    expected = out_h * out_w * 8 * 3 * 3 * 5
    assert metrics.flops(model, (3, h, w)) == (expected, expected)
    _set_weight(conv, _zero_entries((8, 3, 3, 5), 100, rng))
    assert metrics.flops(model, (3, h, w)) == (expected, out_h * out_w * (360 - 100))
    assert metrics.layer_flops(model, (3, h, w)) == {"0": (expected, out_h * out_w * 260)}


def test_flops_counts_sparse_layers_like_dense_ones(rng):
    linear = nn.Linear(30, 20, seed=0)
    _set_weight(linear, _zero_entries((20, 30), 500, rng))
    sparse = SparseLinear.from_linear(linear, mode="sparse")
    assert metrics.flops(nn.Sequential(sparse), (30,)) == metrics.flops(
        nn.Sequential(linear), (30,)
    )
    assert metrics.flops(nn.Sequential(sparse), (30,)) == (600, 100)


def test_flops_errors():
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="unknown layer type Custom"):
        metrics.flops(nn.Sequential(nn.Linear(3, 3, seed=0), Custom()), (3,))
    with pytest.raises(ValueError, match="input_shape must be the shape of one sample"):
        metrics.flops(nn.Sequential(nn.Linear(3, 3, seed=0)), (0, 3))
    with pytest.raises(ValueError, match="0 FLOPs"):
        metrics.theoretical_speedup(nn.Sequential(nn.ReLU()), (3,))


def test_flops_restores_training_mode():
    model = nn.Sequential(nn.Linear(3, 4, seed=0), nn.BatchNorm1d(4), nn.Linear(4, 2, seed=1))
    model.train()
    metrics.flops(model, (3,))  # BatchNorm on one sample only works in eval mode
    assert all(m.training for m in model.modules())


# ------------------------------------------------------------------------- bytes
def test_model_bytes_against_component_sums(rng):
    model = nn.Sequential(nn.Linear(20, 12, seed=0), nn.BatchNorm1d(12), nn.Linear(12, 4, seed=1))
    w = _zero_entries((12, 20), 200, rng)
    _set_weight(model[0], w)
    w2 = model[2].weight.data
    other = 4 * (12 + 12 + 12 + 4) + 4 * (12 + 12)  # biases and BN scale/shift; BN buffers
    assert metrics.model_bytes(model) == 4 * (12 * 20 + 12 * 4) + other
    nnz1, nnz2 = 40, int(np.count_nonzero(w2))
    csr = 4 * nnz1 + 4 * nnz1 + 4 * 13 + 4 * nnz2 + 4 * nnz2 + 4 * 5
    assert metrics.model_bytes(model, "csr") == csr + other
    coo = 12 * nnz1 + 12 * nnz2
    assert metrics.model_bytes(model, "coo") == coo + other
    # compact: column indices < 20 fit in uint8, row pointers <= nnz fit in uint8
    compact = 4 * nnz1 + nnz1 + 13 + 4 * nnz2 + nnz2 + 5
    assert metrics.model_bytes(model, "csr", compact=True) == compact + other
    with pytest.raises(ValueError, match="format must be one of"):
        metrics.model_bytes(model, "ell")
    with pytest.raises(ValueError, match="blocksize is only used with format='bsr'"):
        metrics.model_bytes(model, "dense", blocksize=(2, 2))


# ------------------------------------------------------------------------- table
def test_layer_table_rows_and_format(rng):
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, seed=0),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 5 * 5, 3, seed=1),
    )
    cw = rng.uniform(0.5, 1.0, size=(4, 2, 3, 3))
    cw[1] = 0.0
    _set_weight(model[0], cw)
    lw = rng.uniform(0.5, 1.0, size=(3, 100))
    lw[:, :10] = 0.0
    lw[2] = 0.0
    _set_weight(model[3], lw)
    rows = metrics.layer_table(model, input_shape=(2, 5, 5))
    assert [r["name"] for r in rows] == ["0", "3"]
    conv, lin = rows
    assert conv["type"] == "Conv2d" and conv["shape"] == (4, 2, 3, 3)
    assert (conv["params"], conv["nonzeros"]) == (72 + 4, 72 - 18 + 4)
    assert (conv["zero_rows"], conv["zero_cols"]) == (1, 0)
    assert conv["flops"] == 25 * 72 and conv["flops_nz"] == 25 * (72 - 18)
    nonzero_lin = 300 - 100 - 2 * 10
    assert (lin["params"], lin["nonzeros"]) == (303, nonzero_lin + 3)
    assert lin["sparsity"] == pytest.approx(1 - (nonzero_lin + 3) / 303)
    assert (lin["zero_rows"], lin["zero_cols"]) == (1, 10)
    text = metrics.format_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["Name", "Type"]
    total = lines[-1].split()
    size, size_nz = metrics.model_size(model)
    assert total[0] == "Total" and total[1] == f"{size:,}" and total[2] == f"{size_nz:,}"
    assert "FLOPs" not in metrics.format_table(metrics.layer_table(model))
