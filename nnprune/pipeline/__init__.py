"""Pruning pipelines: schedules, prune-retrain loops, lottery tickets, sensitivity (§5).

Book: §5.1–5.3, §8.
"""

from .schedules import ConstantSparsity, PolynomialDecay, PruningSchedule, iterative_sparsities

__all__ = ["ConstantSparsity", "PolynomialDecay", "PruningSchedule", "iterative_sparsities"]
