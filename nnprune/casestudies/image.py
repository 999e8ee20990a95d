r"""Case study §7.1: pruning image classifiers, a plain CNN and a small ResNet.

Data: the 8x8 handwritten digits bundled with scikit-learn (always
available); CIFAR-10 only if you pass the folder of its files
(``cifar_root``, read by :func:`nnprune.data.cifar.load_cifar10`; nothing is
downloaded). Models: :func:`nnprune.models.small_cnn` and
:func:`nnprune.models_resnet.small_resnet`. Methods, each applied to a copy of
the trained dense model and followed by the same retraining budget, compared
with the dense model given that budget unpruned (``dense+retrain``):

* ``magnitude 80%``: global magnitude pruning (Han et al., 2015),

  .. math::  M_{ij} = 1[\,|W_{ij}| > \tau\,],\quad
             \tau = \text{the } 0.8\text{-quantile of } |W| \text{ over all prunable weights},

  then masked retraining (the mask stays applied, :mod:`nnprune.optim`);
* ``filters -50%``: remove half of the filters of every convolution,
  lowest :math:`\ell_1` norm :math:`s_j = \sum |W_{j\cdot}|` first (Li et al., 2017),
  physically (the layers shrink, and so do the next layers' inputs). For the
  ResNet: half of each block's inner channels
  (:func:`~nnprune.prune.prune_block_inner`) and half of each channel group
  coupled by the residual additions
  (:func:`~nnprune.prune.prune_coupled_channels`, scored over all its
  producers).

The book's §7 quotes "ResNet-50 ... 138 million parameters" (ResNet-50 has
about 25.6M; 138M is VGG-16) and accuracy gains without a source; this study
prints what it measures instead.

References
----------
S. Han, J. Pool, J. Tran and W. J. Dally, "Learning both Weights and
Connections for Efficient Neural Networks", NeurIPS 2015.
H. Li, A. Kadav, I. Durdanovic, H. Samet and H. P. Graf, "Pruning Filters for
Efficient ConvNets", ICLR 2017.

Book: §6.1, §7.1 (corrected, see docs/errata.md#s7).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import nn, prune
from ..data import digits_splits
from ..data.loader import Splits, Standardizer, train_val_test_split
from ..models import small_cnn
from ..models_resnet import small_resnet
from ..prune._checks import amount_to_count
from ..prune.importance import lowest
from .common import CONTROL, Study, run_study, weights_of

SPARSITY = 0.8
FILTER_FRACTION = 0.5
SETTINGS = {  # full run / quick run
    "full": {"epochs": 15, "retrain": 6, "lr": 0.05, "retrain_lr": 0.02, "batch": 64},
    "quick": {"epochs": 2, "retrain": 1, "lr": 0.05, "retrain_lr": 0.02, "batch": 64},
}
CNN_CHANNELS = {"full": (16, 32), "quick": (8, 16)}
RESNET_WIDTHS = {"full": (16, 32), "quick": (4, 8)}
METHODS = ("dense", CONTROL, "magnitude 80%", "filters -50%")


def magnitude_prune(model: nn.Module, sparsity: float = SPARSITY) -> nn.Module:
    """Global L1 magnitude pruning of every ``Conv2d`` and ``Linear`` weight, in place."""
    return prune.to_sparsity(model, sparsity, names=weights_of(model, (nn.Conv2d, nn.Linear)))


def remove_cnn_filters(model: nn.Module, input_shape: Sequence[int], amount: int | float) -> None:
    """Remove ``amount`` of the filters of every ``Conv2d`` of a plain CNN (lowest L1 first).

    ``amount`` as in PyTorch: a count, or a fraction of each layer's filters.
    """
    for conv in [m for m in model.modules() if isinstance(m, nn.Conv2d)]:
        prune.prune_units(model, conv, amount, "l1", input_shape=tuple(input_shape))


def remove_resnet_filters(model: nn.Module, amount: int | float) -> None:
    """Remove ``amount`` of the inner channels of every block and of every coupled group.

    ``amount`` as in PyTorch: a count, or a fraction of each block's or group's channels.
    """
    for name, module in model.named_children():
        if isinstance(module, nn.BasicBlock):
            prune.prune_block_inner(model, name, amount, "l1")
    for group in prune.channel_groups(model):
        if group.prunable:
            scores = prune.coupled_channel_scores(model, group.name, "l1")
            drop = lowest(scores, amount_to_count(amount, group.channels, "channels"))
            prune.prune_coupled_channels(model, group.name, drop)


def _cifar_splits(root: str, seed: int, limit: int | None) -> Splits:
    from ..data.cifar import load_cifar10

    X, y = load_cifar10(root, train=True)
    X_test, y_test = load_cifar10(root, train=False)
    if limit is not None:
        X, y = X[:limit], y[:limit]
    X = X.astype(np.float32).reshape(len(X), -1)
    train, val, _ = train_val_test_split(X, y, val_size=0.1, test_size=0.1, seed=seed)
    scaler = Standardizer().fit(train[0])
    shape = (-1, 3, 32, 32)
    prep = [(scaler.transform(a).astype(np.float32).reshape(shape), b) for a, b in (train, val)]
    test = (scaler.transform(X_test.astype(np.float32).reshape(len(X_test), -1)), y_test)
    return Splits(*prep, (test[0].astype(np.float32).reshape(shape), test[1]))


def image_study(
    quick: bool = False,
    *,
    models: Sequence[str] = ("cnn", "resnet"),
    cifar_root: str | None = None,
    cifar_limit: int | None = 10000,
) -> Study:
    """The §7.1 study: what differs from the other case studies (:class:`~.common.Study`)."""
    for family in models:
        if family not in ("cnn", "resnet"):
            raise ValueError(f"models must name 'cnn' and/or 'resnet', got {family!r}")
    mode = "quick" if quick else "full"
    cfg = SETTINGS[mode]
    shape = (3, 32, 32) if cifar_root else (1, 8, 8)

    def load(seed: int) -> tuple[Splits, dict]:
        if cifar_root:
            return _cifar_splits(cifar_root, seed, cifar_limit), {}
        return digits_splits(seed, flatten=False), {}

    def build(family: str, splits: Splits, context: dict, seed: int) -> nn.Module:
        if family == "cnn":
            return small_cnn(shape[0], 10, shape[1], channels=CNN_CHANNELS[mode], seed=seed)
        return small_resnet(shape[0], 10, widths=RESNET_WIDTHS[mode], seed=seed)

    def remove_filters(model: nn.Module, family: str, splits: Splits, context: dict) -> None:
        if family == "cnn":
            remove_cnn_filters(model, shape, FILTER_FRACTION)
        else:
            remove_resnet_filters(model, FILTER_FRACTION)

    batch = {"batch_size": cfg["batch"]}
    return Study(
        section="7.1",
        name="image",
        dataset="CIFAR-10" if cifar_root else "digits 8x8",
        families=tuple(models),
        load=load,
        build=build,
        methods={
            "magnitude 80%": lambda model, *_: magnitude_prune(model),
            "filters -50%": remove_filters,
        },
        input_shape=lambda splits: shape,
        train={"epochs": cfg["epochs"], "lr": cfg["lr"], **batch},
        retrain={"epochs": cfg["retrain"], "lr": cfg["retrain_lr"], **batch},
        figure="ch07_image.png",
    )


def run_image_study(
    seeds: Sequence[int] = (0, 1, 2),
    quick: bool = False,
    out: str | None = "figures/ch07",
    *,
    models: Sequence[str] = ("cnn", "resnet"),
    cifar_root: str | None = None,
    cifar_limit: int | None = 10000,
    backend: str = "numpy",
    verbose: bool = True,
) -> list[dict[str, Any]]:
    """Train, prune (two methods), retrain and measure; return the summary rows.

    Parameters
    ----------
    seeds : sequence of int
        One full run (split, initial weights, shuffling) per seed.
    quick : bool
        Tiny models and 1-2 epochs: checks the pipeline, not the quality.
    out : str or None
        Folder for the plot; ``None`` skips it.
    models : subset of ("cnn", "resnet")
    cifar_root : str, optional
        Folder with the CIFAR-10 files: the study then runs on CIFAR-10
        (3x32x32, the first ``cifar_limit`` training images) instead of digits.
    backend : {"numpy", "cupy"}, default "numpy"
        Where the models train and run (the data moves batch by batch).
    verbose : bool
        Print one line per finished training, then the tables.

    Returns
    -------
    list of dict
        One row per (model, method) as :func:`nnprune.casestudies.common.summarize`
        makes them, plus ``dataset``.

    Raises
    ------
    ValueError
        If ``models`` names an unknown family.
    RuntimeError
        If ``backend="cupy"`` and CuPy or a GPU is not available.

    Book: §7.1.
    """
    study = image_study(quick, models=models, cifar_root=cifar_root, cifar_limit=cifar_limit)
    return run_study(study, seeds, out, backend=backend, verbose=verbose)


__all__ = [
    "magnitude_prune",
    "remove_cnn_filters",
    "image_study",
    "remove_resnet_filters",
    "run_image_study",
]
