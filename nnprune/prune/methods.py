r"""Pruning methods: classes that turn a tensor of scores into a keep-mask.

Names and semantics follow ``torch.nn.utils.prune``. A method's
:meth:`~BasePruningMethod.compute_mask` takes the importance scores ``t`` (by
default the weights) and the current mask, and returns the new bool mask
(True = kept). :meth:`~BasePruningMethod.compute_combined_mask` is PyTorch's
``PruningContainer`` rule for pruning a tensor again: the method only sees what
is still kept, so a second ``amount=0.5`` prunes half of the *remaining*
entries (unstructured) or channels (structured).

Masks are computed on the host with NumPy (a pruning decision is rare, the
tensors are small), so NumPy and CuPy models get identical masks. Ties between
equal scores are broken by position: the earlier flat index (or channel) is
pruned first; PyTorch does not specify its order for ties.

Book: §3.1 (pruning methods), §3.2 (criteria).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..checks import check_int
from ..rng import SeedLike, as_generator
from ._apply import apply_method
from ._checks import amount_to_count, check_amount, check_dim, check_norm_order


class BasePruningMethod(ABC):
    r"""Base class of every pruning method (as ``torch.nn.utils.prune.BasePruningMethod``).

    Subclasses set ``PRUNING_TYPE`` and implement :meth:`compute_mask`.

    Attributes
    ----------
    PRUNING_TYPE : {"unstructured", "structured", "global"}
        Which part of an already pruned tensor the method sees on a repeated
        call (see :meth:`compute_combined_mask`).
    CRITERION : str
        The score the method ranks by, for the decision log.
    stats_ : dict
        Set by :meth:`compute_mask`: ``max_pruned_score``, ``min_kept_score``
        and ``threshold`` where they apply (read by :class:`PruningLog`).
    """

    PRUNING_TYPE: str = "unstructured"
    CRITERION: str = ""
    dim: int

    @abstractmethod
    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        """Return the bool mask (shape of ``t``) that prunes ``t`` on top of ``default_mask``.

        Parameters
        ----------
        t : numpy.ndarray
            Importance scores of the entries to decide on (the weights by default).
        default_mask : numpy.ndarray of bool, same shape
            The mask from earlier pruning; it stays applied.
        """

    def compute_combined_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        r"""Prune again on top of ``default_mask``, as PyTorch's ``PruningContainer``.

        * ``"unstructured"``: the method sees the 1-D array of kept entries
          ``t[default_mask]``; ``amount`` counts those.
        * ``"structured"``: the method sees the channels along ``dim`` that
          still hold a kept entry; ``amount`` counts those channels.
        * ``"global"``: the method sees the whole tensor and ``default_mask``.
        """
        new = default_mask.copy()
        if self.PRUNING_TYPE == "unstructured":
            new[default_mask] = self.compute_mask(
                t[default_mask], np.ones(int(default_mask.sum()), dtype=bool)
            )
        elif self.PRUNING_TYPE == "structured":
            dim = check_dim(self.dim, t.ndim, t.shape)
            others = tuple(a for a in range(t.ndim) if a != dim)
            kept = np.flatnonzero(default_mask.any(axis=others))
            index = [slice(None)] * t.ndim
            index[dim] = kept
            index = tuple(index)
            new[index] = self.compute_mask(t[index], default_mask[index])
        elif self.PRUNING_TYPE == "global":
            new = self.compute_mask(t, default_mask)
        else:
            raise ValueError(f"unknown PRUNING_TYPE {self.PRUNING_TYPE!r}")
        return np.asarray(new, dtype=bool)

    @classmethod
    def apply(
        cls,
        module: Any,
        name: str,
        *args: Any,
        importance_scores: Any = None,
        force: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Build ``cls(*args, **kwargs)`` and prune ``module.<name>`` with it; return ``module``.

        This is how a user-defined subclass is applied, e.g.
        ``MyMethod.apply(layer, "weight", amount=0.3)``.
        """
        method = cls(*args, **kwargs)
        return apply_method(
            method,
            module,
            name,
            importance_scores=importance_scores,
            force=force,
            function=f"{cls.__name__}.apply",
            amount=kwargs.get("amount", args[0] if args else None),
        )

    def prune(self, t: Any, default_mask: Any = None, importance_scores: Any = None) -> Any:
        """Return ``t`` times the mask computed from ``importance_scores`` (default ``t``)."""
        scores = np.asarray(t if importance_scores is None else importance_scores, dtype=np.float64)
        mask = np.ones(scores.shape, bool) if default_mask is None else np.asarray(default_mask)
        return t * self.compute_combined_mask(scores, mask.astype(bool))


def score_stats(scores: np.ndarray, pruned: np.ndarray) -> dict[str, float | None]:
    """Largest score that was pruned and smallest that was kept (None when empty)."""
    scores = np.asarray(scores, dtype=np.float64)
    gone, stay = scores[pruned], scores[~pruned]
    return {
        "max_pruned_score": float(gone.max()) if gone.size else None,
        "min_kept_score": float(stay.min()) if stay.size else None,
    }


class Identity(BasePruningMethod):
    """Prune nothing: attach a mask of ones (or keep the current mask).

    Book: §3.1
    """

    PRUNING_TYPE = "unstructured"
    CRITERION = "none"

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        self.stats_ = {}
        return default_mask.copy()


class L1Unstructured(BasePruningMethod):
    r"""Prune the ``amount`` entries of smallest magnitude (Han et al., 2015).

    .. math::

        s_i = |w_i|, \qquad m_i = 0 \iff s_i \text{ is among the } k \text{ smallest},

    with :math:`k` = ``amount`` (int) or ``round(amount * size)`` (float) among
    the entries still kept. With ``importance_scores`` :math:`s_i` is their
    absolute value instead.

    S. Han, J. Pool, J. Tran, W. J. Dally, *Learning both Weights and
    Connections for Efficient Neural Networks*, NeurIPS 2015.

    Book: §3.1
    """

    PRUNING_TYPE = "unstructured"
    CRITERION = "|w|"

    def __init__(self, amount: int | float) -> None:
        self.amount = check_amount(amount)

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        scores = np.abs(t).reshape(-1)
        k = amount_to_count(self.amount, scores.size)
        pruned = np.zeros(scores.size, dtype=bool)
        pruned[np.argsort(scores, kind="stable")[:k]] = True
        self.stats_ = score_stats(scores, pruned)
        return default_mask & ~pruned.reshape(t.shape)


class RandomUnstructured(BasePruningMethod):
    r"""Prune ``amount`` entries chosen uniformly at random (the baseline).

    .. math::

        \{i : m_i = 0\} \sim \text{uniform over the } k\text{-subsets of kept entries}.

    Parameters
    ----------
    amount : int or float
        Count, or fraction of the entries still kept.
    seed : int or numpy.random.Generator, optional
        Source of the random choice (``None``: the process-wide generator).

    Book: §3.1
    """

    PRUNING_TYPE = "unstructured"
    CRITERION = "random"

    def __init__(self, amount: int | float, seed: SeedLike = None) -> None:
        self.amount = check_amount(amount)
        self.rng = as_generator(seed)

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        k = amount_to_count(self.amount, t.size)
        pruned = np.zeros(t.size, dtype=bool)
        if k:
            pruned[self.rng.choice(t.size, size=k, replace=False)] = True
        self.stats_ = {}
        return default_mask & ~pruned.reshape(t.shape)


def lp_norm(t: np.ndarray, n: float | str, dim: int) -> np.ndarray:
    r"""Norm of each slice ``t[..., j, ...]`` along ``dim``, over all other axes.

    .. math::

        \|t_j\|_n = \Big(\sum |t_{j,\cdot}|^n\Big)^{1/n},\quad
        \|t_j\|_\infty = \max |t_{j,\cdot}|,\quad
        \|t_j\|_{-\infty} = \min |t_{j,\cdot}|,\quad \text{'fro'} = \|\cdot\|_2.
    """
    others = tuple(a for a in range(t.ndim) if a != dim)
    a = np.abs(np.asarray(t, dtype=np.float64))
    if n == "fro" or n == 2.0:
        return np.sqrt((a * a).sum(axis=others))
    if n == np.inf:
        return a.max(axis=others)
    if n == -np.inf:
        return a.min(axis=others)
    return (a**n).sum(axis=others) ** (1.0 / n)


class LnStructured(BasePruningMethod):
    r"""Prune the ``amount`` channels along ``dim`` of smallest :math:`L_n` norm.

    .. math::

        s_j = \|W_{[j]}\|_n \ \text{(norm over every axis except ``dim``)},\qquad
        \text{prune the } k \text{ channels of smallest } s_j .

    With ``n=1`` and ``dim=0`` on a convolution weight this is Li et al.'s
    filter pruning (H. Li, A. Kadav, I. Durdanovic, H. Samet, H. P. Graf,
    *Pruning Filters for Efficient ConvNets*, ICLR 2017). Only masks are set
    here; physical removal of the channels is a separate step.

    Parameters
    ----------
    amount : int or float
        Count, or fraction of the channels still kept along ``dim``.
    n : float, inf, -inf or 'fro'
        Norm order (``'fro'`` is the 2-norm of the flattened slice).
    dim : int, default -1
        Axis that indexes the channels (``0`` = output units / filters).

    Book: §3.1 (structured pruning of neurons and filters)
    """

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, n: float | str, dim: int = -1) -> None:
        self.amount = check_amount(amount)
        self.n = check_norm_order(n)
        self.dim = check_int("dim", dim)
        self.CRITERION = f"L{n} norm over all axes except dim"

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        dim = check_dim(self.dim, t.ndim, t.shape)
        norms = lp_norm(t, self.n, dim)
        k = amount_to_count(self.amount, norms.size, unit=f"channels along dim {self.dim}")
        pruned = np.zeros(norms.size, dtype=bool)
        pruned[np.argsort(norms, kind="stable")[:k]] = True
        self.stats_ = score_stats(norms, pruned)
        return default_mask & _channel_mask(~pruned, t.ndim, dim)


class RandomStructured(BasePruningMethod):
    r"""Prune ``amount`` channels along ``dim`` chosen uniformly at random.

    Parameters
    ----------
    amount : int or float
        Count, or fraction of the channels still kept along ``dim``.
    dim : int, default -1
        Axis that indexes the channels.
    seed : int or numpy.random.Generator, optional
        Source of the random choice (``None``: the process-wide generator).

    Book: §3.1
    """

    PRUNING_TYPE = "structured"
    CRITERION = "random"

    def __init__(self, amount: int | float, dim: int = -1, seed: SeedLike = None) -> None:
        self.amount = check_amount(amount)
        self.dim = check_int("dim", dim)
        self.rng = as_generator(seed)

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        dim = check_dim(self.dim, t.ndim, t.shape)
        channels = t.shape[dim]
        k = amount_to_count(self.amount, channels, unit=f"channels along dim {self.dim}")
        pruned = np.zeros(channels, dtype=bool)
        if k:
            pruned[self.rng.choice(channels, size=k, replace=False)] = True
        self.stats_ = {}
        return default_mask & _channel_mask(~pruned, t.ndim, dim)


def _channel_mask(keep: np.ndarray, ndim: int, dim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[dim] = keep.size
    return keep.reshape(shape)  # broadcasts along every other axis


class CustomFromMask(BasePruningMethod):
    r"""Apply a given bool mask (True = kept) on top of the current one.

    .. math::

        m \leftarrow m \wedge m_\text{given}

    Book: §3.1
    """

    PRUNING_TYPE = "global"
    CRITERION = "custom mask"

    def __init__(self, mask: Any) -> None:
        self.mask = np.asarray(mask, dtype=bool)

    def compute_mask(self, t: np.ndarray, default_mask: np.ndarray) -> np.ndarray:
        self.stats_ = {}
        return default_mask & self.mask
