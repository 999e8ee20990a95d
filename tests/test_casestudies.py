"""Case studies (book §6, §7): models, FLOPs, pruning steps, equal budgets, quick runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.io import wavfile

from nnprune import nn
from nnprune.backend import cupy_available
from nnprune.book import heading
from nnprune.casestudies import TransformerClassifier, image, run_image_study, speech, text
from nnprune.casestudies.image import magnitude_prune, remove_cnn_filters, remove_resnet_filters
from nnprune.casestudies.speech import (
    prune_recurrent,
    remove_units,
    run_speech_study,
    speech_model,
    speech_splits,
    standardize_frames,
)
from nnprune.casestudies.text import run_text_study
from nnprune.data.audio import load_fsdd
from nnprune.experiments import casestudy as common
from nnprune.experiments.casestudy import CONTROL, summarize
from nnprune.gradcheck import gradcheck
from nnprune.metrics import flops, layer_flops
from nnprune.metrics.flops import sub_flops
from nnprune.models import small_cnn
from nnprune.models_resnet import small_resnet
from nnprune.models_speech import SpeechClassifier


def _ids(rng, n=3, t=5, vocab=7, pad=0):
    ids = rng.integers(1, vocab, size=(n, t))
    ids[0, 3:] = pad  # one padded sequence
    return ids


@pytest.mark.parametrize("masked", [False, True])
def test_transformer_classifier_gradcheck(rng, masked) -> None:
    model = TransformerClassifier(
        7, 3, d_model=8, nhead=2, num_layers=2, dim_feedforward=6, max_len=8, seed=0
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
    model = TransformerClassifier(7, 3, d_model=8, nhead=2, num_layers=2, max_len=12, seed=1)
    ids = _ids(rng)
    longer = np.concatenate([ids, np.zeros((3, 4), ids.dtype)], axis=1)
    np.testing.assert_allclose(model(ids), model(longer), rtol=1e-5, atol=1e-6)


def test_transformer_classifier_rejects_bad_ids() -> None:
    model = TransformerClassifier(7, 3, d_model=8, nhead=2, seed=0)
    with pytest.raises(ValueError, match=r"token ids of shape \(N, T\), got \(5,\)"):
        model(np.arange(5))


def test_metrics_flops_counts_the_transformer_by_formula() -> None:
    """Per layer: q, k, v, out projections 4 T D^2, QK^T and PV 2 T^2 D, feed-forward 2 T D F."""
    t, d, f, c, layers = 9, 8, 6, 3, 2
    model = TransformerClassifier(11, c, d_model=d, nhead=2, num_layers=layers, dim_feedforward=f)
    per_layer = 4 * t * d * d + 2 * t * t * d + 2 * t * d * f
    assert flops(model, (t,)) == (layers * per_layer + d * c,) * 2
    w = model.encoder[1].linear1.weight
    w.mask = np.arange(w.size).reshape(w.shape) % 4 != 0  # a quarter of the weights zero
    zeros = int(np.sum(~w.mask))
    assert flops(model, (t,))[1] == layers * per_layer + d * c - zeros * t
    names = set(layer_flops(model, (t,)))
    assert {"encoder.0.self_attn.q_proj", "encoder.1.linear2", "head"} <= names


def test_metrics_flops_counts_the_speech_model_by_formula() -> None:
    model = speech_model(6, 4, conv=4, hidden=8, seed=0)
    t_out = (10 + 2 * 2 - 5) // 2 + 1  # Conv1d k=5, stride 2, padding 2
    conv = 4 * 6 * 5 * t_out
    gru = t_out * (3 * 8 * 4 + 3 * 8 * 8)  # T' steps of W_ih and W_hh (3 gates)
    head = 8 * 4
    assert flops(model, (10, 6)) == (conv + gru + head, conv + gru + head)
    prune_recurrent(model, 0.5)
    n_rec = 3 * 8 * 4 + 3 * 8 * 8
    assert flops(model, (10, 6))[1] == conv + gru - t_out * round(0.5 * n_rec) + head


def test_metrics_flops_counts_transpose_and_last_time_step_as_zero() -> None:
    """The glue layers are in FLOP_RULES: a plain Sequential speech chain is counted directly."""
    chain = nn.Sequential(
        nn.Transpose(1, 2),
        nn.Conv1d(6, 4, 3, padding=1, seed=0),
        nn.ReLU(),
        nn.Transpose(1, 2),
        nn.GRU(4, 5, seed=1),
        nn.LastTimeStep(),
        nn.Linear(5, 2, seed=2),
    )
    t = 7
    expected = 4 * 6 * 3 * t + t * (3 * 5 * 4 + 3 * 5 * 5) + 5 * 2
    assert flops(chain, (t, 6)) == (expected, expected)
    assert flops(nn.Sequential(nn.Transpose(), nn.LastTimeStep()), (3, 4)) == (0, 0)


def test_metrics_flops_resnet_by_formula() -> None:
    model = small_resnet(1, 10, widths=(4, 8), seed=0)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    # stem and block 1 on 8x8; block 2 (stride 2: conv1, conv2, downsample) on 4x4 outputs
    uses = [64, 64, 64, 16, 16, 16]
    expected = sum(c.weight.size * u for c, u in zip(convs, uses, strict=True)) + 8 * 10
    assert flops(model, (1, 8, 8))[0] == expected


class _Doubler(nn.Module):
    """A custom model that counts itself through the hook: a Linear used on two positions."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(3, 2, seed=0)

    def forward(self, x):
        return self.inner.forward(x)

    def flops_rule(self, call):
        return sub_flops(self.inner, "inner", (1, 2, call.input_shape[-1]))


class Custom(nn.Module):
    """A custom model with neither a FLOP rule nor a hook."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(3, 2, seed=0)

    def forward(self, x):
        return self.inner.forward(x)


def test_flops_rule_hook_and_the_error_that_points_to_it() -> None:
    assert flops(_Doubler(), (3,)) == (2 * 6, 2 * 6)
    with pytest.raises(TypeError, match="unknown layer type Custom.*define flops_rule"):
        flops(Custom(), (3,))


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
    gru = model.rnn
    n_rec = gru.weight_ih_l0.size + gru.weight_hh_l0.size
    thin = speech_model(6, 4, conv=4, hidden=8, seed=0)
    prune_recurrent(model, 0.8)
    zeros = int(np.sum(gru.weight_ih_l0.data == 0) + np.sum(gru.weight_hh_l0.data == 0))
    assert zeros == round(0.8 * n_rec)
    remove_units(thin, 0.5)
    assert thin.rnn.hidden_size == 4 and thin.head.weight.shape == (4, 4)
    assert thin(np.zeros((2, 10, 6), np.float32)).shape == (2, 4)


def _padded_clips(rng, lengths, t=12, f=3):
    x = np.zeros((len(lengths), t, f))
    for i, n in enumerate(lengths):
        x[i, :n] = rng.normal(size=(n, f))
    return x


@pytest.mark.parametrize("masked", [False, True])
def test_speech_classifier_gradcheck(rng, masked) -> None:
    model = SpeechClassifier(3, 2, conv=4, hidden=5, seed=0).double()
    if masked:
        w = model.rnn.weight_hh_l0
        w.mask = rng.random(w.shape) > 0.5
    # Padded clips: the parameters. A nudge to a padding frame would move the clip's end
    # (the lengths are read from the data), so dL/dx is checked on full-length clips.
    gradcheck(model, _padded_clips(rng, [12, 7, 4]), check_input=False)
    gradcheck(model, _padded_clips(rng, [6, 6], t=6))


def test_speech_classifier_reads_each_clip_at_its_end(rng) -> None:
    """Logits of a padded clip equal those of the clip alone: the last frame is not padding."""
    model = SpeechClassifier(3, 2, conv=4, hidden=5, seed=0).double()
    x = _padded_clips(rng, [12, 7, 4, 1])
    out = model(x)
    for i, n in enumerate([12, 7, 4, 1]):
        np.testing.assert_allclose(out[i], model(x[i : i + 1, :n])[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(model.lengths(x), [12, 7, 4, 1])
    # Conv1d k=5, stride 2, padding 2: ceil(n / 2) outputs, at least 1
    np.testing.assert_array_equal(model.output_lengths(np.array([12, 7, 4, 1, 0])), [6, 4, 2, 1, 1])
    # without lengths the model would read the padding: the answers must differ
    last = model.head(model.rnn(model.frontend(x))[:, -1])
    assert not np.allclose(last[1:3], out[1:3])


def test_speech_classifier_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="cell must be 'gru' or 'lstm', got 'rnn'"):
        SpeechClassifier(3, 2, conv=4, hidden=5, cell="rnn")
    with pytest.raises(ValueError, match="SpeechClassifier expects a 3-D input"):
        SpeechClassifier(3, 2, conv=4, hidden=5, seed=0)(np.zeros((2, 3)))


def test_standardize_frames_uses_real_frames_only(rng) -> None:
    lengths = np.array([5, 2, 4, 3])
    x = _padded_clips(rng, lengths, t=5, f=2)  # zero after each length
    train = np.array([0, 1, 3])
    real = [x[i, : lengths[i]] for i in train]
    frames = np.concatenate(real)
    mean, std = frames.mean(0), frames.std(0) + 1e-6
    out, _ = standardize_frames(x, lengths, train)
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(out[i, :n], (x[i, :n] - mean) / std, rtol=1e-5)
        assert np.all(out[i, n:] == 0)


def _write_fsdd(folder, rng) -> None:
    for digit in (3, 8):
        for k in range(10):
            n = int(rng.integers(1200, 4000))  # 0.15-0.5 s at 8 kHz: different lengths
            tone = np.sin(2 * np.pi * (300 + 200 * digit) * np.arange(n) / 8000)
            wave = 0.3 * tone + 0.01 * rng.standard_normal(n)
            wavfile.write(
                folder / f"{digit}_spk{k % 2}_{k}.wav", 8000, (wave * 2**15).astype("<i2")
            )


def test_speech_splits_on_fsdd_keep_padding_zero(tmp_path, rng) -> None:
    _write_fsdd(tmp_path, rng)
    full = load_fsdd(tmp_path)
    assert len(set(full.lengths.tolist())) > 1
    splits = speech_splits(0, 0, str(tmp_path))
    model = SpeechClassifier(full.X.shape[2], 10, conv=4, hidden=5, seed=0)
    X = np.concatenate([s[0] for s in splits])
    assert sorted(model.lengths(X).tolist()) == sorted(full.lengths.tolist())
    assert sum(len(s[1]) for s in splits) == len(full.y)


def test_summarize_deltas_are_against_the_equal_budget_control() -> None:
    accs = {
        ("m", "dense", 0): 0.80,
        ("m", CONTROL, 0): 0.90,
        ("m", "pruned", 0): 0.88,
        ("m", "dense", 1): 0.70,
        ("m", CONTROL, 1): 0.86,
        ("m", "pruned", 1): 0.87,
    }
    records = [{"model": m, "method": k, "seed": s, "acc": a} for (m, k, s), a in accs.items()]
    rows = {r["method"]: r for r in summarize(records)}
    assert math.isclose(rows["pruned"]["delta_mean"], 100 * ((-0.02) + 0.01) / 2)
    assert math.isclose(rows["dense"]["delta_mean"], 100 * ((-0.10) + (-0.16)) / 2)
    assert rows[CONTROL]["delta_pts"] == ""
    with pytest.raises(ValueError, match=r"records must hold a 'dense\+retrain' run"):
        summarize([r for r in records if not (r["method"] == CONTROL and r["seed"] == 1)])


@pytest.mark.parametrize(
    ("module", "run", "kwargs"),
    [
        (image, run_image_study, {"models": ("cnn",)}),
        (text, run_text_study, {}),
        (speech, run_speech_study, {}),
    ],
)
def test_control_and_methods_get_the_same_retraining(monkeypatch, module, run, kwargs) -> None:
    """Every call after the dense training has the same settings, the control's included."""
    calls = []

    def record(model, train, val, **settings):
        calls.append(settings)  # no training: this test checks the budgets only

    def trainer(model, *, train, **settings):  # the book's method trains itself
        calls.append(settings)

    monkeypatch.setattr(common, "train_model", record)  # the dense training and the retraining
    if hasattr(module, "l1_threshold_trainer"):
        monkeypatch.setattr(module, "l1_threshold_trainer", lambda *args: trainer)
    rows = run((0,), quick=True, out=None, verbose=False, **kwargs)
    methods = [r["method"] for r in rows]
    assert methods[:2] == ["dense", CONTROL] and len(methods) == 5
    assert methods[-1].endswith("(book)")  # the book's method of that section, beside the others
    assert len(calls) == 5 and all(c == calls[1] for c in calls[2:]) and calls[0] != calls[1]


def test_image_study_quick(tmp_path) -> None:
    rows = run_image_study((0,), quick=True, out=str(tmp_path), models=("cnn",), verbose=False)
    by = {r["method"]: r for r in rows}
    assert list(by) == ["dense", CONTROL, "magnitude 80%", "filters -50%", image.BOOK_METHOD]
    dense, mag, thin = by["dense"], by["magnitude 80%"], by["filters -50%"]
    assert by[image.BOOK_METHOD]["nonzeros"] == mag["nonzeros"]  # the same 80%, L1 + threshold
    model = small_cnn(1, 10, 8, channels=(8, 16), seed=0)
    n_weights = sum(m.weight.size for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear))
    assert dense["params"] == model.num_parameters() == mag["params"] == by[CONTROL]["params"]
    assert mag["nonzeros"] == dense["nonzeros"] - round(0.8 * n_weights)
    assert thin["params"] == thin["nonzeros"] < dense["params"] / 2
    assert thin["flops"] < dense["flops"] and mag["flops_nz"] < mag["flops"] == dense["flops"]
    assert mag["kB_csr"] < mag["kB_dense"] == dense["kB_dense"]
    assert all(0 <= r["acc_mean"] <= 1 and "latency_ms" not in r for r in rows)
    for r in rows:
        if r["method"] != CONTROL:
            control = by[CONTROL]["acc_mean"]
            assert math.isclose(r["delta_mean"], 100 * (r["acc_mean"] - control), abs_tol=1e-9)
    assert (tmp_path / "ch07_image.png").exists()


def test_text_study_quick(tmp_path) -> None:
    rows = run_text_study((0,), quick=True, out=str(tmp_path), verbose=False)
    by = {r["method"]: r for r in rows}
    dense, heads, mag = by["dense"], by["heads -50%"], by["magnitude 80%"]
    assert dense["heads"] == by[CONTROL]["heads"] == "4/4" and heads["heads"] == "2/4"
    d = 32  # four heads of 8: q, k, v lose 16 rows (+ bias), out_proj 16 columns
    assert heads["params"] == dense["params"] - 3 * (16 * d + 16) - d * 16
    model = TransformerClassifier(10, 4, num_layers=1, d_model=32, dim_feedforward=64)
    n_linear = sum(m.weight.size for m in model.modules() if isinstance(m, nn.Linear))
    assert mag["nonzeros"] == dense["nonzeros"] - round(0.8 * n_linear)
    assert by[text.BOOK_METHOD]["nonzeros"] == mag["nonzeros"]  # AGSP: same count, other choice
    assert heads["flops"] < dense["flops"]
    assert (tmp_path / "ch07_text.png").exists()


def test_speech_study_quick(tmp_path, capsys) -> None:
    rows = run_speech_study((0,), quick=True, out=str(tmp_path))
    out = capsys.readouterr().out
    assert "delta_pts vs dense+retrain (equal budget), accuracy on the test split" in out
    assert "  seed 0 conv1d+gru recurrent 80%: retrained 1 epoch(s)" in out  # progress lines
    assert max(len(line) for line in out.splitlines() if "plot:" not in line) <= 100
    by = {r["method"]: r for r in rows}
    dense, rec, units = by["dense"], by["recurrent 80%"], by["hidden units -50%"]
    assert math.isclose(rec["rnn_sparsity"], 0.8, abs_tol=1e-3) and dense["rnn_sparsity"] == 0
    assert by[speech.BOOK_METHOD]["rnn_sparsity"] == rec["rnn_sparsity"]
    assert rec["params"] == dense["params"] and units["params"] < dense["params"]
    t_out, conv, hidden = 17, 8, 16  # 33 frames -> 17 after the stride-2 Conv1d
    expected = conv * 40 * 5 * t_out + t_out * 3 * hidden * (conv + hidden) + hidden * 10
    assert dense["flops"] == expected
    assert (tmp_path / "ch07_speech.png").exists()


@pytest.mark.skipif(cupy_available(), reason="checks the error raised without CuPy and a GPU")
@pytest.mark.parametrize("script", ["ch06_applications", "ch07_case_studies"])
def test_chapters_backend_cupy_fails_clearly_without_a_gpu(run_lesson, script) -> None:
    with pytest.raises(RuntimeError, match="backend 'cupy' needs CuPy and an NVIDIA GPU"):
        run_lesson(script, "--backend", "cupy")


@pytest.mark.skipif(cupy_available(), reason="checks the error raised without CuPy and a GPU")
def test_study_backend_cupy_fails_clearly_without_a_gpu() -> None:
    with pytest.raises(RuntimeError, match="backend 'cupy' needs CuPy"):
        run_speech_study((0,), quick=True, out=None, backend="cupy", verbose=False)


@pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a GPU")
def test_speech_study_runs_on_cupy() -> None:
    rows = run_speech_study((0,), quick=True, out=None, backend="cupy", verbose=False)
    assert [r["method"] for r in rows][:2] == ["dense", CONTROL]


@pytest.mark.slow
def test_ch06_quick(run_lesson) -> None:
    g, out = run_lesson("ch06_applications")
    at = [out.index(heading(n)) for n in ("6.1", "6.2")]
    assert at == sorted(at)  # the book's sections, in its order
    assert (g["lesson"].out / "ch06_head_importance.png").stat().st_size > 1000
    # §6.1: the book's pairing (Lasso/ISTA) beside SGD, the same filter cut for both
    rows = g["image_rows"]
    assert len(rows) == 5 and rows[0]["acc dense"] != rows[2]["acc dense"]
    # §6.2: half the heads of the 2 x 4 went, the lowest Michel scores over both layers
    michel = g["michel"]
    scores = np.concatenate([np.asarray(s) for s in michel.values()])
    removed = g["removed"]["Michel gate |dL/dξ|"]
    assert sum(len(h) for h in removed.values()) == 4
    flat = [4 * i + h for i, name in enumerate(michel) for h in removed.get(name, ())]
    assert sorted(flat) == sorted(np.argsort(scores, kind="stable")[:4].tolist())
    # AGSP and magnitude prune the same number of attention weights
    by = {r["method"]: r for r in g["heads"]}
    assert by["AGSP |g·w| weights"]["nonzeros"] == by["magnitude |w| weights"]["nonzeros"]
    # top-k attention: k = T keeps every score and is the dense model
    dense_row = g["sparse_attn"][-1]
    assert dense_row["kept_fraction"] == pytest.approx(1.0)
    assert dense_row["accuracy"] == pytest.approx(g["dense_tf"])
    kept = [r["kept_fraction"] for r in g["sparse_attn"]]
    assert kept == sorted(kept)


@pytest.mark.slow
def test_ch06b_quick(run_lesson) -> None:
    g, out = run_lesson("ch06b_speech")
    assert heading("6.3") in out
    rows = {r["method"]: r for r in g["speech_rows"]}
    admm = next(r for name, r in rows.items() if name.startswith("ADMM"))
    # ADMM and its magnitude control: the same sparsity, the same epochs
    assert admm["epochs after"] == rows["magnitude + retrain"]["epochs after"] > 0
    assert admm["nonzeros"] == rows["magnitude + retrain"]["nonzeros"]
    assert len(g["residuals"]) == g["ROUNDS"]
    # APoZ, L1 and random remove the same number of units
    assert len({r["params"] for r in g["units"]}) == 1 and len(g["units"]) == 3


@pytest.mark.slow
def test_ch07_quick(run_lesson) -> None:
    g, out = run_lesson("ch07_case_studies")
    at = [out.index(heading(n)) for n in ("7.1", "7.2", "7.3")]
    assert at == sorted(at)  # the book's sections, in its order
    assert set(g["results"]) == {"image", "text", "speech"}
    assert out.count("delta_pts vs dense+retrain (equal budget)") == 3
    assert out.count(" dense: trained ") == 3  # progress: one line per finished training
    for name in ("image", "text", "speech"):
        assert (g["lesson"].out / f"ch07_{name}.png").stat().st_size > 1000
    for study, rows in g["results"].items():
        deltas = [r["delta_mean"] for r in rows if r["method"] not in ("dense", CONTROL)]
        control = min(r["acc_mean"] for r in rows if r["method"] == CONTROL)
        if control - rows[0]["chance"] < 0.02:  # a control at chance ranks nothing
            assert f"- {study}: the control of" in out and "no ranking" in out
        elif min(deltas) == max(deltas):  # a tie is reported as one, not as best and worst
            assert f"- {study}: every pruned model ended {min(deltas):+.2f} points" in out
        else:
            assert f"{min(deltas):+.2f} points with" in out, study


@pytest.mark.slow
def test_ch07_subset_and_options(run_lesson) -> None:
    g, out = run_lesson("ch07_case_studies", "--study", "speech", "--seeds", "3")
    assert set(g["results"]) == {"speech"} and g["seeds"] == (3,)
    assert "seed 3 conv1d+gru dense: trained" in out and "seed 0" not in out
