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
    return [name for name, p in model.named_parameters() if p.prunable]


def select(model: Module, layers: Sequence[str] | None = None) -> dict[str, tuple[Module, str]]:
    """``{dotted name: (module, attribute)}`` of the weights to prune.

    ``layers`` lists parameter names (``"0.weight"``) or module names (``"0"``,
    meaning its prunable weights); ``None`` selects every prunable weight.
    """
    names = prunable_names(model)
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
    out = {}
    for name in chosen:
        mod_name, _, attr = name.rpartition(".")
        out[name] = (model.get_submodule(mod_name), attr)
    return out


def pruned_count(param: Parameter) -> int:
    """Entries of ``param`` that its mask prunes (0 without a mask)."""
    return 0 if param.mask is None else int(param.size - int(param.mask.sum()))


def weight_sparsity(model: Module, layers: Sequence[str] | None = None) -> float:
    """Fraction of the selected weights that are exactly zero."""
    params = [m._parameters[a] for m, a in select(model, layers).values()]
    zeros = sum(int(p.size - np.count_nonzero(to_numpy(p.data))) for p in params)
    return zeros / sum(p.size for p in params)
