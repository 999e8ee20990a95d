r"""``TransformerEncoderLayer`` (PyTorch's structure) and ``SequenceMeanPool``.

An encoder layer is self-attention and a two-layer feed-forward network, each
wrapped in a residual connection and a layer norm; ``SequenceMeanPool`` turns
its ``(N, T, D)`` output into one ``(N, D)`` vector per sequence for a
classifier head, ignoring padding.

Book: §1.2 (Transformers); the text case study (§6.2, §7.2) builds on it.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..checks import check_positive_int, check_probability
from ..rng import SeedLike, as_generator
from ._validate import (
    check_input,
    check_not_ragged,
)
from .activation import ReLU
from .attention import MultiHeadSelfAttention, check_attn_mask, check_key_padding_mask
from .dropout import Dropout
from .gelu import GELU
from .linear import Linear
from .module import Module
from .normalization import LayerNorm


class TransformerEncoderLayer(Module):
    r"""Self-attention plus feed-forward block, post-norm (default) or pre-norm.

    With :math:`\mathrm{SA}` the self-attention (plus ``dropout1``) and
    :math:`\mathrm{FF}(z) = \mathrm{dropout2}(W_2\,\mathrm{dropout}(\phi(W_1 z + b_1)) + b_2)`,

    .. math::

        \text{post-norm:}\quad h = \mathrm{LN}_1(x + \mathrm{SA}(x)),\qquad
        y = \mathrm{LN}_2(h + \mathrm{FF}(h)),

    .. math::

        \text{pre-norm (norm\_first):}\quad h = x + \mathrm{SA}(\mathrm{LN}_1(x)),\qquad
        y = h + \mathrm{FF}(\mathrm{LN}_2(h)).

    Backward follows both branches of each residual and adds them:
    for :math:`h = x + f(x)`, :math:`\partial L/\partial x = \delta_h + f'(x)^\top \delta_h`.

    Parameters
    ----------
    d_model : int
        Model width :math:`D`.
    nhead : int
        Attention heads; must divide ``d_model``.
    dim_feedforward : int, default 2048
        Hidden width of the feed-forward network.
    dropout : float in [0, 1), default 0.1
        Used by the attention probabilities, ``dropout``, ``dropout1`` and ``dropout2``.
    activation : {"relu", "gelu"}, default "relu"
    norm_first : bool, default False
        Pre-norm (True) or post-norm (False, the original Transformer).
    layer_norm_eps : float, default 1e-5
    seed : int or numpy.random.Generator, optional
        Initial weights and dropout noise.

    Attributes
    ----------
    self_attn : MultiHeadSelfAttention
    linear1, linear2 : Linear
    norm1, norm2 : LayerNorm
    dropout, dropout1, dropout2 : Dropout
    activation : ReLU or GELU

    References
    ----------
    A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017.
    R. Xiong et al., "On Layer Normalization in the Transformer Architecture", ICML 2020 (pre-norm).

    Book: §1.2.
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str = "relu",
        norm_first: bool = False,
        layer_norm_eps: float = 1e-5,
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        self.d_model = check_positive_int("d_model", d_model)
        check_positive_int("dim_feedforward", dim_feedforward)
        check_probability("dropout", dropout)
        if activation not in ("relu", "gelu"):
            raise ValueError(f"activation must be 'relu' or 'gelu', got {activation!r}")
        gen = as_generator(seed)
        noise = None if seed is None else gen
        self.self_attn = MultiHeadSelfAttention(d_model, nhead, dropout=dropout, seed=gen)
        self.linear1 = Linear(d_model, dim_feedforward, seed=gen)
        self.dropout = Dropout(dropout, seed=noise)
        self.linear2 = Linear(dim_feedforward, d_model, seed=gen)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = Dropout(dropout, seed=noise)
        self.dropout2 = Dropout(dropout, seed=noise)
        self.activation = ReLU() if activation == "relu" else GELU()

    def _sa_block(self, x: Any, padding: Any, allowed: Any) -> Any:
        # attn_mask only when given: a wrapper swapped in for self_attn (TopKAttention) has none
        masks = {"key_padding_mask": padding} if allowed is None else {
            "key_padding_mask": padding, "attn_mask": allowed}  # fmt: skip
        return self.dropout1(self.self_attn(x, **masks))

    def _sa_backward(self, dout: Any) -> Any:
        return self.self_attn.backward(self.dropout1.backward(dout))

    def _ff_block(self, x: Any) -> Any:
        hidden = self.dropout(self.activation(self.linear1(x)))
        return self.dropout2(self.linear2(hidden))

    def _ff_backward(self, dout: Any) -> Any:
        d_hidden = self.linear2.backward(self.dropout2.backward(dout))
        return self.linear1.backward(self.activation.backward(self.dropout.backward(d_hidden)))

    def forward(self, x: Any, src_mask: Any = None, src_key_padding_mask: Any = None) -> Any:
        """Encode ``x`` ``(N, T, d_model)`` (PyTorch's argument order).

        ``src_mask`` is the attention mask ``(T, T)``, bool (True = not allowed) or
        float (added to the scores; ``nn.causal_mask(T)`` makes the layer causal);
        ``src_key_padding_mask`` is bool ``(N, T)``, True = padding. The argument
        name of ``x`` in error messages is ``src``, as in PyTorch.
        """
        check_not_ragged(self, x, "src")
        check_input(self, x, ndim=3, last_dim=self.d_model)
        padding = check_key_padding_mask(
            src_key_padding_mask, x.shape[0], x.shape[1], x, "src_key_padding_mask"
        )
        allowed = check_attn_mask(src_mask, x.shape[1], x, "src_mask")
        if self.norm_first:
            h = x + self._sa_block(self.norm1(x), padding, allowed)
            return h + self._ff_block(self.norm2(h))
        h = self.norm1(x + self._sa_block(x, padding, allowed))
        return self.norm2(h + self._ff_block(h))

    def backward(self, dout: Any) -> Any:
        if self.norm_first:
            dh = dout + self.norm2.backward(self._ff_backward(dout))
            return dh + self.norm1.backward(self._sa_backward(dh))
        d_sum2 = self.norm2.backward(dout)  # gradient w.r.t. h + FF(h)
        dh = d_sum2 + self._ff_backward(d_sum2)
        d_sum1 = self.norm1.backward(dh)  # gradient w.r.t. x + SA(x)
        return d_sum1 + self._sa_backward(d_sum1)

    def zero_grad(self) -> None:
        """Zero the parameters' gradients and ``self_attn.head_mask_grad_``."""
        super().zero_grad()
        self.self_attn.zero_grad()

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}"


class SequenceMeanPool(Module):
    r"""Mean over the sequence axis, skipping padded positions: ``(N, T, D) -> (N, D)``.

    With :math:`m_{nt} = 1` for real tokens and 0 for padding, and
    :math:`c_n = \max(\sum_t m_{nt}, 1)` (a fully padded sequence gives zeros),

    .. math::

        y_n = \frac{1}{c_n}\sum_t m_{nt}\,x_{nt},\qquad
        \frac{\partial L}{\partial x_{nt}} = \frac{m_{nt}}{c_n}\,\delta_n.

    Book: §1.2 (a classifier head on a Transformer encoder).
    """

    def __init__(self) -> None:
        super().__init__()
        self._weights = None

    def forward(self, x: Any, key_padding_mask: Any = None) -> Any:
        """Pool ``x`` ``(N, T, D)``; ``key_padding_mask`` bool ``(N, T)``, True = padding."""
        check_not_ragged(self, x)
        check_input(self, x, ndim=3)
        xp = get_xp(x)
        n, t, _ = x.shape
        padding = check_key_padding_mask(key_padding_mask, n, t, x, "key_padding_mask")
        keep = xp.ones((n, t), x.dtype) if padding is None else (~padding).astype(x.dtype)
        count = xp.maximum(keep.sum(axis=1, keepdims=True), 1.0)  # (N, 1)
        self._weights = (keep / count)[:, :, None]  # (N, T, 1)
        return (x * self._weights).sum(axis=1)

    def backward(self, dout: Any) -> Any:
        if self._weights is None:
            raise RuntimeError("SequenceMeanPool.backward called before forward")
        return dout[:, None, :] * self._weights


__all__ = ["SequenceMeanPool", "TransformerEncoderLayer"]
