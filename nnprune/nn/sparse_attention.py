r"""Top-k sparse attention: each query keeps only its ``k`` largest attention scores.

For one head with scores :math:`S = QK^\top/\sqrt d` (shape :math:`T_q \times T_k`),
top-k attention keeps, in each query row :math:`i`, the set :math:`\mathcal K_i` of the
``k`` largest scores and renormalises the softmax over them:

.. math::

    P_{ij} = \frac{\exp(S_{ij})\,\mathbb 1[j \in \mathcal K_i]}
        {\sum_{l \in \mathcal K_i} \exp(S_{il})},\qquad A = P V .

The attention matrix then has at most ``k`` non-zeros per row: a sparse attention
pattern that depends on the input (Zhao et al. 2019, "Explicit Sparse Transformer";
Gupta et al. 2021, "Memory-efficient Transformers via Top-k Attention"). With ``k``
at least the number of (non-padding) keys it is exactly dense attention. Padding keys
are never kept. Among equal scores at the cut, the key of lower index is kept, so each
row keeps exactly :math:`\min(k, \text{valid keys})` entries.

:func:`topk_attention` computes this from a :class:`MultiHeadSelfAttention`'s own
projections (the layer is read, not changed); :class:`TopKAttention` wraps a layer so
that a model runs with it (forward only: it is for measuring, not training);
:func:`nnprune.prune.sparse_attention_eval` swaps every attention layer of a model for its top-k
wrapper, measures loss, accuracy and the fraction of attention scores kept, and puts
the layers back.

Book: §6.2 (sparse attention matrices in NLP models)
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import get_xp
from ..checks import check_positive_int
from .attention import MultiHeadSelfAttention, check_key_padding_mask, masked_softmax
from .module import Module

__all__ = ["TopKAttention", "topk_attention", "topk_mask"]


def topk_mask(scores: Any, k: int) -> Any:
    r"""Boolean mask of the ``k`` largest finite entries along the last axis (ties: lower index).

    ``-inf`` entries (padding) are never kept; a row with fewer than ``k`` finite
    entries keeps all of them.

    Book: §6.2
    """
    k = check_positive_int("k", k)
    xp = get_xp(scores)
    t = scores.shape[-1]
    if k >= t:
        return xp.isfinite(scores)
    # rank of each entry in its row, from a stable sort of -scores: among equal scores
    # the lower index ranks first
    order = xp.argsort(-scores, axis=-1, kind="stable")  # (..., T)
    rank = xp.argsort(order, axis=-1, kind="stable")  # (..., T)
    return (rank < k) & xp.isfinite(scores)


def topk_attention(
    attn: MultiHeadSelfAttention,
    x: Any,
    k: int,
    key_padding_mask: Any = None,
    *,
    return_kept: bool = False,
) -> Any:
    r"""Self-attention of ``attn`` on ``x`` ``(N, T, D)`` with only the top ``k`` scores per query.

    Parameters
    ----------
    attn : MultiHeadSelfAttention
        Its projections and ``head_mask`` are used; the layer is not modified
        (no dropout: evaluation semantics).
    x : array (N, T, embed_dim)
    k : int >= 1
    key_padding_mask : bool array (N, T), optional
        True marks padding keys (never kept).
    return_kept : bool, default False
        Also return ``(kept, valid)``: the number of attention scores kept and the
        number of non-padding scores (over all heads and queries).

    Returns
    -------
    array (N, T, embed_dim), or (array, (int, int)) with ``return_kept``

    Book: §6.2
    """
    if not isinstance(attn, MultiHeadSelfAttention):
        raise TypeError(f"attn must be a MultiHeadSelfAttention, got {type(attn).__name__}")
    k = check_positive_int("k", k)
    if not hasattr(x, "ndim") or x.ndim != 3 or x.shape[-1] != attn.embed_dim:
        got = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"x must have shape (N, T, {attn.embed_dim}), got {got}")
    xp = get_xp(x)
    n, t, _ = x.shape
    padding = check_key_padding_mask(key_padding_mask, n, t, x, "key_padding_mask")

    def proj(layer):
        y = x @ layer.weight.data.T  # (N, T, H*d)
        return y if layer.bias is None else y + layer.bias.data

    def split(z):
        return z.reshape(n, t, attn.num_heads, attn.head_dim).transpose(0, 2, 1, 3)  # (N,H,T,d)

    q, kk, v = split(proj(attn.q_proj)), split(proj(attn.k_proj)), split(proj(attn.v_proj))
    scores = (q @ kk.transpose(0, 1, 3, 2)) / math.sqrt(attn.head_dim)  # (N, H, T, T)
    if padding is not None:
        scores = xp.where(padding[:, None, None, :], -xp.inf, scores)
    keep = topk_mask(scores, k)
    probs = masked_softmax(xp.where(keep, scores, -xp.inf))  # renormalised over the kept keys
    gate = xp.asarray(attn.head_mask, dtype=x.dtype)
    heads = (probs @ v) * gate[:, None, None]  # (N, H, T, d)
    merged = heads.transpose(0, 2, 1, 3).reshape(n, t, attn.num_heads * attn.head_dim)
    out = merged @ attn.out_proj.weight.data.T
    if attn.out_proj.bias is not None:
        out = out + attn.out_proj.bias.data
    if return_kept:
        return out, (int(keep.sum()), int(xp.isfinite(scores).sum()))
    return out


class TopKAttention(Module):
    """Forward-only wrapper: ``attn``'s self-attention with the top ``k`` scores per query.

    Counts the scores it kept and the non-padding scores it saw (``kept_``,
    ``valid_``) over all calls since construction. ``backward`` is not supported.

    Parameters
    ----------
    attn : MultiHeadSelfAttention
    k : int >= 1

    Book: §6.2
    """

    def __init__(self, attn: MultiHeadSelfAttention, k: int) -> None:
        super().__init__()
        if not isinstance(attn, MultiHeadSelfAttention):
            raise TypeError(f"attn must be a MultiHeadSelfAttention, got {type(attn).__name__}")
        self.attn = attn
        self.k = check_positive_int("k", k)
        self.kept_ = 0
        self.valid_ = 0

    def forward(self, x: Any, key_padding_mask: Any = None, head_mask: Any = None) -> Any:
        if head_mask is not None:
            raise ValueError("TopKAttention uses the layer's head_mask buffer; got head_mask")
        out, (kept, valid) = topk_attention(
            self.attn, x, self.k, key_padding_mask, return_kept=True
        )
        self.kept_ += kept
        self.valid_ += valid
        return out

    def backward(self, dout: Any) -> Any:
        raise NotImplementedError("TopKAttention is for evaluation only (no backward)")
