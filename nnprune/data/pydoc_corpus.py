r"""A real English corpus that ships with every Python: the help texts of ``pydoc_data.topics``.

``pydoc_data.topics.topics`` maps about 80 help topics (``"assignment"``,
``"specialnames"``, ...) to the text that ``help("topic")`` prints: about
465,000 characters of the Python reference manual (the exact text, and so the
numbers measured on it, depend on the Python version). :func:`load_pydoc_corpus`
splits it *by topic* into training and validation text, so that the validation
perplexity of a language model is measured on documents it never saw, and
encodes both with a fixed 96-character alphabet (newline and printable ASCII).
:func:`char_windows` cuts an id sequence into ``(inputs, next-character
targets)`` pairs for a causal language model.

nnprune never downloads anything: the text is part of the standard library.

Book: §8.1 (language models pruned without retraining).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..checks import check_positive_int
from ..rng import SeedLike, as_generator

CHARS = "\n" + "".join(chr(c) for c in range(32, 127))  # 96 symbols; id = position
_TO_ASCII = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


class CharCorpus(NamedTuple):
    """Training and validation text of a character-level corpus, as ids.

    Attributes
    ----------
    train, val : int64 arrays, shape ``(n_chars,)``
        Character ids (positions in ``chars``).
    chars : str
        The alphabet: ``chars[i]`` is the character of id ``i``.
    train_topics, val_topics : tuple of str
        Which documents went where.
    """

    train: np.ndarray
    val: np.ndarray
    chars: str
    train_topics: tuple[str, ...]
    val_topics: tuple[str, ...]

    @property
    def vocab_size(self) -> int:
        """Number of distinct ids (96)."""
        return len(self.chars)

    def decode(self, ids: np.ndarray) -> str:
        """Turn ids back into text."""
        return "".join(self.chars[int(i)] for i in np.ravel(ids))


def encode_chars(text: str) -> np.ndarray:
    """Map ``text`` to ids in :data:`CHARS`: curly quotes and dashes become ASCII, others ``?``."""
    lookup = {c: i for i, c in enumerate(CHARS)}
    unknown = lookup["?"]
    return np.array([lookup.get(c, unknown) for c in text.translate(_TO_ASCII)], dtype=np.int64)


def load_pydoc_corpus(val_fraction: float = 0.1, seed: SeedLike = 0) -> CharCorpus:
    r"""The ``pydoc_data.topics`` help texts split by topic into training and validation ids.

    The topics are shuffled with ``seed``; topics are moved to validation in that
    order until it holds at least ``val_fraction`` of the characters. Each
    document ends with a blank line, and the documents of a split are
    concatenated.

    Parameters
    ----------
    val_fraction : float in (0, 0.5], default 0.1
        Least share of the characters held out for validation.
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    CharCorpus

    Book: §8.1.
    """
    if not 0.0 < float(val_fraction) <= 0.5:
        raise ValueError(f"val_fraction must be in (0, 0.5], got {val_fraction!r}")
    from pydoc_data.topics import topics  # standard library; imported only when needed

    names = sorted(topics)
    order = as_generator(seed).permutation(len(names))
    total = sum(len(topics[n]) + 2 for n in names)
    val_names: list[str] = []
    held = 0
    for i in order:
        if held >= val_fraction * total:
            break
        val_names.append(names[i])
        held += len(topics[names[i]]) + 2
    train_names = [n for n in names if n not in set(val_names)]

    def text(chosen: list[str]) -> np.ndarray:
        return encode_chars("".join(topics[n].strip("\n") + "\n\n" for n in chosen))

    return CharCorpus(
        text(train_names), text(val_names), CHARS, tuple(train_names), tuple(val_names)
    )


def char_windows(
    ids: np.ndarray, context: int, stride: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    r"""Cut ``ids`` into windows ``x[k] = ids[s_k : s_k+T]`` and targets ``ids[s_k+1 : s_k+T+1]``.

    Window starts are :math:`s_k = k \cdot \text{stride}`; the default stride
    :math:`T` gives non-overlapping windows (every character predicted once, for
    evaluation); a smaller stride gives more, overlapping training windows.

    Parameters
    ----------
    ids : int array, shape ``(n,)``
    context : int
        Window length :math:`T`.
    stride : int, optional
        Defaults to ``context``.

    Returns
    -------
    x, y : int64 arrays, shape ``(K, T)``
    """
    context = check_positive_int("context", context)
    stride = context if stride is None else check_positive_int("stride", stride)
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 1 or ids.size < context + 1:
        raise ValueError(
            f"ids must be a 1-D sequence of at least context + 1 = {context + 1} ids, "
            f"got shape {ids.shape}"
        )
    starts = np.arange(0, ids.size - context, stride)  # (K,)
    offsets = starts[:, None] + np.arange(context)  # (K, T)
    return ids[offsets], ids[offsets + 1]


__all__ = ["CHARS", "CharCorpus", "char_windows", "encode_chars", "load_pydoc_corpus"]
