r"""One-shot pruning of a Transformer language model, block by block, without retraining.

The calibration sequences are embedded once; then for each block in order

1. the block runs on its calibration inputs, and a forward hook on each of its
   ``Linear`` layers sums :math:`G = \sum_t x_t x_t^\top` over the tokens its
   input holds;
2. each ``Linear`` weight is pruned from :math:`G`: by magnitude (per layer,
   :func:`nnprune.prune.l1_unstructured` / :func:`nnprune.prune.nm_structured`),
   by Wanda (:func:`nnprune.prune.wanda_mask`, :math:`\lVert X_j\rVert_2 = \sqrt{G_{jj}}`)
   or by SparseGPT (:func:`nnprune.prune.sparsegpt`, :math:`H = 2G/\text{tokens}`);
3. the block runs again, now pruned, and its outputs are the next block's
   calibration inputs.

So every layer is pruned for the inputs it will really see, after the pruning
of the layers before it, as both papers do (the layers inside one block share
one pass, as in the authors' code; ``true_sequential=True`` re-collects the
inputs of each ``Linear`` after the pruning of those before it in the block).
The embeddings and the output head are not pruned (neither paper prunes them).

Book: §8.1 (beyond the book: one-shot pruning of language models).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import to_numpy
from ..checks import check_positive_int
from ..nn.linear import Linear
from ..nn.module import Module
from .functional import custom_from_mask, l1_unstructured
from .nm import nm_structured
from .sparsegpt import sparsegpt
from .wanda import _check_sparsity, wanda_mask

METHODS = ("magnitude", "wanda", "sparsegpt")


def _check_model(model: Any) -> None:
    missing = [a for a in ("embed", "layers", "attn_mask") if not hasattr(model, a)]
    if not isinstance(model, Module) or missing:
        raise TypeError(
            "prune_oneshot needs a language model with embed(ids), layers and attn_mask(T, x) "
            f"(such as nnprune.models_lm.CharTransformerLM); {type(model).__name__} lacks "
            f"{', '.join(missing) or 'Module'}"
        )


def _prune_linear(
    layer: Linear, gram: np.ndarray, tokens: int, method: str, sparsity: float, **kwargs: Any
) -> None:
    n, m = kwargs["n"], kwargs["m"]
    if method == "magnitude":
        if n is None:
            l1_unstructured(layer, "weight", amount=sparsity)
        else:
            nm_structured(layer, "weight", n=n, m=m)
    elif method == "wanda":
        norms = np.sqrt(np.diag(gram))  # ||X_j||_2 over the calibration tokens
        mask = wanda_mask(layer.weight.data, norms, sparsity, n=n, m=m)
        custom_from_mask(layer, "weight", mask)
    else:
        result = sparsegpt(layer.weight.data, 2.0 * gram / tokens, sparsity, **kwargs)
        layer.weight.data = result.weight  # cast to the parameter's dtype
        custom_from_mask(layer, "weight", result.mask)


def _collect(
    block: Module, linears: dict[str, Linear], xs: list[Any], mask: Any
) -> tuple[dict[str, np.ndarray], dict[str, int], list[str]]:
    """Run ``block`` on ``xs``; per Linear the Gram matrix of its inputs, their count, the order."""
    grams = {k: np.zeros((v.in_features, v.in_features)) for k, v in linears.items()}
    tokens = {k: 0 for k in linears}
    order: list[str] = []

    def collect(name: str):
        def hook(module: Module, args: tuple[Any, ...], output: Any) -> None:
            x2 = np.asarray(to_numpy(args[0]), np.float64).reshape(-1, module.in_features)
            grams[name] += x2.T @ x2  # (in, in): sums x x^T over the tokens
            tokens[name] += x2.shape[0]
            if name not in order:
                order.append(name)

        return hook

    handles = [v.register_forward_hook(collect(k)) for k, v in linears.items()]
    try:
        for x in xs:
            block(x, src_mask=mask)
    finally:
        for handle in handles:
            handle.remove()
    order += [k for k in linears if k not in order]  # any the block did not call
    return grams, tokens, order


def prune_oneshot(
    model: Module,
    calibration: Any,
    method: str = "sparsegpt",
    sparsity: float = 0.5,
    n: int | None = None,
    m: int | None = None,
    blocksize: int = 128,
    percdamp: float = 0.01,
    batch_size: int = 16,
    true_sequential: bool = False,
) -> dict[str, dict[str, float]]:
    r"""Prune every ``Linear`` inside ``model.layers``, block by block, from calibration ids.

    Parameters
    ----------
    model : Module
        A language model with ``embed(ids)``, ``layers`` (blocks called as
        ``block(x, src_mask=model.attn_mask(T, x))``) and ``attn_mask``, such as
        :class:`nnprune.models_lm.CharTransformerLM`. Left in evaluation mode.
    calibration : int array, shape ``(num_sequences, T)``
        The calibration sequences (their number is the papers' "128 samples").
    method : {"magnitude", "wanda", "sparsegpt"}, default "sparsegpt"
    sparsity : float in [0, 1), default 0.5
        Unstructured sparsity of every pruned layer (ignored for N:M).
    n, m : int, optional
        Both or neither: N:M sparsity along the inputs (2:4 = ``n=2, m=4``).
    blocksize, percdamp
        SparseGPT's lazy block size and damping (see :func:`nnprune.prune.sparsegpt`).
        ``blocksize`` is also the width of SparseGPT's mask-selection blocks: a
        layer with at most ``blocksize`` inputs gets its whole mask chosen at once,
        before any update, so the selection is no longer adaptive (the papers'
        128 is 1/32 of a 4096-wide layer; on narrow layers use a smaller block).
    batch_size : int, default 16
        Calibration sequences per forward pass.
    true_sequential : bool, default False
        False: the ``Linear`` layers of a block are all pruned from one pass over
        the block, as both papers' code does by default. True: one ``Linear`` at
        a time, in the order the block calls them, each from inputs that have
        passed through the already-pruned ``Linear`` layers before it in the same
        block (the ``--true-sequential`` option of the SparseGPT code; one more
        pass over the block per ``Linear``).

    Returns
    -------
    dict
        Per pruned layer (``"layers.0.self_attn.q_proj"``, ...): ``"sparsity"`` and
        ``"rel_error"``, :math:`\lVert WX-\hat WX\rVert^2/\lVert WX\rVert^2` on the
        calibration inputs that reached it.

    Notes
    -----
    Meant for a model without masks: a mask already on a weight is kept (the new
    mask is combined with it, as :func:`nnprune.prune.custom_from_mask` does), but
    the scores and SparseGPT's update do not know about it.

    Book: §8.1.
    """
    _check_model(model)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if (n is None) != (m is None):
        raise ValueError(f"give both n and m for N:M sparsity, or neither; got n={n}, m={m}")
    if n is None:
        sparsity = _check_sparsity(sparsity)
    batch_size = check_positive_int("batch_size", batch_size)
    ids = np.asarray(calibration)
    if ids.ndim != 2 or ids.dtype.kind not in "iu" or len(ids) == 0:
        raise ValueError(
            f"calibration must be int token ids of shape (num_sequences, T), got "
            f"{ids.dtype} of shape {ids.shape}"
        )
    model.eval()
    xs = [model.embed(ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)]
    mask = model.attn_mask(ids.shape[1], xs[0])
    report: dict[str, dict[str, float]] = {}
    for b, block in enumerate(model.layers):
        linears = {k: v for k, v in block.named_modules() if isinstance(v, Linear)}
        grams, tokens, order = _collect(block, linears, xs, mask)
        # one group (the papers' default), or one Linear at a time in the order they run
        groups = [order] if not true_sequential else [[name] for name in order]
        for g, group in enumerate(groups):
            if g > 0:  # inputs again, now after the pruning of the Linears before this one
                grams, tokens, _ = _collect(block, {k: linears[k] for k in group}, xs, mask)
            for name in group:
                layer = linears[name]
                dense = np.asarray(to_numpy(layer.weight.data), np.float64)
                _prune_linear(
                    layer, grams[name], tokens[name], method, sparsity,
                    n=n, m=m, blocksize=blocksize, percdamp=percdamp,
                )  # fmt: skip
                pruned = np.asarray(to_numpy(layer.weight.data), np.float64)
                diff = dense - pruned
                gram = grams[name]
                report[f"layers.{b}.{name}"] = {
                    "sparsity": float(np.mean(pruned == 0)),
                    "rel_error": float(
                        np.trace(diff @ gram @ diff.T) / np.trace(dense @ gram @ dense.T)
                    ),
                }
        xs = [block(x, src_mask=mask) for x in xs]  # the pruned block feeds the next one
    return report


__all__ = ["METHODS", "prune_oneshot"]
