r"""Lasso training of a network: proximal gradient (ISTA) versus the L1 subgradient.

Both minimise

.. math::

    \min_W\; \mathrm{Loss}(W) + \lambda \lVert W \rVert_1 .

**ISTA** (proximal gradient; Beck & Teboulle 2009) takes a gradient step on the loss
alone and then the proximal step of the penalty, soft-thresholding:

.. math::

    V = W - \eta\,\nabla \mathrm{Loss}(W),\qquad
    W \leftarrow \operatorname{sign}(V)\,\max(|V| - \eta\lambda,\ 0).

Every entry with :math:`|V_{ij}| \le \eta\lambda` becomes exactly 0, so the sparsity
is real. With plain SGD (no momentum) each mini-batch step is one stochastic ISTA
step (proximal SGD). With momentum :math:`\mu`, ``V`` is the heavy-ball step
:math:`W - \eta b_t` whose buffer :math:`b_t` holds only loss gradients: the
soft-threshold still gives exact zeros, but it is no longer ISTA (nor FISTA, whose
extrapolation is applied before the prox); the buffer keeps pushing a weight that
was just zeroed, so the zero pattern changes more between steps. With Adam the
threshold :math:`\eta\lambda` no longer matches the per-coordinate step size, so
the objective being minimised is not the one above.

**The subgradient route** (the book's Appendix C: plain SGD on
:math:`\mathrm{Loss} + \lambda\lVert W\rVert_1`) adds :math:`\lambda\operatorname{sign}(W)`
to the gradient. A weight near 0 jumps across it by :math:`\eta\lambda` at every
step, so weights become small but almost never exactly zero: a threshold is still
needed afterwards.

Both run inside :func:`nnprune.train.fit`, which does the mini-batch loop
(forward, ``model.backward``, ``optimizer.step()``); the penalty's part is written out
in this file:

* ISTA: :class:`SoftThresholdStep`, called after every ``optimizer.step()`` (which has
  just computed :math:`V = W - \eta\nabla\mathrm{Loss}(W)` in place), sets
  ``W = sign(V) * max(|V| - eta * lam, 0)`` with :math:`\eta` the group's current
  learning rate;
* subgradient: :class:`GradientHookOptimizer` runs a hook between ``model.backward`` and
  the update, which adds ``lam * sign(W)`` to each gradient.

:class:`ProximalStep` is the same callback for any penalty with a proximal operator
(``GroupLasso``, ``L0``) from :mod:`nnprune.regularizers`.

References: Tibshirani, *Regression shrinkage and selection via the lasso*, JRSS-B
1996; Beck & Teboulle, *A fast iterative shrinkage-thresholding algorithm for linear
inverse problems*, SIAM J. Imaging Sci. 2009.

Book: §4.2 Lasso (corrected, see docs/errata.md#s4-2-lasso), Appendix C (L1 training).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from ..backend import get_xp
from ..checks import check_nonnegative
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..regularizers import L1, Penalty, as_parameter_list
from ..train import History, fit


class TrainResult(NamedTuple):
    """What the sparsity-training functions return.

    Attributes
    ----------
    history : History
        Per-epoch metrics from :func:`nnprune.train.fit` (``loss`` is the data loss,
        without the penalty).
    zero_fraction : float
        Fraction of the penalised weights that are exactly 0 at the end.
    penalty : Penalty
        The penalty object used (its ``lam``; for reweighted L1, its ``weights_``).
    """

    history: History
    zero_fraction: float
    penalty: Penalty


def zero_fraction(params: Iterable[Parameter]) -> float:
    """Fraction of the entries of ``params`` that are exactly 0 (0.0 for no entries)."""
    plist = list(params)
    total = sum(p.size for p in plist)
    zeros = sum(int(p.size - get_xp(p.data).count_nonzero(p.data)) for p in plist)
    return zeros / total if total else 0.0


def check_optimizer(optimizer: Any) -> Any:
    """Raise ``ValueError`` unless ``optimizer`` looks like an nnprune optimiser."""
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all("lr" in g for g in groups):
        raise ValueError(
            f"optimizer must be an nnprune optimizer (with param_groups), got "
            f"{type(optimizer).__name__}"
        )
    return optimizer


def penalised_parameters(model: Module, params: Any) -> list[Parameter]:
    """``params`` as a list, or the model's prunable parameters (weights) when ``None``."""
    plist = as_parameter_list(model if params is None else params)
    if not plist:
        raise ValueError("there are no parameters to penalise (params is empty)")
    return plist


class SoftThresholdStep:
    r"""Callback: ISTA's step :math:`W \leftarrow \operatorname{sign}(V)\max(|V| - \eta\lambda, 0)`.

    Runs after every ``optimizer.step()``, so ``p.data`` holds
    :math:`V = W - \eta\nabla\mathrm{Loss}(W)`; :math:`\eta` is the learning rate of
    the parameter's group at that step (schedules are followed).

    Parameters
    ----------
    lam : float
        :math:`\lambda \ge 0`.
    params : list of Parameter
        The penalised parameters (each must be in one of the optimiser's groups).
    optimizer : Optimizer
        The optimiser whose step precedes the soft-threshold (read for the learning rates).
    strength : callable, optional
        ``strength(p)`` gives a per-entry factor :math:`w_{ij}` of the threshold
        (:math:`\eta\lambda w_{ij}`), or ``None`` for 1; used by reweighted L1.
    """

    def __init__(
        self,
        lam: float,
        params: list[Parameter],
        optimizer: Any,
        strength: Callable[[Parameter], Any] | None = None,
    ) -> None:
        self.lam = check_nonnegative("lam", lam)
        self.optimizer = check_optimizer(optimizer)
        self._wanted = check_in_optimizer(params, optimizer)
        self.strength = strength

    def on_step_end(self, step: int, model: Module) -> None:
        for group in self.optimizer.param_groups:
            mine = [p for p in group["params"] if id(p) in self._wanted and p.requires_grad]
            if not mine:
                continue
            eta = check_nonnegative("lr", group["lr"])
            for p in mine:
                V = p.data  # V = W - eta * grad: the optimiser's step just made it
                tau = eta * self.lam  # the threshold eta * lambda ...
                w = self.strength(p) if self.strength is not None else None
                if w is not None:
                    tau = tau * w  # ... or eta * lambda_ij for reweighted L1
                xp = get_xp(V)
                p.data[...] = (xp.sign(V) * xp.maximum(xp.abs(V) - tau, 0)).astype(V.dtype)


def check_in_optimizer(params: list[Parameter], optimizer: Any) -> set[int]:
    """The ``id`` of each of ``params``; ``ValueError`` if one is in no optimiser group."""
    in_groups = {id(p) for g in optimizer.param_groups for p in g["params"]}
    missing = [p.name or "<unnamed>" for p in params if id(p) not in in_groups]
    if missing:
        raise ValueError(f"penalised parameters {missing} are not in the optimizer")
    return {id(p) for p in params}


class ProximalStep:
    r"""Callback: after every optimiser step, :math:`W \leftarrow \operatorname{prox}_{\eta R}(W)`.

    ``R`` is ``penalty`` (:math:`\lambda\Omega`) and :math:`\eta` the learning rate of the
    parameter's group at that step, so learning-rate schedules are followed.

    Parameters
    ----------
    penalty : Penalty
        E.g. ``L1(lam)``, ``ReweightedL1(lam, eps)``, ``GroupLasso(lam)``.
    params : list of Parameter
        The penalised parameters (each must be in one of the optimiser's groups).
    optimizer : Optimizer
        The optimiser whose step precedes the prox (read for the learning rates).
    """

    def __init__(self, penalty: Penalty, params: list[Parameter], optimizer: Any) -> None:
        self.penalty = penalty
        self.optimizer = check_optimizer(optimizer)
        self._wanted = check_in_optimizer(params, optimizer)

    def on_step_end(self, step: int, model: Module) -> None:
        for group in self.optimizer.param_groups:
            mine = [p for p in group["params"] if id(p) in self._wanted]
            if mine:
                self.penalty.apply_prox(mine, group["lr"])


class GradientHookOptimizer:
    """An optimiser wrapper that calls ``hook()`` just before every ``step()``.

    :func:`nnprune.train.fit` calls ``zero_grad``, ``model.backward`` and then
    ``step``: the hook therefore sees the fresh loss gradients and may add a penalty's
    gradient to them (``penalty.add_grad``, ADMM's :math:`\\rho(W - Z + U)`). Every
    other attribute (``param_groups``, ``state``, ``zero_grad``) is the wrapped
    optimiser's, so a learning-rate scheduler built on the wrapped optimiser works.
    """

    def __init__(self, optimizer: Any, hook: Callable[[], None]) -> None:
        self.optimizer = check_optimizer(optimizer)
        self.hook = hook

    def step(self) -> None:
        self.hook()
        self.optimizer.step()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


def fit_penalised(
    model: Module,
    loss_fn: Module,
    optimizer: Any,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None,
    penalty: Penalty,
    plist: list[Parameter],
    callbacks: Iterable[Any],
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    **fit_kwargs: Any,
) -> TrainResult:
    """Run :func:`nnprune.train.fit` and measure the exact zeros of the penalised ``plist``.

    The shared tail of the penalty-training functions (:func:`ista_train`,
    :func:`subgradient_l1_train`, :func:`~nnprune.algorithms.reweighted_l1_train`):
    ``optimizer`` and ``callbacks`` already carry the penalty (a proximal callback or
    a gradient hook); ``penalty`` is returned in the :class:`TrainResult`.
    """
    history = fit(
        model,
        loss_fn,
        optimizer,
        train,
        val,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        callbacks=callbacks,
        **fit_kwargs,
    )
    return TrainResult(history, zero_fraction(plist), penalty)


def ista_train(
    model: Module,
    loss_fn: Module,
    optimizer: Any,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None = None,
    *,
    lam: float,
    epochs: int,
    batch_size: int = 64,
    seed: int = 0,
    params: Any = None,
    callbacks: Iterable[Any] = (),
    **fit_kwargs: Any,
) -> TrainResult:
    r"""Train with :math:`\mathrm{Loss} + \lambda\lVert W\rVert_1` by proximal gradient (ISTA).

    After each ``optimizer.step()`` the penalised weights are soft-thresholded,
    :math:`W \leftarrow \operatorname{sign}(W)\max(|W| - \eta\lambda, 0)`
    (:class:`SoftThresholdStep`). Use ``optim.SGD(..., momentum=0)`` for true
    (stochastic) ISTA; see the module docstring for what momentum changes.

    Parameters
    ----------
    model, loss_fn, optimizer, train, val
        As in :func:`nnprune.train.fit`.
    lam : float
        :math:`\lambda \ge 0`.
    epochs, batch_size, seed
        As in :func:`nnprune.train.fit`.
    params : Module, Parameter or iterable of Parameters, optional
        The penalised parameters; default: the model's prunable weights (not biases).
    callbacks : iterable
        More callbacks, run after the proximal step.
    **fit_kwargs
        Passed on to :func:`nnprune.train.fit` (``scheduler``, ``progress``, ...).

    Returns
    -------
    TrainResult
        ``(history, zero_fraction, penalty)``.

    Book: §4.2 Lasso (corrected, see docs/errata.md#s4-2-lasso)
    """
    penalty = L1(lam)
    plist = penalised_parameters(model, params)
    # The loop of fit(), per mini-batch: forward, backward, optimizer.step() (V = W - eta*grad),
    # then this callback: W = sign(V) * max(|V| - eta*lam, 0).
    prox = SoftThresholdStep(lam, plist, optimizer)
    return fit_penalised(
        model,
        loss_fn,
        optimizer,
        train,
        val,
        penalty,
        plist,
        [prox, *callbacks],
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        **fit_kwargs,
    )


def subgradient_l1_train(
    model: Module,
    loss_fn: Module,
    optimizer: Any,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None = None,
    *,
    lam: float,
    epochs: int,
    batch_size: int = 64,
    seed: int = 0,
    params: Any = None,
    callbacks: Iterable[Any] = (),
    **fit_kwargs: Any,
) -> TrainResult:
    r"""Train with :math:`\mathrm{Loss} + \lambda\lVert W\rVert_1` by the subgradient (Appendix C).

    Before each update, :math:`\lambda\operatorname{sign}(W)` is added to the
    gradients of the penalised weights (``L1(lam).add_grad(params)``), so the step is
    :math:`W \leftarrow W - \eta(\nabla\mathrm{Loss} + \lambda\operatorname{sign}(W))`.
    Weights shrink but oscillate around 0 instead of reaching it: compare the
    returned ``zero_fraction`` with :func:`ista_train`'s.

    Parameters and return value are those of :func:`ista_train`.

    Book: Appendix C, §4.2 Lasso (corrected, see docs/errata.md#s4-2-lasso)
    """
    penalty = L1(lam)
    plist = penalised_parameters(model, params)
    hooked = GradientHookOptimizer(optimizer, lambda: penalty.add_grad(plist))
    return fit_penalised(
        model,
        loss_fn,
        hooked,
        train,
        val,
        penalty,
        plist,
        callbacks,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        **fit_kwargs,
    )


__all__ = [
    "GradientHookOptimizer",
    "ProximalStep",
    "SoftThresholdStep",
    "TrainResult",
    "ista_train",
    "subgradient_l1_train",
    "zero_fraction",
]
