r"""The chapter 4 methods of the comparison harness, registered on import.

Gradient sensitivity (:mod:`nnprune.saliency`): ``gsp``, ``taylor`` (AGSP),
``snip`` (at initialisation), ``gsap`` (whole units by their Taylor score) and
``slimming`` (network slimming, only for models with BatchNorm: set
``batchnorm = true`` in ``[compare]``). Regularisation
(:mod:`nnprune.algorithms`): ``ista``, ``reweighted_l1`` and ``admm``.

Every adapter follows the convention of :mod:`nnprune.experiments.methods`:
prune ``ctx.model`` to exactly ``ctx.sparsity``, retrain with ``ctx.retrain()``,
return what it wants kept in the run's ``info``. :mod:`~nnprune.experiments.methods`
imports this module at its end, so the registry always holds these methods
after the baselines.

Book: §4.2, §4.3 (corrected, see docs/errata.md#s4-2-lasso, #s4-3-gsp), §3.3 (comparing methods).
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

import numpy as np

from .. import metrics, nn, optim, prune
from ..backend import to_numpy
from ..checks import check_fraction, check_int, check_nonnegative, check_one_of, check_positive
from ..nn.module import Module
from ..train import History, fit
from .methods import RunContext, register

# Checks of the method settings, run when a config is read (see register's ``checks``).
_BATCH = partial(check_int, minimum=1, maximum=1_000_000)  # samples per scoring batch
_EPOCHS = partial(check_int, minimum=1, maximum=10_000)  # epochs or iterations
_SCOPE = partial(check_one_of, choices=("global", "layer"))


# --------------------------------------------- chapter 4: gradient sensitivity
def _loss() -> Module:
    return nn.CrossEntropyLoss()


def _masked(model: Module) -> int:
    """Entries of the prunable weights that their masks prune."""
    return sum(
        0 if p.mask is None else int(p.size - np.count_nonzero(to_numpy(p.mask)))
        for *_, p in model.prunable_parameters()
    )


@register(
    "gsp",
    defaults={"batch_size": 64},
    checks={"batch_size": _BATCH},
    summary="mean |dJ/dw| over the training batches (book GSP, corrected)",
)
def gsp(ctx: RunContext) -> None:
    """GSP: prune the weights with the smallest mean gradient magnitude, then retrain.

    Scores from :func:`nnprune.saliency.gsp_scores` on the training set,
    pruned globally to the exact target with :func:`nnprune.prune.to_sparsity`.

    Book: §4.3 (corrected, see docs/errata.md#s4-3-gsp)
    """
    from ..saliency import gsp_scores

    scores = gsp_scores(
        ctx.model, _loss(), ctx.splits.train, batch_size=ctx.method_settings["batch_size"]
    )
    prune.to_sparsity(ctx.model, ctx.sparsity, scores, scope="global")
    ctx.retrain()


@register(
    "taylor",
    defaults={"batch_size": 64},
    checks={"batch_size": _BATCH},
    summary="AGSP: first-order Taylor |w * dJ/dw| (ShrinkBench's |w g|)",
)
def taylor(ctx: RunContext) -> None:
    """AGSP: prune the weights with the smallest mean :math:`|w\\,g|`, then retrain.

    Scores from :func:`nnprune.saliency.agsp_scores` on the training set,
    pruned globally to the exact target.

    Book: §4.3 (corrected, see docs/errata.md#s4-3-agsp)
    """
    from ..saliency import agsp_scores

    scores = agsp_scores(
        ctx.model, _loss(), ctx.splits.train, batch_size=ctx.method_settings["batch_size"]
    )
    prune.to_sparsity(ctx.model, ctx.sparsity, scores, scope="global")
    ctx.retrain()


@register(
    "snip",
    defaults={"batch_size": 128},
    checks={"batch_size": _BATCH},
    summary="SNIP at initialisation (Lee et al. 2019), then train the sparse net",
)
def snip(ctx: RunContext) -> dict[str, Any]:
    """SNIP: prune the *untrained* model by :math:`|w\\,g|/\\sum|w\\,g|` on one batch, then train.

    The dense training is not used: the sparse network trains from the same
    initial weights for ``train_epochs + retrain_epochs``, the total budget
    the other methods get. ``accuracy_before_retrain`` is the pruned,
    untrained network's.

    Book: §4.3 (SNIP at initialisation)
    """
    from ..saliency import snip as snip_prune

    model = ctx.build()
    n = ctx.method_settings["batch_size"]
    X, y = ctx.splits.train
    snip_prune(model, _loss(), (X[:n], y[:n]), ctx.sparsity)
    ctx.model = model
    epochs = ctx.settings["train_epochs"] + ctx.settings["retrain_epochs"]
    ctx.retrain(epochs=epochs, lr=ctx.settings["lr"])  # trained from the start: the training rate
    return {"epochs_from_init": epochs}


@register(
    "gsap",
    defaults={"batch_size": 64},
    checks={"batch_size": _BATCH},
    summary="GSAP: whole neurons/filters by Taylor |z * dJ/dz| (Molchanov 2017)",
)
def gsap(ctx: RunContext) -> dict[str, Any]:
    """GSAP: mask whole hidden units by their Taylor score, top up with magnitude, retrain.

    Units of every hidden layer are scored with :func:`nnprune.saliency.gsap_scores`
    (``normalize=True``, so layers compare) and masked in ascending order with
    :func:`nnprune.prune.mask_units` (the masked twin of physical removal)
    while the zeroed weights stay within the target; each layer keeps at
    least one unit. Whole units rarely add up to the exact count, so the
    remaining weights are pruned by global magnitude. ``info`` reports how
    many units were masked and how many weights the top-up pruned.

    Book: §4.3 (corrected, see docs/errata.md#s4-3-gsap), §3.1 (structured pruning)
    """
    from ..prune import mask_units
    from ..saliency import gsap_scores

    model = ctx.model
    weights = list(model.prunable_parameters())
    k = prune.sparsity_to_count(ctx.sparsity, sum(t.param.size for t in weights))
    layers = [t.name.rpartition(".")[0] for t in weights[:-1]]  # the output's units are classes
    units = []
    for layer in layers:
        scores = gsap_scores(
            model,
            _loss(),
            ctx.splits.train,
            layer,
            batch_size=ctx.method_settings["batch_size"],
            normalize=True,
        )
        units += [(float(s), layer, j) for j, s in enumerate(scores)]
    left = {layer: t.param.shape[0] for layer, t in zip(layers, weights, strict=False)}
    masked = 0
    for _, name, j in sorted(units):
        if left[name] == 1:
            continue
        saved = [(t.param.data.copy(), t.param.mask) for t in model.prunable_parameters()]
        mask_units(model, name, [j], ctx.input_shape)
        if _masked(model) > k:  # this unit overshoots: undo it (masking zeroed its values)
            for t, (data, mask) in zip(model.prunable_parameters(), saved, strict=True):
                t.param.mask = None
                t.param.data = data
                t.param.mask = mask
            break
        left[name] -= 1
        masked += 1
    from_units = _masked(model)
    prune.to_sparsity(model, ctx.sparsity, scope="global")
    ctx.retrain()
    return {
        "units_masked": masked,
        "weights_from_units": from_units,
        "weights_from_magnitude": k - from_units,
    }


# ------------------------------------------------- chapter 4: regularisation
def _sgd(ctx: RunContext) -> optim.SGD:
    """Plain SGD (no momentum): each mini-batch step is then a proximal-SGD step."""
    return optim.SGD(ctx.model.parameters(), lr=ctx.settings["lr"], momentum=0.0)


class _StayBelowTarget:
    """Callback for the L1 phase: stop after the epoch whose zeros pass the target, and
    :meth:`restore` the last epoch-end state that was at or below it.

    L1 zeros can fill whole rows; such a unit is dead (no gradient), so zeros
    beyond the target would survive retraining and overshoot it.
    """

    def __init__(self, ctx: RunContext) -> None:
        self.model = ctx.model
        self.params = [t.param for t in ctx.model.prunable_parameters()]
        self.limit = prune.sparsity_to_count(ctx.sparsity, sum(p.size for p in self.params))
        self.state = ctx.model.state_dict()
        self.epochs = 0

    def on_epoch_end(self, epoch: int, history: History) -> bool | None:
        zeros = sum(p.size - int(np.count_nonzero(to_numpy(p.data))) for p in self.params)
        if zeros > self.limit:
            return True
        self.state, self.epochs = self.model.state_dict(), epoch + 1
        return None

    def restore(self) -> None:
        self.model.load_state_dict(self.state)


@register(
    "ista",
    defaults={"lam": 1e-2, "epochs": 5},
    checks={"lam": check_nonnegative, "epochs": _EPOCHS},
    summary="L1 by proximal gradient (ISTA), then magnitude to the target",
)
def ista(ctx: RunContext) -> dict[str, Any]:
    r"""Lasso by ISTA from the dense model, then magnitude-prune to the exact target and retrain.

    ``epochs`` of :func:`nnprune.algorithms.ista.ista_train` (plain SGD, so each
    step is :math:`W \leftarrow \operatorname{sign}(V)\max(|V| - \eta\lambda, 0)`)
    make weights exactly zero. ISTA's own sparsity depends on ``lam``, not on
    the target: training stops after the epoch whose zeros pass the target
    and keeps the last epoch's weights at or below it (zeros in dead units
    would otherwise survive retraining). The weights are then pruned by
    global magnitude to the exact target (ISTA's zeros go first) and
    retrained with the mask. The L1 epochs come on top of the shared budget;
    ``info`` reports how many were kept and their zero fraction.

    Book: §4.2 Lasso (corrected, see docs/errata.md#s4-2-lasso)
    """
    from ..algorithms.ista import ista_train

    s = ctx.method_settings
    guard = _StayBelowTarget(ctx)
    ista_train(
        ctx.model,
        _loss(),
        _sgd(ctx),
        ctx.splits.train,
        lam=s["lam"],
        epochs=s["epochs"],
        batch_size=ctx.settings["batch_size"],
        seed=ctx.seed,
        callbacks=[guard],
        progress=False,
    )
    return _finish_l1(ctx, guard)


def _finish_l1(ctx: RunContext, guard: _StayBelowTarget) -> dict[str, Any]:
    """Restore the last state within the target, prune to it by magnitude, retrain."""
    guard.restore()
    zero_fraction = metrics.model_sparsity(ctx.model)
    prune.to_sparsity(ctx.model, ctx.sparsity, scope="global")
    ctx.retrain()
    return {"l1_epochs_kept": guard.epochs, "zero_fraction_after_l1": zero_fraction}


@register(
    "reweighted_l1",
    defaults={"lam": 1e-3, "eps": 1e-2, "epochs": 5, "refresh_every": 1},
    checks={
        "lam": check_nonnegative,
        "eps": check_positive,
        "epochs": _EPOCHS,
        "refresh_every": _EPOCHS,
    },
    summary="iteratively reweighted L1 (Candes et al. 2008), then magnitude",
)
def reweighted_l1(ctx: RunContext) -> dict[str, Any]:
    r"""Reweighted L1, :math:`\lambda_{ij} = \lambda/(|W_{ij}|+\epsilon)`, then prune to the target.

    ``epochs`` of :func:`nnprune.algorithms.reweighted.reweighted_l1_train`
    from the dense model (plain SGD, proximal steps, weights refreshed every
    ``refresh_every`` epochs; stopped before its zeros pass the target), then
    global magnitude pruning to the exact target and masked retraining, as
    for ``ista``. The L1 epochs come on top of the shared budget.

    Book: §4.2 IRLS (corrected, see docs/errata.md#s4-2-irls)
    """
    from ..algorithms.reweighted import reweighted_l1_train

    s = ctx.method_settings
    guard = _StayBelowTarget(ctx)
    reweighted_l1_train(
        ctx.model,
        _loss(),
        _sgd(ctx),
        ctx.splits.train,
        lam=s["lam"],
        eps=s["eps"],
        refresh_every=s["refresh_every"],
        epochs=s["epochs"],
        batch_size=ctx.settings["batch_size"],
        seed=ctx.seed,
        callbacks=[guard],
        progress=False,
    )
    return _finish_l1(ctx, guard)


@register(
    "admm",
    defaults={"rho": 0.1, "iterations": 5, "epochs_per_iteration": 1, "scope": "global"},
    checks={
        "rho": check_positive,
        "iterations": _EPOCHS,
        "epochs_per_iteration": _EPOCHS,
        "scope": _SCOPE,
    },
    summary="ADMM onto the k-sparse set (Zhang et al. 2018), then masked retrain",
)
def admm(ctx: RunContext) -> dict[str, Any]:
    r"""ADMM towards exactly :math:`k` non-zeros, hard-prune to Z's support, retrain.

    :func:`nnprune.algorithms.admm.admm_prune` from the dense model with its
    own retraining off (``iterations * epochs_per_iteration`` W-step epochs on
    top of the shared budget); its masks keep exactly
    :math:`n - \operatorname{round}(\text{sparsity}\cdot n)` weights
    (``scope="global"``), then the shared masked retraining.

    Book: §4.2 ADMM (corrected, see docs/errata.md#s4-2-admm)
    """
    from ..algorithms.admm import admm_prune

    s = ctx.method_settings
    result = admm_prune(
        ctx.model,
        _loss(),
        ctx.splits.train,
        sparsity=ctx.sparsity,
        rho=s["rho"],
        admm_iterations=s["iterations"],
        epochs_per_iteration=s["epochs_per_iteration"],
        retrain_epochs=0,
        lr=ctx.settings["lr"],
        momentum=ctx.settings["momentum"],
        batch_size=ctx.settings["batch_size"],
        scope=s["scope"],
        seed=ctx.seed,
    )
    ctx.retrain()
    return {"primal_residual": result.primal_residuals[-1]}


# ------------------------------------------------ chapter 4: network slimming
def _slimming_plan(model: Module, count: int, input_shape: tuple[int, ...]) -> list:
    """``[(layer, channel indices)]`` that :func:`slim_channels` removes for ``count`` channels.

    Run on a copy, so ``model`` keeps its shape; the indices are those of ``model``.
    """
    from ..saliency import bn_scales, slim_channels

    trial = copy.deepcopy(model)
    total = sum(g.size for g in bn_scales(trial))
    records = slim_channels(trial, count / total, input_shape)
    return [(r.layer, list(r.removed)) for r in records]


def _mask_plan(model: Module, plan: list, input_shape: tuple[int, ...]) -> int:
    """Mask the planned channels (producer rows and consumer columns); return the masked weights."""
    from ..prune import mask_units

    for layer, indices in plan:
        mask_units(model, layer, indices, input_shape)
    return _masked(model)


@register(
    "slimming",
    defaults={"lam": 1e-2, "epochs": 5, "fraction": 0.5},
    checks={"lam": check_nonnegative, "epochs": _EPOCHS, "fraction": check_fraction},
    summary="network slimming (Liu et al. 2017): L1 on BN scales, channels, then magnitude",
    requires_batchnorm=True,
)
def slimming(ctx: RunContext) -> dict[str, Any]:
    r"""Network slimming: L1 on the BatchNorm scales, drop the smallest-|gamma| channels, top up.

    1. ``epochs`` of SGD (the comparison's ``lr`` and momentum) from the dense
       model with :class:`nnprune.saliency.SlimmingPenalty` (``lam``): after every
       step :math:`\gamma \leftarrow \gamma - \eta\lambda\operatorname{sign}(\gamma)`.
       These epochs come on top of the shared budget.
    2. :func:`nnprune.saliency.slim_channels` ranks the channels of every BatchNorm
       layer together by :math:`|\gamma|` and picks the lowest ones. It runs on a
       copy, and the channels it picks are *masked* in the run's model with
       :func:`nnprune.prune.mask_units` (the producer's rows and the consumer's
       columns), which computes exactly what the physical removal leaves while
       the architecture stays that of the other runs (the harness reloads every
       run's ``state_dict`` into it, and counts sparsity over the same weights).
       The number of channels is the largest count, at most
       ``round(fraction * channels)``, whose masked weights stay within the
       target :math:`k = \operatorname{round}(\text{sparsity}\cdot n)`
       (bisection; the masked weights grow with the count).
    3. Whole channels rarely add up to :math:`k` exactly, so the remaining
       weights are pruned by global magnitude (:func:`nnprune.prune.to_sparsity`), and
       the model is retrained with the masks.

    Only valid for models with BatchNorm (``batchnorm = true`` in ``[compare]``);
    ``info`` reports the channels masked and how many weights each step pruned.

    Z. Liu et al., *Learning Efficient Convolutional Networks through Network
    Slimming*, ICCV 2017.

    Book: §4.1, §4.3 (network slimming)
    """
    from ..nn.batchnorm import BatchNorm1d, BatchNorm2d
    from ..saliency import SlimmingPenalty, bn_scales

    if not any(isinstance(m, BatchNorm1d | BatchNorm2d) for m in ctx.model.modules()):
        raise ValueError(
            "method 'slimming' needs a model with BatchNorm layers (it ranks their scales); "
            "set batchnorm = true in [compare]"
        )
    s = ctx.method_settings
    opt = ctx.optimizer()
    fit(
        ctx.model,
        _loss(),
        opt,
        ctx.splits.train,
        epochs=s["epochs"],
        batch_size=ctx.settings["batch_size"],
        seed=ctx.seed,
        callbacks=[SlimmingPenalty(s["lam"], optimizer=opt)],
        progress=False,
    )
    total = sum(t.param.size for t in ctx.model.prunable_parameters())
    k = prune.sparsity_to_count(ctx.sparsity, total)
    channels = sum(g.size for g in bn_scales(ctx.model))
    lo, hi = 0, int(round(s["fraction"] * channels))  # lo always fits: no channel, no zeros
    while lo < hi:
        mid = (lo + hi + 1) // 2
        plan = _slimming_plan(ctx.model, mid, ctx.input_shape)
        if _mask_plan(copy.deepcopy(ctx.model), plan, ctx.input_shape) <= k:
            lo = mid
        else:
            hi = mid - 1
    plan = _slimming_plan(ctx.model, lo, ctx.input_shape) if lo else []
    from_channels = _mask_plan(ctx.model, plan, ctx.input_shape)
    prune.to_sparsity(ctx.model, ctx.sparsity, scope="global")
    ctx.retrain()
    return {
        "channels_masked": sum(len(idx) for _, idx in plan),
        "weights_from_channels": from_channels,
        "weights_from_magnitude": k - from_channels,
    }
