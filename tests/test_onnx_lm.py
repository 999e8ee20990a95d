"""ONNX export of the causal character LM, checked with ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import prune
from nnprune.models_lm import CharTransformerLM


@pytest.mark.parametrize("activation", ["gelu", "relu", "tanh-gelu", "post-norm"])
def test_lm_onnx_matches_numpy(activation, tmp_path, rng):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from nnprune import nn
    from nnprune.export.onnx_lm import export_lm_onnx

    model = CharTransformerLM(
        11, d_model=8, nhead=2, num_layers=2, dim_feedforward=12, context=6, seed=0
    )
    for i, layer in enumerate(model.layers):
        if activation == "relu":
            layer.activation = nn.ReLU()
        elif activation == "tanh-gelu":
            layer.activation = nn.GELU("tanh")
        elif activation == "post-norm":
            layer.norm_first = False
        for p in layer.parameters():
            p.data = p.data + 0.2 * rng.normal(size=p.shape)  # non-trivial norms and biases
        layer.self_attn.head_mask = np.array([1.0, 0.5 + i], np.float32)
    calib = rng.integers(0, 11, size=(4, 6))
    prune.prune_oneshot(model, calib, "sparsegpt", n=2, m=4, blocksize=4)
    path = export_lm_onnx(model, tmp_path / "lm.onnx", seq_len=5)
    ids = rng.integers(0, 11, size=(3, 5))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"ids": ids.astype(np.int64)})
    np.testing.assert_allclose(got, model.eval()(ids), rtol=1e-4, atol=1e-5, err_msg="ort vs ours")
    changed = ids.copy()
    changed[:, 4] = (changed[:, 4] + 1) % 11
    (again,) = session.run(None, {"ids": changed.astype(np.int64)})
    np.testing.assert_array_equal(again[:, :4], got[:, :4])  # the constant mask keeps it causal


def test_lm_onnx_errors(tmp_path):
    pytest.importorskip("onnx")
    from nnprune.export.onnx_lm import export_lm_onnx

    model = CharTransformerLM(11, d_model=8, nhead=2, num_layers=1, dim_feedforward=12, context=6)
    with pytest.raises(ValueError, match="seq_len must be <= the model's context 6, got 7"):
        export_lm_onnx(model, tmp_path / "lm.onnx", seq_len=7)
    with pytest.raises(TypeError, match="exports a CharTransformerLM, got Linear"):
        export_lm_onnx(model.head, tmp_path / "lm.onnx")
