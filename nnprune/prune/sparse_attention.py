r"""Top-k sparse attention measured on a model: accuracy and fraction of scores kept per ``k``.

:func:`sparse_attention_eval` replaces every :class:`~nnprune.nn.MultiHeadSelfAttention`
of a model by a :class:`~nnprune.nn.TopKAttention` wrapper (each query keeps its ``k``
largest scores, softmax renormalised over them; see :mod:`nnprune.nn.sparse_attention`),
evaluates, and puts the layers back.

Book: §6.2 (sparse attention matrices)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..checks import check_positive_int
from ..nn.module import Module
from ..nn.sparse_attention import TopKAttention
from ..train import evaluate
from .heads import attention_modules

__all__ = ["sparse_attention_eval"]


def _parent_and_attr(model: Module, dotted: str) -> tuple[Module, str]:
    parent, _, attr = dotted.rpartition(".")
    owner = model
    for part in parent.split(".") if parent else []:
        owner = owner._modules[part]
    return owner, attr


def sparse_attention_eval(
    model: Module,
    loss_fn: Module,
    data: tuple[Any, Any],
    ks: int | Sequence[int],
    *,
    batch_size: int = 256,
) -> list[dict[str, Any]]:
    """Loss, accuracy and fraction of attention scores kept with top-k attention, per ``k``.

    Every ``MultiHeadSelfAttention`` in ``model`` is replaced by a
    :class:`TopKAttention` for the evaluation and put back afterwards (also on error).

    Parameters
    ----------
    model : Module
        A model holding attention layers (e.g. the case study's ``TransformerClassifier``).
    loss_fn : Module
    data : (X, y)
    ks : int or sequence of int
        The ``k`` values to try.
    batch_size : int, default 256

    Returns
    -------
    list of dict
        One per ``k``: ``k``, ``loss``, ``accuracy``, ``kept_fraction`` (scores kept over
        non-padding scores, all layers, heads and queries).

    Book: §6.2
    """
    layers = attention_modules(model)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no MultiHeadSelfAttention layer")
    ks = [ks] if isinstance(ks, int | np.integer) else list(ks)
    if not ks:
        raise ValueError("ks must list at least one k, got []")
    ks = [check_positive_int("ks", k) for k in ks]
    rows = []
    for k in ks:
        wrappers = {name: TopKAttention(attn, k) for name, attn in layers.items()}
        try:
            for name, w in wrappers.items():
                owner, attr = _parent_and_attr(model, name)
                setattr(owner, attr, w)
            loss, acc = evaluate(model, loss_fn, data, batch_size=batch_size)
        finally:
            for name, attn in layers.items():
                owner, attr = _parent_and_attr(model, name)
                setattr(owner, attr, attn)
        kept = sum(w.kept_ for w in wrappers.values())
        valid = sum(w.valid_ for w in wrappers.values())
        rows.append(
            {
                "k": k,
                "loss": float(loss),
                "accuracy": acc,
                "kept_fraction": kept / valid if valid else 0.0,
            }
        )
    return rows
