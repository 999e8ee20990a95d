r"""Case study §7.2: a small Transformer text classifier (synthetic sentences or AG News).

Data: :func:`nnprune.data.splits.text_splits` (the label needs word order and negation: a
bag of words is at chance). Model: :class:`~nnprune.models_text.TransformerClassifier`.
Methods, each on a copy of the trained dense model, then the same retraining as the
control ``dense+retrain``:

* ``heads -50%``: Michel et al.'s head importance
  :math:`I_h = \mathbb E_x |\partial L/\partial \xi_h|` on the validation split, the lowest
  half of all heads removed physically (:func:`nnprune.prune.prune_heads`);
* ``magnitude 80%``: global magnitude pruning of every ``Linear`` weight (the embedding
  stays dense), masked retraining;
* ``AGSP 80% (book)``: §7.2's method, the same 80% chosen by :math:`\frac1B\sum_b |w_i
  g^{(b)}_i|` on the validation split (:func:`nnprune.saliency.agsp_scores`), not :math:`|w_i|`.

Reference: P. Michel, O. Levy and G. Neubig, "Are Sixteen Heads Really Better than One?",
NeurIPS 2019.

Book: §6.2, §7.2 (corrected, see docs/errata.md#s7).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import nn, prune
from ..data.splits import text_splits
from ..experiments.casestudy import Study, run_study, weights_of
from ..models_text import TransformerClassifier
from ..saliency import agsp_scores

SPARSITY = 0.8
HEAD_FRACTION = 0.5
SETTINGS = {  # full run / quick run
    "full": {"samples": 3000, "layers": 2, "epochs": 40, "retrain": 15},
    "quick": {"samples": 600, "layers": 1, "epochs": 2, "retrain": 1},
}
MODEL = {"d_model": 32, "nhead": 4, "dim_feedforward": 64}
LR, RETRAIN_LR, BATCH = 3e-3, 2e-3, 32
BOOK_METHOD = "AGSP 80% (book)"
METHODS = ("dense", "heads -50%", "magnitude 80%", BOOK_METHOD)


def prune_half_heads(model: TransformerClassifier, data: tuple[Any, Any]) -> dict:
    """Score heads on ``data`` (Michel et al.) and remove the lowest half globally, physically."""
    scores = prune.head_importance(model, nn.CrossEntropyLoss(), data, batch_size=1)
    return prune.prune_heads(model, scores, HEAD_FRACTION, scope="global")


def magnitude_prune_linear(model: nn.Module, sparsity: float = SPARSITY) -> nn.Module:
    """Global L1 magnitude pruning of every ``Linear`` weight, in place."""
    return prune.to_sparsity(model, sparsity, names=weights_of(model, (nn.Linear,)))


def agsp_prune_linear(model: nn.Module, data: tuple[Any, Any], sparsity: float = SPARSITY) -> None:
    """Prune ``sparsity`` of every ``Linear`` weight by AGSP scores on ``data``, in place."""
    names = weights_of(model, (nn.Linear,))
    scores = agsp_scores(model, nn.CrossEntropyLoss(), data, batch_size=BATCH)
    prune.to_sparsity(model, sparsity, scores={n: scores[n] for n in names}, names=names)


def head_count(model: nn.Module) -> int:
    """Attention heads left in every encoder layer of a ``TransformerClassifier``."""
    return sum(layer.self_attn.num_heads for layer in model.encoder)


def text_study(quick: bool = False, *, ag_news: str | None = None) -> Study:
    """The §7.2 study: what differs from the other case studies (a :class:`Study`)."""
    cfg = SETTINGS["quick" if quick else "full"]

    def load(seed: int) -> tuple[Any, dict]:
        splits, vocab = text_splits(seed, cfg["samples"], ag_news)
        return splits, {"vocab": vocab}

    def build(family: str, splits: Any, context: dict, seed: int) -> nn.Module:
        vocab = context["vocab"]
        return TransformerClassifier(
            len(vocab), int(splits.train[1].max()) + 1, num_layers=cfg["layers"],
            max_len=max(splits.train[0].shape[1], 16), pad_id=vocab.pad_id, seed=seed, **MODEL,
        )  # fmt: skip

    adam = {"lr": LR, "optimizer": "adam", "batch_size": BATCH}
    return Study(
        section="7.2", name="text",  # fmt: skip
        dataset="AG News" if ag_news else "synthetic order+negation",
        families=(f"transformer-{cfg['layers']}L",),
        load=load,
        build=build,
        methods={
            "heads -50%": lambda model, family, splits, ctx: prune_half_heads(model, splits.val),
            "magnitude 80%": lambda model, *_: magnitude_prune_linear(model),
            BOOK_METHOD: lambda model, family, splits, ctx: agsp_prune_linear(model, splits.val),
        },
        input_shape=lambda splits: (splits.train[0].shape[1],),
        train={"epochs": cfg["epochs"], **adam},
        retrain={"epochs": cfg["retrain"], **adam, "lr": RETRAIN_LR},
        figure="ch07_text.png",
        extra=lambda model, dense: {"heads": f"{head_count(model)}/{head_count(dense)}"},
    )


def run_text_study(seeds: Sequence[int] = (0, 1, 2), quick: bool = False,
                   out: str | None = "figures/ch07", *, ag_news: str | None = None,
                   backend: str = "numpy", verbose: bool = True,
                   ) -> list[dict[str, Any]]:  # fmt: skip
    """Train, prune (heads, magnitude, AGSP), retrain and measure; return the summary rows.

    ``quick``: fewer sentences, one encoder layer, 1-2 epochs (checks the pipeline
    only); ``ag_news``: a folder with AG News ``train.csv`` and ``test.csv``. Rows
    as :func:`nnprune.experiments.casestudy.summarize` makes them, plus ``heads``
    (left / before) and ``dataset``.

    Book: §7.2.
    """
    return run_study(text_study(quick, ag_news=ag_news), seeds, out, backend=backend,
                     verbose=verbose)  # fmt: skip


__all__ = ["agsp_prune_linear", "head_count", "magnitude_prune_linear", "prune_half_heads",
           "run_text_study", "text_study"]  # fmt: skip
