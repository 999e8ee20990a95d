"""nnprune: a small, exact, readable NumPy library for sparsity-based neural-network pruning.

The runnable companion of the book *Sparsity-based neural network pruning
optimisation*: every layer has a hand-written, gradient-checked backward pass,
every pruning method is the standard, cited algorithm, and every number the
chapter scripts print is measured.
"""

from . import backend, gradcheck, nn
from .rng import manual_seed

__version__ = "0.1.0"

__all__ = ["__version__", "backend", "gradcheck", "manual_seed", "nn"]
