r"""GSAP, corrected: rank neurons and filters by the first-order Taylor term of their output.

Let :math:`z_j` be the output of unit :math:`j` (a neuron of a ``Linear`` layer, a
feature map of a ``Conv2d``) *as the next mixing layer reads it*: after the
BatchNorm, activation and pooling that follow the layer, before ``Flatten``.
Removing the unit (:func:`nnprune.prune.remove_units`) is exactly setting that
:math:`z_j` to zero, so its first-order Taylor estimate is

.. math::

    \Delta J \approx -\sum_{n,p} z_{n,j,p}\,\frac{\partial J}{\partial z_{n,j,p}},

with :math:`n` the samples and :math:`p` the spatial positions (one for ``Linear``).
With :math:`t_{n,j} = \frac1P \sum_p z_{n,j,p}\, \partial J/\partial z_{n,j,p}`
(:math:`J` the batch loss as ``loss_fn`` reduces it), the score of unit :math:`j` is

.. math::

    s_j = \frac1N \sum_n |t_{n,j}| \quad(\texttt{"mean\_abs"}, \text{default}),\qquad
    s_j = \Big|\frac1N \sum_n t_{n,j}\Big| \quad(\texttt{"abs\_mean"}),

averaged over batches. ``"abs_mean"`` is Molchanov et al. (2017)'s
:math:`\Theta_{TE} = |\frac1M\sum_m z_m\,\partial C/\partial z_m|` (:math:`M` = positions
x batch); ``"mean_abs"`` is the errata's batch mean of :math:`|z_j\,\partial J/\partial z_j|`,
which does not let samples of opposite sign cancel. ``normalize=True`` divides by
the layer's :math:`\ell_2` norm, :math:`\hat s_j = s_j / \lVert s \rVert_2` (Molchanov 2017),
so scores of different layers are comparable.

Reading :math:`z` after the activation costs nothing for ReLU: with
:math:`a = \max(u, 0)`, :math:`a\,\partial J/\partial a = u\,\partial J/\partial u`
entry by entry, so pre- and post-ReLU products agree. After a BatchNorm or a
Sigmoid they differ, and only the post version is the Taylor term of the removal.

The book's GSAP zeroes single activations :math:`z_j` of single samples; that
removes nothing from the model. Here whole units are ranked and removed physically
(:func:`gsap_prune`).

:func:`forward_backward` is the one piece of machinery: it reads :math:`z` with a
forward hook (``layer.register_forward_hook``, as in PyTorch) during the model's
own forward pass, then runs the backward loop over the layers (nested
``Sequential`` flattened) itself, keeping the gradient that arrives at the hooked
layers' outputs.

References
----------
P. Molchanov, S. Tyree, T. Karras, T. Aila and J. Kautz, "Pruning Convolutional
Neural Networks for Resource Efficient Inference", ICLR 2017.

Book: §4.3 (corrected, see docs/errata.md#s4-3-gsap).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import to_numpy
from ..nn.batchnorm import BatchNorm1d, BatchNorm2d
from ..nn.conv import Conv2d
from ..nn.linear import Linear
from ..nn.module import Module, Sequential
from ..prune import RemovalRecord, prune_units
from ..prune.removal import UNIT_FOLLOWERS
from ._common import check_batching, check_data, check_model, iter_batches, preserved

_REDUCTIONS = ("mean_abs", "abs_mean")


def sequential_layers(model: Module) -> list[tuple[str, Module]]:
    """``(dotted_name, layer)`` of a ``Sequential`` in forward order, nested ones flattened.

    Raises
    ------
    ValueError
        If ``model`` is not a plain ``Sequential`` (a custom ``forward`` cannot be
        run layer by layer).
    """

    def chain(m: Module) -> bool:
        return isinstance(m, Sequential) and type(m).forward is Sequential.forward

    if not chain(model):
        raise ValueError(
            f"unit saliency needs an nn.Sequential model (Sequentials may nest), "
            f"got {type(model).__name__}"
        )
    out: list[tuple[str, Module]] = []

    def walk(seq: Sequential, prefix: str) -> None:
        for key, child in seq.named_children():
            if chain(child):
                walk(child, f"{prefix}{key}.")
            else:
                out.append((f"{prefix}{key}", child))

    walk(model, "")
    return out


def find_layer(layers: list[tuple[str, Module]], layer: Any) -> int:
    """Position of ``layer`` (dotted name or module) in ``layers``; it must be Linear or Conv2d."""
    if isinstance(layer, str):
        hits = [i for i, (n, _) in enumerate(layers) if n == layer]
    elif isinstance(layer, Module):
        hits = [i for i, (_, m) in enumerate(layers) if m is layer]
    else:
        raise TypeError(f"layer must be a dotted name or a Module, got {type(layer).__name__}")
    if not hits:
        raise ValueError(
            f"layer {layer!r:.60} is not in the model; its layers are {[n for n, _ in layers]}"
        )
    name, module = layers[hits[0]]
    if not isinstance(module, Linear | Conv2d):
        raise ValueError(
            f"layer {name!r} is a {type(module).__name__}; only Linear and Conv2d layers have units"
        )
    return hits[0]


def unit_output_index(layers: list[tuple[str, Module]], i: int) -> int:
    """Index of the layer whose output is unit-layer ``i``'s output as its consumer reads it.

    Walks past the BatchNorm, activations, Dropout and pooling that follow layer ``i``.
    """
    n_units = layers[i][1].weight.shape[0]
    j = i
    while j + 1 < len(layers):
        nxt = layers[j + 1][1]
        if not isinstance(nxt, UNIT_FOLLOWERS):
            break
        if isinstance(nxt, BatchNorm1d | BatchNorm2d) and nxt.num_features != n_units:
            break
        j += 1
    return j


def forward_backward(
    model: Module,
    layers: list[tuple[str, Module]],
    loss_fn: Any,
    xb: Any,
    yb: Any,
    keep: set[int],
) -> tuple[float, dict[int, Any], dict[int, Any]]:
    r"""One forward and backward pass that keeps the outputs and output gradients of ``keep``.

    Parameters
    ----------
    model : Sequential
        The model; ``layers`` is ``sequential_layers(model)``.
    layers : list of (str, Module)
    loss_fn : Module
    xb, yb : arrays
        One batch.
    keep : set of int
        Positions in ``layers`` whose output and output gradient are wanted.

    Returns
    -------
    loss : float
    outputs : dict of int to array
        ``outputs[k]`` is layer ``k``'s output, for ``k`` in ``keep``, captured by a
        forward hook during ``model(xb)``.
    grads : dict of int to array
        ``grads[k]`` is :math:`\partial J/\partial` ``outputs[k]``, for ``k`` in ``keep``.
    """
    outputs: dict[int, Any] = {}

    def capture(k: int) -> Any:
        def hook(module: Module, args: tuple, output: Any) -> None:
            outputs[k] = output

        return hook

    handles = [layers[k][1].register_forward_hook(capture(k)) for k in sorted(keep)]
    try:
        loss = float(loss_fn.forward(model(xb), yb))
    finally:
        for handle in handles:
            handle.remove()
    # No autograd: the gradient at a layer's output is what the backward loop carries there.
    dout, grads = loss_fn.backward(), {}
    for k in range(len(layers) - 1, min(keep, default=0) - 1, -1):
        if k in keep:
            grads[k] = dout.copy()
        dout = layers[k][1].backward(dout)
    return loss, outputs, grads


def taylor_terms(z: Any, dz: Any) -> np.ndarray:
    r"""Per-sample terms :math:`t_{n,j} = \frac1P\sum_p z_{n,j,p}\,\partial J/\partial z_{n,j,p}`.

    Returns an array of shape ``(N, units)``.

    ``z`` is ``(N, units)`` or ``(N, units, H, W)``.
    """
    prod = to_numpy(z * dz).astype(np.float64)
    return prod.reshape(prod.shape[0], prod.shape[1], -1).mean(
        axis=2
    )  # (N, units, P) -> (N, units)


def gsap_scores(
    model: Module,
    loss_fn: Any,
    data: tuple[Any, Any],
    layer: str | Module,
    *,
    batch_size: int | None = None,
    n_batches: int | None = None,
    reduction: str = "mean_abs",
    normalize: bool = False,
) -> np.ndarray:
    r"""Taylor importance of each output unit of ``layer`` (low = remove first).

    Parameters
    ----------
    model : Sequential
        Left in its mode and with its gradients afterwards.
    loss_fn : Module
        A loss with ``forward(output, target)`` and ``backward()``.
    data : (X, y)
        Samples, taken in consecutive batches.
    layer : str or Module
        A ``Linear`` or ``Conv2d`` layer, by dotted name (``"0"``, ``"features.3"``) or object.
    batch_size, n_batches : int, optional
        Batch size (default: one batch of everything) and number of batches (default: all).
    reduction : {"mean_abs", "abs_mean"}, default "mean_abs"
        Where the absolute value goes (see the module docstring).
    normalize : bool, default False
        Divide by the layer's :math:`\ell_2` norm of scores.

    Returns
    -------
    numpy.ndarray, shape ``(n_units,)``, float64

    Book: §4.3 (corrected, see docs/errata.md#s4-3-gsap)
    """
    check_model(model)
    check_data(data)
    check_batching(batch_size, n_batches)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    layers = sequential_layers(model)
    point = unit_output_index(layers, find_layer(layers, layer))
    total, count = 0.0, 0
    with preserved(model):
        for xb, yb in iter_batches(model, data, batch_size, n_batches):
            _, outputs, grads = forward_backward(model, layers, loss_fn, xb, yb, {point})
            t = taylor_terms(outputs[point], grads[point])  # (N, units)
            total = total + (
                np.abs(t).mean(axis=0) if reduction == "mean_abs" else np.abs(t.mean(axis=0))
            )
            count += 1
    scores = total / count
    if normalize:
        norm = float(np.sqrt((scores * scores).sum()))
        scores = scores / norm if norm > 0 else scores
    return scores


def gsap_prune(
    model: Module,
    loss_fn: Any,
    data: tuple[Any, Any],
    layer: str | Module,
    amount: int | float,
    input_shape: tuple[int, ...] | None = None,
    **score_kwargs: Any,
) -> RemovalRecord:
    """Physically remove the ``amount`` units of ``layer`` with the lowest :func:`gsap_scores`.

    ``amount`` is a count (int) or a fraction (float in [0, 1]) of the layer's units;
    ``input_shape`` (one sample) is needed when a ``Flatten`` follows the layer;
    ``score_kwargs`` go to :func:`gsap_scores`. Removal is
    :func:`nnprune.prune.prune_units` with the scores as criterion: the arrays of the
    layer, its BatchNorm and its consumer shrink. Build a new optimiser afterwards.

    Book: §4.3 (corrected, see docs/errata.md#s4-3-gsap), §3.1 (physical removal)
    """
    scores = gsap_scores(model, loss_fn, data, layer, **score_kwargs)
    return prune_units(model, layer, amount, criterion=scores, input_shape=input_shape)


__all__ = [
    "find_layer",
    "forward_backward",
    "gsap_prune",
    "gsap_scores",
    "sequential_layers",
    "taylor_terms",
    "unit_output_index",
]
