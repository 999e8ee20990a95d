"""Optimisers and learning-rate schedules (``torch.optim`` names and semantics).

Every optimiser keeps the mask invariant: after ``step()``, pruned weights
and their optimiser state (momentum buffers, Adam averages) are exactly zero.

Book: §1.1 (training loop), §5.2 (learning-rate schedules for retraining).
"""

from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "lr_scheduler"]
