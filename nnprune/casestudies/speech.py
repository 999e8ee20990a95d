r"""Case study §7.3: a Conv1d + GRU speech classifier (synthetic words or FSDD).

Data: :func:`nnprune.data.splits.speech_splits`. Model:
:class:`~nnprune.models_speech.SpeechClassifier` (``Conv1d(k=5, stride 2) -> GRU -> last
valid step -> Linear``). Methods, each on a copy of the trained dense model, then the same
retraining as the control ``dense+retrain``:

* ``recurrent 80%``: global magnitude pruning of ``weight_ih_l0`` and ``weight_hh_l0``
  together (Narang et al. 2017, here in one shot), masked retraining;
* ``hidden units -50%``: half of the GRU's hidden units, lowest
  :math:`s_j = \sum_g \|W_{ih}[gH+j]\|_1 + \|W_{hh}[gH+j]\|_1` first, removed physically
  (:func:`nnprune.prune.prune_hidden_units`);
* ``L1+threshold 80% (book)``: §7.3's L1 penalty with a rising threshold on the same
  weights, in the control's budget (:func:`nnprune.pipeline.l1_threshold_prune`).

Reference: S. Narang et al., "Exploring Sparsity in Recurrent Neural Networks", ICLR 2017.

Book: §6.3, §7.3 (corrected, see docs/errata.md#s7).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import nn, prune
from ..data.splits import SPEECH_NOISE_STD, speech_splits, standardize_frames
from ..experiments.casestudy import CONTROL, Study, l1_threshold_trainer, run_study
from ..models_speech import SpeechClassifier

SPARSITY = 0.8
UNIT_FRACTION = 0.5
NOISE_STD = SPEECH_NOISE_STD
SETTINGS = {  # full run / quick run
    "full": {"samples": 1500, "conv": 16, "hidden": 48, "epochs": 15, "retrain": 8},
    "quick": {"samples": 300, "conv": 8, "hidden": 16, "epochs": 2, "retrain": 1},
}
LR, RETRAIN_LR, BATCH = 3e-3, 1e-3, 32
LAM, BOOK_METHOD = 1e-3, "L1+threshold 80% (book)"  # the book's method and its lambda
METHODS = ("dense", CONTROL, "recurrent 80%", "hidden units -50%", BOOK_METHOD)


def speech_model(
    n_mels: int, num_classes: int, conv: int, hidden: int, seed: int, cell: str = "gru"
) -> SpeechClassifier:
    """The study's :class:`~nnprune.models_speech.SpeechClassifier` on ``(N, T, F)``."""
    return SpeechClassifier(n_mels, num_classes, conv, hidden, cell=cell, seed=seed)


def recurrent_weights(model: nn.Module) -> list[str]:
    """Qualified names of every ``weight_ih_l{k}`` and ``weight_hh_l{k}`` in the model."""
    recurrent = nn.GRU | nn.LSTM | nn.RNN
    return [t.name for t in model.prunable_parameters()
            if isinstance(t.module, recurrent) and t.attr.startswith("weight_")]  # fmt: skip


def prune_recurrent(model: nn.Module, sparsity: float = SPARSITY) -> nn.Module:
    """Global L1 magnitude pruning of the recurrent weights only, in place."""
    return prune.to_sparsity(model, sparsity, names=recurrent_weights(model))


def remove_units(model: SpeechClassifier, amount: int | float = UNIT_FRACTION) -> tuple:
    """Remove ``amount`` (a count or a fraction) of the GRU's hidden units and head columns."""
    return prune.prune_hidden_units(model.rnn, amount, next_layer=model.head)


def recurrent_sparsity(model: nn.Module) -> dict[str, float]:
    """``{"rnn_sparsity": fraction of zeros}`` over the recurrent weight matrices."""
    params = dict(model.named_parameters())
    weights = [params[n] for n in recurrent_weights(model)]
    zeros = sum(int((p.data == 0).sum()) for p in weights)
    return {"rnn_sparsity": zeros / sum(p.size for p in weights)}


def speech_study(quick: bool = False, *, fsdd_root: str | None = None, cell: str = "gru",
                 lam: float = LAM) -> Study:  # fmt: skip
    """The §7.3 study: what differs from the other case studies (a :class:`Study`)."""
    cfg = SETTINGS["quick" if quick else "full"]

    def build(family: str, splits: Any, context: dict, seed: int) -> nn.Module:
        n_mels, classes = splits.train[0].shape[2], int(splits.train[1].max()) + 1
        return speech_model(n_mels, classes, cfg["conv"], cfg["hidden"], seed, cell)

    adam = {"optimizer": "adam", "batch_size": BATCH}
    return Study(
        section="7.3",
        name="speech",
        dataset="FSDD" if fsdd_root else f"synthetic speech (noise {NOISE_STD})",
        families=(f"conv1d+{cell}",),
        load=lambda seed: (speech_splits(seed, cfg["samples"], fsdd_root), {}),
        build=build,
        methods={"recurrent 80%": lambda model, *_: prune_recurrent(model),
                 "hidden units -50%": lambda model, *_: remove_units(model)},  # fmt: skip
        input_shape=lambda splits: splits.train[0].shape[1:],  # (T, F)
        train={"epochs": cfg["epochs"], "lr": LR, **adam},
        retrain={"epochs": cfg["retrain"], "lr": RETRAIN_LR, **adam},
        figure="ch07_speech.png",
        extra=lambda model, dense: recurrent_sparsity(model),
        trained={BOOK_METHOD: l1_threshold_trainer(recurrent_weights, lam, SPARSITY)},
    )


def run_speech_study(seeds: Sequence[int] = (0, 1, 2), quick: bool = False,
                     out: str | None = "figures/ch07", *, fsdd_root: str | None = None,
                     cell: str = "gru", lam: float = LAM, backend: str = "numpy",
                     verbose: bool = True) -> list[dict[str, Any]]:  # fmt: skip
    """Train, prune (recurrent weights, hidden units), retrain and measure; return the rows.

    ``quick``: fewer clips, a tiny model, 1-2 epochs (checks the pipeline only);
    ``fsdd_root``: a folder of Free Spoken Digit Dataset WAV files; ``cell``:
    ``"gru"`` or ``"lstm"``; ``lam``: the L1 strength of the book's method. Rows as
    :func:`nnprune.experiments.casestudy.summarize` makes them, plus ``rnn_sparsity`` and
    ``dataset``.

    Book: §7.3.
    """
    study = speech_study(quick, fsdd_root=fsdd_root, cell=cell, lam=lam)
    return run_study(study, seeds, out, backend=backend, verbose=verbose)


__all__ = ["prune_recurrent", "recurrent_weights", "remove_units", "run_speech_study",
           "speech_model", "speech_splits", "speech_study", "standardize_frames"]  # fmt: skip
