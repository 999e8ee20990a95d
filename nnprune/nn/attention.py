r"""``MultiHeadSelfAttention``: scaled dot-product self-attention with ``num_heads`` heads.

The four projections are separate ``Linear`` layers (``q_proj``, ``k_proj``,
``v_proj``, ``out_proj``, the Hugging Face layout) rather than PyTorch's
stacked ``in_proj_weight``: each is prunable on its own, and removing a head
later means removing ``head_dim`` rows of ``q_proj``/``k_proj``/``v_proj`` and
the matching columns of ``out_proj``. A per-head gate ``head_mask`` and the
gradient with respect to it (``head_mask_grad_``) give the head importance of
Michel et al. (2019). ``attn_mask`` follows PyTorch (bool: True = not allowed;
float: added to the scores), and :func:`causal_mask` builds the mask of a
causal (left-to-right) language model.

Book: §1.2 (Transformers); head importance is used for structured pruning (§3.1).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import backend_of, get_xp, to_backend
from ..checks import check_positive_int, check_probability
from ..rng import SeedLike, as_generator
from . import init
from ._validate import check_input, check_not_ragged
from .dropout import Dropout
from .linear import Linear
from .module import Module


def check_key_padding_mask(mask: Any, n: int, t: int, like: Any, arg: str) -> Any:
    """Return ``mask`` as a bool ``(n, t)`` array on ``like``'s backend, or raise.

    ``None`` passes through. ``arg`` names the argument in the message.
    """
    if mask is None:
        return None
    if not hasattr(mask, "dtype"):
        mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise ValueError(
            f"{arg} must be a bool array of shape (N, T) = ({n}, {t}) with True = padding, "
            f"got dtype {mask.dtype}"
        )
    if tuple(mask.shape) != (n, t):
        raise ValueError(
            f"{arg} must have shape (N, T) = ({n}, {t}) (True = padding), "
            f"got shape {tuple(mask.shape)}"
        )
    return to_backend(mask, backend_of(like))


def causal_mask(size: int, dtype: Any = np.float32) -> np.ndarray:
    r"""The ``(size, size)`` causal attention mask: 0 on and below the diagonal, ``-inf`` above.

    .. math::

        M_{ij} = \begin{cases} 0 & j \le i \\ -\infty & j > i \end{cases}

    Added to the scores, it lets position :math:`i` attend only to positions
    :math:`j \le i`, as a language model that predicts the next token must.
    Equal to PyTorch's ``nn.Transformer.generate_square_subsequent_mask(size)``.

    Parameters
    ----------
    size : int
        Sequence length :math:`T`.
    dtype : numpy dtype, default float32

    Book: §8.1 (language models pruned without retraining).
    """
    size = check_positive_int("size", size)
    upper = np.triu(np.ones((size, size), dtype=bool), k=1)  # (T, T), True above the diagonal
    return np.where(upper, -np.inf, 0.0).astype(dtype)


def check_attn_mask(mask: Any, t: int, like: Any, arg: str = "attn_mask") -> Any:
    """Return ``mask`` as a bool or float ``(t, t)`` array on ``like``'s backend, or raise.

    ``None`` passes through; a float mask takes ``like``'s dtype (it is added to
    the scores). ``arg`` names the argument in the message.
    """
    if mask is None:
        return None
    if not hasattr(mask, "dtype"):
        mask = np.asarray(mask)
    if mask.dtype != np.bool_ and mask.dtype.kind != "f":
        raise ValueError(
            f"{arg} must be a bool (True = not allowed) or float (added to the scores) array "
            f"of shape (T, T) = ({t}, {t}), got dtype {mask.dtype}"
        )
    if tuple(mask.shape) != (t, t):
        raise ValueError(
            f"{arg} must have shape (T, T) = ({t}, {t}), got shape {tuple(mask.shape)}"
        )
    mask = to_backend(mask, backend_of(like))
    if mask.dtype == np.bool_:
        return mask
    return get_xp(like).asarray(mask, dtype=like.dtype)


def masked_softmax(scores: Any) -> Any:
    r"""Softmax over the last axis where ``-inf`` entries get probability 0.

    A row that is ``-inf`` everywhere (a query whose keys are all padding)
    gives all zeros instead of the ``0/0 = NaN`` of a plain softmax.
    """
    xp = get_xp(scores)
    row_max = scores.max(axis=-1, keepdims=True)
    row_max = xp.where(xp.isfinite(row_max), row_max, 0.0)
    e = xp.exp(scores - row_max)  # exp(-inf) = 0
    total = e.sum(axis=-1, keepdims=True)
    return e / xp.where(total > 0, total, 1.0)


class MultiHeadSelfAttention(Module):
    r"""Multi-head self-attention on ``(N, T, embed_dim)`` inputs (batch first).

    With :math:`H` heads of size :math:`d = D/H`, for each head :math:`h`

    .. math::

        Q_h = (xW_q^\top + b_q)_h,\quad K_h = (xW_k^\top + b_k)_h,\quad
        V_h = (xW_v^\top + b_v)_h,\qquad
        S_h = \frac{Q_h K_h^\top}{\sqrt d},\quad P_h = \operatorname{softmax}(S_h),\quad
        A_h = P_h V_h,

    and :math:`y = \operatorname{concat}_h(\xi_h A_h)\,W_o^\top + b_o`, where
    :math:`\xi` is ``head_mask`` (all ones by default). A float ``attn_mask``
    :math:`M` is added to every head's scores, :math:`S_h = Q_hK_h^\top/\sqrt d + M`
    (:func:`causal_mask` gives the causal one); a bool ``attn_mask`` is
    :math:`M = -\infty` where True. Keys marked as padding
    get :math:`S = -\infty`, so :math:`P = 0` there; a query with only padded
    or disallowed keys gets :math:`P = 0` and :math:`y = b_o` (PyTorch gives NaN).
    :math:`M` is a constant: the gradients below do not change, because
    :math:`P = 0` wherever :math:`S = -\infty`. In
    training mode :math:`P` goes through dropout before it multiplies :math:`V`.

    Backward, with :math:`G = \partial L/\partial\operatorname{concat}` (from
    ``out_proj``) split into heads :math:`G_h`:

    .. math::

        \frac{\partial L}{\partial \xi_h} = \sum G_h \odot A_h,\quad
        \frac{\partial L}{\partial A_h} = \xi_h G_h,\quad
        \frac{\partial L}{\partial P_h} = \frac{\partial L}{\partial A_h} V_h^\top,\quad
        \frac{\partial L}{\partial V_h} = P_h^\top \frac{\partial L}{\partial A_h},

    .. math::

        \frac{\partial L}{\partial S_h} = P_h \odot \Big(\frac{\partial L}{\partial P_h}
        - \operatorname{rowsum}\big(\tfrac{\partial L}{\partial P_h} \odot P_h\big)\Big),\quad
        \frac{\partial L}{\partial Q_h} = \frac{1}{\sqrt d}\frac{\partial L}{\partial S_h} K_h,\quad
        \frac{\partial L}{\partial K_h} = \frac{1}{\sqrt d}
        \Big(\frac{\partial L}{\partial S_h}\Big)^{\!\top} Q_h,

    and :math:`\partial L/\partial x` is the sum of what the three input
    projections' backward passes return. The key bias gets
    :math:`\partial L/\partial b_k = 0` exactly: it adds :math:`Q_{hi} \cdot b_{k,h}`
    to every score of row :math:`i`, and softmax ignores a constant shift per row.

    Head importance (Michel et al., 2019): :math:`\xi_h` is a gate on head
    :math:`h`, and :math:`I_h = \mathbb E_x |\partial L/\partial \xi_h|` at
    :math:`\xi = 1` estimates how much the loss changes when the head is
    removed. ``backward`` *adds* :math:`\partial L/\partial\xi` into
    ``head_mask_grad_`` (like ``Parameter.grad``); this layer's
    :meth:`zero_grad` resets it (a parent's ``Module.zero_grad`` does not).

    Parameters
    ----------
    embed_dim : int
        Model width :math:`D`.
    num_heads : int
        Number of heads :math:`H`; must divide ``embed_dim``.
    bias : bool, default True
        Biases on all four projections.
    dropout : float in [0, 1), default 0.0
        Dropout on the attention probabilities (training mode only).
    seed : int or numpy.random.Generator, optional
        Initial weights as PyTorch's ``MultiheadAttention``: Xavier-uniform over
        the stacked ``(3D, D)`` input projection (bound :math:`\sqrt{6/(4D)}`),
        zero input and output biases, the default ``Linear`` init for
        ``out_proj.weight``; also the dropout noise.

    Attributes
    ----------
    q_proj, k_proj, v_proj, out_proj : Linear ``(D -> D)``, weights prunable.
    head_mask : buffer, shape ``(num_heads,)``, ones.
    head_mask_grad_ : array, shape ``(num_heads,)``, accumulated :math:`\partial L/\partial\xi`.

    References
    ----------
    A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017, §3.2.
    P. Michel, O. Levy and G. Neubig, "Are Sixteen Heads Really Better than One?",
    NeurIPS 2019.

    Book: §1.2.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        bias: bool = True,
        dropout: float = 0.0,
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        self.embed_dim = check_positive_int("embed_dim", embed_dim)
        self.num_heads = check_positive_int("num_heads", num_heads)
        if embed_dim % num_heads:
            raise ValueError(
                f"num_heads {num_heads} must divide embed_dim {embed_dim} "
                "(each head gets embed_dim // num_heads features)"
            )
        self.head_dim = embed_dim // num_heads
        self.dropout = check_probability("dropout", dropout)
        gen = as_generator(seed)
        bound = math.sqrt(6.0 / (4 * embed_dim))  # xavier_uniform_ of a (3D, D) matrix
        for name in ("q_proj", "k_proj", "v_proj"):
            proj = Linear(embed_dim, embed_dim, bias=bias, seed=gen)
            init.uniform_(proj.weight, -bound, bound, seed=gen)
            setattr(self, name, proj)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, seed=gen)
        for proj in (self.q_proj, self.k_proj, self.v_proj, self.out_proj):
            if proj.bias is not None:
                init.zeros_(proj.bias)
        self.attn_dropout = Dropout(dropout, seed=None if seed is None else gen)
        self.register_buffer("head_mask", np.ones(num_heads, np.float32))
        self.head_mask_grad_ = np.zeros(num_heads)
        self._cache = None

    # ------------------------------------------------------------- helpers
    def _split(self, z: Any) -> Any:
        n, t, _ = z.shape
        return z.reshape(n, t, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)  # (N,H,T,d)

    def _merge(self, z: Any) -> Any:
        n, _, t, _ = z.shape
        # H*d, not embed_dim: after head pruning the two differ
        return z.transpose(0, 2, 1, 3).reshape(n, t, self.num_heads * self.head_dim)  # (N,T,H*d)

    def _gate(self, head_mask: Any, like: Any) -> Any:
        gate = self.head_mask if head_mask is None else head_mask
        if not hasattr(gate, "shape"):
            gate = np.asarray(gate)
        if tuple(gate.shape) != (self.num_heads,) or gate.dtype.kind not in "fiub":
            raise ValueError(
                f"head_mask must be a real array of shape (num_heads,) = ({self.num_heads},), "
                f"got {gate.dtype} of shape {tuple(gate.shape)}"
            )
        xp = get_xp(like)
        return xp.asarray(to_backend(gate, backend_of(like)), dtype=like.dtype)

    # ------------------------------------------------------------ computing
    def forward(
        self,
        x: Any,
        key_padding_mask: Any = None,
        attn_mask: Any = None,
        head_mask: Any = None,
    ) -> Any:
        """Attend over ``x`` ``(N, T, D)`` -> ``(N, T, D)``.

        Parameters
        ----------
        x : array, shape ``(N, T, embed_dim)``
        key_padding_mask : bool array, shape ``(N, T)``, optional
            True marks padding keys, which get no attention (PyTorch convention).
        attn_mask : bool or float array, shape ``(T, T)``, optional
            Which key each query may attend to, shared by the batch and the heads
            (PyTorch convention): bool True = not allowed; float values are added
            to the scores (``-inf`` = not allowed). ``causal_mask(T)`` is the causal one.
        head_mask : array, shape ``(num_heads,)``, optional
            Per-head gates for this call; defaults to the ``head_mask`` buffer.
        """
        check_not_ragged(self, x)
        check_input(self, x, ndim=3, last_dim=self.embed_dim)
        xp = get_xp(x)
        n, t, _ = x.shape
        padding = check_key_padding_mask(key_padding_mask, n, t, x, "key_padding_mask")
        allowed = check_attn_mask(attn_mask, t, x, "attn_mask")
        gate = self._gate(head_mask, x)
        q = self._split(self.q_proj(x))  # (N, H, T, d)
        k = self._split(self.k_proj(x))
        v = self._split(self.v_proj(x))
        scale = 1.0 / math.sqrt(self.head_dim)
        scores = (q @ k.transpose(0, 1, 3, 2)) * scale  # (N, H, T_query, T_key)
        if allowed is not None and allowed.dtype == np.bool_:
            scores = xp.where(allowed, -xp.inf, scores)  # (T, T) broadcasts over (N, H)
        elif allowed is not None:
            scores = scores + allowed
        if padding is not None:
            scores = xp.where(padding[:, None, None, :], -xp.inf, scores)
        probs = masked_softmax(scores)
        probs_used = self.attn_dropout(probs)
        heads = probs_used @ v  # (N, H, T, d)
        self._cache = (q, k, v, probs, probs_used, heads, gate, scale)
        return self.out_proj(self._merge(heads * gate[:, None, None]))

    def backward(self, dout: Any) -> Any:
        if self._cache is None:
            raise RuntimeError("MultiHeadSelfAttention.backward called before forward")
        q, k, v, probs, probs_used, heads, gate, scale = self._cache
        xp = get_xp(dout)
        d_gated = self._split(self.out_proj.backward(dout))  # (N, H, T, d)
        d_gate = (d_gated * heads).sum(axis=(0, 2, 3))  # (H,)
        grad = self.head_mask_grad_
        if grad.shape != d_gate.shape or backend_of(grad) != backend_of(d_gate):
            grad = xp.zeros(d_gate.shape)
        self.head_mask_grad_ = grad + d_gate
        d_heads = d_gated * gate[:, None, None]
        d_probs_used = d_heads @ v.transpose(0, 1, 3, 2)  # (N, H, T, T)
        dv = probs_used.transpose(0, 1, 3, 2) @ d_heads  # (N, H, T, d)
        d_probs = self.attn_dropout.backward(d_probs_used)
        d_scores = probs * (d_probs - (d_probs * probs).sum(axis=-1, keepdims=True))
        d_scores = d_scores * scale
        dq = d_scores @ k
        dk = d_scores.transpose(0, 1, 3, 2) @ q
        dx = self.q_proj.backward(self._merge(dq))
        dx += self.k_proj.backward(self._merge(dk))
        dx += self.v_proj.backward(self._merge(dv))
        return dx

    def zero_grad(self) -> None:
        """Zero the parameters' gradients and ``head_mask_grad_``."""
        super().zero_grad()
        xp = get_xp(self.head_mask_grad_)
        self.head_mask_grad_ = xp.zeros(self.num_heads)

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
            f"bias={self.q_proj.bias is not None}, dropout={self.dropout}"
        )


__all__ = [
    "MultiHeadSelfAttention",
    "causal_mask",
    "check_attn_mask",
    "check_key_padding_mask",
    "masked_softmax",
]
