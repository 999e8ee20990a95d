"""Preprocessing travels with the model: checkpoint, every command, and the ONNX graph."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import commands, io
from nnprune.data.preprocess import apply_preprocess
from nnprune.data.sources import load_dataset


def _write_csv(path, X, y):
    names = [f"f{i}" for i in range(X.shape[1])]
    rows = [",".join(names + ["label"])]
    rows += [
        ",".join([*(repr(float(v)) for v in x), str(int(t))]) for x, t in zip(X, y, strict=True)
    ]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    tmp = tmp_path_factory.mktemp("cancer")
    X, y = data.data, data.target
    return tmp, X, y, _write_csv(tmp / "cancer.csv", X, y)


def test_csv_standardisation_is_recorded_and_reused(cancer):
    tmp, X, y, path = cancer
    ds = load_dataset(path)
    pre = ds.info["preprocess"]
    assert pre["fitted"] and len(pre["mean"]) == X.shape[1]
    # another file (the first 200 rows: other statistics) loaded with the model's record
    other = _write_csv(tmp / "part.csv", X[:200], y[:200])
    refit = load_dataset(other)
    kept = load_dataset(other, preprocess=pre)
    assert refit.info["preprocess"]["mean"] != pre["mean"]
    assert kept.info["preprocess"] == pre
    raw = load_dataset(other, preprocess={"mean": 0.0, "std": 1.0, "fitted": True})
    for (xk, _), (xr, _) in zip(kept.splits, raw.splits, strict=True):
        np.testing.assert_array_equal(xk, apply_preprocess(xr, pre))
    with pytest.raises(ValueError, match=r"'mean' has 3 values, the samples have 30 features"):
        load_dataset(other, preprocess={"mean": [0, 0, 0], "std": 1.0, "fitted": True})


def test_onnx_on_raw_rows_predicts_what_evaluate_predicts(cancer):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    tmp, X, y, path = cancer
    ckpt = tmp / "m.npz"
    commands.train(
        str(path), "mlp", {"hidden": [16]}, epochs=5, lr=0.05, batch_size=32, seed=0,
        save=str(ckpt),
    )  # fmt: skip
    model, header = io.load_checkpoint(ckpt)
    pre = header["metadata"]["architecture"]["preprocess"]
    onnx_path = commands.export(str(ckpt), format="onnx", out=str(tmp / "m.onnx"))
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    raw = X.astype(np.float32)
    onnx_logits = session.run(None, {"input": raw})[0]
    ours = model.eval()(apply_preprocess(raw, pre))
    np.testing.assert_allclose(onnx_logits, ours, rtol=1e-4, atol=1e-4)
    assert np.array_equal(onnx_logits.argmax(1), ours.argmax(1))
    onnx_acc = float(np.mean(onnx_logits.argmax(1) == y))
    assert onnx_acc > 0.9, onnx_acc  # the majority class alone gives 0.627
    evaluated = commands.evaluate_checkpoint(str(ckpt), str(path), as_json=True)["accuracy"]
    test_X, test_y = load_dataset(path, preprocess=pre).splits.test
    assert evaluated == pytest.approx(float(np.mean(model(test_X).argmax(1) == test_y)))
