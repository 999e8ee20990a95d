r"""Case study §7.1: a plain CNN and a small ResNet on the digits (CIFAR-10 with ``cifar_root``).

Methods, each on a copy of the trained dense model, then the same retraining as the
control ``dense+retrain`` (:mod:`nnprune.experiments.casestudy`):

* ``magnitude 80%``: global magnitude pruning (Han et al. 2015), masks kept while retraining;
* ``filters -50%``: half of the filters of every convolution, lowest L1 norm first (Li et
  al. 2017), removed physically; in the ResNet, half of each block's inner channels and of
  each channel group that the residual additions couple;
* ``L1+threshold 80% (book)``: §7.1's L1 penalty with a rising threshold, in the control's
  budget (:func:`nnprune.pipeline.l1_threshold_prune`).

References: S. Han et al., NeurIPS 2015; H. Li et al., "Pruning Filters for Efficient
ConvNets", ICLR 2017.

Book: §6.1, §7.1 (corrected, see docs/errata.md#s7).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import nn, prune
from ..data import digits_splits
from ..data.splits import cifar_splits
from ..experiments.casestudy import CONTROL, Study, l1_threshold_trainer, run_study, weights_of
from ..models import small_cnn
from ..models_resnet import small_resnet
from ..prune._checks import amount_to_count
from ..prune.importance import lowest

SPARSITY = 0.8
FILTER_FRACTION = 0.5
SETTINGS = {  # full run / quick run
    "full": {"epochs": 15, "retrain": 6, "lr": 0.05, "retrain_lr": 0.02, "batch": 64},
    "quick": {"epochs": 2, "retrain": 1, "lr": 0.05, "retrain_lr": 0.02, "batch": 64},
}
CNN_CHANNELS = {"full": (16, 32), "quick": (8, 16)}
RESNET_WIDTHS = {"full": (16, 32), "quick": (4, 8)}
LAM, BOOK_METHOD = 5e-3, "L1+threshold 80% (book)"  # the book's method and its lambda
METHODS = ("dense", CONTROL, "magnitude 80%", "filters -50%", BOOK_METHOD)


def magnitude_prune(model: nn.Module, sparsity: float = SPARSITY) -> nn.Module:
    """Global L1 magnitude pruning of every ``Conv2d`` and ``Linear`` weight, in place."""
    return prune.to_sparsity(model, sparsity, names=weights_of(model, (nn.Conv2d, nn.Linear)))


def remove_cnn_filters(model: nn.Module, input_shape: Sequence[int], amount: int | float) -> None:
    """Remove ``amount`` (a count or a fraction) of every ``Conv2d``'s filters, lowest L1 first."""
    for conv in [m for m in model.modules() if isinstance(m, nn.Conv2d)]:
        prune.prune_units(model, conv, amount, "l1", input_shape=tuple(input_shape))


def remove_resnet_filters(model: nn.Module, amount: int | float) -> None:
    """Remove ``amount`` of the inner channels of every block and of every coupled group."""
    for name, module in model.named_children():
        if isinstance(module, nn.BasicBlock):
            prune.prune_block_inner(model, name, amount, "l1")
    for group in prune.channel_groups(model):
        if group.prunable:
            scores = prune.coupled_channel_scores(model, group.name, "l1")
            drop = lowest(scores, amount_to_count(amount, group.channels, "channels"))
            prune.prune_coupled_channels(model, group.name, drop)


def image_study(quick: bool = False, *, models: Sequence[str] = ("cnn", "resnet"),
                cifar_root: str | None = None, cifar_limit: int | None = 10000,
                lam: float = LAM) -> Study:  # fmt: skip
    """The §7.1 study: what differs from the other case studies (a :class:`Study`)."""
    for family in models:
        if family not in ("cnn", "resnet"):
            raise ValueError(f"models must name 'cnn' and/or 'resnet', got {family!r}")
    mode = "quick" if quick else "full"
    cfg = SETTINGS[mode]
    shape = (3, 32, 32) if cifar_root else (1, 8, 8)

    def load(seed: int) -> tuple[Any, dict]:
        if cifar_root:
            return cifar_splits(cifar_root, seed, cifar_limit), {}
        return digits_splits(seed, flatten=False), {}

    def build(family: str, splits: Any, context: dict, seed: int) -> nn.Module:
        if family == "cnn":
            return small_cnn(shape[0], 10, shape[1], channels=CNN_CHANNELS[mode], seed=seed)
        return small_resnet(shape[0], 10, widths=RESNET_WIDTHS[mode], seed=seed)

    def remove_filters(model: nn.Module, family: str, splits: Any, context: dict) -> None:
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
        methods={"magnitude 80%": lambda model, *_: magnitude_prune(model),
                 "filters -50%": remove_filters},  # fmt: skip
        input_shape=lambda splits: shape,
        train={"epochs": cfg["epochs"], "lr": cfg["lr"], **batch},
        retrain={"epochs": cfg["retrain"], "lr": cfg["retrain_lr"], **batch},
        figure="ch07_image.png",
        trained={BOOK_METHOD: l1_threshold_trainer(
            lambda model: weights_of(model, (nn.Conv2d, nn.Linear)), lam, SPARSITY)},
    )


def run_image_study(seeds: Sequence[int] = (0, 1, 2), quick: bool = False,
                    out: str | None = "figures/ch07", *,
                    models: Sequence[str] = ("cnn", "resnet"), cifar_root: str | None = None,
                    cifar_limit: int | None = 10000, lam: float = LAM, backend: str = "numpy",
                    verbose: bool = True) -> list[dict[str, Any]]:  # fmt: skip
    """Train, prune (three methods), retrain and measure, per seed; return the summary rows.

    ``quick``: tiny models and 1-2 epochs (checks the pipeline, not the quality);
    ``out``: folder of the plot (``None``: no plot); ``models``: a subset of
    ``("cnn", "resnet")``; ``cifar_root``: CIFAR-10's folder (its first
    ``cifar_limit`` training images) instead of the digits; ``lam``: the book's method's
    λ. Rows as :func:`nnprune.experiments.casestudy.summarize` makes them, plus ``dataset``.

    Raises
    ------
    ValueError
        If ``models`` names an unknown family.

    Book: §7.1.
    """
    study = image_study(quick, models=models, cifar_root=cifar_root, cifar_limit=cifar_limit,
                        lam=lam)  # fmt: skip
    return run_study(study, seeds, out, backend=backend, verbose=verbose)


__all__ = ["image_study", "magnitude_prune", "remove_cnn_filters", "remove_resnet_filters",
           "run_image_study"]  # fmt: skip
