r"""Token embeddings and sinusoidal positional encodings: the input end of a Transformer.

``Embedding`` maps integer token ids to learned vectors (a lookup table);
``PositionalEncoding`` adds the fixed sinusoidal position signal of Vaswani et
al. (2017), so that self-attention, which is permutation-equivariant, can tell
positions apart.

Sequences in a batch must share one length ``T``: pad the short ones (with
``padding_idx`` for ids) and pass ``key_padding_mask`` (True = padding) to the
attention layers. A Python list of sequences of different lengths is rejected
with a message that says so.

Book: §1.2 (Transformers).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import backend_of, get_xp, to_backend
from ..checks import check_positive_int
from ..rng import SeedLike, as_generator
from ._validate import check_input, check_not_ragged
from .module import Module
from .parameter import Parameter


class Embedding(Module):
    r"""A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``.

    For token ids :math:`i_{nt}` the output is the row :math:`y_{nt} = W_{i_{nt}}`.
    The gradient of the loss with respect to a row sums over every position
    that looked it up:

    .. math::

        \frac{\partial L}{\partial W_v} = \sum_{n,t:\ i_{nt} = v} \delta_{nt},

    with :math:`\delta = \partial L/\partial y`, computed with a scatter-add
    (``xp.add.at``; CuPy >= 12). The row of ``padding_idx`` gets no gradient, as in
    PyTorch: a convention that keeps the padding vector fixed (at zero unless
    set otherwise), not the derivative. Token ids are integers: they have no gradient, and
    :meth:`backward` returns ``None``.

    Parameters
    ----------
    num_embeddings : int
        Vocabulary size :math:`V`; valid ids are ``0 .. V-1``.
    embedding_dim : int
        Vector size :math:`D`.
    padding_idx : int, optional
        Id of the padding token (negative counts from the end, as in PyTorch):
        its row starts at zero and receives no gradient.
    seed : int or numpy.random.Generator, optional
        Source of the initial weights, :math:`W_{vd} \sim N(0, 1)` (PyTorch's default).

    Attributes
    ----------
    weight : Parameter, shape ``(num_embeddings, embedding_dim)``, prunable.

    Book: §1.2.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        seed: SeedLike = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = check_positive_int("num_embeddings", num_embeddings)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        if padding_idx is not None:
            ok = isinstance(padding_idx, int | np.integer) and not isinstance(padding_idx, bool)
            if not ok or not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"padding_idx must be an int in [-{num_embeddings}, {num_embeddings}), "
                    f"got {padding_idx!r}"
                )
            padding_idx = int(padding_idx) % num_embeddings
        self.padding_idx = padding_idx
        w = as_generator(seed).normal(size=(num_embeddings, embedding_dim))
        if padding_idx is not None:
            w[padding_idx] = 0.0
        self.weight = Parameter(w.astype(np.float32), prunable=True)
        self._ids = None

    def forward(self, ids: Any) -> Any:
        """Look up ``ids`` (int array, typically ``(N, T)``) -> ``(*ids.shape, D)``."""
        check_not_ragged(self, ids, "ids")
        if isinstance(ids, list | tuple):
            ids = np.asarray(ids)
        if not hasattr(ids, "dtype") or ids.dtype.kind not in "iu":
            got = getattr(ids, "dtype", type(ids).__name__)
            raise TypeError(f"Embedding expects integer token ids, got {got}")
        if ids.size:
            low, high = int(ids.min()), int(ids.max())
            if high >= self.num_embeddings:
                raise ValueError(f"unknown token id {high} >= num_embeddings {self.num_embeddings}")
            if low < 0:
                raise ValueError(f"token ids must be >= 0, got {low}")
        ids = to_backend(ids, backend_of(self.weight.data))
        self._ids = ids
        return self.weight.data[ids]  # (*ids.shape, D), a fresh array

    def backward(self, dout: Any) -> None:
        """Scatter-add ``dout`` into ``weight.grad``; return ``None`` (ids have no gradient)."""
        if self._ids is None:
            raise RuntimeError("Embedding.backward called before forward")
        xp = get_xp(dout)
        ids = self._ids.reshape(-1)  # (N*T,)
        rows = dout.reshape(-1, self.embedding_dim)  # (N*T, D)
        if self.padding_idx is not None:
            rows = rows * (ids != self.padding_idx)[:, None]
        xp.add.at(self.weight.grad, ids, rows)
        return None

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class PositionalEncoding(Module):
    r"""Add the sinusoidal position signal of Vaswani et al. (2017) to ``x``.

    .. math::

        PE_{p, 2i} = \sin\!\big(p / 10000^{2i/D}\big),\qquad
        PE_{p, 2i+1} = \cos\!\big(p / 10000^{2i/D}\big),\qquad
        y_{ntd} = x_{ntd} + PE_{td},\qquad
        \frac{\partial L}{\partial x} = \delta.

    The table is fixed (a buffer ``pe`` of shape ``(max_len, d_model)``, saved
    by ``state_dict``), so there is nothing to learn. The PyTorch tutorial's
    version also applies dropout; here that is a separate ``Dropout`` layer.

    Parameters
    ----------
    d_model : int
        Feature size :math:`D` of the input ``(N, T, D)``.
    max_len : int, default 512
        Longest sequence accepted.

    References
    ----------
    A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017, §3.5.

    Book: §1.2.
    """

    def __init__(self, d_model: int, max_len: int = 512) -> None:
        super().__init__()
        self.d_model = check_positive_int("d_model", d_model)
        self.max_len = check_positive_int("max_len", max_len)
        position = np.arange(max_len, dtype=np.float64)[:, None]  # (max_len, 1)
        freq = np.exp(np.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))  # (ceil(D/2),)
        pe = np.zeros((max_len, d_model))
        pe[:, 0::2] = np.sin(position * freq)
        pe[:, 1::2] = np.cos(position * freq[: d_model // 2])
        self.register_buffer("pe", pe.astype(np.float32))

    def forward(self, x: Any) -> Any:
        """Return ``x + pe[:T]`` for ``x`` of shape ``(N, T, d_model)``."""
        check_not_ragged(self, x)
        check_input(self, x, ndim=3, last_dim=self.d_model)
        length = x.shape[1]
        if length > self.max_len:
            raise ValueError(
                f"PositionalEncoding got a sequence of length {length} > max_len "
                f"{self.max_len}; build it with max_len >= {length}"
            )
        return x + self.pe[:length].astype(x.dtype, copy=False)

    def backward(self, dout: Any) -> Any:
        return dout

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, max_len={self.max_len}"


__all__ = ["Embedding", "PositionalEncoding"]
