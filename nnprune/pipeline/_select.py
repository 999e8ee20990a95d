"""Which weights a pipeline prunes, and the argument checks the pipelines share.

Names are dotted parameter names as ``model.named_parameters()`` gives them
(``"0.weight"``); a module name (``"0"``) stands for its prunable weights.

Book: §5.1
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..backend import to_numpy
from ..nn.module import Module
from ..nn.parameter import Parameter

CRITERIA = ("magnitude", "random")
SCOPES = ("global", "layer")
Importance = Callable[[Module, Any], dict[str, Any]]


def check_criterion(criterion: Any) -> str | Importance:
    """Return a valid ``criterion``: one of :data:`CRITERIA` or a callable."""
    if callable(criterion) or criterion in CRITERIA:
        return criterion
    raise ValueError(
        f"criterion must be one of {list(CRITERIA)} or a callable (model, splits) -> "
        f"{{name: scores}}, got {criterion!r}"
    )


def prunable_names(model: Module) -> list[str]:
    """Dotted names of the prunable weights, in model order (``["0.weight", "2.weight", ...]``)."""
    return [t.name for t in model.prunable_parameters()]


def select(model: Module, layers: Sequence[str] | None = None) -> dict[str, tuple[Module, str]]:
    """``{dotted name: (module, attribute)}`` of the weights to prune.

    ``layers`` lists parameter names (``"0.weight"``) or module names (``"0"``,
    meaning its prunable weights); ``None`` selects every prunable weight.
    """
    found = {t.name: t for t in model.prunable_parameters()}
    names = list(found)
    if layers is None:
        chosen = names
    else:
        if isinstance(layers, str):
            raise TypeError(f"layers must be a list of names, got the string {layers!r}")
        chosen, unknown = [], []
        for layer in layers:
            hits = [n for n in names if n == layer or n.rpartition(".")[0] == layer]
            if not hits:
                unknown.append(layer)
            chosen += [h for h in hits if h not in chosen]
        if unknown:
            raise ValueError(f"unknown layer names {unknown}; prunable weights are {names}")
    if not chosen:
        raise ValueError("no prunable weights selected")
    return {name: (found[name].module, found[name].attr) for name in chosen}


def selected_parameters(model: Module, layers: Sequence[str] | None = None) -> dict[str, Parameter]:
    """``{dotted name: Parameter}`` of the weights :func:`select` chooses, in the same order."""
    found = {t.name: t.param for t in model.prunable_parameters()}
    return {name: found[name] for name in select(model, layers)}


def pruned_count(param: Parameter) -> int:
    """Entries of ``param`` that its mask prunes (0 without a mask)."""
    return 0 if param.mask is None else int(param.size - int(param.mask.sum()))


def weight_sparsity(model: Module, layers: Sequence[str] | None = None) -> float:
    """Fraction of the selected weights that are exactly zero."""
    params = list(selected_parameters(model, layers).values())
    zeros = sum(int(p.size - np.count_nonzero(to_numpy(p.data))) for p in params)
    return zeros / sum(p.size for p in params)
