r"""ADMM pruning (Zhang et al. 2018): training towards a k-sparse set, then masked retraining.

Pruning to ``k`` weights is the constrained problem

.. math::

    \min_{W,Z}\; f(W) \quad\text{s.t.}\quad W = Z,\ Z \in S_k
        = \{Z : \lVert Z\rVert_0 \le k\},

with :math:`f` the training loss. The scaled-form ADMM (Boyd et al. 2011, §3.1.1)
alternates, from :math:`Z^0 = \Pi_{S_k}(W^0)`, :math:`U^0 = 0`:

.. math::

    W^{t+1} &= \arg\min_W\; f(W) + \tfrac{\rho}{2}\lVert W - Z^t + U^t\rVert_F^2
        \quad(\text{a few SGD epochs; the extra gradient is } \rho(W - Z^t + U^t)) \\
    Z^{t+1} &= \Pi_{S_k}(W^{t+1} + U^t)
        \quad(\text{keep the } k \text{ largest } |\cdot|,\ \text{zero the rest}) \\
    U^{t+1} &= U^t + W^{t+1} - Z^{t+1}.

The projection is per layer (each layer keeps its own ``k_l``; ``scope="layer"``)
or over all layers at once (``scope="global"``). The primal residual
:math:`\lVert W - Z\rVert_F` measures how far the weights still are from a k-sparse
point; :math:`\lVert Z^{t+1} - Z^t\rVert_F` (times :math:`\rho`, the dual residual) how
much the support still moves. The constraint is non-convex, so ADMM is a heuristic
here: it pulls the pruned weights towards 0 gently instead of cutting them at once.
After the last iteration ``W`` is hard-pruned to the support of ``Z`` (masks with
exactly ``k`` kept entries) and retrained with the masks fixed.

:func:`admm_l1_train` is the same loop for the L1 problem the book's sub-problems
write, :math:`\min f(W) + \lambda\lVert Z\rVert_1` s.t. :math:`W = Z` (Boyd et al. 2011,
§6.4): its Z-step is the L1 proximal operator, the soft-threshold
:math:`Z = S_{\lambda/\rho}(W + U)` (:class:`L1ADMMState`), so the number of kept
weights follows from :math:`\lambda` instead of being fixed.

``rho_growth > 1`` increases :math:`\rho` after each iteration, as Zhang et al. do
progressively; the scaled dual is then rescaled, :math:`U \leftarrow U/\text{growth}`,
so that :math:`\rho U` (the unscaled dual) is unchanged (Boyd et al. 2011, §3.4.1).

References: Zhang, Ye, Zhang, Tang, Wen, Fardad & Wang, *A systematic DNN weight
pruning framework using alternating direction method of multipliers*, ECCV 2018;
Boyd, Parikh, Chu, Peleato & Eckstein, *Distributed optimization and statistical
learning via the alternating direction method of multipliers*, FnT ML 2011.

Book: §4.2 ADMM (corrected, see docs/errata.md#s4-2-admm)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import optim
from ..backend import get_xp, to_numpy
from ..checks import (
    check_nonnegative,
    check_nonnegative_int,
    check_one_of,
    check_positive,
    check_positive_int,
    check_sgd,
    check_sparsity,
)
from ..nn.module import Module
from ..prune import custom_from_mask, sparsity_to_count
from ..regularizers import soft_threshold, topk_mask
from ..train import History, fit
from .ista import GradientHookOptimizer

SCOPES = ("layer", "global")


@dataclass
class ADMMResult:
    """What :func:`admm_prune` returns.

    Attributes
    ----------
    primal_residuals : list of float
        :math:`\\lVert W - Z\\rVert_F` over all pruned layers after each iteration.
    z_changes : list of float
        :math:`\\lVert Z^{t+1} - Z^t\\rVert_F` after each iteration.
    rhos : list of float
        The :math:`\\rho` used in each iteration's W-step.
    masks : dict of str -> bool ndarray
        The final mask of each pruned weight (True = kept), by parameter name.
    kept : dict of str -> int
        Number of kept entries per weight (``masks[name].sum()``).
    sparsity : float
        Fraction of exact zeros in the pruned weights after retraining.
    admm_histories : list of History
        The W-step training of each iteration.
    retrain_history : History or None
        The masked retraining (None when ``retrain_epochs == 0``).
    state : ADMMState or None
        The final :math:`Z`, :math:`U` and :math:`\\rho`.
    """

    primal_residuals: list[float] = field(default_factory=list)
    z_changes: list[float] = field(default_factory=list)
    rhos: list[float] = field(default_factory=list)
    masks: dict[str, np.ndarray] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    sparsity: float = 0.0
    admm_histories: list[History] = field(default_factory=list)
    retrain_history: History | None = None
    state: ADMMState | None = None


def project_sparse(arrays: list[Any], sparsity: float, scope: str) -> list[Any]:
    r"""Support masks of :math:`\Pi_{S_k}` for each array: top-k per array or over all of them.

    ``arrays[i] * masks[i]`` equals ``project_topk(arrays[i], k_i)`` (layer scope) or
    ``project_topk_global(arrays, k)[i]`` (global scope), and each mask has exactly
    ``k_i`` (in total ``k``) True entries, even when some of the kept values are 0.
    """
    if scope == "layer":
        return [topk_mask(a, a.size - sparsity_to_count(sparsity, a.size)) for a in arrays]
    xp = get_xp(*arrays)
    flat = xp.concatenate([xp.abs(a).reshape(-1).astype(np.float64) for a in arrays])  # (sum size,)
    keep = topk_mask(flat, flat.size - sparsity_to_count(sparsity, flat.size))
    masks, start = [], 0
    for a in arrays:
        masks.append(keep[start : start + a.size].reshape(a.shape))
        start += a.size
    return masks


def _pruned_weights(model: Module) -> list[tuple[str, Module, str, Any]]:
    """``(dotted_name, module, local_name, parameter)`` for each prunable trainable weight."""
    return [tuple(t) for t in model.prunable_parameters() if t.param.requires_grad]


def _unpruned_weights(model: Module, caller: str) -> list[tuple[str, Module, str, Any]]:
    """:func:`_pruned_weights`, refusing a model without any or with one already masked."""
    weights = _pruned_weights(model)
    if not weights:
        raise ValueError("model has no prunable weights to prune")
    masked = [name for name, _, _, p in weights if p.mask is not None]
    if masked:
        raise ValueError(f"{caller} needs an unpruned model; already masked: {masked}")
    return weights


def _norm(arrays: list[Any]) -> float:
    return math.sqrt(sum(float((a * a).sum()) for a in arrays))


class ADMMState:
    r"""The ADMM variables :math:`Z, U` for a list of weights, and the Z- and U-steps.

    Parameters
    ----------
    params : list of Parameter
        The constrained weights :math:`W` (their ``data`` is read, never written).
    sparsity : float in [0, 1)
    rho : float > 0
    scope : {"layer", "global"}

    Attributes
    ----------
    Z, U : list of arrays
        Same shapes as the weights; :math:`Z^0 = \Pi_{S_k}(W^0)`, :math:`U^0 = 0`.
    masks : list of bool arrays
        The support of :math:`Z` (exactly ``k`` True entries per weight, or in total).
    rho : float
    """

    def __init__(self, params: list[Any], sparsity: float, rho: float, scope: str) -> None:
        self.params = list(params)
        self.sparsity = check_sparsity("sparsity", sparsity)
        self.rho = check_positive("rho", rho)
        self.scope = check_one_of("scope", scope, SCOPES)
        self.masks = project_sparse([p.data for p in self.params], self.sparsity, self.scope)
        self.Z = [p.data * m for p, m in zip(self.params, self.masks, strict=True)]
        self.U = [get_xp(p.data).zeros_like(p.data) for p in self.params]

    def add_grad(self) -> None:
        r"""W-step gradient: ``p.grad += rho * (W - Z + U)`` for each weight."""
        for p, z, u in zip(self.params, self.Z, self.U, strict=True):
            p.grad += self.rho * (p.data - z + u)

    def update(self) -> tuple[float, float]:
        r"""Z-step :math:`Z = \Pi_{S_k}(W + U)`, then U-step :math:`U \leftarrow U + W - Z`.

        Returns
        -------
        primal_residual : float
            :math:`\lVert W - Z\rVert_F` (all weights together), with the new ``Z``.
        z_change : float
            :math:`\lVert Z - Z_{\text{prev}}\rVert_F`.
        """
        V = [p.data + u for p, u in zip(self.params, self.U, strict=True)]
        self.masks = project_sparse(V, self.sparsity, self.scope)
        Z_prev, self.Z = self.Z, [v * m for v, m in zip(V, self.masks, strict=True)]
        return self.u_step(Z_prev)

    def u_step(self, Z_prev: list[Any]) -> tuple[float, float]:
        r"""U-step :math:`U \leftarrow U + W - Z` after a Z-step; the two residual norms."""
        for p, z, u in zip(self.params, self.Z, self.U, strict=True):
            u += p.data - z
        primal = _norm([p.data - z for p, z in zip(self.params, self.Z, strict=True)])
        return primal, _norm([z - zp for z, zp in zip(self.Z, Z_prev, strict=True)])

    def scale_rho(self, growth: float) -> None:
        r"""Set :math:`\rho \leftarrow g\rho`, :math:`U \leftarrow U/g` (keeps :math:`\rho U`)."""
        self.rho *= growth
        for u in self.U:
            u /= growth


def _admm_train(
    model: Module,
    loss_fn: Module,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None,
    weights: list[tuple[str, Module, str, Any]],
    admm: ADMMState,
    *,
    admm_iterations: int,
    epochs_per_iteration: int,
    retrain_epochs: int,
    lr: float,
    momentum: float,
    batch_size: int,
    rho_growth: float,
    seed: int,
    progress: bool | None,
) -> ADMMResult:
    r"""The (W, Z, U) rounds, hard pruning to Z's support, and masked retraining.

    Shared by :func:`admm_prune` and :func:`admm_l1_train`, which differ only in the
    Z-step (``admm.update``: projection onto :math:`S_k` or soft-threshold). Arguments
    are already checked by the caller.
    """
    result = ADMMResult(state=admm)
    opt = GradientHookOptimizer(
        optim.SGD(model.parameters(), lr=lr, momentum=momentum), admm.add_grad
    )
    for t in range(admm_iterations):
        result.rhos.append(admm.rho)
        result.admm_histories.append(  # W-step: SGD with the extra gradient rho (W - Z + U)
            fit(
                model,
                loss_fn,
                opt,
                train,
                val,
                epochs=epochs_per_iteration,
                batch_size=batch_size,
                seed=seed + t,
                progress=progress,
            )
        )
        primal, z_change = admm.update()  # Z-step, then U-step
        result.primal_residuals.append(primal)
        result.z_changes.append(z_change)
        if rho_growth != 1.0:
            admm.scale_rho(rho_growth)

    for (name, module, local, _), m in zip(weights, admm.masks, strict=True):
        keep = to_numpy(m).astype(bool)
        custom_from_mask(module, local, keep)
        result.masks[name] = keep
        result.kept[name] = int(keep.sum())
    if retrain_epochs:
        result.retrain_history = fit(
            model,
            loss_fn,
            optim.SGD(model.parameters(), lr=lr, momentum=momentum),
            train,
            val,
            epochs=retrain_epochs,
            batch_size=batch_size,
            seed=seed + admm_iterations,
            progress=progress,
        )
    params = [p for _, _, _, p in weights]
    total = sum(p.size for p in params)
    nonzero = sum(int(get_xp(p.data).count_nonzero(p.data)) for p in params)
    result.sparsity = 1.0 - nonzero / total
    return result


def admm_prune(
    model: Module,
    loss_fn: Module,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None = None,
    *,
    sparsity: float,
    rho: float = 1e-3,
    admm_iterations: int = 10,
    epochs_per_iteration: int = 1,
    retrain_epochs: int = 5,
    lr: float = 0.01,
    momentum: float = 0.9,
    batch_size: int = 64,
    scope: str = "layer",
    rho_growth: float = 1.0,
    seed: int = 0,
    progress: bool | None = False,
) -> ADMMResult:
    r"""Prune ``model``'s weights to ``sparsity`` by ADMM, then retrain with the masks.

    Parameters
    ----------
    model : Module
        Trained (or not) and not yet pruned; pruned in place. Every prunable,
        trainable weight is constrained (biases are not).
    loss_fn : Module
        The loss :math:`f`, e.g. ``nn.CrossEntropyLoss()``.
    train, val : (X, y)
        Training data and optional validation data (for the histories).
    sparsity : float in [0, 1)
        Target fraction of zeros: a weight of ``n`` entries keeps
        ``n - round(sparsity * n)`` (layer scope); all weights together keep
        ``N - round(sparsity * N)`` (global scope).
    rho : float, default 1e-3
        Penalty :math:`\rho > 0` of the augmented Lagrangian.
    admm_iterations : int, default 10
        Number of (W, Z, U) rounds, at least 1.
    epochs_per_iteration : int, default 1
        SGD epochs of each W-step.
    retrain_epochs : int, default 5
        Masked retraining epochs after hard pruning (0: none).
    lr, momentum : float
        SGD learning rate and momentum of the W-steps and of the retraining
        (a new optimiser for the retraining).
    batch_size : int, default 64
    scope : {"layer", "global"}, default "layer"
        Projection per weight or over all weights at once.
    rho_growth : float, default 1.0
        Multiply :math:`\rho` by this (:math:`\ge 1`) after each iteration; 1 is
        the standard fixed-:math:`\rho` ADMM.
    seed : int, default 0
        Shuffling seed (iteration ``t`` uses ``seed + t``).
    progress : bool or None, default False
        Progress bars of :func:`nnprune.train.fit`.

    Returns
    -------
    ADMMResult

    Raises
    ------
    ValueError
        For an invalid argument, or a model whose weights already carry masks
        (the exact count is only guaranteed from an unpruned model). Nothing is
        changed then.

    Book: §4.2 ADMM (corrected, see docs/errata.md#s4-2-admm)
    """
    sparsity = check_sparsity("sparsity", sparsity)
    rho = check_positive("rho", rho)
    admm_iterations = check_positive_int("admm_iterations", admm_iterations)
    epochs_per_iteration = check_positive_int("epochs_per_iteration", epochs_per_iteration)
    retrain_epochs = check_nonnegative_int("retrain_epochs", retrain_epochs)
    lr, momentum, batch_size = check_sgd(lr, momentum, batch_size)
    scope = check_one_of("scope", scope, SCOPES)
    rho_growth = float(check_positive("rho_growth", rho_growth))
    if rho_growth < 1.0:
        raise ValueError(f"rho_growth must be >= 1, got {rho_growth!r}")
    weights = _unpruned_weights(model, "admm_prune")
    params = [p for _, _, _, p in weights]

    admm = ADMMState(params, sparsity, rho, scope)
    return _admm_train(
        model,
        loss_fn,
        train,
        val,
        weights,
        admm,
        admm_iterations=admm_iterations,
        epochs_per_iteration=epochs_per_iteration,
        retrain_epochs=retrain_epochs,
        lr=lr,
        momentum=momentum,
        batch_size=batch_size,
        rho_growth=rho_growth,
        seed=seed,
        progress=progress,
    )


class L1ADMMState(ADMMState):
    r"""ADMM variables for the L1 problem: the Z-step is the L1 proximal operator.

    For :math:`\min f(W) + \lambda\lVert Z\rVert_1` s.t. :math:`W = Z` (Boyd et al. 2011,
    §6.4 with a network loss in place of the least-squares term):

    .. math::

        Z^{t+1} = \operatorname{prox}_{(\lambda/\rho)\lVert\cdot\rVert_1}(W^{t+1} + U^t)
                = S_{\lambda/\rho}(W^{t+1} + U^t),\qquad
        U^{t+1} = U^t + W^{t+1} - Z^{t+1},

    with :math:`S_\tau(v) = \operatorname{sign}(v)\max(|v| - \tau, 0)`;
    :math:`Z^0 = S_{\lambda/\rho}(W^0)`, :math:`U^0 = 0`. The W-step and the
    :math:`\rho` rescaling are :class:`ADMMState`'s.

    Parameters
    ----------
    params : list of Parameter
    lam : float >= 0
    rho : float > 0

    Book: §4.2 ADMM (the L1 problem the book's sub-problems write)
    """

    def __init__(self, params: list[Any], lam: float, rho: float) -> None:
        self.params = list(params)
        self.lam = check_nonnegative("lam", lam)
        self.rho = check_positive("rho", rho)
        self.Z = [soft_threshold(p.data, self.lam / self.rho) for p in self.params]
        self.U = [get_xp(p.data).zeros_like(p.data) for p in self.params]
        self.masks = [z != 0 for z in self.Z]

    def update(self) -> tuple[float, float]:
        r"""Z-step :math:`Z = S_{\lambda/\rho}(W + U)`, then :math:`U \leftarrow U + W - Z`.

        Returns
        -------
        primal_residual : float
            :math:`\lVert W - Z\rVert_F` with the new ``Z``.
        z_change : float
            :math:`\lVert Z - Z_{\text{prev}}\rVert_F` (times :math:`\rho`: the dual residual).
        """
        Z_prev = self.Z
        self.Z = [
            soft_threshold(p.data + u, self.lam / self.rho)
            for p, u in zip(self.params, self.U, strict=True)
        ]
        self.masks = [z != 0 for z in self.Z]
        return self.u_step(Z_prev)


def admm_l1_train(
    model: Module,
    loss_fn: Module,
    train: tuple[Any, Any],
    val: tuple[Any, Any] | None = None,
    *,
    lam: float,
    rho: float = 1e-2,
    admm_iterations: int = 10,
    epochs_per_iteration: int = 1,
    retrain_epochs: int = 5,
    lr: float = 0.01,
    momentum: float = 0.9,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool | None = False,
) -> ADMMResult:
    r"""ADMM for the L1 problem on a network, then pruning to Z's support and masked retraining.

    Solves :math:`\min_W \mathrm{Loss}(W) + \lambda\lVert W\rVert_1` split as
    :math:`W = Z`:

    .. math::

        W^{t+1} &= \arg\min_W\ \mathrm{Loss}(W) + \tfrac{\rho}{2}\lVert W - Z^t + U^t\rVert^2
            \quad(\text{a few SGD epochs}) \\
        Z^{t+1} &= S_{\lambda/\rho}(W^{t+1} + U^t) \quad(\text{soft-threshold: exact zeros}) \\
        U^{t+1} &= U^t + W^{t+1} - Z^{t+1}.

    After the last iteration each weight is masked to the support of its :math:`Z`
    (:math:`Z_{ij} \ne 0`) and retrained with the masks fixed. Unlike
    :func:`admm_prune` (Zhang et al. 2018, a cardinality constraint that fixes the number
    of kept weights), the sparsity here is whatever :math:`\lambda` gives: every
    :math:`|W + U| \le \lambda/\rho` is cut.

    Parameters
    ----------
    model : Module
        Unpruned; pruned in place. Every prunable, trainable weight is penalised.
    loss_fn : Module
    train, val : (X, y)
    lam : float >= 0
        :math:`\lambda` of the L1 term (per weight entry, summed, like the loss's mean).
    rho : float > 0, default 1e-2
    admm_iterations, epochs_per_iteration, retrain_epochs, lr, momentum, batch_size, seed,
    progress
        As in :func:`admm_prune`.

    Returns
    -------
    ADMMResult
        ``primal_residuals`` :math:`\lVert W - Z\rVert`, ``z_changes``
        :math:`\lVert Z^{t+1} - Z^t\rVert` (times :math:`\rho`: the dual residual),
        ``masks`` (support of the final Z), ``sparsity`` (exact zeros after retraining);
        ``state`` is the :class:`L1ADMMState`.

    Raises
    ------
    ValueError
        For an invalid argument or an already-masked model (nothing changed then).

    References: Boyd, Parikh, Chu, Peleato & Eckstein, FnT ML 2011, §6.4 (Lasso by ADMM).

    Book: §4.2 ADMM (the book's L1 sub-problems; corrected, see docs/errata.md#s4-2-admm)
    """
    lam = check_nonnegative("lam", lam)
    rho = check_positive("rho", rho)
    admm_iterations = check_positive_int("admm_iterations", admm_iterations)
    epochs_per_iteration = check_positive_int("epochs_per_iteration", epochs_per_iteration)
    retrain_epochs = check_nonnegative_int("retrain_epochs", retrain_epochs)
    lr, momentum, batch_size = check_sgd(lr, momentum, batch_size)
    weights = _unpruned_weights(model, "admm_l1_train")
    params = [p for _, _, _, p in weights]
    admm = L1ADMMState(params, lam, rho)
    return _admm_train(
        model,
        loss_fn,
        train,
        val,
        weights,
        admm,
        admm_iterations=admm_iterations,
        epochs_per_iteration=epochs_per_iteration,
        retrain_epochs=retrain_epochs,
        lr=lr,
        momentum=momentum,
        batch_size=batch_size,
        rho_growth=1.0,
        seed=seed,
        progress=progress,
    )


__all__ = [
    "ADMMResult",
    "ADMMState",
    "L1ADMMState",
    "admm_l1_train",
    "SCOPES",
    "admm_prune",
    "project_sparse",
]
