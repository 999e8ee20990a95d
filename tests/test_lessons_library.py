"""The pieces that moved from the lessons' helpers into the library, checked by hand counts.

``nnprune.metrics.storage`` (bytes per format, N:M bytes, dense vs CSR time),
``nnprune.metrics.latency.latency_with_noise_row`` and ``nnprune.data.splits``.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn, prune
from nnprune.data.splits import text_splits
from nnprune.metrics import model_bytes
from nnprune.metrics.latency import latency_with_noise_row
from nnprune.metrics.storage import bytes_per_format, dense_vs_csr_time, nm_bytes
from nnprune.models import mlp


def test_bytes_per_format_counts_values_and_indices():
    model = mlp((8, 6, 4), seed=0)  # even shapes: BSR 2x2 blocks divide them
    prune.to_sparsity(model, 0.5, scope="global")
    rows = {r["format"]: r for r in bytes_per_format(model)}
    assert list(rows) == ["dense", "csr", "coo", "bsr", "csr, small index dtypes"]
    assert rows["dense"]["bytes"] == 4 * (8 * 6 + 6 + 6 * 4 + 4) == model_bytes(model, "dense")
    nnz = (8 * 6 + 6 * 4) // 2  # half of the 72 weights kept
    # CSR: float32 values + int32 column indices + int32 row pointers (rows + 1), biases dense
    assert rows["csr"]["bytes"] == 4 * (6 + 4) + 8 * nnz + 4 * (6 + 1) + 4 * (4 + 1)
    assert rows["csr"]["vs dense"] == pytest.approx(rows["csr"]["bytes"] / rows["dense"]["bytes"])


def test_nm_bytes_by_hand():
    w = np.array([[1.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 4.0]], dtype=np.float32)  # 2:4
    rows = nm_bytes([w], [w])
    assert [r["bytes"] for r in rows[:2]] == [32, 4 * 4 + 1]  # 4 values, 4 x 2 bits = 1 byte
    assert rows[1]["format"] == "2:4 values + 2-bit indices"
    assert rows[2]["bytes"] == 4 * 4 + 4 * 4 + 4 * 2  # CSR: values, columns, row pointers


def test_dense_vs_csr_time_rows_and_verdicts():
    layer = nn.Linear(16, 8, seed=0)
    rows = dense_vs_csr_time(layer, np.ones((4, 16), np.float32), (1, 4), repeats=3)
    assert [r["batch"] for r in rows] == [1, 4]
    for r in rows:
        assert r["csr speed-up"] == pytest.approx(r["dense us"] / r["csr us"])
        assert r["verdict"] in ("faster", "slower", "as fast")


def test_latency_with_noise_row_times_the_first_model_twice():
    a, b = mlp((8, 4, 2), seed=0), mlp((8, 2, 2), seed=1)
    rows = latency_with_noise_row({"dense": a, "small": b}, np.ones((5, 8), np.float32), 3)
    assert [r["model"] for r in rows] == ["dense", "dense (timed again: noise)", "small"]
    assert rows[0]["vs_dense"] == 1.0 and all(r["batch"] == 5 for r in rows)


def test_text_splits_are_padded_ids_with_a_vocabulary():
    splits, vocab = text_splits(0, 200)
    sizes = [len(part[1]) for part in splits]
    assert sum(sizes) == 200 and all(s > 0 for s in sizes)
    ids = splits.train[0]
    assert ids.ndim == 2 and ids.min() >= 0 and ids.max() < len(vocab)
    assert (ids == vocab.pad_id).any()  # sentences of different lengths are padded
