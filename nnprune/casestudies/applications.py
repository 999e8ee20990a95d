r"""Book §6.1's ResNet demonstration: the channel groups residual additions couple, then half.

Test-split accuracy right after pruning (chapter 7 retrains). The other §6 experiments
are written in the lessons themselves (``chapters/ch06_applications.py``,
``chapters/ch06b_speech.py``), with the library calls in view.

Book: §6.1.
"""

from __future__ import annotations

import numpy as np

from .. import nn, prune
from ..data import digits_splits
from ..experiments.casestudy import train_model
from ..models_resnet import small_resnet
from ..train import evaluate

FRACTION = 0.5


def accuracy(model: nn.Module, data: tuple) -> float:
    """Test accuracy (eval mode)."""
    return evaluate(model, nn.CrossEntropyLoss(), data)[1]


def _row(model: str, change: str, params: tuple[int, int], acc: tuple[float, float],
         chance: float = 0.1) -> dict:  # fmt: skip
    return {
        "chance": chance,
        "model": model,
        "change": change,
        "size": f"params {params[0]:,} -> {params[1]:,}",
        "test_acc": f"{acc[0]:.1%} -> {acc[1]:.1%}",
        "acc_before": acc[0],
        "acc_after": acc[1],
    }


def resnet_channels(seed: int, epochs: int, backend: str = "numpy") -> dict:
    """§6.1: the channel groups of ``small_resnet(16, 32)``, then half of every channel set."""
    data = digits_splits(seed, flatten=False)
    res = small_resnet(1, 10, widths=(16, 32), seed=seed).to(backend)
    train_model(res, data.train, None, epochs=epochs, lr=0.05, seed=seed)
    before = (res.num_parameters(), accuracy(res, data.test))
    groups = prune.channel_groups(res)
    for name, block in res.named_children():
        if isinstance(block, nn.BasicBlock):
            prune.prune_block_inner(res, name, FRACTION)
    for g in prune.channel_groups(res):
        if g.prunable:
            scores = prune.coupled_channel_scores(res, g.name)
            prune.prune_coupled_channels(res, g.name, np.argsort(scores)[: g.channels // 2])
    after = (res.num_parameters(), accuracy(res, data.test))
    row = _row("ResNet 16-32", "inner + coupled channels -50%", *zip(before, after, strict=True))
    return {"row": row, "groups": groups, "model": res}


__all__ = ["accuracy", "resnet_channels"]
