"""Pruning pipelines: schedules, prune-retrain loops, lottery tickets, sensitivity (§5),
dynamic sparse training (§8.2).

Book: §5.1–5.3, §8.
"""

from ._select import CRITERIA, SCOPES, prunable_names, select, weight_sparsity
from .dynamic import SET, DynamicSparsity, RigL, layer_sparsities, update_mask
from .gradual import GradualPruning
from .granularity import (
    cross_domain_prune,
    domain_shift,
    drop_layer,
    droppable_layers,
    layer_drop_scores,
    multi_granularity_prune,
)
from .gsp import GSPResult, gsap_sweep, gsp_iterative_prune, saliency_sweep
from .l1_threshold import L1ThresholdResult, l1_threshold_prune
from .loop import (
    STEPS,
    PipelineResult,
    RoundResult,
    decide,
    evaluate,
    forward_backward,
    prune_retrain,
    retrain,
    update,
)
from .lottery import (
    ControlResult,
    LotteryResult,
    LotteryRound,
    lottery_ticket,
    random_reinit_control,
)
from .schedules import ConstantSparsity, PolynomialDecay, PruningSchedule, iterative_sparsities
from .sensitivity import (
    plot_sensitivity,
    plot_sweep,
    sensitivity_analysis,
    sparsity_sweep,
    threshold_sweep,
    write_csv,
)

__all__ = [
    "cross_domain_prune",
    "domain_shift",
    "drop_layer",
    "droppable_layers",
    "layer_drop_scores",
    "multi_granularity_prune",
    "GSPResult",
    "L1ThresholdResult",
    "l1_threshold_prune",
    "gsap_sweep",
    "gsp_iterative_prune",
    "saliency_sweep",
    "CRITERIA",
    "SCOPES",
    "STEPS",
    "ConstantSparsity",
    "ControlResult",
    "DynamicSparsity",
    "GradualPruning",
    "LotteryResult",
    "LotteryRound",
    "PipelineResult",
    "PolynomialDecay",
    "PruningSchedule",
    "RigL",
    "RoundResult",
    "SET",
    "decide",
    "evaluate",
    "forward_backward",
    "iterative_sparsities",
    "layer_sparsities",
    "lottery_ticket",
    "plot_sensitivity",
    "plot_sweep",
    "prunable_names",
    "prune_retrain",
    "random_reinit_control",
    "retrain",
    "select",
    "sensitivity_analysis",
    "sparsity_sweep",
    "threshold_sweep",
    "update",
    "update_mask",
    "weight_sparsity",
    "write_csv",
]
