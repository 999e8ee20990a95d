r"""Text for the NLP case study: tokenizer, vocabulary, padding, AG News, a built-in set.

* :class:`Tokenizer` -> :class:`Vocabulary` -> :func:`pad_batch` turns strings
  into ``(N, T)`` token ids and a key-padding mask for an embedding + attention
  model (sequences ``(N, T, D)`` after the embedding).
* :func:`read_ag_news` -- **real** data: the AG News CSV files of Zhang, Zhao &
  LeCun (2015), ``train.csv`` / ``test.csv``, from a folder you already have.
* :func:`make_text_classification` -- **synthetic** data built so that word
  order and negation decide the label: a bag-of-words model is at chance.

nnprune never downloads anything.

Book: §7 (NLP case study; loaders for the real formats).
"""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ..checks import check_nonnegative_int, check_positive_int
from ..rng import SeedLike, as_generator
from .datasets import class_sizes

AG_NEWS_CLASSES = ("World", "Sports", "Business", "Sci/Tech")
TEXT_CLASSES = (
    "negative, beta before alpha",
    "positive, beta before alpha",
    "negative, alpha before beta",
    "positive, alpha before beta",
)
_FILLERS = (
    "the", "a", "movie", "plot", "was", "and", "very", "cast", "film", "story",
    "it", "really", "quite", "music", "ending", "with", "this", "scene", "of", "is",
)  # fmt: skip


class Tokenizer:
    r"""Lower-case a string and split it into words.

    A token is a maximal run of word characters, optionally joined by one
    apostrophe (``don't``, ``reuters'``): the regular expression
    ``\w+(?:'\w+)*`` on the lower-cased text. Punctuation and white space
    separate tokens and are dropped.

    Parameters
    ----------
    lowercase : bool, default True
        Lower-case the text first (``str.lower``).
    """

    pattern = re.compile(r"\w+(?:'\w+)*")

    def __init__(self, lowercase: bool = True) -> None:
        self.lowercase = bool(lowercase)

    def __call__(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return self.pattern.findall(text.lower() if self.lowercase else text)


class Vocabulary:
    """A fixed map between tokens and integer ids.

    Ids ``0 .. len(specials) - 1`` are the special tokens in the order given;
    the other tokens follow by decreasing count, ties broken alphabetically,
    so the same texts always give the same ids.

    Parameters
    ----------
    itos : sequence of str
        Token of each id (no duplicates).
    unk_token : str or None, default "<unk>"
        Token that :meth:`encode` uses for unknown tokens (``None``: unknown
        tokens raise ``KeyError``).
    pad_token : str or None, default "<pad>"
        Token whose id :attr:`pad_id` returns, for :func:`pad_batch`.
    """

    def __init__(
        self, itos: Sequence[str], unk_token: str | None = "<unk>", pad_token: str | None = "<pad>"
    ) -> None:
        self.itos = list(itos)
        self.stoi = {tok: i for i, tok in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            dup = next(t for t, c in Counter(self.itos).items() if c > 1)
            raise ValueError(f"itos must not repeat tokens, {dup!r} appears twice")
        for name, tok in (("unk_token", unk_token), ("pad_token", pad_token)):
            if tok is not None and tok not in self.stoi:
                raise ValueError(f"{name} {tok!r} is not in the vocabulary")
        self.unk_token, self.pad_token = unk_token, pad_token

    @classmethod
    def build(
        cls,
        texts: Iterable[str | Sequence[str]],
        min_freq: int = 1,
        max_size: int | None = None,
        specials: Sequence[str] = ("<pad>", "<unk>"),
        tokenizer: Tokenizer | None = None,
    ) -> Vocabulary:
        """Count tokens and keep the frequent ones.

        Parameters
        ----------
        texts : iterable of str or of token lists
            A ``str`` is split by ``tokenizer`` (default :class:`Tokenizer`);
            a list of tokens is used as is.
        min_freq : int, default 1
            Keep tokens seen at least this many times.
        max_size : int or None
            Most entries in the vocabulary, specials included; the most
            frequent tokens are kept.
        specials : sequence of str, default ("<pad>", "<unk>")
            Tokens placed first; ``"<unk>"`` and ``"<pad>"`` become
            :attr:`unk_token` / :attr:`pad_token` when present.
        tokenizer : Tokenizer or None
            Splits the ``str`` items.

        Returns
        -------
        Vocabulary
        """
        min_freq = check_positive_int("min_freq", min_freq)
        specials = list(specials)
        if max_size is not None and check_positive_int("max_size", max_size) < len(specials):
            raise ValueError(
                f"max_size must be at least len(specials) = {len(specials)}, got {max_size}"
            )
        tokenizer = tokenizer or Tokenizer()
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(tokenizer(text) if isinstance(text, str) else text)
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in specials),
            key=lambda t: (-counts[t], t),
        )
        if max_size is not None:
            ranked = ranked[: max_size - len(specials)]
        unk = "<unk>" if "<unk>" in specials else None
        pad = "<pad>" if "<pad>" in specials else None
        return cls(specials + ranked, unk_token=unk, pad_token=pad)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    @property
    def unk_id(self) -> int | None:
        """Id of :attr:`unk_token` (``None`` when there is none)."""
        return None if self.unk_token is None else self.stoi[self.unk_token]

    @property
    def pad_id(self) -> int | None:
        """Id of :attr:`pad_token` (``None`` when there is none)."""
        return None if self.pad_token is None else self.stoi[self.pad_token]

    def encode(self, tokens: Sequence[str]) -> np.ndarray:
        """Map tokens to ids; a token not in the vocabulary gets :attr:`unk_id`.

        Returns
        -------
        numpy.ndarray, int64, shape ``(len(tokens),)``

        Raises
        ------
        TypeError
            If ``tokens`` is a ``str`` (tokenize it first).
        KeyError
            For an unknown token when the vocabulary has no ``unk_token``.
        """
        if isinstance(tokens, str):
            raise TypeError("tokens must be a list of tokens, got a str; tokenize it first")
        unk = self.unk_id
        ids = []
        for tok in tokens:
            i = self.stoi.get(tok, unk)
            if i is None:
                raise KeyError(f"token {tok!r} is not in the vocabulary and it has no unk_token")
            ids.append(i)
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Map ids back to tokens (raises ``ValueError`` for an id out of range)."""
        out = []
        for i in ids:
            if not 0 <= int(i) < len(self.itos):
                raise ValueError(f"id must be in [0, {len(self.itos)}), got {i}")
            out.append(self.itos[int(i)])
        return out


def pad_batch(
    sequences: Sequence[Sequence[int]], max_len: int | None = None, pad_id: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Stack id sequences into a rectangle, padding on the right.

    Sequences longer than ``max_len`` are truncated: their first ``max_len``
    ids are kept. A sequence of length 0 becomes a row of padding only, which
    attention cannot attend to; drop such rows first.

    Parameters
    ----------
    sequences : sequence of sequences of int
        Token ids, one sequence per example.
    max_len : int or None
        Length ``T`` of the output; ``None`` uses the longest sequence.
    pad_id : int, default 0
        Id written into the padding (:attr:`Vocabulary.pad_id`).

    Returns
    -------
    ids : numpy.ndarray, int64, shape ``(N, T)``
    key_padding_mask : numpy.ndarray, bool, shape ``(N, T)``
        ``True`` where the position is padding (PyTorch's ``key_padding_mask``
        convention).
    """
    if max_len is not None:
        max_len = check_positive_int("max_len", max_len)
    pad_id = check_nonnegative_int("pad_id", pad_id)
    seqs = [np.asarray(s, dtype=np.int64).reshape(-1) for s in sequences]
    if not seqs:
        raise ValueError("sequences must hold at least one sequence, got none")
    T = max_len if max_len is not None else max(max(len(s) for s in seqs), 1)
    ids = np.full((len(seqs), T), pad_id, dtype=np.int64)
    padding = np.ones((len(seqs), T), dtype=bool)
    for row, s in enumerate(seqs):
        n = min(len(s), T)
        ids[row, :n] = s[:n]
        padding[row, :n] = False
    return ids, padding


def read_ag_news(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    r"""Read an AG News CSV file (``train.csv`` or ``test.csv``).

    Each row is ``class,title,description`` with the class index 1-4 (World,
    Sports, Business, Sci/Tech) and quoted fields that may hold commas, quotes
    (doubled, ``""``) and line breaks; the csv module parses them. No header.
    The text of a row is ``title + " " + description``, with the file's
    two-character line-break escape ``\n`` (backslash, n) replaced by a space.

    Parameters
    ----------
    path : str or path-like
        The CSV file (UTF-8; a leading byte-order mark is skipped).

    Returns
    -------
    texts : list of str, length N
    y : numpy.ndarray, int64, shape ``(N,)``
        Class 0-3 (file class minus one), names in :data:`AG_NEWS_CLASSES`.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        Naming the file and line: a row without exactly 3 fields, a class that
        is not an integer 1-4; or an empty file or one that is not UTF-8.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a folder, not an AG News CSV file; give the file (train.csv)"
        )
    if not path.is_file():
        raise FileNotFoundError(f"AG News CSV file not found: {str(path)!r}")
    name = repr(str(path))
    texts, labels = [], []
    start = 1  # the line where the row being read begins (a quoted field may span lines)
    try:
        # utf-8-sig: a byte-order mark some editors write is not part of the first class
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f, strict=True)  # an unterminated quote is an error
            for row in reader:
                line = start
                start = reader.line_num + 1
                if len(row) != 3:
                    raise ValueError(
                        f"{name} line {line}: expected 3 fields (class,title,description), "
                        f"got {len(row)}"
                    )
                try:
                    label = int(row[0])
                except ValueError:
                    label = 0
                if not 1 <= label <= 4:
                    raise ValueError(f"{name} line {line}: class must be 1-4, got {row[0]!r}")
                texts.append(f"{row[1]} {row[2]}".replace("\\n", " "))
                labels.append(label - 1)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name} is not UTF-8 text ({exc})") from exc
    except csv.Error as exc:
        raise ValueError(
            f"{name}: malformed CSV in the row starting at line {start} ({exc}; "
            "an unterminated quote?)"
        ) from exc
    if not texts:
        raise ValueError(f"{name} holds no rows")
    return texts, np.asarray(labels, dtype=np.int64)


def _sentence(gen: np.random.Generator, label: int, min_len: int, max_len: int) -> list[str]:
    """One sentence of class ``label``; its bag of words does not depend on the label."""
    alpha_first, positive = divmod(label, 2)
    word = ("good", "bad")[gen.integers(2)]
    negated = (word == "good") != bool(positive)  # "not bad" is positive
    n_fill = int(gen.integers(min_len, max_len + 1)) - 4
    order = ["alpha", "beta"] if alpha_first else ["beta", "alpha"]
    while True:
        fillers = [str(w) for w in gen.choice(_FILLERS, size=n_fill)]
        units = [["not", word]] if negated else [["not"], [word]]
        units += [[order[0]], [order[1]]]
        perm = gen.permutation(len(units))
        units = [units[i] for i in perm]
        # alpha/beta were shuffled too: put them back in the class's order.
        key_slots = [i for i, u in enumerate(units) if u[0] in ("alpha", "beta")]
        units[key_slots[0]], units[key_slots[1]] = [order[0]], [order[1]]
        slots = set(gen.choice(n_fill + len(units), size=len(units), replace=False).tolist())
        out, it_units, it_fill = [], iter(units), iter(fillers)
        for pos in range(n_fill + len(units)):
            out.extend(next(it_units) if pos in slots else [next(it_fill)])
        at = out.index(word)
        if negated or at == 0 or out[at - 1] != "not":  # else "not" would negate by accident
            return out


def make_text_classification(
    n_samples: int = 2000,
    seed: SeedLike = 0,
    *,
    min_len: int = 6,
    max_len: int = 16,
) -> tuple[list[str], np.ndarray]:
    r"""Synthetic sentences whose class depends on word order and negation.

    Every sentence holds the words ``alpha``, ``beta``, ``not`` and one
    sentiment word (``good`` or ``bad``) once each, among random filler words.
    Two bits make the class :math:`y = 2 a + p`, names in :data:`TEXT_CLASSES`:

    * :math:`a = 1` iff ``alpha`` comes before ``beta`` (word order);
    * :math:`p = 1` (positive) iff the sentiment word is ``good`` and the
      token right before it is not ``not``, or it is ``bad`` and the token
      right before it is ``not`` (negation).

    The label is a deterministic function of the token sequence. The
    sentiment word, the fillers and the length are drawn independently of the
    label, so the multiset of tokens (the bag of words) is independent of the
    label: **no bag-of-words model can beat chance, 1/4 accuracy**, in
    expectation. A model must use order (attention with positions, an RNN, or
    n-grams) to learn the task. The data is synthetic: numbers measured on
    it say nothing about real text.

    Parameters
    ----------
    n_samples : int, default 2000
        Number of sentences; class sizes differ by at most one.
    seed : int or numpy.random.Generator, default 0
        Source of every random draw: the same seed gives the same sentences.
    min_len, max_len : int, default 6 and 16
        Bounds (inclusive) of the number of tokens per sentence; ``min_len >= 4``.

    Returns
    -------
    texts : list of str
        Space-separated sentences (:class:`Tokenizer` splits them back exactly).
    y : numpy.ndarray, int64, shape ``(n_samples,)``
        Classes 0-3, shuffled.
    """
    n_samples = check_positive_int("n_samples", n_samples)
    min_len, max_len = (
        check_positive_int("min_len", min_len),
        check_positive_int("max_len", max_len),
    )
    if min_len < 4:
        raise ValueError(f"min_len must be at least 4 (alpha, beta, not, sentiment), got {min_len}")
    if max_len < min_len:
        raise ValueError(f"max_len must be at least min_len = {min_len}, got {max_len}")
    gen = as_generator(seed)
    y = np.repeat(np.arange(4), class_sizes(n_samples, 4))
    y = y[gen.permutation(n_samples)].astype(np.int64)
    texts = [" ".join(_sentence(gen, int(label), min_len, max_len)) for label in y]
    return texts, y


__all__ = [
    "AG_NEWS_CLASSES",
    "TEXT_CLASSES",
    "Tokenizer",
    "Vocabulary",
    "make_text_classification",
    "pad_batch",
    "read_ag_news",
]
