"""The pydoc corpus loader and the tiny causal character language model."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnprune import io
from nnprune.data.pydoc_corpus import CHARS, char_windows, encode_chars, load_pydoc_corpus
from nnprune.gradcheck import gradcheck
from nnprune.models_lm import CharTransformerLM, lm_perplexity


def test_corpus_split_by_topic_is_seeded_and_disjoint():
    from pydoc_data.topics import topics

    corpus = load_pydoc_corpus(val_fraction=0.1, seed=0)
    assert set(corpus.train_topics).isdisjoint(corpus.val_topics)
    assert set(corpus.train_topics) | set(corpus.val_topics) == set(topics)
    total = len(corpus.train) + len(corpus.val)
    assert corpus.val.size >= 0.1 * total - 2 * len(topics)
    assert corpus.vocab_size == 96 and corpus.train.dtype == np.int64
    again = load_pydoc_corpus(val_fraction=0.1, seed=0)
    np.testing.assert_array_equal(again.val, corpus.val)
    assert load_pydoc_corpus(seed=1).val_topics != corpus.val_topics
    first = corpus.val_topics[0]
    assert corpus.decode(corpus.val[:40]) == topics[first].strip("\n")[:40].replace("’", "'")


def test_encode_chars_and_windows():
    ids = encode_chars("a’b\n…")
    assert [CHARS[i] for i in ids] == ["a", "'", "b", "\n", "?"]
    x, y = char_windows(np.arange(10), 4)
    np.testing.assert_array_equal(x, [[0, 1, 2, 3], [4, 5, 6, 7]])
    np.testing.assert_array_equal(y, x + 1)
    x, _ = char_windows(np.arange(10), 4, stride=3)
    np.testing.assert_array_equal(x[:, 0], [0, 3])
    with pytest.raises(ValueError, match="at least context \\+ 1 = 11 ids"):
        char_windows(np.arange(10), 10)
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 0.5\], got 0.9"):
        load_pydoc_corpus(val_fraction=0.9)


def _tiny(**kwargs):
    args = dict(d_model=8, nhead=2, num_layers=2, dim_feedforward=12, context=6, seed=0)
    return CharTransformerLM(10, **{**args, **kwargs})


def test_lm_gradcheck(rng):
    model = _tiny().double()
    for name, p in model.named_parameters():
        if name.endswith("bias"):
            p.data = 0.3 * rng.normal(size=p.shape)
    for layer in model.layers:
        layer.self_attn.k_proj.bias.requires_grad = False  # exact gradient 0 (softmax shift)
    ids = rng.integers(0, 10, size=(2, 5))
    report = gradcheck(model, ids, check_input=False)
    assert "embedding.weight" in report.errors and "pos_embedding.weight" in report.errors


def test_lm_is_causal_and_scores_perplexity(rng):
    model = _tiny().eval()
    ids = rng.integers(0, 10, size=(3, 6))
    changed = ids.copy()
    changed[:, 4] = (changed[:, 4] + 1) % 10
    np.testing.assert_array_equal(model(changed)[:, :4], model(ids)[:, :4])
    assert np.abs(model(changed)[:, 4:] - model(ids)[:, 4:]).max() > 1e-4
    targets = rng.integers(0, 10, size=(3, 6))
    logits = model(ids).astype(np.float64)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    nll = -np.mean([math.log(p[n, t, targets[n, t]]) for n in range(3) for t in range(6)])
    scores = lm_perplexity(model, ids, targets, batch_size=2)
    assert scores["loss"] == pytest.approx(nll, rel=1e-5)
    assert scores["perplexity"] == pytest.approx(math.exp(nll), rel=1e-5)
    assert scores["bits_per_char"] == pytest.approx(nll / math.log(2), rel=1e-5)


def test_lm_roundtrips_through_io_and_rejects_bad_input(tmp_path, rng):
    model = _tiny()
    ids = rng.integers(0, 10, size=(2, 6))
    io.save(model, tmp_path / "lm.npz")
    other = _tiny(seed=1)
    io.load(other, tmp_path / "lm.npz")
    np.testing.assert_array_equal(other.eval()(ids), model.eval()(ids))
    with pytest.raises(ValueError, match="sequence length 7 > context 6"):
        model(np.zeros((1, 7), int))
    with pytest.raises(ValueError, match=r"token ids of shape \(N, T\), got \(6,\)"):
        model(np.zeros(6, int))


def test_oneshot_figure_is_readable(monkeypatch, tmp_path):
    import matplotlib.pyplot as plt

    from nnprune.plots import figure_problems, llm

    figures = []
    monkeypatch.setattr(llm, "save_figure", lambda fig, out, name: figures.append(fig) or name)
    rows = [{"method": "dense", "pattern": "-", "ppl": [4.0]}] + [
        {"method": m, "pattern": p, "ppl": [5.0 + k, 5.5 + k]}
        for k, m in enumerate(("magnitude", "wanda", "sparsegpt"))
        for p in ("50%", "2:4")
    ]
    assert llm.oneshot_perplexity(rows, 4.0, tmp_path) == "ch08_oneshot_lm_perplexity.png"
    (fig,) = figures
    assert figure_problems(fig) == []
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["dense 4.00", "magnitude", "wanda", "sparsegpt"]
    assert len(fig.axes[0].patches) == 6  # 3 methods x 2 patterns, no bar for dense
    plt.close(fig)
