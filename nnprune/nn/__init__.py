"""Layers, losses and containers with hand-written backward passes (PyTorch names).

Book: §1.1–1.2.
"""

from . import init
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .flatten import Flatten
from .linear import Linear
from .loss import CrossEntropyLoss, MSELoss, log_softmax, softmax
from .module import Module, Sequential
from .parameter import Parameter

__all__ = [
    "CrossEntropyLoss",
    "Flatten",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "init",
    "log_softmax",
    "softmax",
]
