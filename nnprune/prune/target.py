r"""``to_sparsity``: prune a model to an exact share of zeros, ranked by your own scores.

This is the one function for "prune to a target with my scores". Scores are
keyed by the qualified parameter name, as ``model.named_parameters()`` gives
it (``"0.weight"``); without scores the weights rank by :math:`|w|`.

``sparsity`` here is **absolute**: the fraction of the chosen entries that are
pruned *after* the call, counting what was pruned before. PyTorch's
``amount`` (used by :func:`~nnprune.prune.l1_unstructured`,
:func:`~nnprune.prune.global_unstructured`, ...) is relative instead: a
fraction of the entries still unpruned, or a count. Pruning ``amount=0.5``
twice leaves sparsity :math:`1 - 0.5^2 = 0.75`; ``to_sparsity(model, 0.5)``
twice leaves 0.5. See the glossary in ``docs/tools.md``.

Book: §3.1 (global vs layer-wise magnitude pruning), §4.3 (pruning by a saliency), §5.1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..checks import check_sparsity
from ..nn.module import Module
from ..nn.parameter import Parameter
from .functional import global_unstructured
from .methods import L1Unstructured

SCOPES = ("global", "layer")


def sparsity_to_count(sparsity: float, total: int) -> int:
    r"""Number of zeros that ``sparsity`` asks for among ``total`` entries.

    .. math::

        k = \operatorname{round}(s \cdot n),

    with Python's ``round`` (half to even), the rounding ``torch.nn.utils.prune``
    uses for a float ``amount``. This is nnprune's one sparsity-to-count rule.
    """
    return int(round(float(sparsity) * int(total)))


def _pruned(param: Parameter) -> int:
    """Entries of ``param`` its mask prunes (0 without a mask)."""
    if param.mask is None:
        return 0
    return int(param.size - np.count_nonzero(to_numpy(param.mask)))


def _chosen(model: Module, names: Iterable[str] | None) -> list[tuple[str, Module, str, Parameter]]:
    """``(name, module, attr, param)`` of the chosen prunable weights, in model order."""
    every = [tuple(t) for t in model.prunable_parameters()]
    if names is None:
        if not every:
            raise ValueError(f"{type(model).__name__} has no prunable parameters")
        return every
    if isinstance(names, str):
        raise TypeError(f"names must be a list of parameter names, got the string {names!r}")
    wanted = list(names)
    known = [t[0] for t in every]
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(f"names has unknown parameter names {unknown}; prunable ones are {known}")
    if not wanted:
        raise ValueError("names must hold at least one parameter name, got none")
    return [t for t in every if t[0] in set(wanted)]


def _check_scores(
    scores: Mapping[str, Any], chosen: list[tuple[str, Module, str, Parameter]]
) -> dict[str, np.ndarray]:
    """Host float64 copies of ``scores``, one per chosen parameter, all checked."""
    if not isinstance(scores, Mapping):
        raise TypeError(
            f"scores must be a dict {{parameter name: array}}, got {type(scores).__name__}"
        )
    by_name = {t[0]: t[3] for t in chosen}
    unknown = [k for k in scores if k not in by_name]
    if unknown:
        raise ValueError(
            f"scores has unknown key(s) {unknown}; keys are qualified parameter names, "
            f"the chosen ones are {list(by_name)}"
        )
    missing = [n for n in by_name if n not in scores]
    if missing:
        raise ValueError(f"scores has no entry for {missing}; give one array per chosen parameter")
    out = {}
    for name, param in by_name.items():
        s = scores[name]
        arr = np.asarray(to_numpy(s) if hasattr(s, "shape") else s)
        if arr.dtype.kind not in "fiu":
            raise ValueError(f"scores[{name!r}] must hold real numbers, got dtype {arr.dtype}")
        if arr.shape != tuple(param.shape):
            raise ValueError(
                f"scores[{name!r}] must have the parameter's shape {tuple(param.shape)}, "
                f"got {arr.shape}"
            )
        arr = arr.astype(np.float64)
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"scores[{name!r}] must be finite (no NaN or inf)")
        if np.any(arr < 0):
            raise ValueError(
                f"scores[{name!r}] must be non-negative importances (low = prune first), "
                f"got a minimum of {arr.min():.3g}; pass np.abs(...) of signed scores such "
                "as gradients"
            )
        out[name] = arr
    return out


def to_sparsity(
    model: Module,
    sparsity: float | Mapping[str, float],
    scores: Mapping[str, Any] | None = None,
    scope: str = "global",
    *,
    names: Iterable[str] | None = None,
) -> Module:
    r"""Prune the lowest-scoring weights so that exactly ``round(sparsity * n)`` are zero.

    With :math:`n` the number of chosen entries (all of them with
    ``scope="global"``, each parameter's own with ``scope="layer"``) and
    :math:`n_\text{pruned}` those already masked,

    .. math::

        k = \operatorname{round}(\text{sparsity}\cdot n) - n_\text{pruned},\qquad
        \text{prune the } k \text{ kept entries of smallest } s_i,
        \qquad s_i = \text{scores}_i \ (\text{default } |w_i|).

    ``scope="global"`` ranks every chosen entry in one list (Han et al. 2015's
    global magnitude pruning when ``scores`` is None); ``scope="layer"`` ranks
    each parameter alone, so each reaches ``round(sparsity * n_l)`` zeros.
    Already pruned entries count as zeros and stay pruned.

    **Ties** are broken by position: among equal scores the entry that comes
    first is pruned first, in the order of ``model.prunable_parameters()`` and,
    inside a parameter, of the flattened (C-order) array. The result equals
    ``global_unstructured(pairs, L1Unstructured, amount=k, importance_scores=...)``
    on the same pairs in model order, which is how the masks are set (the
    decision log records it under that name).

    Parameters
    ----------
    model : Module
        Pruned in place.
    sparsity : float in [0, 1), or dict of str to float
        Target absolute fraction of zeros (masked entries) over the chosen weights;
        or one target per layer, ``{"0": 0.8, "2.weight": 0.5}`` (a layer name
        stands for its prunable parameters, each ranked alone; weights not named
        are left as they are, ``scope`` is then ignored).
    scores : dict of str to array, optional
        ``{qualified parameter name: non-negative array of its shape}``, low =
        prune first (e.g. :func:`nnprune.saliency.gsp_scores`); one entry per
        chosen parameter. Default: :math:`|w|`.
    scope : {"global", "layer"}, default "global"
    names : iterable of str, optional
        Qualified names of the parameters to prune (a subset of
        ``model.prunable_parameters()``); default all of them.

    Returns
    -------
    Module
        ``model``.

    Raises
    ------
    ValueError
        For ``sparsity`` outside [0, 1), an unknown ``scope``, unknown or missing
        score keys or names, scores of the wrong shape, non-finite or negative
        scores, or weights already sparser than ``sparsity`` (masks only grow).
        The model is unchanged when it raises.
    TypeError
        If ``scores`` is not a dict or ``names`` is a string.

    Examples
    --------
    >>> from nnprune import models, prune  # doctest: +SKIP
    >>> net = models.mlp(64, (300, 100), 10, seed=0)  # doctest: +SKIP
    >>> prune.to_sparsity(net, 0.9)  # 90 % of all prunable weights are zero  # doctest: +SKIP

    Book: §3.1 (global vs layer-wise), §4.3 (saliency scores), §5.1 (decide).
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {list(SCOPES)}, got {scope!r}")
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnprune Module, got {type(model).__name__}")
    chosen = _chosen(model, names)
    if isinstance(sparsity, Mapping):  # one sparsity per layer: each parameter ranked alone
        per = _per_layer(sparsity, chosen)
        chosen = [t for t in chosen if t[0] in per]
        groups = [[t] for t in chosen]
        targets = [per[t[0]] for t in chosen]
    else:
        sparsity = check_sparsity("sparsity", sparsity)
        groups = [chosen] if scope == "global" else [[t] for t in chosen]
        targets = [sparsity] * len(groups)
    table = None if scores is None else _check_scores(scores, chosen)
    counts = []
    for group, sparsity in zip(groups, targets, strict=True):  # all checked before any change
        total = sum(t[3].size for t in group)
        already = sum(_pruned(t[3]) for t in group)
        k = sparsity_to_count(sparsity, total) - already
        if k < 0:
            where = "the chosen weights" if len(group) > 1 else repr(group[0][0])
            raise ValueError(
                f"sparsity={sparsity} is below the current sparsity {already / total:.4f} "
                f"of {where}; masks only grow"
            )
        counts.append(k)
    for group, k in zip(groups, counts, strict=True):
        given = None if table is None else {(t[1], t[2]): table[t[0]] for t in group}
        global_unstructured(
            [(t[1], t[2]) for t in group], L1Unstructured, amount=k, importance_scores=given
        )
    return model


def _per_layer(
    sparsity: Mapping[str, Any], chosen: list[tuple[str, Module, str, Parameter]]
) -> dict[str, float]:
    """``{parameter name: sparsity}`` from keys that name a parameter (``"0.weight"``) or a
    layer (``"0"``: its prunable parameters)."""
    out: dict[str, float] = {}
    for key, value in sparsity.items():
        hits = [t[0] for t in chosen if key in (t[0], t[0].rpartition(".")[0])]
        if not hits:
            known = [t[0].rpartition(".")[0] for t in chosen]
            raise ValueError(
                f"sparsity names layer {key!r}, which has no prunable weight; layers are {known}"
            )
        for name in hits:
            out[name] = check_sparsity(f"sparsity[{key!r}]", value)
    return out


__all__ = ["SCOPES", "sparsity_to_count", "to_sparsity"]
