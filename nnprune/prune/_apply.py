"""Apply a pruning method to a module's parameter: check, decide, set the mask, log.

All the checks and the mask computation run before the parameter is touched,
so an error leaves the model unchanged. The new mask is set through
``Parameter.mask``, which zeroes the pruned entries of ``data``.

Book: §3.1
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

from ..backend import to_numpy
from ..nn.module import Module
from ..nn.parameter import Parameter
from . import log
from ._checks import check_dim, check_scores, get_parameter


class PruningMethod(Protocol):
    """What this module needs of a method: a :class:`~.methods.BasePruningMethod` instance.

    (Written as a protocol so that this module does not import :mod:`.methods`, which
    imports it for ``BasePruningMethod.apply``.)
    """

    PRUNING_TYPE: str
    CRITERION: str
    dim: Any

    def compute_combined_mask(self, t: Any, default_mask: Any) -> np.ndarray: ...


def current_mask(param: Parameter) -> np.ndarray:
    """The parameter's mask on the host (all True when it is not pruned)."""
    if param.mask is None:
        return np.ones(param.shape, dtype=bool)
    return to_numpy(param.mask).astype(bool, copy=True)


def apply_method(
    method: PruningMethod,
    module: Module,
    name: str,
    *,
    importance_scores: Any = None,
    force: bool = False,
    function: str = "",
    amount: Any = None,
    extra: dict[str, Any] | None = None,
) -> Module:
    """Prune ``module.<name>`` with ``method`` on top of its current mask; return ``module``."""
    param = get_parameter(module, name, force=force)
    weights = to_numpy(param.data)
    if importance_scores is None:
        scores = weights.astype(np.float64)
    else:
        scores = check_scores(importance_scores, param.shape)
    if method.PRUNING_TYPE == "structured":
        if param.ndim < 2:
            raise ValueError(
                f"structured pruning needs a tensor with at least 2 dimensions; "
                f"{name!r} of {type(module).__name__} has shape {param.shape}"
            )
        check_dim(method.dim, param.ndim, param.shape)
    before = current_mask(param)
    after = method.compute_combined_mask(scores, before)
    param.mask = after
    if log.is_logging():
        record = _record(method, function, amount, before, after, param.shape)
        extra = {k: json_value(v) for k, v in (extra or {}).items()}
        log.emit(module, name, {**record, **extra})
    return module


def apply_global(
    parameters: Iterable[tuple[Module, str]],
    pruning_method: Any,
    amount: Any,
    importance_scores: dict | None,
    force: bool,
    kwargs: dict[str, Any],
) -> None:
    """Rank the kept entries of all ``parameters`` together and prune ``amount`` of them.

    ``pruning_method`` is a ``BasePruningMethod`` subclass (checked by the caller).
    """
    pairs = _check_pairs(parameters)
    if pruning_method.PRUNING_TYPE != "unstructured":
        raise TypeError(
            "global_unstructured needs an unstructured pruning method, got "
            f"{pruning_method.__name__} of PRUNING_TYPE {pruning_method.PRUNING_TYPE!r}"
        )
    if importance_scores is not None and not isinstance(importance_scores, dict):
        raise TypeError(
            "importance_scores must be a dict {(module, name): scores}, "
            f"got {type(importance_scores).__name__}"
        )
    scores_by_pair = importance_scores or {}
    unknown = [k for k in scores_by_pair if k not in pairs]
    if unknown:
        raise ValueError(
            "importance_scores has keys that are not in parameters: "
            f"{[_describe_key(k) for k in unknown]}"
        )
    params = [get_parameter(m, n, force=force) for m, n in pairs]
    method = pruning_method(amount=amount, **kwargs)
    flat_scores, flat_masks = [], []
    for (mod, name), param in zip(pairs, params, strict=True):
        given = scores_by_pair.get((mod, name))
        if given is None:
            scores = to_numpy(param.data).astype(np.float64)
        else:
            scores = check_scores(
                given, param.shape, f"importance_scores[({type(mod).__name__}, {name!r})]"
            )
        flat_scores.append(scores.reshape(-1))
        flat_masks.append(current_mask(param).reshape(-1))
    before = np.concatenate(flat_masks)
    after = method.compute_combined_mask(np.concatenate(flat_scores), before)
    start = 0
    for (mod, name), param, old in zip(pairs, params, flat_masks, strict=True):
        new = after[start : start + old.size]
        start += old.size
        param.mask = new.reshape(param.shape)
        if log.is_logging():
            record = _record(method, "global_unstructured", amount, old, new, param.shape)
            record["scope"] = "global"
            log.emit(mod, name, {**record, **{k: json_value(v) for k, v in kwargs.items()}})


def _describe_key(key: Any) -> str:
    if isinstance(key, tuple) and len(key) == 2:
        return f"({type(key[0]).__name__}, {key[1]!r})"
    return repr(key)


def _check_pairs(parameters: Any) -> list[tuple[Module, str]]:
    if not isinstance(parameters, Iterable):
        raise TypeError("parameters must be an iterable of (module, name) pairs")
    pairs = list(parameters)
    if not pairs:
        raise ValueError("parameters must hold at least one (module, name) pair, got none")
    for p in pairs:
        if not (isinstance(p, tuple) and len(p) == 2):
            raise TypeError(f"parameters must hold (module, name) pairs, got {p!r}")
    seen = set()
    for mod, name in pairs:
        key = (id(mod), name)
        if key in seen:
            raise ValueError(f"parameters lists ({type(mod).__name__}, {name!r}) twice")
        seen.add(key)
    return pairs


def json_value(value: Any) -> Any:
    """``value`` as a JSON-friendly Python scalar (a Generator becomes its type name)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return type(value).__name__


def _record(
    method: PruningMethod,
    function: str,
    amount: Any,
    before: np.ndarray,
    after: np.ndarray,
    shape: tuple[int, ...],
) -> dict[str, Any]:
    total = int(before.size)
    kept_before, kept_after = int(before.sum()), int(after.sum())
    stats = getattr(method, "stats_", {})
    record: dict[str, Any] = {
        "function": function,
        "method": type(method).__name__,
        "criterion": method.CRITERION,
        "scope": "layer",
        "shape": list(shape),
        "amount": amount
        if amount is None or isinstance(amount, str)
        else float(amount)
        if isinstance(amount, float)
        else int(amount),
        "dim": None,
        "threshold": stats.get("threshold"),
        "max_pruned_score": stats.get("max_pruned_score"),
        "min_kept_score": stats.get("min_kept_score"),
        "kept_before": kept_before,
        "pruned_before": total - kept_before,
        "kept_after": kept_after,
        "pruned_after": total - kept_after,
        "newly_pruned": kept_before - kept_after,
        "total": total,
        "sparsity": (total - kept_after) / total if total else 0.0,
        "removed_channels": None,
    }
    if method.PRUNING_TYPE == "structured":
        dim = method.dim % len(shape)
        others = tuple(a for a in range(len(shape)) if a != dim)
        b = before.reshape(shape).any(axis=others)
        a = after.reshape(shape).any(axis=others)
        record["dim"] = method.dim
        record["removed_channels"] = [int(j) for j in np.flatnonzero(b & ~a)]
    elif hasattr(method, "dim"):
        record["dim"] = int(method.dim)
    return record
