r"""The methods a comparison can run: a registry of adapters with one calling convention.

An adapter is a function ``fn(ctx) -> dict | None``. It receives a
:class:`RunContext` whose ``ctx.model`` is a copy of the trained dense model,
prunes it to exactly ``ctx.sparsity`` (the fraction of zero weights over all
prunable weights), retrains it with ``ctx.retrain(...)`` and leaves the result
in ``ctx.model`` (an adapter may also put a new model there, e.g. one pruned
at initialisation). What it returns is kept in the run's ``info`` field.

Every method gets the same dense model, data, seed and retraining budget
(``retrain_epochs`` at learning rate ``lr``); that is the ShrinkBench protocol
(Blalock, Gonzalez Ortiz, Frankle, Guttag, *What is the State of Neural Network
Pruning?*, MLSys 2020). The baselines every method must beat are always
registered: ``random`` (random unstructured, global), ``global_magnitude`` and
``layer_magnitude``. The chapter 4 methods follow: ``gsp``, ``taylor`` (AGSP),
``snip``, ``gsap`` (:mod:`nnprune.saliency`), ``ista``, ``reweighted_l1`` and
``admm`` (:mod:`nnprune.algorithms`). Network slimming is not registered: it
ranks BatchNorm scales, and the comparison's models have no BatchNorm.

Register your own with :func:`register`::

    @register("my_method", defaults={"alpha": 0.5}, summary="...")
    def my_method(ctx):
        prune_to_sparsity(ctx.model, ctx.sparsity, scores=...)
        ctx.retrain()

Book: §3.3 (comparing methods).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import metrics, nn, optim, prune
from ..backend import to_numpy
from ..data.loader import Splits
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..train import History, evaluate, fit

Adapter = Callable[["RunContext"], "dict[str, Any] | None"]


@dataclass
class RunContext:
    """Everything an adapter needs for one run (method, target sparsity, seed).

    Attributes
    ----------
    model : Module
        A copy of the trained dense model; prune and retrain it in place, or
        replace it.
    initial_state : dict of str to numpy.ndarray
        ``state_dict()`` of the same model before training (for methods that
        prune at initialisation, e.g. SNIP, or rewind to it).
    build : callable
        ``build()`` returns a fresh model with those initial weights.
    splits : Splits
        ``(train, val, test)`` pairs; accuracy is reported on ``test``.
    sparsity : float
        The target: fraction of zero weights over all prunable weights.
    seed : int
        The run's seed; use it for every random choice.
    settings : dict
        Shared settings (``train_epochs``, ``retrain_epochs``, ``lr``,
        ``momentum``, ``batch_size``) and, under ``"method"``, the method's own.
    input_shape : tuple of int
        One sample's shape (for FLOP counts).
    accuracy_before_retrain : float or None
        Test accuracy right after pruning; :meth:`retrain` records it.
    """

    model: Module
    initial_state: dict[str, np.ndarray]
    build: Callable[[], Module]
    splits: Splits
    sparsity: float
    seed: int
    settings: dict[str, Any]
    input_shape: tuple[int, ...]
    accuracy_before_retrain: float | None = field(default=None)

    @property
    def method_settings(self) -> dict[str, Any]:
        """The method's own settings (``[methods.<name>]`` merged over its defaults)."""
        return self.settings.get("method", {})

    def optimizer(self, model: Module | None = None, lr: float | None = None) -> optim.SGD:
        """SGD with the comparison's momentum, on ``model`` (default ``self.model``)."""
        model = self.model if model is None else model
        lr = self.settings["lr"] if lr is None else lr
        return optim.SGD(model.parameters(), lr=lr, momentum=self.settings["momentum"])

    def accuracy(self, model: Module | None = None) -> float:
        """Test accuracy of ``model`` (default ``self.model``)."""
        _, acc = evaluate(
            self.model if model is None else model, nn.CrossEntropyLoss(), self.splits.test
        )
        return float(acc)

    def retrain(self, model: Module | None = None, epochs: int | None = None) -> History | None:
        """Retrain with the masks held (the optimiser keeps pruned weights at zero).

        The first call records the test accuracy before retraining. ``epochs``
        defaults to ``retrain_epochs``; 0 skips training. Returns the history.
        """
        model = self.model if model is None else model
        if self.accuracy_before_retrain is None:
            self.accuracy_before_retrain = self.accuracy(model)
        epochs = self.settings["retrain_epochs"] if epochs is None else epochs
        if epochs == 0:
            return None
        return fit(
            model,
            nn.CrossEntropyLoss(),
            self.optimizer(model),
            self.splits.train,
            epochs=epochs,
            batch_size=self.settings["batch_size"],
            seed=self.seed,
            progress=False,
        )


@dataclass(frozen=True)
class Method:
    """A registered method: its adapter, its settings with defaults, one line about it."""

    name: str
    fn: Adapter
    defaults: dict[str, Any]
    summary: str


_REGISTRY: dict[str, Method] = {}


def register(
    name: str, defaults: dict[str, Any] | None = None, summary: str = ""
) -> Callable[[Adapter], Adapter]:
    """Decorator that registers an adapter under ``name``.

    Parameters
    ----------
    name : str
        The name used in configs and on the command line.
    defaults : dict, optional
        The method's settings and their defaults; a config may override them
        in ``[methods.<name>]`` (other keys are refused).
    summary : str
        One line shown by ``nnprune info``.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"method name must be an identifier, got {name!r}")

    def decorator(fn: Adapter) -> Adapter:
        _REGISTRY[name] = Method(name, fn, dict(defaults or {}), summary)
        return fn

    return decorator


def available_methods() -> tuple[str, ...]:
    """Names of the registered methods, in registration order."""
    return tuple(_REGISTRY)


def get_method(name: str) -> Method:
    """The registered :class:`Method` called ``name``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown method {name!r}; valid methods: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


# ------------------------------------------------------------------ helpers
def prunable_weights(model: Module) -> list[tuple[Module, str]]:
    """``(module, "weight")`` for every layer with a prunable weight, in model order."""
    pairs = []
    for _, module in model.named_modules():
        weight = getattr(module, "weight", None)
        if isinstance(weight, Parameter) and weight.prunable:
            pairs.append((module, "weight"))
    return pairs


def _masked_count(layer: Module) -> int:
    """Entries of ``layer.weight`` that its mask prunes."""
    mask = layer.weight.mask
    return 0 if mask is None else int(mask.size - int(np.count_nonzero(to_numpy(mask))))


def _layer_counts(sizes: list[int], sparsity: float) -> list[int]:
    """Per-layer prune counts at ``sparsity`` that sum to ``round(sparsity * sum(sizes))``.

    Largest-remainder rounding: each layer gets ``floor(sparsity * n_l)`` and
    the layers with the largest fractional parts one more.
    """
    exact = np.array(sizes, dtype=np.float64) * sparsity
    counts = np.floor(exact).astype(np.int64)
    missing = int(round(sparsity * sum(sizes))) - int(counts.sum())
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:missing]] += 1
    return [int(c) for c in counts]


def prune_to_sparsity(
    model: Module,
    sparsity: float,
    scores: dict[Module, np.ndarray] | None = None,
    *,
    scope: str = "global",
) -> Module:
    r"""Prune the prunable weights so that exactly ``round(sparsity * n)`` of the ``n`` are zero.

    Entries with the smallest score go first:

    .. math::

        s_i = |\text{scores}_i| \ \text{(default } |w_i|\text{)},\qquad
        \text{prune the } k = \operatorname{round}(\text{sparsity}\cdot n) \text{ smallest}.

    ``scope="global"`` ranks all weights together (``prune.global_unstructured``);
    ``scope="layer"`` prunes every layer by the same fraction, with counts
    rounded so the total is still ``k``.

    Parameters
    ----------
    model : Module
        Unpruned (or pruned: only kept entries are ranked; ``k`` counts all).
    sparsity : float in [0, 1)
    scores : dict, optional
        ``{layer: array of the weight's shape}``; missing layers rank by
        their weights.
    scope : {"global", "layer"}

    Book: §3.1 (global vs layer-wise magnitude pruning)
    """
    pairs = prunable_weights(model)
    scores = scores or {}
    sizes = [m.weight.size for m, _ in pairs]
    already = [_masked_count(m) for m, _ in pairs]
    if scope == "global":
        k = int(round(sparsity * sum(sizes))) - sum(already)
        table = {(m, n): scores[m] for m, n in pairs if m in scores}
        prune.global_unstructured(
            pairs, prune.L1Unstructured, amount=max(k, 0), importance_scores=table
        )
    elif scope == "layer":
        for (m, name), k, done in zip(pairs, _layer_counts(sizes, sparsity), already, strict=True):
            prune.l1_unstructured(m, name, amount=max(k - done, 0), importance_scores=scores.get(m))
    else:
        raise ValueError(f"scope must be 'global' or 'layer', got {scope!r}")
    return model


# ---------------------------------------------------------------- baselines
@register("random", summary="random unstructured pruning, global (the floor to beat)")
def random_pruning(ctx: RunContext) -> None:
    """Prune ``round(sparsity * n)`` weights chosen uniformly at random, then retrain.

    Book: §3.3 (the random baseline of ShrinkBench)
    """
    pairs = prunable_weights(ctx.model)
    k = int(round(ctx.sparsity * sum(m.weight.size for m, _ in pairs)))
    prune.global_unstructured(pairs, prune.RandomUnstructured, amount=k, seed=ctx.seed)
    ctx.retrain()


@register("global_magnitude", summary="smallest |w| over all layers (Han et al. 2015)")
def global_magnitude(ctx: RunContext) -> None:
    """Prune the smallest-magnitude weights ranked over all layers, then retrain.

    Han, Pool, Tran, Dally, *Learning both Weights and Connections*, NeurIPS 2015.

    Book: §3.1, §3.3
    """
    prune_to_sparsity(ctx.model, ctx.sparsity, scope="global")
    ctx.retrain()


@register("layer_magnitude", summary="smallest |w| in each layer, same fraction per layer")
def layer_magnitude(ctx: RunContext) -> None:
    """Prune the same fraction of smallest-magnitude weights in every layer, then retrain.

    Book: §3.1, §3.3
    """
    prune_to_sparsity(ctx.model, ctx.sparsity, scope="layer")
    ctx.retrain()


# --------------------------------------------- chapter 4: gradient sensitivity
def _loss() -> Module:
    return nn.CrossEntropyLoss()


@register(
    "gsp",
    defaults={"batch_size": 64},
    summary="mean |dJ/dw| over the training batches (book GSP, corrected)",
)
def gsp(ctx: RunContext) -> None:
    """GSP: prune the weights with the smallest mean gradient magnitude, then retrain.

    Scores from :func:`nnprune.saliency.gsp_scores` on the training set,
    pruned globally to the exact target with :func:`nnprune.saliency.prune_by_scores`.

    Book: §4.3 (corrected, see BOOK.md errata)
    """
    from ..saliency import gsp_scores, prune_by_scores

    scores = gsp_scores(
        ctx.model, _loss(), ctx.splits.train, batch_size=ctx.method_settings["batch_size"]
    )
    prune_by_scores(ctx.model, scores, ctx.sparsity, scope="global")
    ctx.retrain()


@register(
    "taylor",
    defaults={"batch_size": 64},
    summary="AGSP: first-order Taylor |w * dJ/dw| (ShrinkBench's |w g|)",
)
def taylor(ctx: RunContext) -> None:
    """AGSP: prune the weights with the smallest mean :math:`|w\\,g|`, then retrain.

    Scores from :func:`nnprune.saliency.agsp_scores` on the training set,
    pruned globally to the exact target.

    Book: §4.3 (corrected, see BOOK.md errata)
    """
    from ..saliency import agsp_scores, prune_by_scores

    scores = agsp_scores(
        ctx.model, _loss(), ctx.splits.train, batch_size=ctx.method_settings["batch_size"]
    )
    prune_by_scores(ctx.model, scores, ctx.sparsity, scope="global")
    ctx.retrain()


@register(
    "snip",
    defaults={"batch_size": 128},
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
    ctx.retrain(epochs=epochs)
    return {"epochs_from_init": epochs}


@register(
    "gsap",
    defaults={"batch_size": 64},
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

    Book: §4.3 (corrected, see BOOK.md errata), §3.1 (structured pruning)
    """
    from ..prune import mask_units
    from ..saliency import gsap_scores

    model = ctx.model
    pairs = prunable_weights(model)
    names = {id(m): n for n, m in model.named_modules()}
    total = sum(m.weight.size for m, _ in pairs)
    k = int(round(ctx.sparsity * total))
    units = []
    for layer, _ in pairs[:-1]:  # the output layer's units are the classes
        scores = gsap_scores(
            model,
            _loss(),
            ctx.splits.train,
            names[id(layer)],
            batch_size=ctx.method_settings["batch_size"],
            normalize=True,
        )
        units += [(float(s), names[id(layer)], j) for j, s in enumerate(scores)]
    left = {names[id(m)]: m.weight.shape[0] for m, _ in pairs[:-1]}
    masked = 0

    def zeros() -> int:
        return sum(_masked_count(m) for m, _ in pairs)

    for _, name, j in sorted(units):
        if left[name] == 1:
            continue
        saved = [(m.weight.data.copy(), m.weight.mask) for m, _ in pairs]
        mask_units(model, name, [j], ctx.input_shape)
        if zeros() > k:  # this unit overshoots: undo it (masking zeroed its values)
            for (m, _), (data, mask) in zip(pairs, saved, strict=True):
                m.weight.mask = None
                m.weight.data = data
                m.weight.mask = mask
            break
        left[name] -= 1
        masked += 1
    from_units = zeros()
    prune_to_sparsity(model, ctx.sparsity, scope="global")
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
        pairs = prunable_weights(ctx.model)
        self.limit = int(round(ctx.sparsity * sum(m.weight.size for m, _ in pairs)))
        self.pairs = pairs
        self.state = ctx.model.state_dict()
        self.epochs = 0

    def on_epoch_end(self, epoch: int, history: History) -> bool | None:
        zeros = sum(
            m.weight.size - int(np.count_nonzero(to_numpy(m.weight.data))) for m, _ in self.pairs
        )
        if zeros > self.limit:
            return True
        self.state, self.epochs = self.model.state_dict(), epoch + 1
        return None

    def restore(self) -> None:
        self.model.load_state_dict(self.state)


@register(
    "ista",
    defaults={"lam": 1e-2, "epochs": 5},
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

    Book: §4.2 Lasso (corrected, see BOOK.md errata)
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
    prune_to_sparsity(ctx.model, ctx.sparsity, scope="global")
    ctx.retrain()
    return {"l1_epochs_kept": guard.epochs, "zero_fraction_after_l1": zero_fraction}


@register(
    "reweighted_l1",
    defaults={"lam": 1e-3, "eps": 1e-2, "epochs": 5, "refresh_every": 1},
    summary="iteratively reweighted L1 (Candes et al. 2008), then magnitude",
)
def reweighted_l1(ctx: RunContext) -> dict[str, Any]:
    r"""Reweighted L1, :math:`\lambda_{ij} = \lambda/(|W_{ij}|+\epsilon)`, then prune to the target.

    ``epochs`` of :func:`nnprune.algorithms.reweighted.reweighted_l1_train`
    from the dense model (plain SGD, proximal steps, weights refreshed every
    ``refresh_every`` epochs; stopped before its zeros pass the target), then
    global magnitude pruning to the exact target and masked retraining, as
    for ``ista``. The L1 epochs come on top of the shared budget.

    Book: §4.2 IRLS (corrected, see BOOK.md errata)
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
    summary="ADMM onto the k-sparse set (Zhang et al. 2018), then masked retrain",
)
def admm(ctx: RunContext) -> dict[str, Any]:
    r"""ADMM towards exactly :math:`k` non-zeros, hard-prune to Z's support, retrain.

    :func:`nnprune.algorithms.admm.admm_prune` from the dense model with its
    own retraining off (``iterations * epochs_per_iteration`` W-step epochs on
    top of the shared budget); its masks keep exactly
    :math:`n - \operatorname{round}(\text{sparsity}\cdot n)` weights
    (``scope="global"``), then the shared masked retraining.

    Book: §4.2 ADMM (corrected, see BOOK.md errata)
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
