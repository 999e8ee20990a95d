r"""Train/validation/test splits of the text, speech and CIFAR-10 data, ready for a model.

* :func:`text_splits`: the synthetic order-and-negation sentences or AG News as padded
  token ids ``(N, T)`` and a vocabulary built from the training texts;
* :func:`speech_splits`: synthetic spoken words or the Free Spoken Digit Dataset as
  standardised log-mel frames ``(N, T, F)``, the padding after each clip kept at zero
  (:func:`standardize_frames`);
* :func:`cifar_splits`: CIFAR-10 images ``(N, 3, 32, 32)`` standardised with the
  training statistics.

Nothing is downloaded: the real data sets are read from folders you pass.

Book: §6.1–6.3, §7.1–7.3 (the data of the case studies).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .audio import load_fsdd, make_speech_commands
from .cifar import load_cifar10
from .loader import Splits, Standardizer, train_val_test_split
from .text import Tokenizer, Vocabulary, make_text_classification, pad_batch, read_ag_news

AG_NEWS = {"train_limit": 8000, "max_len": 48, "vocab": 10000}
SPEECH_NOISE_STD = 0.4  # harder than make_speech_commands' default: dense is not at 100%


def encode_texts(
    texts: Sequence[str], vocab: Vocabulary | None = None, max_len: int | None = None
) -> tuple[np.ndarray, Vocabulary]:
    """Tokenise, build the vocabulary (from these texts if none is given), pad to ``(N, T)`` ids."""
    tok = Tokenizer()
    tokens = [tok(t) for t in texts]
    vocab = vocab or Vocabulary.build(tokens, max_size=AG_NEWS["vocab"])
    ids, _ = pad_batch([vocab.encode(t) for t in tokens], max_len=max_len, pad_id=vocab.pad_id)
    return ids, vocab


def text_splits(seed: int, samples: int, ag_news: str | None = None) -> tuple[Splits, Vocabulary]:
    """Train/val/test ids and labels, synthetic or AG News (vocabulary from the training texts).

    ``ag_news``: a folder with AG News ``train.csv`` and ``test.csv`` (its first
    ``AG_NEWS["train_limit"]`` shuffled training rows; 10% of them for validation).
    """
    if ag_news is None:
        texts, y = make_text_classification(samples, seed=seed)
        ids, vocab = encode_texts(texts)
        return train_val_test_split(ids, y, val_size=0.15, test_size=0.2, seed=seed), vocab
    texts, y = read_ag_news(os.path.join(ag_news, "train.csv"))
    order = np.random.default_rng(seed).permutation(len(texts))[: AG_NEWS["train_limit"]]
    texts, y = [texts[i] for i in order], y[order]
    cut = int(0.9 * len(texts))
    ids, vocab = encode_texts(texts[:cut], max_len=AG_NEWS["max_len"])
    val_ids, _ = encode_texts(texts[cut:], vocab, AG_NEWS["max_len"])
    test_texts, y_test = read_ag_news(os.path.join(ag_news, "test.csv"))
    test_ids, _ = encode_texts(test_texts, vocab, AG_NEWS["max_len"])
    return Splits((ids, y[:cut]), (val_ids, y[cut:]), (test_ids, y_test)), vocab


def standardize_frames(
    X: np.ndarray, lengths: np.ndarray, train: np.ndarray
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    r"""Standardise every mel band with the mean and std of the real frames of ``train``.

    .. math::  \tilde x_{ntf} = [t < \ell_n]\,(x_{ntf} - \mu_f) / (\sigma_f + 10^{-6})

    ``X`` ``(N, T, F)``, ``lengths`` ``(N,)``, ``train`` the indices of the
    training clips. Padding frames stay exactly zero, where
    :class:`~nnprune.models_speech.SpeechClassifier` finds the end of each clip.
    Returns the float32 features and ``(mean, std)``.
    """
    real = np.arange(X.shape[1]) < lengths[:, None]  # (N, T), True = a frame of the clip
    frames = X[train][real[train]]  # (frames, F): training clips, real frames only
    mean, std = frames.mean(axis=0), frames.std(axis=0) + 1e-6
    out = np.where(real[:, :, None], (X - mean) / std, 0.0).astype(np.float32)
    return out, (mean, std)


def speech_splits(seed: int, samples: int, fsdd_root: str | None = None) -> Splits:
    """Standardised train/val/test features ``(N, T, F)``, synthetic or FSDD, padded at the end.

    The synthetic clips (noise ``SPEECH_NOISE_STD``) all have ``T`` frames; FSDD
    clips are padded to the longest, and their lengths
    (:func:`~nnprune.data.audio.load_fsdd`) keep the padding out of the statistics.
    """
    if fsdd_root is None:
        X, y = make_speech_commands(samples, seed=seed, noise_std=SPEECH_NOISE_STD)
        lengths = np.full(len(X), X.shape[1])
    else:
        X, y, lengths, _ = load_fsdd(fsdd_root)
    index = np.arange(len(X))
    parts = train_val_test_split(index, y, val_size=0.15, test_size=0.2, seed=seed)
    X, _ = standardize_frames(X, lengths, parts.train[0])
    return Splits(*[(X[idx], labels) for idx, labels in parts])


def cifar_splits(root: str, seed: int, limit: int | None = None) -> Splits:
    """CIFAR-10 from ``root`` as ``(N, 3, 32, 32)``: 10% of the training set for validation.

    The first ``limit`` training images (all when ``None``); the test split is
    CIFAR-10's test set. Standardised per pixel with the training statistics.
    """
    X, y = load_cifar10(root, train=True)
    X_test, y_test = load_cifar10(root, train=False)
    if limit is not None:
        X, y = X[:limit], y[:limit]
    X = X.astype(np.float32).reshape(len(X), -1)
    train, val, _ = train_val_test_split(X, y, val_size=0.1, test_size=0.1, seed=seed)
    scaler = Standardizer().fit(train[0])
    shape = (-1, 3, 32, 32)
    prep = [(scaler.transform(a).astype(np.float32).reshape(shape), b) for a, b in (train, val)]
    test = scaler.transform(X_test.astype(np.float32).reshape(len(X_test), -1))
    return Splits(*prep, (test.astype(np.float32).reshape(shape), y_test))


__all__ = ["cifar_splits", "encode_texts", "speech_splits", "standardize_frames", "text_splits"]
