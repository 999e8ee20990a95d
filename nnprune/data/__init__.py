"""Data sets (no network access), splits, normalisation and mini-batches.

Real data: :func:`load_digits` (scikit-learn's bundled 8x8 digits) and
:func:`load_mnist` (MNIST / Fashion-MNIST IDX files from a folder you point to).
Synthetic data: :func:`make_blobs`, :func:`make_spirals`. nnprune never
downloads anything.

Book: §1.1–1.3 (training and held-out evaluation), §6 (loaders for the real formats).
"""

from .audio import (
    SPEECH_WORDS,
    SpeechSet,
    load_fsdd,
    log_mel_spectrogram,
    make_speech_commands,
    mel_filterbank,
    mfcc,
    read_wav,
)
from .cifar import CIFAR10_CLASSES, load_cifar10, read_cifar_binary, read_cifar_python
from .datasets import load_digits, make_blobs, make_spirals
from .idx import load_mnist, read_idx
from .loader import DataLoader, Splits, Standardizer, train_val_test_split
from .presets import digits_splits
from .text import (
    AG_NEWS_CLASSES,
    TEXT_CLASSES,
    Tokenizer,
    Vocabulary,
    make_text_classification,
    pad_batch,
    read_ag_news,
)

__all__ = [
    "AG_NEWS_CLASSES",
    "CIFAR10_CLASSES",
    "DataLoader",
    "SPEECH_WORDS",
    "SpeechSet",
    "Splits",
    "Standardizer",
    "TEXT_CLASSES",
    "Tokenizer",
    "Vocabulary",
    "digits_splits",
    "load_cifar10",
    "load_digits",
    "load_fsdd",
    "load_mnist",
    "log_mel_spectrogram",
    "make_blobs",
    "make_speech_commands",
    "make_spirals",
    "make_text_classification",
    "mel_filterbank",
    "mfcc",
    "pad_batch",
    "read_ag_news",
    "read_cifar_binary",
    "read_cifar_python",
    "read_idx",
    "read_wav",
    "train_val_test_split",
]

# A real English corpus from the standard library, for the causal LM of Book §8.1.
from .pydoc_corpus import CharCorpus, char_windows, load_pydoc_corpus  # noqa: E402

__all__ += ["CharCorpus", "char_windows", "load_pydoc_corpus"]
