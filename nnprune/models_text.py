r"""``TransformerClassifier``: token ids -> class scores, with padding masked everywhere.

.. math::

    x_0 = E[\text{ids}] + PE,\qquad x_{l+1} = \mathrm{Enc}_l(x_l;\ \text{pad}),\qquad
    \text{logits} = W \cdot \mathrm{MeanPool}(x_L;\ \text{pad}) + b,

with :math:`\text{pad} = (\text{ids} = \text{pad\_id})`, the key padding mask
that every attention layer and the pooling read. It is not a plain
``Sequential`` because the mask computed from the input ids must reach
several layers; ``forward(ids)`` takes the ids alone, so the model trains with
:func:`nnprune.train.fit` and is scored by
:func:`nnprune.prune.head_importance` like any other.

:func:`nnprune.metrics.flops` counts it through its ``flops_rule`` hook.
Backward runs the layers in reverse: the head, the pooling
(:math:`\partial L/\partial x_{nt} = m_{nt}\delta_n / c_n`), each encoder
layer, the positional encoding (identity), and the embedding's scatter-add
into ``embedding.weight.grad``. Token ids have no gradient, so
:meth:`backward` returns ``None``.

Book: §6.2, §7.2 (a small BERT-like encoder; the book's "BERT 300 million"
is corrected in docs/errata.md#s7: BERT-base has about 110M parameters,
BERT-large about 340M).
"""

from __future__ import annotations

from typing import Any

from . import nn
from .checks import check_positive_int
from .metrics.flops import sub_flops
from .rng import SeedLike, as_generator


class TransformerClassifier(nn.Module):
    r"""Embedding, positional encoding, ``num_layers`` encoder layers, mean pooling, ``Linear``.

    Parameters
    ----------
    vocab_size : int
        Embedding rows; ids must be in ``[0, vocab_size)``.
    num_classes : int
    d_model : int, default 32
    nhead : int, default 4
        Heads per attention layer; must divide ``d_model``.
    num_layers : int, default 1
    dim_feedforward : int, default 64
    max_len : int, default 128
        Longest sequence accepted.
    pad_id : int, default 0
        Id of the padding token: its embedding row stays zero and its
        positions are masked in attention and pooling.
    dropout : float, default 0.0
    seed : int or numpy.random.Generator, optional

    Attributes
    ----------
    embedding : Embedding
    pos_encoding : PositionalEncoding
    encoder : Sequential of TransformerEncoderLayer
        Called one by one with the padding mask (names ``encoder.0.self_attn`` ...).
    pool : SequenceMeanPool
    head : Linear ``(d_model -> num_classes)``

    Book: §6.2, §7.2.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        d_model: int = 32,
        nhead: int = 4,
        num_layers: int = 1,
        dim_feedforward: int = 64,
        max_len: int = 128,
        pad_id: int = 0,
        dropout: float = 0.0,
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        check_positive_int("num_layers", num_layers)
        gen = as_generator(seed)
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab_size, d_model, padding_idx=pad_id, seed=gen)
        self.pos_encoding = nn.PositionalEncoding(d_model, max_len)
        self.encoder = nn.Sequential(
            *[
                nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout, seed=gen)
                for _ in range(num_layers)
            ]
        )
        self.pool = nn.SequenceMeanPool()
        self.head = nn.Linear(d_model, check_positive_int("num_classes", num_classes), seed=gen)

    def forward(self, ids: Any) -> Any:
        """``ids`` int ``(N, T)`` -> logits ``(N, num_classes)``."""
        if not hasattr(ids, "ndim") or ids.ndim != 2:
            got = tuple(ids.shape) if hasattr(ids, "shape") else type(ids).__name__
            raise ValueError(f"TransformerClassifier expects token ids of shape (N, T), got {got}")
        x = self.embedding(ids)  # (N, T, D)
        padding = ids == self.pad_id  # (N, T), True = padding
        x = self.pos_encoding(x)
        for layer in self.encoder:
            x = layer(x, src_key_padding_mask=padding)
        return self.head(self.pool(x, key_padding_mask=padding))

    def backward(self, dout: Any) -> None:
        d = self.pool.backward(self.head.backward(dout))  # (N, T, D)
        for layer in reversed(list(self.encoder)):
            d = layer.backward(d)
        self.embedding.backward(self.pos_encoding.backward(d))
        return None

    def flops_rule(self, call: Any) -> dict[str, tuple[int, int]]:
        """The :mod:`nnprune.metrics.flops` hook: MACs of the encoder layers and the head.

        ``call.input_shape`` is ``(1, T)``: MACs per sample at the padded
        length ``T`` (padding is computed too). The embedding lookup, the
        positional encoding and the pooling count 0, as everywhere in
        :mod:`nnprune.metrics.flops`.
        """
        prefix = call.name + "." if call.name else ""
        seq_len, d_model = call.input_shape[1], self.head.in_features
        out: dict[str, tuple[int, int]] = {}
        for i, layer in enumerate(self.encoder):
            out.update(sub_flops(layer, f"{prefix}encoder.{i}", (1, seq_len, d_model)))
        out.update(sub_flops(self.head, prefix + "head", (1, d_model)))
        return out

    def zero_grad(self) -> None:
        """Zero the parameters' gradients and every attention layer's ``head_mask_grad_``."""
        super().zero_grad()
        for layer in self.encoder:
            layer.self_attn.zero_grad()


__all__ = ["TransformerClassifier"]
