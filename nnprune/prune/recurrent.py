r"""Structured pruning of recurrent layers (hidden units) and embeddings (dimensions).

Unstructured pruning of an ``RNN``/``LSTM``/``GRU`` needs nothing new: its
``weight_ih_l{k}`` and ``weight_hh_l{k}`` are prunable parameters, so
``l1_unstructured(lstm, "weight_hh_l0", 0.8)`` or ``global_unstructured``
prune them, and the optimisers keep the masks through training (Narang et
al., 2017, prune recurrent weights this way). Here a whole hidden unit leaves.

Hidden unit :math:`j` of a layer with :math:`G` gates (1 for the RNN, 4 for
the LSTM ``(i, f, g, o)``, 3 for the GRU ``(r, z, n)``) owns

* its incoming rows :math:`gH + j` (:math:`g = 0, \dots, G-1`) of
  ``weight_ih``, ``weight_hh``, ``bias_ih`` and ``bias_hh`` (every gate);
* its outgoing recurrent column :math:`j` of ``weight_hh`` (what the other
  units read of :math:`h_{t-1, j}`);
* its outgoing columns in the consumer: the next layer's ``weight_ih``
  column :math:`j` inside a stacked RNN, and after the last layer the input
  column :math:`j` of a following ``Linear`` (reading the last state
  ``(N, H)`` or the whole sequence ``(N, T, H)``) or of another RNN's ``weight_ih_l0``.

**Why the outgoing columns matter.** Zeroing a unit's incoming rows does
not make its state zero: a GRU unit with zero rows has
:math:`n = \tanh(b_{in} + r\,b_{hn}) \ne 0` and :math:`h_t = (1-z)n + z h_{t-1}`;
an LSTM unit accumulates :math:`c_t = f c_{t-1} + \sigma(b_i)\tanh(b_g)`. The
*masked* equivalent of a removal therefore cuts the outgoing columns too
(:func:`mask_hidden_units`); then no other unit and no consumer reads unit
:math:`j`, and the kept units compute exactly what they compute after
:func:`remove_hidden_units`. A stacked layer shares one ``hidden_size``, so
the same number of units goes from every layer.

Unit scores (:func:`gate_unit_scores`) add the norms of a unit's rows over
all gates and both weight matrices:

.. math::

    s^{(1)}_j = \sum_{g=0}^{G-1} \big(\|W_{ih}[gH+j]\|_1 + \|W_{hh}[gH+j]\|_1\big),\qquad
    s^{(2)}_j = \Big(\sum_{g} \|W_{ih}[gH+j]\|_2^2 + \|W_{hh}[gH+j]\|_2^2\Big)^{1/2},

the group of every weight entering the unit (the group of Wen et al.'s
structured sparsity learning for LSTMs, 2018, restricted to incoming weights).

Embeddings: ``l1_unstructured(emb, "weight", a)`` prunes single entries,
``ln_structured(emb, "weight", a, n, dim=0)`` whole token vectors (a pruned
token maps to the zero vector), ``dim=1`` whole embedding dimensions.
:func:`remove_embedding_dims` removes dimensions physically, only where that
is exact: the embedding feeds (through ``Dropout`` at most) one ``Linear``
or recurrent layer, which loses the matching input columns. Behind a
``PositionalEncoding``, a ``LayerNorm`` or a residual Transformer stream the
dimension is read by every layer (LayerNorm's mean and variance run over all
of them), so it is refused there.

References
----------
S. Narang, E. Elsen, G. Diamos and S. Sengupta, "Exploring Sparsity in
Recurrent Neural Networks", ICLR 2017.
W. Wen et al., "Learning Intrinsic Sparse Structures within Long Short-Term
Memory", ICLR 2018.

Book: §3.1 (structural pruning), §6.3, §7.3 (the speech case study).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import to_numpy
from ..nn.dropout import Dropout
from ..nn.embedding import Embedding
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..nn.rnn import RNNBase
from ._checks import amount_to_count
from ._surgery import chain_sites, check_indices, find_site, mask_out, shrink
from .importance import lowest
from .removal import RemovalRecord

GATE_CRITERIA = ("l1", "l2")


def _check_rnn(rnn: Any) -> None:
    if not isinstance(rnn, RNNBase):
        raise TypeError(f"rnn_module must be an RNN, LSTM or GRU, got {type(rnn).__name__}")


def _per_layer_units(rnn: RNNBase, units: Any) -> list[np.ndarray]:
    """One sorted index array per layer: 1-D ``units`` go to every layer."""
    if hasattr(units, "__array__"):
        units = to_numpy(units)
    nested = [u for u in units if hasattr(u, "__len__")] if hasattr(units, "__len__") else []
    if not nested:
        rows = [np.asarray(units)] * rnn.num_layers
    elif len(nested) == len(units) == rnn.num_layers:
        rows = [np.asarray(u) for u in units]
    else:
        raise ValueError(
            f"units must be one sequence of ints, or {rnn.num_layers} sequences (one per "
            f"layer), got {len(units)} entries of which {len(nested)} are sequences"
        )
    return [check_indices(r, rnn.hidden_size, "hidden units") for r in rows]


def _check_consumer(next_layer: Any, hidden_size: int) -> None:
    if next_layer is None:
        return
    if isinstance(next_layer, Linear):
        width, what = next_layer.in_features, "in_features"
    elif isinstance(next_layer, RNNBase):
        width, what = next_layer.input_size, "input_size"
    else:
        raise ValueError(
            f"next_layer must be a Linear or an RNN/LSTM/GRU reading the hidden state, got "
            f"{type(next_layer).__name__}"
        )
    if width != hidden_size:
        raise ValueError(
            f"next_layer has {what}={width}, but the recurrent layer has hidden_size "
            f"{hidden_size}; it does not read this layer's hidden state"
        )


def _consumer_weight(next_layer: Module) -> Parameter:
    return next_layer.weight if isinstance(next_layer, Linear) else next_layer.weight_ih_l0


def _gate_rows(units: np.ndarray, hidden_size: int, num_gates: int) -> np.ndarray:
    """Rows ``g*H + j`` of every gate ``g`` for each unit ``j``."""
    return (np.arange(num_gates)[:, None] * hidden_size + units).reshape(-1)  # (G*len(units),)


def _plan(rnn: Any, units: Any, next_layer: Any) -> list[np.ndarray]:
    _check_rnn(rnn)
    per_layer = _per_layer_units(rnn, units)
    if len({u.size for u in per_layer}) != 1:
        raise ValueError(
            "every layer of a stacked recurrent module shares hidden_size: remove the same "
            f"number of units from each, got {[u.size for u in per_layer]}"
        )
    if next_layer is rnn:
        raise ValueError("next_layer must be another module, got the recurrent layer itself")
    _check_consumer(next_layer, rnn.hidden_size)
    return per_layer


def remove_hidden_units(
    rnn_module: Any, units: Any, next_layer: Module | None = None
) -> tuple[tuple[int, ...], ...]:
    """Physically remove hidden units of an ``RNN``, ``LSTM`` or ``GRU``.

    For each removed unit :math:`j` of layer :math:`k`: the rows of every gate
    in ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}`` and
    ``bias_hh_l{k}`` (data, gradient and mask), column :math:`j` of
    ``weight_hh_l{k}``, and the consumer's input column :math:`j`
    (``weight_ih_l{k+1}`` inside the stack, ``next_layer`` after the last
    layer). ``hidden_size`` shrinks by the number removed per layer.

    Parameters
    ----------
    rnn_module : RNN, LSTM or GRU
        Changed in place.
    units : sequence of int, or one sequence per layer
        Hidden units to remove; a single sequence applies to every layer.
        Every layer must lose the same number (they share ``hidden_size``).
    next_layer : Linear or RNN/LSTM/GRU, optional
        The module that reads the last layer's hidden states (``in_features``
        or ``input_size`` equal to ``hidden_size``); it loses those input
        columns. Without it, whatever reads the output must be adapted by the caller.

    Returns
    -------
    tuple of tuple of int
        The removed units of each layer, sorted.

    Raises
    ------
    TypeError, ValueError
        For a module that is not recurrent, bad or repeated indices, all units
        of a layer, unequal counts per layer, or a ``next_layer`` that does not
        read ``hidden_size`` features; nothing is changed then.

    Notes
    -----
    The final states ``h_n_``/``c_n_`` and the forward caches are cleared.
    Build a new optimiser afterwards.

    Examples
    --------
    >>> from nnprune import nn
    >>> lstm, head = nn.LSTM(3, 6, seed=0), nn.Linear(6, 2, seed=1)
    >>> remove_hidden_units(lstm, [0, 4], next_layer=head)
    ((0, 4),)
    >>> lstm.weight_hh_l0.shape, head.weight.shape
    ((16, 4), (2, 4))

    Book: §3.1, §6.3, §7.3.
    """
    per_layer = _plan(rnn_module, units, next_layer)
    rnn, gates = rnn_module, rnn_module._step.num_gates
    for k, idx in enumerate(per_layer):
        rows = _gate_rows(idx, rnn.hidden_size, gates)
        w_ih, w_hh, b_ih, b_hh = rnn._layer(k)
        for p in (w_ih, w_hh, b_ih, b_hh):
            shrink(p, 0, rows)
        shrink(w_hh, 1, idx)
        if k + 1 < rnn.num_layers:
            shrink(getattr(rnn, f"weight_ih_l{k + 1}"), 1, idx)
    if next_layer is not None:
        shrink(_consumer_weight(next_layer), 1, per_layer[-1])
        if isinstance(next_layer, Linear):
            next_layer.in_features -= per_layer[-1].size
        else:
            next_layer.input_size -= per_layer[-1].size
            next_layer._cache = None
    rnn.hidden_size -= per_layer[0].size
    rnn._cache = None
    rnn.h_n_ = rnn.c_n_ = rnn.dh0_ = rnn.dc0_ = None
    return tuple(tuple(int(j) for j in idx) for idx in per_layer)


def mask_hidden_units(
    rnn_module: Any, units: Any, next_layer: Module | None = None
) -> tuple[tuple[int, ...], ...]:
    """Mask hidden units without shrinking: the masked twin of :func:`remove_hidden_units`.

    Masks the unit's incoming rows of every gate in ``weight_ih_l{k}`` and
    ``weight_hh_l{k}``, its outgoing column of ``weight_hh_l{k}``, and its
    input column in the consumer (``weight_ih_l{k+1}`` or ``next_layer``);
    existing masks are kept (logical and). Biases are not prunable and stay:
    the unit's own state then still moves (see the module docstring), but no
    kept unit and no consumer reads it, so the kept units' outputs equal
    those of the removed model exactly. Arguments, checks and return value as
    :func:`remove_hidden_units`.

    Book: §3.1, §6.3.
    """
    per_layer = _plan(rnn_module, units, next_layer)
    rnn, gates = rnn_module, rnn_module._step.num_gates
    for k, idx in enumerate(per_layer):
        rows = _gate_rows(idx, rnn.hidden_size, gates)
        w_ih, w_hh, _, _ = rnn._layer(k)
        mask_out(w_ih, 0, rows)
        mask_out(w_hh, 0, rows)
        mask_out(w_hh, 1, idx)
        if k + 1 < rnn.num_layers:
            mask_out(getattr(rnn, f"weight_ih_l{k + 1}"), 1, idx)
    if next_layer is not None:
        mask_out(_consumer_weight(next_layer), 1, per_layer[-1])
    return tuple(tuple(int(j) for j in idx) for idx in per_layer)


def gate_unit_scores(rnn_module: Any, criterion: str = "l1", layer: int = 0) -> np.ndarray:
    """Per-hidden-unit scores of one layer: norms of the unit's rows over all gates.

    Parameters
    ----------
    rnn_module : RNN, LSTM or GRU
    criterion : {"l1", "l2"}, default "l1"
        See the module docstring: the sum of the rows' :math:`\\ell_1` norms,
        or the :math:`\\ell_2` norm of all the unit's incoming weights together.
    layer : int, default 0
        Which layer of a stack.

    Returns
    -------
    numpy.ndarray, shape ``(hidden_size,)``, float64
        Low = prune first.

    Book: §3.2 (magnitude criteria), §6.3.
    """
    _check_rnn(rnn_module)
    if criterion not in GATE_CRITERIA:
        raise ValueError(f"criterion must be one of {GATE_CRITERIA}, got {criterion!r}")
    if isinstance(layer, bool) or not isinstance(layer, int | np.integer):
        raise ValueError(f"layer must be an int in [0, {rnn_module.num_layers}), got {layer!r}")
    if not 0 <= layer < rnn_module.num_layers:
        raise ValueError(f"layer must be in [0, {rnn_module.num_layers}), got {layer}")
    hs, gates = rnn_module.hidden_size, rnn_module._step.num_gates
    w_ih, w_hh, _, _ = rnn_module._layer(int(layer))
    both = np.concatenate([to_numpy(w_ih.data), to_numpy(w_hh.data)], axis=1)  # (G*H, D+H)
    per_gate = both.astype(np.float64).reshape(gates, hs, -1)  # (G, H, D+H): rows g*H + j
    if criterion == "l1":
        return np.abs(per_gate).sum(axis=(0, 2))
    return np.sqrt((per_gate * per_gate).sum(axis=(0, 2)))


def prune_hidden_units(
    rnn_module: Any,
    amount: int | float,
    next_layer: Module | None = None,
    criterion: str = "l1",
) -> tuple[tuple[int, ...], ...]:
    """Remove the ``amount`` lowest-scoring hidden units of every layer.

    Scores from :func:`gate_unit_scores` (ties go to the lower index); the
    same count goes from each layer of a stack. ``amount`` is a count or a
    fraction of ``hidden_size``. Returns what :func:`remove_hidden_units` returns.

    Book: §3.1, §3.2, §6.3, §7.3.
    """
    _check_rnn(rnn_module)
    count = amount_to_count(amount, rnn_module.hidden_size, "hidden units")
    units = [
        lowest(gate_unit_scores(rnn_module, criterion, k), count)
        for k in range(rnn_module.num_layers)
    ]
    return remove_hidden_units(rnn_module, np.stack(units), next_layer)


def remove_embedding_dims(model: Module, embedding_name: str, dims: Any) -> RemovalRecord:
    """Physically remove embedding dimensions where that is exact (a simple chain).

    Column :math:`d` of ``Embedding.weight`` and input column :math:`d` of the
    consumer go: the next layer of the ``Sequential`` after the embedding
    (skipping ``Dropout``) must be a ``Linear`` reading ``(N, T, D)`` or an
    ``RNN``/``LSTM``/``GRU`` (``weight_ih_l0``). The result equals the model
    with those embedding columns and consumer columns masked.

    Parameters
    ----------
    model : Sequential
        Changed in place.
    embedding_name : str
        Dotted name of the ``Embedding``.
    dims : sequence of int
        Dimensions to remove, in ``[0, embedding_dim)``.

    Returns
    -------
    RemovalRecord
        ``action="removed"``, the embedding's name, the dimensions, parameter counts.

    Raises
    ------
    ValueError
        For a model that is not a ``Sequential`` chain, a name that is not an
        ``Embedding``, bad indices, or any other consumer (``PositionalEncoding``,
        ``LayerNorm``, attention: not exact, see the module docstring).

    Book: §3.1, §6.2.
    """
    sites = chain_sites(model)
    i = find_site(sites, embedding_name)
    emb = sites[i].module
    if not isinstance(emb, Embedding):
        raise ValueError(f"layer {embedding_name!r} is a {type(emb).__name__}, not an Embedding")
    idx = check_indices(dims, emb.embedding_dim, "embedding dimensions")
    later = [s for s in sites[i + 1 :] if not isinstance(s.module, Dropout)]
    consumer = later[0].module if later else None
    ok = isinstance(consumer, Linear | RNNBase)
    if not ok or (
        getattr(consumer, "in_features", getattr(consumer, "input_size", None)) != emb.embedding_dim
    ):
        what = "nothing" if consumer is None else f"{later[0].name!r} ({type(consumer).__name__})"
        raise ValueError(
            f"cannot remove dimensions of embedding {embedding_name!r}: it is read by {what}; "
            "removal is exact only when a Linear or RNN/LSTM/GRU of input width "
            f"{emb.embedding_dim} reads it directly"
        )
    before = model.num_parameters()
    shrink(emb.weight, 1, idx)
    emb.embedding_dim -= idx.size
    shrink(_consumer_weight(consumer), 1, idx)
    if isinstance(consumer, Linear):
        consumer.in_features -= idx.size
    else:
        consumer.input_size -= idx.size
    names = (sites[i].name, later[0].name)
    removed = tuple(int(d) for d in idx)
    return RemovalRecord("removed", sites[i].name, removed, before, model.num_parameters(), names)


__all__ = [
    "gate_unit_scores",
    "mask_hidden_units",
    "prune_hidden_units",
    "remove_embedding_dims",
    "remove_hidden_units",
]
