r"""How hard each exercise is: 1 (a few lines), 2 (a page, one idea), 3 (several ideas at once).

Shown by ``nnprune exercises list`` as ``*``, ``**`` or ``***``. An exercise not listed
here is a 2. Kept apart from the registry so that adding an exercise never has to touch it.
"""

from __future__ import annotations

DIFFICULTY: dict[str, int] = {
    "ch1.silu_backward": 1,
    "ch1.conv1d_backward": 3,
    "ch1.softmax_ce_grad": 2,
    "ch1.masked_momentum": 2,
    "ch2.sparsity_measures": 1,
    "ch2.csr_matvec": 2,
    "ch3.l1_unstructured": 2,
    "ch3.ln_structured": 2,
    "ch3.threshold": 1,
    "ch3.remove_neuron": 1,
    "ch4.soft_threshold": 1,
    "ch4.admm_updates": 2,
    "ch4.group_lasso_prox": 2,
    "ch4.taylor_importance": 2,
    "ch5.corrected_loop": 2,
    "ch5.polynomial_schedule": 1,
    "ch6.filter_removal": 2,
    "ch6.head_importance": 3,
    "ch7.conv_flops": 1,
    "ch7.recurrent_removal": 3,
    "ch8.nm_mask": 2,
    "ch8.regrow": 3,
    "appc.simple_cnn": 2,
    "appc.l1_weights_only": 1,
    "ch2.weight_histogram": 1,
    "ch3.next_layer_importance": 2,
    "ch3.fine_vs_channel": 3,
    "ch4.irls_step": 2,
    "ch4.lasso_admm": 2,
    "ch5.sensitivity_budget": 3,
    "ch5.book_loop": 2,
    "ch6.conv_bn_removal": 2,
    "ch7.latency_vs_macs": 3,
    "ch8.erk_sparsities": 3,
    "ch8.wanda_mask": 2,
    "ch8.obs_update": 3,
}


def difficulty(exercise_id: str) -> int:
    """1, 2 or 3 (2 for an exercise not listed)."""
    return DIFFICULTY.get(exercise_id, 2)
