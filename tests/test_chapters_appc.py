"""The appendix C lesson in --quick mode: the book's failure, its settings, the correction."""

from pathlib import Path

import numpy as np
import pytest

from nnprune.book import heading
from nnprune.pseudocode import appc

LESSON = Path(__file__).resolve().parents[1] / "chapters" / "appc_cifar_l1_project.py"


@pytest.mark.slow
def test_appc_quick(run_lesson):
    g, out = run_lesson("appc_cifar_l1_project")
    assert heading("C") in out
    # the book's reshape semantics: 784 rows, then the loss fails with PyTorch's message
    assert g["failure"]["output"] == (784, 10)
    assert "Expected input batch_size (784) to match target batch_size (64)." in out
    assert "Expected input batch_size" in g["as_printed"].error

    # the book's settings, beside the corrected version and each one's lambda = 0 control
    runs, rows = g["runs"], g["rows"]
    assert [r["row"] for r in rows] == ["book settings", "book settings, λ = 0", "corrected",
                                        "corrected, λ = 0"]  # fmt: skip
    assert "book settings" in out and g["LAMBDA"] == appc.BOOK["l1_lambda"] == 0.001
    book, book0 = runs["book settings"], runs["book settings, λ = 0"]
    fixed, fixed0 = runs["corrected"], runs["corrected, λ = 0"]
    # equal budget: the control is the same code, so the dense phase is the same run
    assert book.acc_before_l1 == book0.acc_before_l1
    assert fixed.acc_before_l1 == fixed0.acc_before_l1
    # the proximal step makes exact zeros that the lambda = 0 run does not have
    assert fixed.zero_fraction > fixed0.zero_fraction
    w = appc.weight_vector(fixed.trained)
    assert fixed.zero_fraction == np.mean(w == 0)
    assert all(r.trained.prunable_parameters() for r in (book, book0, fixed, fixed0))

    # fc1 -> fc2 of the book's model is one Linear(64*28*28, 10): parameters by formula
    convs = (3 * 9 + 1) * 32 + (32 * 9 + 1) * 64
    assert g["record"].params_after == convs + 64 * 28 * 28 * 10 + 10
    assert g["record"].params_before == book.parameters == 6_443_338
    assert g["merge_diff"] < 1e-4

    figure = g["lesson"].out / "appc_weight_histograms.png"
    assert figure.stat().st_size > 1000 and f"figure: {figure}" in out
    assert "within 2 points" in out or "points)" in out


def test_appc_lesson_names_the_books_step_honestly():
    text = LESSON.read_text(encoding="utf-8")
    assert "plain SGD" not in text and "(book)" not in text
    assert "lesson.show(appc.book_simple_cnn)" in text and "show_book_failure" in text


def _write_cifar_bin(path, rng, n: int) -> None:
    labels = rng.integers(0, 10, n)
    pixels = rng.integers(0, 256, (n, 3072)).astype(np.uint8)
    records = (bytes([int(lab)]) + p.tobytes() for p, lab in zip(pixels, labels, strict=True))
    path.write_bytes(b"".join(records))  # 1 label byte + 3072 pixel bytes per image


def test_appc_cifar_data(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        _write_cifar_bin(folder / f"{name}.bin", rng, 8)
    (Xtr, ytr), (Xte, yte), name = appc.cifar_data(str(tmp_path), 30, 0)
    assert Xtr.shape == (30, 3, 32, 32) and Xte.shape == (8, 3, 32, 32)  # test batch has 8
    assert Xtr.dtype == np.float32 and ytr.shape == (30,) and yte.shape == (8,)
    assert Xtr.min() >= -1 and Xtr.max() <= 1 and Xtr.min() < -0.9  # (x - 0.5) / 0.5
    assert "30 train" in name
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="never downloads"):
        appc.cifar_data(str(tmp_path / "empty"))


def test_appc_standin_is_cifar_shaped():
    (X, y), (Xt, yt), name = appc.standin_data(0, limit=5)
    assert X.shape == (5, 3, 32, 32) and Xt.shape == (5, 3, 32, 32) and "3x32x32" in name
    np.testing.assert_array_equal(X[:, 0], X[:, 2])  # grey copied to the 3 channels
    np.testing.assert_array_equal(X[:, :, :4, :4], X[:, :, :1, :1] * np.ones((1, 1, 4, 4)))


def test_appc_pruned_accuracy_prunes_a_copy():
    import copy

    from nnprune.prune import to_sparsity

    _, test, _ = appc.standin_data(0, limit=16)
    model = appc.corrected_simple_cnn(0)
    before = appc.weight_vector(model).copy()
    acc = appc.pruned_accuracy(model, test, 0.9)
    np.testing.assert_array_equal(appc.weight_vector(model), before)  # the model is untouched
    manual = copy.deepcopy(model)
    to_sparsity(manual, 0.9, scope="global")
    assert abs(np.mean(appc.weight_vector(manual) == 0) - 0.9) < 1e-3
    assert acc == appc.accuracy(manual, test)
    rows = appc.AppCResult("r", "m", 1, 0.5, 0.5, 0.0, 0.0, None, trained=model).as_row()
    assert "trained" not in rows and rows["row"] == "r"
