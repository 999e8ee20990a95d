r"""Pruning: masks, criteria and structured removal (names follow torch.nn.utils.prune).

Pruning multiplies a weight tensor by a 0/1 mask:

.. math::

    W' = M \odot W,\qquad M_{ij} \in \{0, 1\},

so pruned weights become exactly zero and **kept weights keep their values**.
(Book erratum, §3.1: the book says weight pruning "quantises weights to 0 or
1"; that is binarisation, a kind of quantisation, not pruning.)

The mask lives on the parameter: ``layer.weight.mask`` (bool, True = kept),
with ``layer.weight.data`` already zero where it is False. PyTorch keeps
``weight_orig`` and a ``weight_mask`` buffer instead; see
:mod:`nnprune.prune.functional` for the correspondence.

* unstructured: :func:`l1_unstructured`, :func:`random_unstructured`,
  :func:`global_unstructured`, :func:`threshold_unstructured`,
  :func:`std_threshold_unstructured`, :func:`custom_from_mask`, :func:`identity`;
* structured (masks on whole channels): :func:`ln_structured`, :func:`random_structured`;
* N:M semi-structured: :func:`nm_structured`, :func:`is_nm_sparse`;
* to an absolute target with your own scores: :func:`to_sparsity` (scores keyed
  by qualified parameter name; ``sparsity`` = share of zeros, unlike PyTorch's
  relative ``amount``);
* bookkeeping: :func:`remove`, :func:`is_pruned`, :class:`PruningLog`.

Book: §3.1–3.2, §5, §8.
"""

from .functional import (
    custom_from_mask,
    global_unstructured,
    identity,
    is_pruned,
    l1_unstructured,
    ln_structured,
    random_structured,
    random_unstructured,
    remove,
)
from .log import PruningLog
from .methods import (
    BasePruningMethod,
    CustomFromMask,
    Identity,
    L1Unstructured,
    LnStructured,
    RandomStructured,
    RandomUnstructured,
)
from .nm import NMStructured, is_nm_sparse, nm_mask, nm_structured
from .target import sparsity_to_count, to_sparsity
from .threshold import ThresholdUnstructured, std_threshold_unstructured, threshold_unstructured

__all__ = [
    "BasePruningMethod",
    "CustomFromMask",
    "Identity",
    "L1Unstructured",
    "LnStructured",
    "NMStructured",
    "PruningLog",
    "RandomStructured",
    "RandomUnstructured",
    "ThresholdUnstructured",
    "custom_from_mask",
    "global_unstructured",
    "identity",
    "is_nm_sparse",
    "is_pruned",
    "l1_unstructured",
    "ln_structured",
    "nm_mask",
    "nm_structured",
    "random_structured",
    "random_unstructured",
    "remove",
    "sparsity_to_count",
    "std_threshold_unstructured",
    "threshold_unstructured",
    "to_sparsity",
]

# Structured pruning with physical removal (Book §3.1).
from .compact import dead_units, remove_dead_units  # noqa: E402
from .importance import unit_scores  # noqa: E402
from .layer_removal import fold_batchnorm, merge_linear, remove_layer  # noqa: E402
from .removal import RemovalRecord, mask_units, prune_units, remove_units  # noqa: E402

__all__ += [
    "RemovalRecord",
    "dead_units",
    "fold_batchnorm",
    "mask_units",
    "merge_linear",
    "prune_units",
    "remove_dead_units",
    "remove_layer",
    "remove_units",
    "unit_scores",
]

# Structured pruning of residual networks (Book §6.1, §7.1).
from .residual import (  # noqa: E402
    ChannelGroup,
    channel_groups,
    coupled_channel_scores,
    mask_block_inner,
    mask_coupled_channels,
    prune_block_inner,
    prune_coupled_channels,
    remove_block_inner,
)

__all__ += [
    "ChannelGroup",
    "channel_groups",
    "coupled_channel_scores",
    "mask_block_inner",
    "mask_coupled_channels",
    "prune_block_inner",
    "prune_coupled_channels",
    "remove_block_inner",
]

# Attention heads, recurrent hidden units and embedding dimensions (Book §6.2, §6.3, §7.2, §7.3).
from .heads import (  # noqa: E402
    attention_modules,
    head_importance,
    mask_heads,
    prune_heads,
    remove_heads,
)
from .recurrent import (  # noqa: E402
    gate_unit_scores,
    mask_hidden_units,
    prune_hidden_units,
    remove_embedding_dims,
    remove_hidden_units,
)

__all__ += [
    "attention_modules",
    "gate_unit_scores",
    "head_importance",
    "mask_heads",
    "mask_hidden_units",
    "prune_heads",
    "prune_hidden_units",
    "remove_embedding_dims",
    "remove_heads",
    "remove_hidden_units",
]

# Channel pruning of a whole CNN in one call (Book §3.1, §3.2).
from .channels import CHANNEL_CRITERIA, channel_layers, prune_channels  # noqa: E402

__all__ += ["CHANNEL_CRITERIA", "channel_layers", "prune_channels"]

# Removal with bias compensation (Book §5.1).
from .compensation import remove_units_compensated, unit_means  # noqa: E402

__all__ += ["remove_units_compensated", "unit_means"]

# Top-k sparse attention measured on a model (Book §6.2).
from .sparse_attention import sparse_attention_eval  # noqa: E402

__all__ += ["sparse_attention_eval"]

# One-shot pruning of language models without retraining (Book §8.1).
from .oneshot import prune_oneshot  # noqa: E402
from .sparsegpt import SparseGPTResult, hessian_from_inputs, sparsegpt  # noqa: E402
from .wanda import wanda_mask, wanda_scores  # noqa: E402

__all__ += [
    "SparseGPTResult",
    "hessian_from_inputs",
    "prune_oneshot",
    "sparsegpt",
    "wanda_mask",
    "wanda_scores",
]
