r"""Case study §7.3: pruning a Conv1d + GRU speech classifier.

Data: the built-in synthetic speech-like words
(:func:`nnprune.data.audio.make_speech_commands`, log-mel features; the
class is in the order of the sounds, so a model must track time), made
harder than its default with more white noise (``NOISE_STD``) so that the
dense model is not at 100%; or the Free Spoken Digit Dataset from a folder
of its WAV files (``fsdd_root``, :func:`nnprune.data.audio.load_fsdd`;
nothing is downloaded). Features are standardised per mel band with the
training set's statistics over the real frames; the padding after each
clip stays exactly zero. Model:
:class:`~nnprune.casestudies.speech_model.SpeechClassifier`,

``Transpose -> Conv1d(k=5, stride 2) -> ReLU -> Transpose -> GRU -> LastTimeStep -> Linear``,

where ``LastTimeStep`` reads each clip at its own last frame (FSDD clips
differ in length; the synthetic clips all have the same length, so there it
is the last frame).

Methods, each on a copy of the trained dense model and followed by the same
retraining budget, compared with the dense model given that budget unpruned
(``dense+retrain``):

* ``recurrent 80%``: global magnitude pruning of the GRU's ``weight_ih_l0``
  and ``weight_hh_l0`` together to 80% sparsity (Narang et al., 2017, prune
  recurrent weights by magnitude, gradually; here in one shot), then masked
  retraining;
* ``hidden units -50%``: remove half of the GRU's hidden units, lowest
  :math:`s_j = \sum_g \|W_{ih}[gH+j]\|_1 + \|W_{hh}[gH+j]\|_1` first,
  physically (:func:`nnprune.prune.prune_hidden_units`: every gate's rows, the
  recurrent columns and the ``Linear``'s input columns), then retraining.

References
----------
S. Narang, E. Elsen, G. Diamos and S. Sengupta, "Exploring Sparsity in
Recurrent Neural Networks", ICLR 2017.

Book: §6.3, §7.3 (corrected, see docs/errata.md#s7: no figure in this study is
taken from the book; all are measured).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn, prune
from ..data.audio import load_fsdd, make_speech_commands
from ..data.loader import Splits, train_val_test_split
from .common import CONTROL, Study, run_study
from .speech_model import SpeechClassifier

SPARSITY = 0.8
UNIT_FRACTION = 0.5
NOISE_STD = 0.4
SETTINGS = {  # full run / quick run
    "full": {"samples": 1500, "conv": 16, "hidden": 48, "epochs": 15, "retrain": 8},
    "quick": {"samples": 300, "conv": 8, "hidden": 16, "epochs": 2, "retrain": 1},
}
LR, RETRAIN_LR, BATCH = 3e-3, 1e-3, 32
METHODS = ("dense", CONTROL, "recurrent 80%", "hidden units -50%")


def speech_model(
    n_mels: int, num_classes: int, conv: int, hidden: int, seed: int, cell: str = "gru"
) -> SpeechClassifier:
    """The study's :class:`~nnprune.casestudies.speech_model.SpeechClassifier` on ``(N, T, F)``."""
    return SpeechClassifier(n_mels, num_classes, conv, hidden, cell=cell, seed=seed)


def recurrent_weights(model: nn.Module) -> list[str]:
    """Qualified names of every ``weight_ih_l{k}`` and ``weight_hh_l{k}`` in the model."""
    return [
        t.name
        for t in model.prunable_parameters()
        if isinstance(t.module, nn.GRU | nn.LSTM | nn.RNN) and t.attr.startswith("weight_")
    ]


def prune_recurrent(model: nn.Module, sparsity: float = SPARSITY) -> nn.Module:
    """Global L1 magnitude pruning of the recurrent weights only, in place."""
    return prune.to_sparsity(model, sparsity, names=recurrent_weights(model))


def remove_units(model: SpeechClassifier, amount: int | float = UNIT_FRACTION) -> tuple:
    """Remove ``amount`` of the GRU's hidden units (and the head's matching columns).

    ``amount`` as in PyTorch: a count, or a fraction of the hidden units.
    """
    return prune.prune_hidden_units(model.rnn, amount, next_layer=model.head)


def standardize_frames(
    X: np.ndarray, lengths: np.ndarray, train: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    r"""Standardise every mel band with the mean and std of the real frames of ``train``.

    .. math::  \tilde x_{ntf} = [t < \ell_n]\,(x_{ntf} - \mu_f) / (\sigma_f + 10^{-6})

    ``X`` ``(N, T, F)``, ``lengths`` ``(N,)``, ``train`` the indices of the
    training clips. Padding frames stay exactly zero, where
    :class:`~nnprune.casestudies.speech_model.SpeechClassifier` finds the end of each clip.
    Returns the float32 features and ``(mean, std)``.
    """
    real = np.arange(X.shape[1]) < lengths[:, None]  # (N, T), True = a frame of the clip
    frames = X[train][real[train]]  # (frames, F): training clips, real frames only
    mean, std = frames.mean(axis=0), frames.std(axis=0) + 1e-6
    out = np.where(real[:, :, None], (X - mean) / std, 0.0).astype(np.float32)
    return out, (mean, std)


def speech_splits(seed: int, samples: int, fsdd_root: str | None) -> Splits:
    """Standardised train/val/test features ``(N, T, F)``, synthetic or FSDD, padded at the end.

    The synthetic clips all have ``T`` frames; FSDD clips are padded to the
    longest, and their ``lengths`` (:func:`~nnprune.data.audio.load_fsdd`)
    keep the padding out of the statistics and at zero.
    """
    if fsdd_root is None:
        X, y = make_speech_commands(samples, seed=seed, noise_std=NOISE_STD)
        lengths = np.full(len(X), X.shape[1])
    else:
        X, y, lengths, _ = load_fsdd(fsdd_root)
    index = np.arange(len(X))
    parts = train_val_test_split(index, y, val_size=0.15, test_size=0.2, seed=seed)
    X, _ = standardize_frames(X, lengths, parts.train[0])
    return Splits(*[(X[idx], labels) for idx, labels in parts])


def recurrent_sparsity(model: nn.Module) -> dict[str, float]:
    """``{"rnn_sparsity": fraction of zeros}`` over the recurrent weight matrices."""
    params = dict(model.named_parameters())
    weights = [params[n] for n in recurrent_weights(model)]
    zeros = sum(int((p.data == 0).sum()) for p in weights)
    return {"rnn_sparsity": zeros / sum(p.size for p in weights)}


def speech_study(quick: bool = False, *, fsdd_root: str | None = None, cell: str = "gru") -> Study:
    """The §7.3 study: what differs from the other case studies (:class:`~.common.Study`)."""
    cfg = SETTINGS["quick" if quick else "full"]

    def build(family: str, splits: Splits, context: dict, seed: int) -> nn.Module:
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
        methods={
            "recurrent 80%": lambda model, *_: prune_recurrent(model),
            "hidden units -50%": lambda model, *_: remove_units(model),
        },
        input_shape=lambda splits: splits.train[0].shape[1:],  # (T, F)
        train={"epochs": cfg["epochs"], "lr": LR, **adam},
        retrain={"epochs": cfg["retrain"], "lr": RETRAIN_LR, **adam},
        figure="ch07_speech.png",
        extra=lambda model, dense: recurrent_sparsity(model),
    )


def run_speech_study(
    seeds: Sequence[int] = (0, 1, 2),
    quick: bool = False,
    out: str | None = "figures/ch07",
    *,
    fsdd_root: str | None = None,
    cell: str = "gru",
    backend: str = "numpy",
    verbose: bool = True,
) -> list[dict[str, Any]]:
    """Train, prune (recurrent weights, hidden units), retrain and measure; return the rows.

    Every method and the control ``dense+retrain`` continue from the same
    dense checkpoint with the same retraining budget; ``delta_pts`` is
    measured against the control (:mod:`nnprune.casestudies.common`).

    Parameters
    ----------
    seeds : sequence of int
        One full run (data, split, initial weights, shuffling) per seed.
    quick : bool
        Fewer utterances, a tiny model, 1-2 epochs: checks the pipeline only.
    out : str or None
        Folder for the plot; ``None`` skips it.
    fsdd_root : str, optional
        Folder of Free Spoken Digit Dataset WAV files.
    cell : {"gru", "lstm"}, default "gru"
    backend : {"numpy", "cupy"}, default "numpy"
        Where the models train and run (the data moves batch by batch).
    verbose : bool
        Print one line per finished training, then the tables.

    Returns
    -------
    list of dict
        Rows as :func:`nnprune.casestudies.common.summarize` makes them, plus
        ``rnn_sparsity`` (fraction of zeros in the recurrent weights) and ``dataset``.

    Raises
    ------
    RuntimeError
        If ``backend="cupy"`` and CuPy or a GPU is not available.

    Book: §7.3.
    """
    study = speech_study(quick, fsdd_root=fsdd_root, cell=cell)
    return run_study(study, seeds, out, backend=backend, verbose=verbose)


__all__ = [
    "prune_recurrent",
    "recurrent_weights",
    "remove_units",
    "run_speech_study",
    "speech_model",
    "speech_splits",
    "speech_study",
    "standardize_frames",
]
