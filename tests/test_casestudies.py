"""Case studies (book §6, §7): the custom Transformer classifier, the pruning steps, quick runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnprune import nn
from nnprune.casestudies import TransformerClassifier, run_image_study
from nnprune.casestudies.image import magnitude_prune, remove_cnn_filters, remove_resnet_filters
from nnprune.casestudies.speech import (
    chain_flops,
    prune_recurrent,
    remove_units,
    run_speech_study,
    speech_model,
)
from nnprune.casestudies.text import run_text_study
from nnprune.gradcheck import gradcheck
from nnprune.metrics import flops
from nnprune.models import small_cnn
from nnprune.models_resnet import small_resnet


def _ids(rng, n=3, t=5, vocab=7, pad=0):
    ids = rng.integers(1, vocab, size=(n, t))
    ids[0, 3:] = pad  # one padded sequence
    return ids


@pytest.mark.parametrize("masked", [False, True])
def test_transformer_classifier_gradcheck(rng, masked) -> None:
    model = TransformerClassifier(
        7, 3, d_model=8, nhead=2, num_layers=2, dim_feedforward=6, max_len=8, rng=0
    ).double()
    if masked:
        w = model.encoder[0].linear1.weight
        w.mask = rng.random(w.shape) > 0.5
    report = gradcheck(model, _ids(rng), check_input=False, raise_exception=False)
    for name, err in report.errors.items():
        if name.endswith("k_proj.bias"):
            # Softmax ignores a constant added to every key score, and q.(k + b) adds q.b to
            # each: the true gradient is 0, so a relative error only compares rounding noise.
            grad = dict(model.named_parameters())[name].grad
            assert np.max(np.abs(grad)) < 1e-12, name
        else:
            assert err < 1e-6, f"{name}: relative error {err:.2e}"


def test_transformer_classifier_ignores_padding(rng) -> None:
    """Appending padding must not change the logits: the mask reaches attention and pooling."""
    model = TransformerClassifier(7, 3, d_model=8, nhead=2, num_layers=2, max_len=12, rng=1)
    ids = _ids(rng)
    longer = np.concatenate([ids, np.zeros((3, 4), ids.dtype)], axis=1)
    np.testing.assert_allclose(model(ids), model(longer), rtol=1e-5, atol=1e-6)


def test_transformer_classifier_rejects_bad_ids() -> None:
    model = TransformerClassifier(7, 3, d_model=8, nhead=2, rng=0)
    with pytest.raises(ValueError, match=r"token ids of shape \(N, T\), got \(5,\)"):
        model(np.arange(5))


def test_magnitude_prune_hits_exact_count() -> None:
    model = small_cnn(1, 10, 8, channels=(4, 8), seed=0)
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    total = sum(w.size for w in weights)
    magnitude_prune(model, 0.8)
    zeros = sum(int(np.sum(w.data == 0)) for w in weights)
    assert zeros == round(0.8 * total)


def test_remove_cnn_filters_halves_every_conv() -> None:
    model = small_cnn(1, 10, 8, channels=(4, 8), seed=0)
    remove_cnn_filters(model, (1, 8, 8), 0.5)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(1, 2), (2, 4)]
    # conv1 2*1*9+2, conv2 4*2*9+4, Linear 10*(4*2*2)+10
    assert model.num_parameters() == 20 + 76 + 170
    assert model(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 10)


def test_remove_resnet_filters_halves_every_conv() -> None:
    model = small_resnet(1, 10, widths=(4, 8), seed=0)
    before = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    remove_resnet_filters(model, 0.5)
    after = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert after == [c // 2 for c in before]
    assert model(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 10)


def test_speech_pruning_steps() -> None:
    model = speech_model(6, 4, conv=4, hidden=8, seed=0)
    gru = model[4]
    n_rec = gru.weight_ih_l0.size + gru.weight_hh_l0.size
    thin = speech_model(6, 4, conv=4, hidden=8, seed=0)
    prune_recurrent(model, 0.8)
    zeros = int(np.sum(gru.weight_ih_l0.data == 0) + np.sum(gru.weight_hh_l0.data == 0))
    assert zeros == round(0.8 * n_rec)
    remove_units(thin, 0.5)
    assert thin[4].hidden_size == 4 and thin[6].weight.shape == (4, 4)
    assert thin(np.zeros((2, 10, 6), np.float32)).shape == (2, 4)


def test_chain_flops_by_hand() -> None:
    model = speech_model(6, 4, conv=4, hidden=8, seed=0)
    t_out = (10 + 2 * 2 - 5) // 2 + 1  # Conv1d k=5, stride 2, padding 2
    conv = 4 * 6 * 5 * t_out
    gru = t_out * (3 * 8 * 4 + 3 * 8 * 8)  # T' steps of W_ih and W_hh (3 gates)
    head = 8 * 4
    assert chain_flops(model, (10, 6)) == (conv + gru + head, conv + gru + head)


def test_image_study_quick(tmp_path) -> None:
    rows = run_image_study((0,), quick=True, out=str(tmp_path), models=("cnn",), verbose=False)
    by = {r["method"]: r for r in rows}
    assert list(by) == ["dense", "magnitude 80%", "filters -50%"]
    dense, mag, thin = by["dense"], by["magnitude 80%"], by["filters -50%"]
    model = small_cnn(1, 10, 8, channels=(8, 16), seed=0)
    n_weights = sum(m.weight.size for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear))
    assert dense["params"] == model.num_parameters() == mag["params"]
    assert mag["nonzeros"] == dense["nonzeros"] - round(0.8 * n_weights)
    assert thin["params"] == thin["nonzeros"] < dense["params"] / 2
    assert thin["flops"] < dense["flops"] and mag["flops_nz"] < mag["flops"] == dense["flops"]
    assert mag["kB_csr"] < mag["kB_dense"] == dense["kB_dense"]
    assert all(r["latency_ms"] > 0 and 0 <= r["acc_mean"] <= 1 for r in rows)
    assert (tmp_path / "ch07_image.png").exists()


def test_text_study_quick(tmp_path) -> None:
    rows = run_text_study((0,), quick=True, out=str(tmp_path), verbose=False)
    by = {r["method"]: r for r in rows}
    dense, heads, mag = by["dense"], by["heads -50%"], by["magnitude 80%"]
    assert dense["heads"] == "4/4" and heads["heads"] == "2/4"
    d = 32  # four heads of 8: q, k, v lose 16 rows (+ bias), out_proj 16 columns
    assert heads["params"] == dense["params"] - 3 * (16 * d + 16) - d * 16
    model = TransformerClassifier(10, 4, num_layers=1, d_model=32, dim_feedforward=64)
    n_linear = sum(m.weight.size for m in model.modules() if isinstance(m, nn.Linear))
    assert mag["nonzeros"] == dense["nonzeros"] - round(0.8 * n_linear)
    assert heads["flops"] < dense["flops"]
    assert (tmp_path / "ch07_text.png").exists()


def test_speech_study_quick(tmp_path) -> None:
    rows = run_speech_study((0,), quick=True, out=str(tmp_path), verbose=False)
    by = {r["method"]: r for r in rows}
    dense, rec, units = by["dense"], by["recurrent 80%"], by["hidden units -50%"]
    assert math.isclose(rec["rnn_sparsity"], 0.8, abs_tol=1e-3) and dense["rnn_sparsity"] == 0
    assert rec["params"] == dense["params"] and units["params"] < dense["params"]
    model = speech_model(40, 10, conv=8, hidden=16, seed=0)
    assert dense["flops"] == chain_flops(model, (33, 40))[0]
    assert (tmp_path / "ch07_speech.png").exists()


def test_metrics_flops_declines_unknown_layers_so_the_fallback_is_needed() -> None:
    """If metrics.flops learns these layers, the composed counts must agree with it."""
    model = speech_model(6, 4, conv=4, hidden=8, seed=0)
    try:
        assert flops(model, (10, 6)) == chain_flops(model, (10, 6))
    except TypeError:
        pass


@pytest.mark.slow
def test_ch06_quick(tmp_path, capsys, load_script) -> None:
    ch06 = load_script("chapters", "ch06_applications")
    rows = ch06.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "zeros after one Adam step: 80.0%" in out
    assert [r["model"] for r in rows] == ["CNN 16-32", "Transformer 2L", "Conv1d+GRU"]
    assert (tmp_path / "ch06_head_importance.png").exists()


@pytest.mark.slow
def test_ch07_quick(tmp_path, capsys, load_script) -> None:
    ch07 = load_script("chapters", "ch07_case_studies")
    results = ch07.main(["--quick", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert set(results) == {"image", "text", "speech"}
    assert "§7.1 image" in out and "§7.2 text" in out and "§7.3 speech" in out
    assert {p.name for p in tmp_path.iterdir()} == {
        "ch07_image.png",
        "ch07_text.png",
        "ch07_speech.png",
    }
