r"""Chapter 6: pruning each model family (book §6.1–6.3).

What it shows
-------------
* §6.1 CNN / ResNet: a small CNN on the 8x8 digits loses half the filters
  of each convolution *physically* (the next layer's inputs go too); a
  ``small_resnet`` shows the channel groups its residual additions couple,
  and loses half of the channels inside every block and in every group;
* §6.2 Transformer: the importance of each attention head (Michel et al.,
  2019: the mean :math:`|\partial L/\partial \xi_h|` of a gate on the head)
  on a synthetic text task, then the lower half of the heads removed: the
  ``q_proj``/``k_proj``/``v_proj`` rows and ``out_proj`` columns go;
* §6.3 RNN: 80% of a GRU's recurrent weights set to zero by magnitude; the
  zeros survive an optimiser step, and the CSR bytes of the weights shrink.

Accuracies are measured right after pruning, *without* retraining (the
full before/after studies with retraining are chapter 7). Runs in about
half a minute on a 2-core machine (``--quick``: a few seconds).

``--backend cupy`` trains and prunes on a GPU (CuPy); without CuPy and a GPU
the script stops at once with a RuntimeError that says so.

Usage::

    python chapters/ch06_applications.py [--quick] [--seed 0] [--out figures/ch06]
        [--backend numpy|cupy]
"""

from __future__ import annotations

import numpy as np

from nnprune import nn, optim, prune
from nnprune.backend import get_backend, to_backend
from nnprune.casestudies.common import train_model
from nnprune.casestudies.speech import prune_recurrent, speech_model, speech_splits
from nnprune.casestudies.text import text_splits
from nnprune.casestudies.text_model import TransformerClassifier
from nnprune.data import digits_splits
from nnprune.metrics import model_bytes
from nnprune.models import small_cnn
from nnprune.models_resnet import small_resnet
from nnprune.report import chapter_parser, format_table, save_figure, use_agg
from nnprune.train import evaluate

EPOCHS = {"cnn": 8, "resnet": 4, "text": 25, "speech": 10}
QUICK_EPOCHS = {"cnn": 1, "resnet": 1, "text": 1, "speech": 1}
FRACTION = 0.5
RNN_SPARSITY = 0.8


def accuracy(model: nn.Module, data: tuple) -> float:
    return evaluate(model, nn.CrossEntropyLoss(), data)[1]


def cnn_demo(seed: int, epochs: dict, quick: bool, backend: str = "numpy") -> list[dict]:
    """§6.1: remove filters from a plain CNN and from a ResNet, physically."""
    data = digits_splits(seed, flatten=False)
    rows = []
    cnn = small_cnn(1, 10, 8, channels=(16, 32), seed=seed).to(backend)
    train_model(cnn, data.train, None, epochs=epochs["cnn"], lr=0.05, seed=seed)
    before = (cnn.num_parameters(), accuracy(cnn, data.test))
    for conv in [m for m in cnn.modules() if isinstance(m, nn.Conv2d)]:
        prune.prune_units(cnn, conv, FRACTION, "l1", input_shape=(1, 8, 8))
    widths = [m.out_channels for m in cnn.modules() if isinstance(m, nn.Conv2d)]
    rows.append(
        {
            "model": "CNN 16-32",
            "change": f"filters -50% -> {widths}",
            "params": f"{before[0]:,} -> {cnn.num_parameters():,}",
            "accuracy": f"{before[1]:.1%} -> {accuracy(cnn, data.test):.1%}",
        }
    )
    if quick:
        return rows
    res = small_resnet(1, 10, widths=(16, 32), seed=seed).to(backend)
    train_model(res, data.train, None, epochs=epochs["resnet"], lr=0.05, seed=seed)
    before = (res.num_parameters(), accuracy(res, data.test))
    print("§6.1 channel groups coupled by the residual additions of small_resnet(16, 32):")
    for g in prune.channel_groups(res):
        print(
            f"  {g.name or '(input)'}: {g.channels} channels, producers {g.producers}, "
            f"consumers {g.consumers}" + (f"  [not prunable: {g.reason}]" if g.reason else "")
        )
    for name, block in res.named_children():
        if isinstance(block, nn.BasicBlock):
            prune.prune_block_inner(res, name, FRACTION)
    for g in prune.channel_groups(res):
        if g.prunable:
            scores = prune.coupled_channel_scores(res, g.name)
            prune.prune_coupled_channels(res, g.name, np.argsort(scores)[: g.channels // 2])
    rows.append(
        {
            "model": "ResNet 16-32",
            "change": "inner and coupled channels -50%",
            "params": f"{before[0]:,} -> {res.num_parameters():,}",
            "accuracy": f"{before[1]:.1%} -> {accuracy(res, data.test):.1%}",
        }
    )
    return rows


def transformer_demo(
    seed: int, epochs: dict, quick: bool, out: str, backend: str = "numpy"
) -> dict:
    """§6.2: score attention heads, then remove the lower half physically."""
    data, vocab = text_splits(seed, 600 if quick else 2000, None)
    model = TransformerClassifier(len(vocab), 4, num_layers=2, pad_id=vocab.pad_id, seed=seed)
    model.to(backend)
    train_model(
        model,
        data.train,
        None,
        epochs=epochs["text"],
        lr=3e-3,
        seed=seed,
        optimizer="adam",
        batch_size=32,
    )
    before = (model.num_parameters(), accuracy(model, data.test))
    scores = prune.head_importance(model, nn.CrossEntropyLoss(), data.val, batch_size=1)
    for name, s in scores.items():
        print(f"§6.2 head importance of {name}: {np.round(s, 3)}")
    removed = prune.prune_heads(model, scores, FRACTION, scope="global")
    print(f"     removed heads (global ranking, one kept per layer): {removed}")
    attn = model.encoder[0].self_attn
    print(
        f"     encoder.0: q_proj.weight {attn.q_proj.weight.shape}, "
        f"out_proj.weight {attn.out_proj.weight.shape}"
    )
    _plot_heads(scores, out)
    return {
        "model": "Transformer 2L",
        "change": "heads -50%",
        "params": f"{before[0]:,} -> {model.num_parameters():,}",
        "accuracy": f"{before[1]:.1%} -> {accuracy(model, data.test):.1%}",
    }


def rnn_demo(seed: int, epochs: dict, quick: bool, backend: str = "numpy") -> dict:
    """§6.3: sparse recurrent weights that stay sparse through an optimiser step."""
    data = speech_splits(seed, 300 if quick else 1000, None)
    model = speech_model(data.train[0].shape[2], 10, 16, 48, seed).to(backend)
    train_model(
        model,
        data.train,
        None,
        epochs=epochs["speech"],
        lr=3e-3,
        seed=seed,
        optimizer="adam",
        batch_size=32,
    )
    before = (model_bytes(model, "csr"), accuracy(model, data.test))
    prune_recurrent(model, RNN_SPARSITY)
    gru = model.rnn
    opt = optim.Adam(model.parameters(), lr=1e-3)
    model.forward(to_backend(data.train[0][:32], backend))
    model.backward(get_backend(backend).ones((32, 10), np.float32))
    opt.step()
    zeros = float((gru.weight_hh_l0.data == 0).mean())
    print(f"§6.3 GRU weight_hh_l0 zeros after one Adam step: {zeros:.1%} (mask kept)")
    return {
        "model": "Conv1d+GRU",
        "change": "recurrent weights 80% zero",
        "params": f"CSR {before[0] / 1000:.1f} kB -> {model_bytes(model, 'csr') / 1000:.1f} kB",
        "accuracy": f"{before[1]:.1%} -> {accuracy(model, data.test):.1%}",
    }


def _plot_heads(scores: dict, out: str) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.5))
    matrix = np.stack(list(scores.values()))
    im = ax.imshow(matrix, cmap="viridis")
    ax.set(xlabel="head", ylabel="layer", title="Head importance (Michel et al.)")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return str(save_figure(fig, out, "ch06_head_importance.png"))


def main(argv: list[str] | None = None) -> list[dict]:
    args = chapter_parser(__doc__, "figures/ch06").parse_args(argv)
    get_backend(args.backend)  # fail now, not after training, when CuPy or a GPU is missing
    use_agg()
    epochs = QUICK_EPOCHS if args.quick else EPOCHS
    rows = cnn_demo(args.seed, epochs, args.quick, args.backend)
    rows.append(transformer_demo(args.seed, epochs, args.quick, args.out, args.backend))
    rows.append(rnn_demo(args.seed, epochs, args.quick, args.backend))
    print()
    print(
        format_table(
            rows,
            ["model", "change", "params", "accuracy"],
            title="Pruning each model family, no retraining (test accuracy)",
        )
    )
    return rows


if __name__ == "__main__":
    main()
