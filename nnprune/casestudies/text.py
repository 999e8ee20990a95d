r"""Case study §7.2: pruning a small Transformer text classifier.

Data: the built-in synthetic set :func:`nnprune.data.text.make_text_classification`
(the label needs word order and negation: a bag of words is at chance), or
AG News from a folder holding ``train.csv`` and ``test.csv`` (``ag_news``;
nothing is downloaded). Model: :class:`~nnprune.casestudies.text_model.TransformerClassifier`
(embedding, sinusoidal positions, encoder layers with key padding masks,
masked mean pooling, ``Linear``). Methods, each on a copy of the trained
dense model and followed by the same retraining budget, compared with the
dense model given that budget unpruned (``dense+retrain``):

* ``heads -50%``: score every head by Michel et al.'s importance
  :math:`I_h = \mathbb E_x |\partial L/\partial \xi_h|` on the validation
  set (normalised per layer), remove the lowest half of all heads globally
  (at least one kept per layer) **physically**
  (:func:`nnprune.prune.prune_heads`), retrain;
* ``magnitude 80%``: global magnitude pruning of all ``Linear`` weights
  (the attention projections, the feed-forward layers and the head), masked
  retraining. The embedding table is left dense.

The book's §7 says "BERT 300 million" parameters (BERT-base has about 110M,
BERT-large about 340M) and quotes accuracy gains without a source; this
study prints what it measures on a model that trains here in seconds.

References
----------
P. Michel, O. Levy and G. Neubig, "Are Sixteen Heads Really Better than
One?", NeurIPS 2019.

Book: §6.2, §7.2 (corrected, see docs/errata.md#s7).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn, prune
from ..data.loader import Splits, train_val_test_split
from ..data.text import Tokenizer, Vocabulary, make_text_classification, pad_batch, read_ag_news
from .common import Study, run_study, weights_of
from .text_model import TransformerClassifier

SPARSITY = 0.8
HEAD_FRACTION = 0.5
SETTINGS = {  # full run / quick run
    "full": {"samples": 3000, "layers": 2, "epochs": 40, "retrain": 15},
    "quick": {"samples": 600, "layers": 1, "epochs": 2, "retrain": 1},
}
MODEL = {"d_model": 32, "nhead": 4, "dim_feedforward": 64}
LR, RETRAIN_LR, BATCH = 3e-3, 2e-3, 32
AG_NEWS = {"train_limit": 8000, "max_len": 48, "vocab": 10000}
METHODS = ("dense", "heads -50%", "magnitude 80%")


def encode_texts(
    texts: Sequence[str], vocab: Vocabulary | None = None, max_len: int | None = None
) -> tuple[np.ndarray, Vocabulary]:
    """Tokenise, build the vocabulary (from these texts if none is given), pad to ``(N, T)`` ids."""
    tok = Tokenizer()
    tokens = [tok(t) for t in texts]
    vocab = vocab or Vocabulary.build(tokens, max_size=AG_NEWS["vocab"])
    ids, _ = pad_batch([vocab.encode(t) for t in tokens], max_len=max_len, pad_id=vocab.pad_id)
    return ids, vocab


def text_splits(seed: int, samples: int, ag_news: str | None) -> tuple[Splits, Vocabulary]:
    """Train/val/test ids and labels, synthetic or AG News (vocabulary from the training texts)."""
    if ag_news is None:
        texts, y = make_text_classification(samples, seed=seed)
        ids, vocab = encode_texts(texts)
        return train_val_test_split(ids, y, val_size=0.15, test_size=0.2, seed=seed), vocab
    texts, y = read_ag_news(os.path.join(ag_news, "train.csv"))
    order = np.random.default_rng(seed).permutation(len(texts))[: AG_NEWS["train_limit"]]
    texts, y = [texts[i] for i in order], y[order]
    cut = int(0.9 * len(texts))
    ids, vocab = encode_texts(texts[:cut], max_len=AG_NEWS["max_len"])
    val_ids, _ = encode_texts(texts[cut:], vocab, AG_NEWS["max_len"])
    test_texts, y_test = read_ag_news(os.path.join(ag_news, "test.csv"))
    test_ids, _ = encode_texts(test_texts, vocab, AG_NEWS["max_len"])
    return Splits((ids, y[:cut]), (val_ids, y[cut:]), (test_ids, y_test)), vocab


def prune_half_heads(model: TransformerClassifier, data: tuple[Any, Any]) -> dict:
    """Score heads on ``data`` (Michel et al.) and remove the lowest half globally, physically."""
    scores = prune.head_importance(model, nn.CrossEntropyLoss(), data, batch_size=1)
    return prune.prune_heads(model, scores, HEAD_FRACTION, scope="global")


def magnitude_prune_linear(model: nn.Module, sparsity: float = SPARSITY) -> nn.Module:
    """Global L1 magnitude pruning of every ``Linear`` weight, in place."""
    return prune.to_sparsity(model, sparsity, names=weights_of(model, (nn.Linear,)))


def head_count(model: nn.Module) -> int:
    """Attention heads left in every encoder layer of a ``TransformerClassifier``."""
    return sum(layer.self_attn.num_heads for layer in model.encoder)


def text_study(quick: bool = False, *, ag_news: str | None = None) -> Study:
    """The §7.2 study: what differs from the other case studies (:class:`~.common.Study`)."""
    cfg = SETTINGS["quick" if quick else "full"]

    def load(seed: int) -> tuple[Splits, dict]:
        splits, vocab = text_splits(seed, cfg["samples"], ag_news)
        return splits, {"vocab": vocab}

    def build(family: str, splits: Splits, context: dict, seed: int) -> nn.Module:
        vocab = context["vocab"]
        return TransformerClassifier(
            len(vocab),
            int(splits.train[1].max()) + 1,
            num_layers=cfg["layers"],
            max_len=max(splits.train[0].shape[1], 16),
            pad_id=vocab.pad_id,
            seed=seed,
            **MODEL,
        )

    adam = {"lr": LR, "optimizer": "adam", "batch_size": BATCH}
    return Study(
        section="7.2",
        name="text",
        dataset="AG News" if ag_news else "synthetic order+negation",
        families=(f"transformer-{cfg['layers']}L",),
        load=load,
        build=build,
        methods={
            "heads -50%": lambda model, family, splits, context: prune_half_heads(
                model, splits.val
            ),
            "magnitude 80%": lambda model, *_: magnitude_prune_linear(model),
        },
        input_shape=lambda splits: (splits.train[0].shape[1],),
        train={"epochs": cfg["epochs"], **adam},
        retrain={"epochs": cfg["retrain"], **adam, "lr": RETRAIN_LR},
        figure="ch07_text.png",
        extra=lambda model, dense: {"heads": f"{head_count(model)}/{head_count(dense)}"},
    )


def run_text_study(
    seeds: Sequence[int] = (0, 1, 2),
    quick: bool = False,
    out: str | None = "figures/ch07",
    *,
    ag_news: str | None = None,
    backend: str = "numpy",
    verbose: bool = True,
) -> list[dict[str, Any]]:
    """Train, prune (heads, magnitude), retrain and measure; return the summary rows.

    Every method and the control ``dense+retrain`` continue from the same
    dense checkpoint with the same retraining budget; ``delta_pts`` is
    measured against the control (:mod:`nnprune.casestudies.common`).

    Parameters
    ----------
    seeds : sequence of int
        One full run (data, split, initial weights, shuffling) per seed.
    quick : bool
        Fewer sentences, one encoder layer, 1-2 epochs: checks the pipeline only.
    out : str or None
        Folder for the plot; ``None`` skips it.
    ag_news : str, optional
        Folder with AG News ``train.csv`` and ``test.csv``.
    backend : {"numpy", "cupy"}, default "numpy"
        Where the models train and run (the data moves batch by batch).
    verbose : bool
        Print one line per finished training, then the tables.

    Returns
    -------
    list of dict
        Rows as :func:`nnprune.casestudies.common.summarize` makes them, plus
        ``heads`` (heads left / heads before) and ``dataset``.

    Raises
    ------
    RuntimeError
        If ``backend="cupy"`` and CuPy or a GPU is not available.

    Book: §7.2.
    """
    return run_study(text_study(quick, ag_news=ag_news), seeds, out, backend=backend,
                     verbose=verbose)  # fmt: skip


__all__ = [
    "encode_texts",
    "magnitude_prune_linear",
    "prune_half_heads",
    "run_text_study",
    "text_splits",
    "text_study",
]
