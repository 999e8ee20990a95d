r"""A tiny character-level causal Transformer language model, and how to score it.

.. math::

    x_0 = E[\text{ids}] + P[0{:}T],\qquad
    x_{l+1} = \mathrm{Block}_l(x_l;\ M),\qquad
    \text{logits} = W\,\mathrm{LN}(x_L) + b,

with learned token embeddings :math:`E`, learned positions :math:`P`, pre-norm
encoder layers made causal by the mask :math:`M` = :func:`nnprune.nn.causal_mask`
(position :math:`t` sees positions :math:`\le t` only), and a final layer norm
and linear head giving the next-character logits at every position. Trained
with cross-entropy on the next character, its validation loss :math:`\bar\ell`
(nats per character) gives the perplexity :math:`e^{\bar\ell}` and the bits per
character :math:`\bar\ell/\ln 2` (:func:`lm_perplexity`).

This is the smallest model on which the one-shot pruning of language models
(:mod:`nnprune.prune.wanda`, :mod:`nnprune.prune.sparsegpt`) can be shown:
their published numbers are on LLaMA-scale models, this one has about
100,000 weights and trains in minutes on two CPU cores.

Book: §8.1 (beyond the book: language models pruned without retraining).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import nn
from .backend import get_xp
from .checks import check_positive_int
from .rng import SeedLike, as_generator


class CharTransformerLM(nn.Module):
    r"""Token + learned position embeddings, ``num_layers`` causal pre-norm blocks, LN, head.

    ``forward(ids)`` takes ``(N, T)`` ids with :math:`T \le` ``context`` and
    returns ``(N, T, vocab_size)`` logits; position :math:`t`'s logits predict
    the id at :math:`t+1`. ``backward`` runs the head, the final norm, the
    blocks in reverse and the two embeddings' scatter-adds, and returns ``None``
    (ids have no gradient).

    Parameters
    ----------
    vocab_size : int
    d_model : int, default 64
    nhead : int, default 4
    num_layers : int, default 2
    dim_feedforward : int, default 256
    context : int, default 64
        Longest sequence (rows of the position table).
    dropout : float, default 0.0
    seed : int or numpy.random.Generator, optional

    Attributes
    ----------
    embedding : Embedding ``(vocab_size, d_model)``
    pos_embedding : Embedding ``(context, d_model)``
    layers : Sequential of TransformerEncoderLayer (pre-norm, GELU)
    norm : LayerNorm
    head : Linear ``(d_model -> vocab_size)``

    Book: §8.1.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 64,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 256,
        context: int = 64,
        dropout: float = 0.0,
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        check_positive_int("num_layers", num_layers)
        self.context = check_positive_int("context", context)
        gen = as_generator(seed)
        self.embedding = nn.Embedding(vocab_size, d_model, seed=gen)
        self.pos_embedding = nn.Embedding(context, d_model, seed=gen)
        for emb in (self.embedding, self.pos_embedding):
            emb.weight.data *= 0.1  # N(0, 0.01): GPT-2's scale keeps the first logits small
        self.layers = nn.Sequential(
            *[
                nn.TransformerEncoderLayer(
                    d_model, nhead, dim_feedforward, dropout, "gelu", norm_first=True, seed=gen
                )
                for _ in range(num_layers)
            ]
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, seed=gen)

    def embed(self, ids: Any) -> Any:
        """Token plus position embeddings of ``ids`` ``(N, T)`` -> ``(N, T, d_model)``."""
        if not hasattr(ids, "ndim") or ids.ndim != 2:
            got = tuple(ids.shape) if hasattr(ids, "shape") else type(ids).__name__
            raise ValueError(f"CharTransformerLM expects token ids of shape (N, T), got {got}")
        n, t = ids.shape
        if t > self.context:
            raise ValueError(f"sequence length {t} > context {self.context}")
        positions = np.broadcast_to(np.arange(t), (n, t))  # (N, T)
        return self.embedding(ids) + self.pos_embedding(positions)

    def attn_mask(self, t: int, like: Any) -> Any:
        """The causal mask for length ``t`` in ``like``'s dtype (what every block receives)."""
        return get_xp(like).asarray(nn.causal_mask(t), dtype=like.dtype)

    def forward(self, ids: Any) -> Any:
        """``ids`` int ``(N, T)`` -> next-id logits ``(N, T, vocab_size)``."""
        x = self.embed(ids)
        mask = self.attn_mask(x.shape[1], x)
        for layer in self.layers:
            x = layer(x, src_mask=mask)
        return self.head(self.norm(x))

    def backward(self, dout: Any) -> None:
        d = self.norm.backward(self.head.backward(dout))  # (N, T, D)
        for layer in reversed(list(self.layers)):
            d = layer.backward(d)
        self.embedding.backward(d)
        self.pos_embedding.backward(d)
        return None


def lm_perplexity(model: nn.Module, x: Any, y: Any, batch_size: int = 64) -> dict[str, float]:
    r"""Mean next-id loss of ``model`` on windows ``(x, y)``, as perplexity and bits per id.

    .. math::

        \bar\ell = -\frac{1}{NT}\sum_{n,t}\log p(y_{nt}\mid x_{n,\le t}),\qquad
        \mathrm{PPL} = e^{\bar\ell},\qquad \mathrm{bpc} = \bar\ell / \ln 2.

    The model is put in evaluation mode and left in it.

    Returns
    -------
    dict
        ``{"loss": nats per id, "perplexity": ..., "bits_per_char": ...}``.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(x), batch_size):
        logits = model(x[start : start + batch_size])  # (B, T, V)
        logp = nn.log_softmax(logits.astype(np.float64))
        target = np.asarray(y[start : start + batch_size])
        total -= float(np.take_along_axis(logp, target[..., None], axis=-1).sum())
        count += target.size
    loss = total / count
    return {"loss": loss, "perplexity": math.exp(loss), "bits_per_char": loss / math.log(2)}


def train_char_lm(
    model: nn.Module,
    ids: np.ndarray,
    steps: int = 2000,
    batch_size: int = 32,
    lr: float = 3e-3,
    epochs: int = 4,
    seed: SeedLike = 0,
) -> Any:
    r"""Train ``model`` on next-id prediction over random windows of ``ids`` with AdamW.

    ``steps * batch_size`` windows of length ``model.context`` start at random
    positions (drawn with ``seed``); :func:`nnprune.train.fit` runs over them for
    ``epochs`` epochs of ``steps // epochs`` steps, with AdamW (weight decay
    0.01) and a cosine learning-rate decay from ``lr`` over the epochs.

    Returns
    -------
    nnprune.train.History
    """
    from .optim import AdamW
    from .optim.lr_scheduler import CosineAnnealingLR
    from .train import fit

    steps = check_positive_int("steps", steps)
    epochs = min(check_positive_int("epochs", epochs), steps)
    batch_size = check_positive_int("batch_size", batch_size)
    gen = as_generator(seed)
    ids = np.asarray(ids, dtype=np.int64)
    t = model.context
    starts = gen.integers(0, ids.size - t, size=(steps // epochs) * batch_size)  # (K,)
    offsets = starts[:, None] + np.arange(t)  # (K, T)
    optimizer = AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    scheduler = CosineAnnealingLR(optimizer, T_max=epochs)
    return fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        (ids[offsets], ids[offsets + 1]),
        epochs=epochs,
        batch_size=batch_size,
        seed=int(gen.integers(2**31)),
        scheduler=scheduler,
        progress=False,
    )


__all__ = ["CharTransformerLM", "lm_perplexity", "train_char_lm"]
