"""The appendix C lesson in --quick mode shows what the book's errata claim."""

import numpy as np
import pytest

from nnprune.book import heading
from nnprune.casestudies import l1_project as project


@pytest.mark.slow
def test_appc_quick(run_lesson):
    g, out = run_lesson("appc_cifar_l1_project")
    tmp_path = g["lesson"].out
    assert heading("C") in out and "ValueError" in out

    # the literal SimpleCNN: fc1 expects 64*8*8 = 4096, two unpadded 3x3 convs give 64*28*28
    assert str(64 * 8 * 8) in g["literal_error"] and str(64 * 28 * 28) in g["literal_error"]

    # fc1 -> fc2 without a non-linearity is one Linear: same outputs, parameters by formula
    merge = g["merge"]
    np.testing.assert_allclose(merge["merged_outputs"], merge["outputs"], rtol=1e-4, atol=1e-5)
    fc1_in, hidden, classes = 64 * 4 * 4, project.HIDDEN, project.CLASSES  # digits: 8 - 4 = 4
    pair = fc1_in * hidden + hidden + hidden * classes + classes
    assert merge["params_before"] - merge["params_after"] == pair - (fc1_in * classes + classes)

    rows = g["l1_rows"]
    for lam in g["lams"]:
        ista = next(r for r in rows if r["method"] == "ista" and r["lam"] == lam)
        sub = next(r for r in rows if r["method"] == "subgradient" and r["lam"] == lam)
        assert ista["zero_fraction"] > sub["zero_fraction"]
        assert sub["zero_fraction"] < 0.01 < ista["zero_fraction"]
    # the weights-only penalty leaves every bias non-zero; penalising biases (the book) zeroes some
    assert all(r["bias_zero_fraction"] == 0 for r in rows if r["method"] in ("ista", "subgradient"))
    book = next(r for r in rows if "biases too" in r["method"])
    assert book["bias_zero_fraction"] > 0

    # 90% of the 53002 - biases weights pruned; CSR smaller than dense float32 storage
    biases = 32 + 64 + hidden + classes
    n_weights = 53002 - biases
    for row in g["prune_rows"]:
        assert row["nonzeros"] <= n_weights - round(project.SPARSITY * n_weights) + biases
        assert row["dense_bytes"] == 4 * 53002 and row["csr_bytes"] < row["dense_bytes"]
        assert row["test_retrained"] > 0.5
    figure = tmp_path / "appc_weight_histograms.png"
    assert figure.stat().st_size > 1000 and f"figure: {figure}" in out
    assert f"zeroed {book['bias_zero_fraction']:.2%} of them" in out


def _write_cifar_bin(path, rng, n: int) -> None:
    labels = rng.integers(0, 10, n)
    pixels = rng.integers(0, 256, (n, 3072)).astype(np.uint8)
    records = (bytes([int(lab)]) + p.tobytes() for p, lab in zip(pixels, labels, strict=True))
    path.write_bytes(b"".join(records))  # 1 label byte + 3072 pixel bytes per image


def test_appc_load_data_cifar(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        _write_cifar_bin(folder / f"{name}.bin", rng, 8)
    (Xtr, ytr), (Xte, yte), name = project.load_data(str(tmp_path), 30, 0)
    assert Xtr.shape == (30, 3, 32, 32) and Xte.shape == (8, 3, 32, 32)  # test batch has 8
    assert Xtr.dtype == np.float32 and ytr.shape == (30,) and yte.shape == (8,)
    np.testing.assert_allclose(Xtr.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(Xtr.std(axis=(0, 2, 3)), 1, atol=1e-4)
    assert "30 training images" in name
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="never downloads"):
        project.load_data(str(tmp_path / "empty"), 0, 0)
