"""Layers, losses and containers with hand-written backward passes (PyTorch names).

Book: §1.1–1.2.
"""

from . import init
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .attention import MultiHeadSelfAttention
from .batchnorm import BatchNorm1d, BatchNorm2d
from .conv import Conv2d
from .conv1d import Conv1d
from .dropout import Dropout
from .embedding import Embedding, PositionalEncoding
from .flatten import Flatten
from .gelu import GELU
from .linear import Linear
from .loss import CrossEntropyLoss, MSELoss, log_softmax, softmax
from .module import Module, Sequential
from .normalization import LayerNorm
from .parameter import Parameter
from .pooling import AvgPool2d, MaxPool2d
from .rnn import GRU, LSTM, RNN
from .transformer import SequenceMeanPool, TransformerEncoderLayer

__all__ = [
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "GELU",
    "GRU",
    "LSTM",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "MultiHeadSelfAttention",
    "Parameter",
    "PositionalEncoding",
    "RNN",
    "ReLU",
    "Sequential",
    "SequenceMeanPool",
    "Sigmoid",
    "Tanh",
    "TransformerEncoderLayer",
    "init",
    "log_softmax",
    "softmax",
]

# Residual networks (Book §6.1, §7.1).
from .global_pool import GlobalAvgPool2d  # noqa: E402
from .residual import BasicBlock  # noqa: E402

__all__ += ["BasicBlock", "GlobalAvgPool2d"]

# Sequence glue for Conv1d + RNN models (Book §6.3, §7.3).
from .sequence import LastTimeStep, Transpose  # noqa: E402

__all__ += ["LastTimeStep", "Transpose"]

# Top-k sparse attention, forward only (Book §6.2).
from .sparse_attention import TopKAttention, topk_attention  # noqa: E402

__all__ += ["TopKAttention", "topk_attention"]

# Causal attention for language models (Book §8.1).
from .attention import causal_mask  # noqa: E402

__all__ += ["causal_mask"]
