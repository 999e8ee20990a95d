r"""Case study §7.3: pruning a Conv1d + GRU speech classifier.

Data: the built-in synthetic speech-like words
(:func:`nnprune.data.audio.make_speech_commands`, log-mel features; the
class is in the order of the sounds, so a model must track time), made
harder than its default with more white noise (``NOISE_STD``) so that the
dense model is not at 100%; or the Free Spoken Digit Dataset from a folder
of its WAV files (``fsdd_root``, :func:`nnprune.data.audio.load_fsdd`;
nothing is downloaded). Features are standardised per mel band with the
training set's statistics. Model, one ``Sequential``:

``Transpose -> Conv1d(k=5, stride 2) -> ReLU -> Transpose -> GRU -> LastTimeStep -> Linear``.

Methods, each on a copy of the trained dense model and followed by the same
retraining budget:

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

Book: §6.3, §7.3 (corrected, see BOOK.md errata: no figure in this study is
taken from the book; all are measured).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn, prune
from ..data.audio import load_fsdd, make_speech_commands
from ..data.loader import Splits, train_val_test_split
from ..metrics import flops as count_flops
from ..rng import as_generator
from .common import add_latency, clone, format_study, measure, plot_study, summarize, train_model

SPARSITY = 0.8
UNIT_FRACTION = 0.5
NOISE_STD = 0.4
SETTINGS = {  # full run / quick run
    "full": {"samples": 1500, "conv": 16, "hidden": 48, "epochs": 15, "retrain": 8},
    "quick": {"samples": 300, "conv": 8, "hidden": 16, "epochs": 2, "retrain": 1},
}
LR, RETRAIN_LR, BATCH = 3e-3, 1e-3, 32
LATENCY_REPEATS = {"full": 20, "quick": 3}
METHODS = ("dense", "recurrent 80%", "hidden units -50%")
_NO_MACS = (nn.Transpose, nn.LastTimeStep)


def speech_model(
    n_mels: int, num_classes: int, conv: int, hidden: int, seed: int, cell: str = "gru"
) -> nn.Sequential:
    """``Transpose, Conv1d, ReLU, Transpose, GRU/LSTM, LastTimeStep, Linear`` on ``(N, T, F)``."""
    rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
    gen = as_generator(seed)
    return nn.Sequential(
        nn.Transpose(1, 2),  # (N, F, T): Conv1d reads channels first
        nn.Conv1d(n_mels, conv, 5, stride=2, padding=2, rng=gen),
        nn.ReLU(),
        nn.Transpose(1, 2),  # (N, T', C): the GRU reads time first
        rnn(conv, hidden, rng=gen),
        nn.LastTimeStep(),
        nn.Linear(hidden, num_classes, rng=gen),
    )


def chain_flops(model: nn.Sequential, input_shape: Sequence[int]) -> tuple[int, int]:
    """``metrics.flops`` layer by layer along a ``Sequential``; glue layers count 0.

    ``Transpose`` and ``LastTimeStep`` only move or pick entries (no
    multiply-accumulate); every other layer is counted by
    :func:`nnprune.metrics.flops` with the input shape it sees.
    """
    was_training = model.training
    model.eval()
    x = np.zeros((1, *input_shape), dtype=np.float32)
    total = nonzero = 0
    try:
        for m in model:
            if not isinstance(m, _NO_MACS):
                f, f_nz = count_flops(nn.Sequential(m), x.shape[1:])
                total, nonzero = total + f, nonzero + f_nz
            x = m.forward(x)
    finally:
        model.train(was_training)
    return total, nonzero


def recurrent_weights(model: nn.Sequential) -> list[tuple[Any, str]]:
    """``(rnn, name)`` of every ``weight_ih_l{k}`` and ``weight_hh_l{k}`` in the model."""
    return [
        (m, name)
        for m in model.modules()
        if isinstance(m, nn.GRU | nn.LSTM | nn.RNN)
        for name, _ in m.named_parameters()
        if name.startswith("weight_")
    ]


def prune_recurrent(model: nn.Sequential, sparsity: float = SPARSITY) -> nn.Sequential:
    """Global L1 magnitude pruning of the recurrent weights only, in place."""
    prune.global_unstructured(recurrent_weights(model), prune.L1Unstructured, sparsity)
    return model


def remove_units(model: nn.Sequential, fraction: float = UNIT_FRACTION) -> tuple:
    """Remove ``fraction`` of the GRU's hidden units (and the head's matching columns)."""
    rnn, head = model[4], model[6]
    return prune.prune_hidden_units(rnn, fraction, next_layer=head)


def _standardize(splits: Splits) -> Splits:
    mean = splits.train[0].mean(axis=(0, 1))  # (F,): per mel band, training set only
    std = splits.train[0].std(axis=(0, 1)) + 1e-6
    return Splits(*[(((X - mean) / std).astype(np.float32), y) for X, y in splits])


def speech_splits(seed: int, samples: int, fsdd_root: str | None) -> Splits:
    """Standardised train/val/test log-mel features ``(N, T, F)``, synthetic or FSDD."""
    if fsdd_root is None:
        X, y = make_speech_commands(samples, seed=seed, noise_std=NOISE_STD)
    else:
        X, y = load_fsdd(fsdd_root)[:2]
    return _standardize(train_val_test_split(X, y, val_size=0.15, test_size=0.2, seed=seed))


def run_speech_study(
    seeds: Sequence[int] = (0, 1, 2),
    quick: bool = False,
    out: str | None = "figures/ch07",
    *,
    fsdd_root: str | None = None,
    cell: str = "gru",
    verbose: bool = True,
) -> list[dict[str, Any]]:
    """Train, prune (recurrent weights, hidden units), retrain and measure; return the rows.

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
    verbose : bool
        Print the table.

    Returns
    -------
    list of dict
        Rows as :func:`nnprune.casestudies.common.summarize` makes them, plus
        ``rnn_sparsity`` (fraction of zeros in the recurrent weights) and ``dataset``.

    Book: §7.3.
    """
    mode = "quick" if quick else "full"
    cfg = SETTINGS[mode]
    dataset = "FSDD" if fsdd_root else f"synthetic speech (noise {NOISE_STD})"
    family = f"conv1d+{cell}"
    records: list[dict] = []
    timed: dict[tuple[str, str], nn.Module] = {}
    x_time = None
    for seed in seeds:
        splits = speech_splits(seed, cfg["samples"], fsdd_root)
        shape = splits.train[0].shape[1:]  # (T, F)
        classes = int(splits.train[1].max()) + 1
        dense = speech_model(shape[1], classes, cfg["conv"], cfg["hidden"], seed, cell)
        train_model(
            dense,
            splits.train,
            None,
            epochs=cfg["epochs"],
            lr=LR,
            seed=seed,
            optimizer="adam",
            batch_size=BATCH,
        )
        thin = clone(dense)
        remove_units(thin)
        variants = {
            "dense": dense,
            "recurrent 80%": prune_recurrent(clone(dense)),
            "hidden units -50%": thin,
        }
        for method, model in variants.items():
            if method != "dense":
                train_model(
                    model,
                    splits.train,
                    None,
                    epochs=cfg["retrain"],
                    lr=RETRAIN_LR,
                    seed=seed,
                    optimizer="adam",
                    batch_size=BATCH,
                )
            row = measure(model, splits.test, shape, flops_fallback=lambda m: chain_flops(m, shape))  # noqa: B023
            weights = [getattr(m, n) for m, n in recurrent_weights(model)]
            zeros = sum(int(np.sum(p.data == 0)) for p in weights)
            row["rnn_sparsity"] = zeros / sum(p.size for p in weights)
            records.append({"model": family, "method": method, "seed": seed, **row})
            if seed == seeds[0]:
                timed[(family, method)] = model
        if x_time is None:
            x_time = splits.test[0][:256]
    add_latency(records, timed, x_time, LATENCY_REPEATS[mode])
    rows = summarize(records)
    for r in rows:
        r["dataset"] = dataset
    title = (
        f"§7.3 speech: {dataset}, {len(seeds)} seed(s), dense {cfg['epochs']} epochs (Adam), "
        f"retrain {cfg['retrain']} epochs per method, latency: batch of {x_time.shape[0]} "
        f"x {x_time.shape[1]} frames"
    )
    if verbose:
        print(format_study(rows, title))
        print(
            "recurrent-weight sparsity: "
            + ", ".join(f"{r['method']} {r['rnn_sparsity']:.1%}" for r in rows)
        )
    if out is not None:
        path = plot_study(rows, out, "ch07_speech.png", title)
        if verbose:
            print(f"plot: {path}")
    return rows


__all__ = [
    "chain_flops",
    "prune_recurrent",
    "recurrent_weights",
    "remove_units",
    "run_speech_study",
    "speech_model",
    "speech_splits",
]
