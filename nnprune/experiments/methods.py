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
registered here: ``random`` (random unstructured, global), ``global_magnitude``
and ``layer_magnitude``. The chapter 4 methods (``gsp``, ``taylor``, ``snip``,
``gsap``, ``slimming``, ``ista``, ``reweighted_l1``, ``admm``) live in
:mod:`nnprune.experiments.methods_ch4`, which imports this module (never the
other way round); the package ``__init__`` imports both, so that they are
registered whenever the registry is. A method registered with
``requires_batchnorm=True`` (``slimming``) runs only on models built with
BatchNorm (``batchnorm = true`` in ``[compare]``); :func:`available_methods`
leaves it out unless asked for such models.

Register your own with :func:`register`::

    @register("my_method", defaults={"alpha": 0.5}, summary="...")
    def my_method(ctx):
        prune.to_sparsity(ctx.model, ctx.sparsity, scores=...)
        ctx.retrain()

Book: §3.3 (comparing methods).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn, optim, prune
from ..data.loader import Splits
from ..nn.module import Module
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
    callbacks : tuple
        :func:`nnprune.train.fit` callbacks of :meth:`retrain` (``nnprune prune``
        prints a line per retraining epoch with one).
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
    callbacks: tuple[Any, ...] = field(default=())

    @property
    def method_settings(self) -> dict[str, Any]:
        """The method's own settings (``[methods.<name>]`` merged over its defaults)."""
        return self.settings.get("method", {})

    def optimizer(self, model: Module | None = None, lr: float | None = None) -> optim.SGD:
        """SGD with the comparison's momentum and weight decay, on ``model`` (default
        ``self.model``), at ``lr`` (default the training rate ``settings["lr"]``)."""
        model = self.model if model is None else model
        lr = self.settings["lr"] if lr is None else lr
        return optim.SGD(
            model.parameters(),
            lr=lr,
            momentum=self.settings["momentum"],
            weight_decay=self.settings.get("weight_decay", 0.0),
        )

    def accuracy(self, model: Module | None = None) -> float:
        """Test accuracy of ``model`` (default ``self.model``)."""
        _, acc = evaluate(
            self.model if model is None else model, nn.CrossEntropyLoss(), self.splits.test
        )
        return float(acc)

    def retrain(
        self, model: Module | None = None, epochs: int | None = None, lr: float | None = None
    ) -> History | None:
        """Retrain with the masks held (the optimiser keeps pruned weights at zero).

        The first call records the test accuracy before retraining. ``epochs``
        defaults to ``retrain_epochs``; 0 skips training. ``lr`` defaults to
        ``settings["retrain_lr"]`` (a tenth of the training rate unless set, as
        Han et al. 2015), else ``settings["lr"]``. Returns the history.
        """
        if lr is None:
            lr = self.settings.get("retrain_lr", self.settings["lr"])
        model = self.model if model is None else model
        if self.accuracy_before_retrain is None:
            self.accuracy_before_retrain = self.accuracy(model)
        epochs = self.settings["retrain_epochs"] if epochs is None else epochs
        if epochs == 0:
            return None
        return fit(
            model,
            nn.CrossEntropyLoss(),
            self.optimizer(model, lr),
            self.splits.train,
            epochs=epochs,
            batch_size=self.settings["batch_size"],
            seed=self.seed,
            callbacks=self.callbacks,
            progress=False,
        )


@dataclass(frozen=True)
class Method:
    """A registered method: its adapter, its settings with defaults, one line about it.

    ``requires_batchnorm`` marks methods that rank BatchNorm scales (``slimming``);
    ``checks`` maps a setting to ``check(key, value) -> value`` (see :func:`register`).
    """

    name: str
    fn: Adapter
    defaults: dict[str, Any]
    summary: str
    requires_batchnorm: bool = False
    checks: dict[str, Callable[[str, Any], Any]] = field(default_factory=dict)
    opt_in: bool = False


_REGISTRY: dict[str, Method] = {}


def register(
    name: str,
    defaults: dict[str, Any] | None = None,
    summary: str = "",
    *,
    requires_batchnorm: bool = False,
    checks: dict[str, Callable[[str, Any], Any]] | None = None,
    opt_in: bool = False,
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
    requires_batchnorm : bool, default False
        The method needs BatchNorm layers (a config must set ``batchnorm = true``).
    checks : dict, optional
        ``{setting: check}``: ``check(key, value)`` returns the value or raises
        ``ValueError`` naming ``key`` (``"methods.<name>.<setting>"``), so a bad
        setting is refused when the config is read, not after dense training;
        the checks of :mod:`nnprune.checks` have this signature
        (``checks.check_positive``, ``functools.partial(checks.check_int,
        minimum=1, maximum=100)``, ...).
    opt_in : bool, default False
        The method runs only where a config or the command line names it (it needs
        a kind of model most comparisons do not have: ``channels`` needs
        convolutions); :func:`available_methods` leaves it out.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"method name must be an identifier, got {name!r}")

    def decorator(fn: Adapter) -> Adapter:
        unknown = sorted(set(checks or {}) - set(defaults or {}))
        if unknown:
            raise ValueError(f"checks for settings that {name!r} does not have: {unknown}")
        _REGISTRY[name] = Method(
            name, fn, dict(defaults or {}), summary, requires_batchnorm, dict(checks or {}), opt_in
        )
        return fn

    return decorator


def available_methods(batchnorm: bool = False) -> tuple[str, ...]:
    """Names of the registered methods that run on the comparison's models, in registration order.

    Parameters
    ----------
    batchnorm : bool, default False
        The models have BatchNorm layers: include the methods that need them
        (``slimming``). Methods registered ``opt_in`` are never listed (see
        :func:`registered_methods`).
    """
    return tuple(
        n
        for n, m in _REGISTRY.items()
        if not m.opt_in and (batchnorm or not m.requires_batchnorm)
    )


def registered_methods() -> tuple[str, ...]:
    """Every registered method, in registration order (opt-in ones included)."""
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


LR_SCHEDULES = ("none", "cosine", "step")


def make_scheduler(opt: optim.Optimizer, schedule: str, epochs: int) -> Any:
    """The learning-rate schedule of a training run, by name (``nnprune train --lr-schedule``,
    ``compare.lr_schedule``): ``"cosine"`` anneals to 0 over ``epochs`` (Loshchilov & Hutter,
    2017); ``"step"`` multiplies by 0.1 after every third of the epochs; ``"none"`` keeps it."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {schedule!r}")
    if schedule == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    if schedule == "step":
        return optim.lr_scheduler.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.1)
    return None


def check_layer_sparsities(key: str, value: Any) -> dict[str, float]:
    """The per-layer targets ``{layer name: fraction in [0, 1)}`` of a method's settings."""
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a table {{layer = fraction}}, got {value!r}")
    out = {}
    for name, f in value.items():
        if isinstance(f, bool) or not isinstance(f, int | float) or not 0 <= f < 1:
            raise ValueError(f"{key}.{name} must be a fraction in [0, 1), got {f!r}")
        out[str(name)] = float(f)
    return out


def layer_targets(ctx: RunContext) -> float | dict[str, float]:
    """``ctx.sparsity``, or with ``layer_sparsities`` set: every prunable layer at
    ``ctx.sparsity`` except those the setting names (a dict for :func:`prune.to_sparsity`)."""
    given = ctx.method_settings.get("layer_sparsities") or {}
    if not given:
        return ctx.sparsity
    layers = [t.name.rpartition(".")[0] for t in ctx.model.prunable_parameters()]
    return {**dict.fromkeys(layers, ctx.sparsity), **given}


_LAYERS = {"layer_sparsities": {}}
_LAYER_CHECKS = {"layer_sparsities": check_layer_sparsities}


# ---------------------------------------------------------------- baselines
@register("random", summary="random unstructured pruning, global (the floor to beat)")
def random_pruning(ctx: RunContext) -> None:
    """Prune ``round(sparsity * n)`` weights chosen uniformly at random, then retrain.

    Book: §3.3 (the random baseline of ShrinkBench)
    """
    chosen = list(ctx.model.prunable_parameters())
    k = prune.sparsity_to_count(ctx.sparsity, sum(t.param.size for t in chosen))
    pairs = [(t.module, t.attr) for t in chosen]
    prune.global_unstructured(pairs, prune.RandomUnstructured, amount=k, seed=ctx.seed)
    ctx.retrain()


@register(
    "global_magnitude",
    defaults=_LAYERS,
    summary="smallest |w| over all layers (Han et al. 2015)",
    checks=_LAYER_CHECKS,
)
def global_magnitude(ctx: RunContext) -> None:
    """Prune the smallest-magnitude weights ranked over all layers, then retrain.

    With ``layer_sparsities`` (``{layer: fraction}``) set, each layer is ranked alone
    at its own target (the others at ``sparsity``).

    Han, Pool, Tran, Dally, *Learning both Weights and Connections*, NeurIPS 2015.

    Book: §3.1, §3.3
    """
    prune.to_sparsity(ctx.model, layer_targets(ctx), scope="global")
    ctx.retrain()


@register(
    "layer_magnitude",
    defaults=_LAYERS,
    summary="smallest |w| in each layer, same fraction per layer",
    checks=_LAYER_CHECKS,
)
def layer_magnitude(ctx: RunContext) -> None:
    """Prune the same fraction of smallest-magnitude weights in every layer, then retrain.

    ``layer_sparsities`` (``{layer: fraction}``) gives the layers it names their own.

    Book: §3.1, §3.3
    """
    prune.to_sparsity(ctx.model, layer_targets(ctx), scope="layer")
    ctx.retrain()


# ---------------------------------------------------------------- control
@register(
    "dense_retrain",
    summary="control: the dense model, unpruned, trained for the same extra epochs",
)
def dense_retrain(ctx: RunContext) -> None:
    """The equal-budget control: no pruning, the same ``retrain_epochs`` of training.

    Every pruned model gets ``train_epochs + retrain_epochs`` of training; the
    dense row only ``train_epochs``. This row gives the dense model the same
    total, so that what the extra epochs add is not credited to pruning. It
    ignores the target sparsity (its achieved sparsity is 0).

    Book: §3.3 (comparing methods at equal training budget)
    """
    ctx.retrain()
