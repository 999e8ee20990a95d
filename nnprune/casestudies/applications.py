r"""Book §6's demonstrations: one small model per family, pruned its own way, no retraining.

Test-split accuracy right after pruning (chapter 7 retrains): :func:`cnn_filters` (half of
every convolution's filters removed physically), :func:`resnet_channels` (the channel
groups that residual additions couple, then half of each), :func:`transformer_heads`
(Michel et al. 2019's head importance, the lower half removed), :func:`gru_recurrent`
(80% of a GRU's recurrent weights zero, kept zero through an optimiser step).

Book: §6.1–6.3.
"""

from __future__ import annotations

import numpy as np

from .. import nn, optim, prune
from ..backend import get_backend, to_backend, to_numpy
from ..data import digits_splits
from ..data.splits import speech_splits, text_splits
from ..experiments.casestudy import train_model
from ..metrics import model_bytes
from ..models import small_cnn
from ..models_resnet import small_resnet
from ..models_text import TransformerClassifier
from ..train import evaluate
from .speech import prune_recurrent, speech_model

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


def cnn_filters(seed: int, epochs: int, backend: str = "numpy") -> dict:
    """§6.1: a CNN 16-32 on the digits loses half the filters of each convolution."""
    data = digits_splits(seed, flatten=False)
    cnn = small_cnn(1, 10, 8, channels=(16, 32), seed=seed).to(backend)
    train_model(cnn, data.train, None, epochs=epochs, lr=0.05, seed=seed)
    before = (cnn.num_parameters(), accuracy(cnn, data.test))
    for conv in [m for m in cnn.modules() if isinstance(m, nn.Conv2d)]:
        prune.prune_units(cnn, conv, FRACTION, "l1", input_shape=(1, 8, 8))
    widths = [m.out_channels for m in cnn.modules() if isinstance(m, nn.Conv2d)]
    after = (cnn.num_parameters(), accuracy(cnn, data.test))
    return {"row": _row("CNN 16-32", f"filters -50% -> {widths}", *zip(before, after, strict=True)),
            "widths": widths, "model": cnn}  # fmt: skip


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


def transformer_heads(seed: int, epochs: int, samples: int, backend: str = "numpy",
                      scope: str = "global", fraction: float = FRACTION) -> dict:  # fmt: skip
    """§6.2: score the heads of a 2-layer Transformer, remove the lower half.

    ``scope="global"`` ranks the heads of all layers together (at least one kept per
    layer); ``"layer"`` removes ``fraction`` of each layer's heads.
    """
    data, vocab = text_splits(seed, samples, None)
    model = TransformerClassifier(len(vocab), 4, num_layers=2, pad_id=vocab.pad_id, seed=seed)
    model.to(backend)
    train_model(model, data.train, None, epochs=epochs, lr=3e-3, seed=seed, optimizer="adam",
                batch_size=32)  # fmt: skip
    before = (model.num_parameters(), accuracy(model, data.test))
    scores = prune.head_importance(model, nn.CrossEntropyLoss(), data.val, batch_size=1)
    removed = prune.prune_heads(model, scores, fraction, scope=scope)
    after = (model.num_parameters(), accuracy(model, data.test))
    change = f"heads -{fraction:.0%} ({scope})"
    row = _row("Transformer 2L", change, *zip(before, after, strict=True),
               chance=1 / (int(data.train[1].max()) + 1))  # fmt: skip
    return {"row": row, "scores": scores, "removed": removed, "model": model}


def gru_recurrent(seed: int, epochs: int, samples: int, sparsity: float = 0.8,
                  backend: str = "numpy") -> dict:  # fmt: skip
    """§6.3: ``sparsity`` of a GRU's recurrent weights; the zeros survive one Adam step."""
    data = speech_splits(seed, samples, None)
    model = speech_model(data.train[0].shape[2], 10, 16, 48, seed).to(backend)
    train_model(model, data.train, None, epochs=epochs, lr=3e-3, seed=seed, optimizer="adam",
                batch_size=32)  # fmt: skip
    before = (model_bytes(model, "csr"), accuracy(model, data.test))
    prune_recurrent(model, sparsity)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model.forward(to_backend(data.train[0][:32], backend))
    model.backward(get_backend(backend).ones((32, 10), np.float32))
    opt.step()
    zeros = float((to_numpy(model.rnn.weight_hh_l0.data) == 0).mean())
    after = (model_bytes(model, "csr"), accuracy(model, data.test))
    row = {
        "model": "Conv1d+GRU",
        "change": f"recurrent weights {sparsity:.0%} zero",
        "size": f"CSR {before[0] / 1000:.1f} kB -> {after[0] / 1000:.1f} kB",
        "test_acc": f"{before[1]:.1%} -> {after[1]:.1%}",
        "acc_before": before[1],
        "acc_after": after[1],
        "chance": 1 / (int(data.train[1].max()) + 1),
    }
    return {"row": row, "zeros_after_step": zeros, "model": model}


__all__ = [
    "cnn_filters",
    "gru_recurrent",
    "resnet_channels",
    "transformer_heads",
]
