r"""Dynamic sparse training: prune and regrow at a fixed sparsity (SET, RigL), a ``fit`` callback.

Static pruning decides once which weights live. Dynamic sparse training
starts from a random sparse network and keeps its sparsity *fixed* while the
connections move: every :math:`\Delta T` optimiser steps, in each layer
:math:`l` with :math:`n_l` active (unmasked) weights,

.. math::

    k_l = \lfloor \zeta_t\, n_l \rfloor,\qquad
    \mathbb{I}_\text{drop} = \operatorname{ArgBottomK}_{i \in \theta_l}(|w_i|,\ k_l),\qquad
    \mathbb{I}_\text{grow} =
    \operatorname{TopK}_{i \notin \theta_l \setminus \mathbb{I}_\text{drop}}(s_i,\ k_l),

the active set becomes :math:`\theta_l \setminus \mathbb{I}_\text{drop} \cup
\mathbb{I}_\text{grow}` and every layer keeps exactly :math:`n_l` active
weights, so the sparsity never changes. The two methods differ in the grow
score :math:`s_i`:

* **SET** (Mocanu et al. 2018): :math:`s_i` uniform at random, so the new
  connections are a random sample of the inactive ones (drawn from ``seed``);
  :math:`\zeta_t = \zeta` constant.
* **RigL** (Evci et al. 2020): :math:`s_i = |\partial L / \partial w_i|`, the
  dense gradient of the last batch (``param.grad``, which the optimiser
  leaves unmasked), and a cosine-decayed update fraction that stops at
  :math:`T_\text{end}`:

  .. math::  \zeta_t = \frac{\zeta}{2}\left(1 + \cos\frac{\pi t}{T_\text{end}}\right),
             \quad t < T_\text{end},\qquad \text{no update for } t \ge T_\text{end}.

Grown weights start at **zero** (as in Evci et al.'s experiments, SET
included; Mocanu et al. drew them at random): a masked weight is already
exactly zero, and setting its mask to ``True`` lets the next gradient step
move it. The optimiser's state of a masked entry is zero too
(:mod:`nnprune.optim.optimizer`), so a grown weight starts without momentum.
A weight dropped at this update may be grown back at once (the candidates
are all inactive entries after the drop, as in Evci et al.'s Algorithm 1);
it then **keeps its value** (and its optimiser state): its mask ends the
update as it began, so it was never zeroed. This is what the authors'
reference implementation does by default (RigL's ``reinit_when_same``
option, off unless asked), and it is the reading that keeps the update
honest: a weight that is both among the smallest and among the most
promising is simply left in place, and only connections that were inactive
before the update count as grown (``history_``'s ``moved``).

The initial topology is random, with a sparsity per layer chosen by
``distribution`` (:func:`layer_sparsities`):

* ``"erk"`` (the default; Evci et al.'s Erdős–Rényi-Kernel, which for fully
  connected layers is the Erdős–Rényi rule of Mocanu et al.): the density
  (fraction of non-zeros) of a layer with weight shape :math:`(d_1, \dots, d_k)`
  is proportional to :math:`\sum_i d_i / \prod_i d_i`, scaled by one
  :math:`\varepsilon` so that the whole model has the requested sparsity:

  .. math::  1 - s_l = \varepsilon\,\frac{\sum_i d_{l,i}}{\prod_i d_{l,i}},\qquad
             \sum_l n_l (1 - s_l) = (1 - s) \sum_l n_l.

  Small layers (few weights per unit) stay denser; a layer whose density would
  exceed 1 is kept dense and :math:`\varepsilon` is solved again over the others;
* ``"uniform"``: the same sparsity :math:`s` in every chosen layer.

Static pruning at the same sparsity and training budget is the baseline these
methods are compared with (the chapter 8 lesson uses ``"uniform"``, so that
every method has the same sparsity in every layer).

References
----------
D. C. Mocanu, E. Mocanu, P. Stone, P. H. Nguyen, M. Gibescu and A. Liotta,
"Scalable training of artificial neural networks with adaptive sparse
connectivity inspired by network science", Nature Communications 9, 2383 (2018).
U. Evci, T. Gale, J. Menick, P. S. Castro and E. Elsen, "Rigging the Lottery:
Making All Tickets Winners", ICML 2020.

Book: §8.2 (future directions: dynamic pruning).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..checks import check_fraction, check_one_of, check_positive_int, check_sparsity
from ..nn.module import Module
from ..rng import SeedLike, as_generator
from ._select import selected_parameters

GROW = ("random", "gradient")
DECAY = ("constant", "cosine")
DISTRIBUTIONS = ("erk", "uniform")


def layer_sparsities(
    model: Module,
    sparsity: float,
    distribution: str = "erk",
    layers: Sequence[str] | None = None,
) -> dict[str, float]:
    r"""The sparsity of each chosen weight for an overall ``sparsity`` (see the module notes).

    Parameters
    ----------
    model : Module
    sparsity : float in [0, 1)
        Fraction of zeros over all the chosen weights together.
    distribution : {"erk", "uniform"}, default "erk"
        Erdős–Rényi-Kernel (Evci et al. 2020) or the same sparsity everywhere.
    layers : list of str, optional
        Weights to consider (:func:`nnprune.pipeline.select`); default every prunable weight.

    Returns
    -------
    dict
        ``{dotted name: sparsity}``, each in ``[0, 1)``; 0 for a layer kept dense.

    Examples
    --------
    >>> from nnprune.models import mlp
    >>> s = layer_sparsities(mlp((784, 300, 100, 10), seed=0), 0.9)
    >>> [round(v, 3) for v in s.values()]  # the large first layer is the sparsest
    [0.92, 0.77, 0.0]
    """
    sparsity = check_sparsity("sparsity", sparsity)
    distribution = check_one_of("distribution", distribution, DISTRIBUTIONS)
    params = selected_parameters(model, layers)
    if distribution == "uniform":
        return {name: sparsity for name in params}
    size = {name: p.size for name, p in params.items()}
    score = {name: sum(p.shape) / p.size for name, p in params.items()}  # sum(d) / prod(d)
    dense: set[str] = set()
    while True:
        # Non-zeros the sparse layers share: the budget, less what the dense layers
        # hold beyond their own share of it.
        sparse = [n for n in params if n not in dense]
        if not sparse:
            break
        budget = sum((1 - sparsity) * size[n] for n in sparse)
        budget -= sum(sparsity * size[n] for n in dense)
        eps = budget / sum(score[n] * size[n] for n in sparse)
        top = max(score[n] for n in sparse)
        if eps * top <= 1:
            break
        dense |= {n for n in sparse if score[n] == top}  # would be denser than dense
    return {n: 0.0 if n in dense else 1 - eps * score[n] for n in params}


class DynamicSparsity:
    r"""``fit`` callback: prune and regrow every ``update_every`` steps at a fixed sparsity.

    The constructor gives every chosen weight a random mask with exactly
    ``round(s_l * n_l)`` zeros, ``s_l`` its sparsity under ``distribution``
    (a sparse network from the start); pass
    the callback to :func:`nnprune.train.fit` (``callbacks=[cb]``), whose
    optimiser keeps the masked weights at zero between updates.

    Parameters
    ----------
    model : Module
        Masked in place.
    sparsity : float in [0, 1)
        Fraction of zeros of the chosen weights together, constant through training.
    total_steps : int
        The optimiser steps of the whole training (epochs x batches per epoch).
    grow : {"random", "gradient"}
        SET's random regrowth or RigL's largest ``|grad|``.
    update_fraction : float in (0, 1], default 0.3
        :math:`\zeta`, the fraction of each layer's active weights moved at an update.
    decay : {"constant", "cosine"}, default "cosine"
        How :math:`\zeta_t` changes with the step.
    update_every : int, default 100
        :math:`\Delta T`, steps between updates (the first at step ``update_every``).
    stop_fraction : float in [0, 1], default 0.75
        :math:`T_\text{end}` as a fraction of ``total_steps``: no update from then on.
    layers : list of str, optional
        Weights to train sparse (dotted or module names,
        :func:`nnprune.pipeline.select`); default every prunable weight.
    distribution : {"erk", "uniform"}, default "erk"
        How ``sparsity`` is spread over the layers (:func:`layer_sparsities`).
    seed : int or numpy.random.Generator, default 0
        The initial masks and SET's regrowth.

    Attributes
    ----------
    layer_sparsity_ : dict
        ``{dotted name: sparsity}`` of every chosen weight, fixed from the start.
    history_ : list of dict
        One entry per update: ``step``, ``fraction`` (:math:`\zeta_t`), ``moved``
        (weights dropped = weights grown), ``sparsity`` after the update.

    Raises
    ------
    ValueError
        For an argument out of range or an unknown ``grow``/``decay``.

    Book: §8.2 (dynamic pruning).
    """

    def __init__(
        self,
        model: Module,
        sparsity: float,
        *,
        total_steps: int,
        grow: str,
        update_fraction: float = 0.3,
        decay: str = "cosine",
        update_every: int = 100,
        stop_fraction: float = 0.75,
        layers: Sequence[str] | None = None,
        distribution: str = "erk",
        seed: SeedLike = 0,
    ) -> None:
        self.grow = check_one_of("grow", grow, GROW)
        self.decay = check_one_of("decay", decay, DECAY)
        self.sparsity = check_sparsity("sparsity", sparsity)
        self.total_steps = check_positive_int("total_steps", total_steps)
        self.update_every = check_positive_int("update_every", update_every)
        self.update_fraction = check_fraction(
            "update_fraction", update_fraction, low_inclusive=False, high_inclusive=True
        )
        self.stop_fraction = check_fraction("stop_fraction", stop_fraction, high_inclusive=True)
        self.layers = None if layers is None else list(layers)
        self.rng = as_generator(seed)
        self.history_: list[dict[str, Any]] = []
        self.layer_sparsity_ = layer_sparsities(model, self.sparsity, distribution, self.layers)
        self.distribution = distribution  # checked by layer_sparsities
        for name, p in selected_parameters(model, self.layers).items():
            n = p.size
            mask = np.ones(n, dtype=bool)
            mask[self.rng.permutation(n)[: round(self.layer_sparsity_[name] * n)]] = False
            p.mask = mask.reshape(p.shape)

    @property
    def stop_step(self) -> int:
        r""":math:`T_\text{end}`: the first step at which no update happens any more."""
        return int(self.stop_fraction * self.total_steps)

    def fraction(self, step: int) -> float:
        r""":math:`\zeta_t` at optimiser step ``step`` (0 from :attr:`stop_step` on)."""
        if step >= self.stop_step:
            return 0.0
        if self.decay == "constant":
            return self.update_fraction
        return self.update_fraction / 2 * (1 + math.cos(math.pi * step / self.stop_step))

    def on_step_end(self, step: int, model: Module) -> None:
        """After optimiser step ``step``: an update when ``step`` is a multiple of ΔT."""
        if step == 0 or step % self.update_every or step >= self.stop_step:
            return
        zeta = self.fraction(step)
        moved = zeros = total = 0
        for p in selected_parameters(model, self.layers).values():
            mask = to_numpy(p.mask).ravel().copy()
            if self.grow == "gradient" and p.grad is None:
                raise RuntimeError(f"{p.name or 'a weight'} has no gradient: RigL grows by |grad|")
            score = None if self.grow == "random" else np.abs(to_numpy(p.grad)).ravel()
            new = update_mask(to_numpy(p.data).ravel(), mask, zeta, score, self.rng)
            moved += int(np.sum(new & ~mask))
            # newly grown entries were masked, so they are zero; one dropped and grown back
            # at once was never masked and keeps its value (see the module docstring)
            p.mask = new.reshape(p.shape)
            zeros, total = zeros + int(np.sum(~new)), total + new.size
        self.history_.append(
            {"step": int(step), "fraction": zeta, "moved": moved, "sparsity": zeros / total}
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(sparsity={self.sparsity}, grow={self.grow!r}, "
            f"update_fraction={self.update_fraction}, decay={self.decay!r}, "
            f"update_every={self.update_every}, stop_step={self.stop_step})"
        )


def update_mask(
    weight: np.ndarray,
    mask: np.ndarray,
    fraction: float,
    grow_score: np.ndarray | None,
    seed: SeedLike = 0,
) -> np.ndarray:
    r"""One prune-and-regrow update of a flat ``mask`` (True = active); returns the new mask.

    Drops the :math:`k = \lfloor \zeta n_\text{active} \rfloor` active entries of
    smallest ``|weight|`` (ties: the first in C order), then activates ``k`` of
    the entries inactive after the drop: the ``k`` largest ``grow_score`` (RigL,
    ties: the first), or ``k`` drawn at random from ``seed`` when ``grow_score``
    is ``None`` (SET). The number of active entries is unchanged.
    """
    mask = np.asarray(mask, dtype=bool)
    active = np.flatnonzero(mask)
    k = int(math.floor(fraction * active.size))
    new = mask.copy()
    if k == 0:
        return new
    order = np.argsort(np.abs(weight[active]), kind="stable")
    new[active[order[:k]]] = False
    candidates = np.flatnonzero(~new)
    if grow_score is None:
        grown = as_generator(seed).choice(candidates, size=k, replace=False)
    else:
        grown = candidates[np.argsort(-grow_score[candidates], kind="stable")[:k]]
    new[grown] = True
    return new


def SET(  # noqa: N802 - the method's name
    model: Module,
    sparsity: float,
    *,
    total_steps: int,
    update_fraction: float = 0.3,
    update_every: int = 100,
    stop_fraction: float = 1.0,
    layers: Sequence[str] | None = None,
    distribution: str = "erk",
    seed: SeedLike = 0,
) -> DynamicSparsity:
    r"""Sparse Evolutionary Training (Mocanu et al. 2018): drop by magnitude, regrow at random.

    :math:`\zeta` constant (0.3 in the paper), updates until ``stop_fraction``
    of the training (the paper: after every epoch, to the end), layer
    sparsities by Erdős–Rényi (``distribution="erk"``, the same for fully
    connected layers). See
    :class:`DynamicSparsity` for the arguments and the update rule.

    Book: §8.2 (dynamic pruning).
    """
    return DynamicSparsity(
        model,
        sparsity,
        total_steps=total_steps,
        grow="random",
        update_fraction=update_fraction,
        decay="constant",
        update_every=update_every,
        stop_fraction=stop_fraction,
        layers=layers,
        distribution=distribution,
        seed=seed,
    )


def RigL(  # noqa: N802 - the method's name
    model: Module,
    sparsity: float,
    *,
    total_steps: int,
    update_fraction: float = 0.3,
    update_every: int = 100,
    stop_fraction: float = 0.75,
    layers: Sequence[str] | None = None,
    distribution: str = "erk",
    seed: SeedLike = 0,
) -> DynamicSparsity:
    r"""Rigged Lottery (Evci et al. 2020): drop by magnitude, regrow by largest ``|grad|``.

    Cosine-decayed :math:`\zeta_t` from ``update_fraction`` (0.3 in the paper),
    an update every ``update_every`` steps (ΔT = 100), none after
    ``stop_fraction`` of the training (:math:`T_\text{end}` = 75%), layer
    sparsities by Erdős–Rényi-Kernel (``distribution="erk"``). See
    :class:`DynamicSparsity` for the arguments and the update rule.

    Book: §8.2 (dynamic pruning).
    """
    return DynamicSparsity(
        model,
        sparsity,
        total_steps=total_steps,
        grow="gradient",
        update_fraction=update_fraction,
        decay="cosine",
        update_every=update_every,
        stop_fraction=stop_fraction,
        layers=layers,
        distribution=distribution,
        seed=seed,
    )


__all__ = [
    "DECAY",
    "DISTRIBUTIONS",
    "GROW",
    "RigL",
    "SET",
    "DynamicSparsity",
    "layer_sparsities",
    "update_mask",
]
