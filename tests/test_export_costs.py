"""export_costs: every format written, read back and evaluated; sizes in the expected order."""

import numpy as np
import pytest

from nnprune import prune
from nnprune.export.costs import export_costs, onnx_available, onnx_latency
from nnprune.models import mlp


def test_export_costs_reads_every_format_back(rng, tmp_path):
    X = rng.standard_normal((40, 16)).astype(np.float32)
    model = mlp((16, 64, 4), seed=0)
    prune.to_sparsity(model, 0.9)
    y = model.eval()(X).argmax(axis=1)  # its own answers: accuracy 1 when read back lossless
    rows = export_costs({"pruned": model}, (16,), (X, y), folder=tmp_path)
    by = {r["format"]: r for r in rows}
    formats = ["checkpoint", "csr", "codebook"] + (["onnx"] if onnx_available() else [])
    assert list(by) == formats
    for fmt in ("checkpoint", "csr") + (("onnx",) if onnx_available() else ()):
        assert by[fmt]["test_accuracy"] == 1.0  # lossless: the same predictions
    assert by["csr"]["kB_disk"] < by["checkpoint"]["kB_disk"]
    assert by["codebook"]["kB_disk"] < by["csr"]["kB_disk"]
    assert all((tmp_path / f"pruned.{f}.{'onnx' if f == 'onnx' else 'npz'}").exists() for f in by)
    with pytest.raises(ValueError, match=r"formats must be among .*got \['zip'\]"):
        export_costs({"pruned": model}, (16,), (X, y), formats=("csr", "zip"))


def test_onnx_latency_times_every_model(rng):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    X = rng.standard_normal((8, 16)).astype(np.float32)
    times = onnx_latency({"a": mlp((16, 8, 4), seed=0), "b": mlp((16, 4, 4), seed=1)}, (16,), X, 3)
    assert set(times) == {"a", "b"} and all(t > 0 for t in times.values())
