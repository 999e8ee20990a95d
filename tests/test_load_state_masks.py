"""Said = done: what load_state_dict does to the masks of a pruned model (see its docstring)."""

from __future__ import annotations

import numpy as np

from nnprune import models, prune


def test_dense_state_into_a_pruned_model_drops_its_masks():
    dense = models.mlp((6, 5, 3), seed=0)
    state = dense.state_dict()
    pruned = models.mlp((6, 5, 3), seed=1)
    prune.l1_unstructured(pruned[0], "weight", amount=0.5)
    pruned.load_state_dict(state)
    assert pruned[0].weight.mask is None
    np.testing.assert_array_equal(pruned[0].weight.data, dense[0].weight.data)


def test_a_pruned_state_brings_its_masks_and_absent_parameters_keep_theirs():
    source = models.mlp((6, 5, 3), seed=0)
    prune.l1_unstructured(source[2], "weight", amount=0.4)
    target = models.mlp((6, 5, 3), seed=1)
    prune.l1_unstructured(target[0], "weight", amount=0.5)
    kept = target[0].weight.mask.copy()
    state = {k: v for k, v in source.state_dict().items() if not k.startswith("0.")}
    target.load_state_dict(state, strict=False)
    np.testing.assert_array_equal(target[0].weight.mask, kept)  # absent: untouched
    np.testing.assert_array_equal(target[2].weight.mask, source[2].weight.mask)
    assert not target[2].weight.data[~target[2].weight.mask].any()
