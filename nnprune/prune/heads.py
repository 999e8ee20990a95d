r"""Attention-head pruning: score heads, mask them, or remove them physically.

A :class:`~nnprune.nn.MultiHeadSelfAttention` with :math:`H` heads of size
:math:`d` computes :math:`y = \operatorname{concat}_h(\xi_h A_h)\,W_o^\top + b_o`
with a gate :math:`\xi_h` per head (the ``head_mask`` buffer, all ones).

* **Importance** (Michel et al., 2019): the loss change when head :math:`h`
  is removed, to first order, is :math:`|\partial L/\partial \xi_h|` at
  :math:`\xi = 1`, so

  .. math::

      I_h = \mathbb E_x \left|\frac{\partial L(x)}{\partial \xi_h}\right|,\qquad
      \tilde I_h = \frac{I_h}{\big(\sum_{h'} I_{h'}^2\big)^{1/2}}\quad\text{(per layer)},

  the per-layer :math:`\ell_2` normalisation of the Hugging Face "bertology"
  code (Michel et al. found it helps global ranking across layers).
* **Masking** sets :math:`\xi_h = 0`: the head still costs its full compute.
* **Removal** deletes head :math:`h` for real: rows :math:`hd, \dots, (h+1)d - 1`
  of ``q_proj``, ``k_proj`` and ``v_proj`` (weights, biases and masks) and the
  same input columns of ``out_proj``. ``num_heads`` and ``head_mask`` shrink;
  ``embed_dim`` (the width of the residual stream, the input of the
  projections and the output of ``out_proj``) does not. The inner width
  becomes ``num_heads * head_dim``, which no longer equals ``embed_dim``: this
  is why the layer merges heads to ``num_heads * head_dim`` features.

Removed and masked layers compute the same function, since a masked head
contributes :math:`0 \cdot A_h` to the concatenation and a removed one
contributes nothing. Heads are renumbered after a removal (the kept heads
keep their order), as in ``transformers``' ``prune_heads``.

Removing every head of a layer is refused: the layer would output the
constant :math:`b_o`; delete the whole attention block instead if that is the
intent (Michel et al. also keep at least one head per layer).

References
----------
P. Michel, O. Levy and G. Neubig, "Are Sixteen Heads Really Better than
One?", NeurIPS 2019.
E. Voita, D. Talbot, F. Moiseev, R. Sennrich and I. Titov, "Analyzing
Multi-Head Self-Attention: Specialized Heads Do the Heavy Lifting, the Rest
Can Be Pruned", ACL 2019.

Book: §3.1 (structural pruning of attention heads), §6.2, §7.2 (the text case study).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import backend_of, get_xp, to_backend, to_numpy
from ..checks import check_positive_int
from ..nn.attention import MultiHeadSelfAttention
from ..nn.module import Module
from ._checks import amount_to_count
from ._surgery import check_indices, shrink

SCOPES = ("global", "layer")


def attention_modules(model: Module) -> dict[str, MultiHeadSelfAttention]:
    """``{dotted name: layer}`` for every ``MultiHeadSelfAttention`` in ``model``, in order."""
    return {n: m for n, m in model.named_modules() if isinstance(m, MultiHeadSelfAttention)}


def _check_attention(attn: Any) -> None:
    if not isinstance(attn, MultiHeadSelfAttention):
        raise TypeError(f"attn must be a MultiHeadSelfAttention, got {type(attn).__name__}")


def _head_rows(heads: np.ndarray, head_dim: int) -> np.ndarray:
    """Feature indices of ``heads`` in the concatenation: head h is ``h*d .. (h+1)*d - 1``."""
    return (heads[:, None] * head_dim + np.arange(head_dim)).reshape(-1)  # (len(heads)*d,)


def head_importance(
    model: Module,
    loss_fn: Module,
    data: tuple[Any, Any],
    batch_size: int = 1,
    normalize: bool = True,
) -> dict[str, np.ndarray]:
    r"""Michel et al.'s head importance :math:`I_h = \mathbb E_x |\partial L/\partial\xi_h|`.

    The model runs in eval mode over ``data`` in order; for each batch of
    :math:`n_b` samples the gradient :math:`g_b = \partial L_b/\partial\xi`
    of the batch loss reaches every attention layer's ``head_mask_grad_``, and

    .. math::

        I_h = \frac{1}{N} \sum_b n_b\, |g_{b,h}|.

    With ``batch_size=1`` (the default) this is exactly the per-example
    expectation of the paper; a larger batch takes :math:`|\cdot|` of the
    batch-mean gradient instead (cheaper, as in the Hugging Face code, and a
    lower bound by the triangle inequality). Gates stay at the ``head_mask``
    buffer's values (ones unless heads were masked).

    Parameters
    ----------
    model : Module
        Any model holding ``MultiHeadSelfAttention`` layers whose ``forward(X)``
        returns what ``loss_fn`` reads (a text model computes its own
        padding mask from the token ids).
    loss_fn : Module
        A loss with ``forward(out, y)`` and ``backward()``, e.g. ``CrossEntropyLoss()``.
    data : (X, y)
        Inputs and targets, ``len(X) == len(y)``.
    batch_size : int, default 1
    normalize : bool, default True
        Divide each layer's scores by their :math:`\ell_2` norm (zeros stay zeros).

    Returns
    -------
    dict
        ``{attention layer name: scores}``, scores a float64 NumPy array of
        shape ``(num_heads,)``; higher means more important.

    Raises
    ------
    ValueError
        If the model has no attention layer, or ``data`` is not a non-empty pair.

    Notes
    -----
    Parameter gradients, ``head_mask_grad_``, forward caches and every
    module's train/eval mode are restored afterwards: the call leaves no trace.

    Book: §3.2 (gradient-based importance), §6.2.
    """
    layers = attention_modules(model)
    if not layers:
        raise ValueError(f"model has no MultiHeadSelfAttention layer ({type(model).__name__})")
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise ValueError(f"data must be a pair (X, y), got {type(data).__name__}")
    X, y = data
    if not hasattr(X, "shape") or not hasattr(y, "__len__") or not 0 < len(X) == len(y):
        lengths = [len(v) if hasattr(v, "__len__") else None for v in (X, y)]
        raise ValueError(
            f"data must be a non-empty pair (X, y) of equal lengths, got lengths {lengths}"
        )
    batch_size = check_positive_int("batch_size", batch_size)
    saved_state = [(m, dict(m.__dict__)) for m in model.modules()]  # caches, modes, head grads
    saved_grads = [(p, p.grad.copy()) for p in model.parameters()]
    totals = {name: np.zeros(attn.num_heads) for name, attn in layers.items()}
    backend = model.backend
    try:
        model.eval()
        for start in range(0, len(X), batch_size):  # the batches in order
            xb, yb = X[start : start + batch_size], y[start : start + batch_size]
            for attn in layers.values():
                attn.zero_grad()
            out = model.forward(to_backend(xb, backend))
            loss_fn.forward(out, to_backend(yb, backend))
            model.backward(loss_fn.backward())
            for name, attn in layers.items():
                totals[name] += len(xb) * np.abs(to_numpy(attn.head_mask_grad_))
    finally:
        for m, state in saved_state:
            m.__dict__.clear()
            m.__dict__.update(state)
        for p, grad in saved_grads:
            p.grad = grad
    scores = {}
    for name, total in totals.items():
        s = total / len(X)
        if normalize:
            norm = float(np.sqrt((s * s).sum()))
            s = s / norm if norm > 0 else s
        scores[name] = s
    return scores


def mask_heads(attn: MultiHeadSelfAttention, heads: Any) -> tuple[int, ...]:
    r"""Set :math:`\xi_h = 0` for ``heads``: the masked twin of :func:`remove_heads`.

    Parameters
    ----------
    attn : MultiHeadSelfAttention
    heads : sequence of int
        Heads to mask, in ``[0, num_heads)``.

    Returns
    -------
    tuple of int
        The masked heads, sorted.

    Book: §3.1.
    """
    _check_attention(attn)
    idx = check_indices(heads, attn.num_heads, "heads", refuse_all=False)
    gate = attn.head_mask
    gate[get_xp(gate).asarray(to_backend(idx, backend_of(gate)))] = 0.0
    return tuple(int(h) for h in idx)


def remove_heads(attn: MultiHeadSelfAttention, heads: Any) -> tuple[int, ...]:
    r"""Physically remove attention heads; the output equals the head-masked layer's.

    ``q_proj``, ``k_proj`` and ``v_proj`` lose the ``head_dim`` rows of each
    removed head (weight, bias, gradient and mask), ``out_proj`` the matching
    input columns; ``num_heads``, ``head_mask`` and ``head_mask_grad_`` shrink.
    ``embed_dim`` is unchanged; the inner width becomes ``num_heads * head_dim``.

    Parameters
    ----------
    attn : MultiHeadSelfAttention
        Changed in place.
    heads : sequence of int
        Heads to remove, in ``[0, num_heads)`` (before renumbering).

    Returns
    -------
    tuple of int
        The removed heads, sorted, in the numbering before the call; the kept
        heads are renumbered ``0 .. num_heads - 1`` in their old order.

    Raises
    ------
    ValueError
        For bad indices, or when every head would go; the layer is then unchanged.

    Notes
    -----
    Build a new optimiser afterwards: the old one holds the old arrays.
    ``transformers``: ``model.prune_heads({layer: heads})``.

    Examples
    --------
    >>> from nnprune import nn
    >>> attn = nn.MultiHeadSelfAttention(8, 4, seed=0)
    >>> remove_heads(attn, [1, 3])
    (1, 3)
    >>> attn.num_heads, attn.q_proj.weight.shape, attn.out_proj.weight.shape
    (2, (4, 8), (8, 4))

    Book: §3.1.
    """
    _check_attention(attn)
    idx = check_indices(heads, attn.num_heads, "heads", refuse_all=False)
    if idx.size == attn.num_heads:
        raise ValueError(
            f"cannot remove all {attn.num_heads} heads of the attention layer: it would output "
            "only out_proj.bias; keep at least one head (or delete the attention block)"
        )
    rows = _head_rows(idx, attn.head_dim)
    for proj in (attn.q_proj, attn.k_proj, attn.v_proj):
        shrink(proj.weight, 0, rows)
        shrink(proj.bias, 0, rows)
        proj.out_features -= rows.size
    shrink(attn.out_proj.weight, 1, rows)
    attn.out_proj.in_features -= rows.size
    keep = np.setdiff1d(np.arange(attn.num_heads), idx)
    gate, grad = attn.head_mask, attn.head_mask_grad_
    attn.head_mask = gate[get_xp(gate).asarray(to_backend(keep, backend_of(gate)))]
    attn.head_mask_grad_ = grad[get_xp(grad).asarray(to_backend(keep, backend_of(grad)))]
    attn.num_heads = int(keep.size)
    attn._cache = None
    return tuple(int(h) for h in idx)


def _select(scores: dict[str, np.ndarray], amount: Any, scope: str) -> dict[str, np.ndarray]:
    """Heads to remove per layer: the lowest scores, one head always kept per layer."""
    if scope == "layer":
        chosen = {}
        for name, s in scores.items():
            count = amount_to_count(amount, s.size, "heads")
            if count >= s.size:
                raise ValueError(
                    f"amount {amount!r} would remove all {s.size} heads of layer {name!r}; "
                    "at least one head per layer is kept"
                )
            chosen[name] = np.sort(np.argsort(s, kind="stable")[:count])
        return chosen
    flat = [(float(v), i, h) for i, s in enumerate(scores.values()) for h, v in enumerate(s)]
    count = amount_to_count(amount, len(flat), "heads")
    limit = len(flat) - len(scores)
    if count > limit:
        raise ValueError(
            f"amount {amount!r} asks for {count} heads, but at most {limit} of {len(flat)} can "
            f"go with one head kept in each of the {len(scores)} layers"
        )
    left = [s.size for s in scores.values()]
    picked: list[list[int]] = [[] for _ in scores]
    for _, i, h in sorted(flat):  # ties: lower layer, then lower head
        if sum(map(len, picked)) == count:
            break
        if left[i] > 1:
            picked[i].append(h)
            left[i] -= 1
    return {name: np.sort(np.array(p, np.int64)) for name, p in zip(scores, picked, strict=True)}


def prune_heads(
    model: Module, scores: dict[str, Any], amount: int | float, scope: str = "global"
) -> dict[str, tuple[int, ...]]:
    r"""Remove the ``amount`` lowest-importance heads, keeping at least one per layer.

    Parameters
    ----------
    model : Module
        Changed in place.
    scores : dict
        ``{attention layer name: (num_heads,) scores}``, e.g. from
        :func:`head_importance`; layers not listed are left alone.
    amount : int or float
        Heads to remove: a count or a fraction (rounded), of all scored heads
        (``scope="global"``) or of each layer's heads (``scope="layer"``).
    scope : {"global", "layer"}, default "global"
        ``"global"`` ranks every scored head together (Michel et al.; use
        normalised scores so that layers compare), skipping a head when it is
        the last of its layer; ``"layer"`` removes the same share from each layer.

    Returns
    -------
    dict
        ``{layer name: removed heads}`` in each layer's numbering before the call.

    Raises
    ------
    ValueError
        Unknown ``scope``, a name that is not an attention layer, scores of the
        wrong shape or not finite, or an ``amount`` that would leave a layer
        without heads; the model is then unchanged.

    Book: §3.1, §6.2, §7.2.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    layers = attention_modules(model)
    checked: dict[str, np.ndarray] = {}
    for name, s in scores.items():
        if name not in layers:
            raise ValueError(
                f"scores name {name!r} is not a MultiHeadSelfAttention of the model; "
                f"attention layers: {list(layers)}"
            )
        arr = np.asarray(to_numpy(s) if hasattr(s, "__array__") else s, dtype=np.float64)
        if arr.shape != (layers[name].num_heads,):
            raise ValueError(
                f"scores[{name!r}] must have shape ({layers[name].num_heads},), one per head, "
                f"got {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"scores[{name!r}] must be finite, got {arr.tolist()}")
        checked[name] = arr
    chosen = _select(checked, amount, scope)
    return {
        name: remove_heads(layers[name], idx) if idx.size else () for name, idx in chosen.items()
    }


__all__ = [
    "attention_modules",
    "head_importance",
    "mask_heads",
    "prune_heads",
    "remove_heads",
]
