r"""The three sparsity measures: weights, connections and activations.

Throughout nnprune *sparsity* is the fraction of exact zeros and
*density* = 1 - sparsity:

.. math::

    s(W) = \frac{\#\{(i, j) : W_{ij} = 0\}}{\#W}.

* **Weight sparsity** (§2.1, §3.2): :math:`s` of each parameter, each layer,
  or the whole model (zeros over entries of the counted parameters; by default
  the prunable ones, the weights pruning may touch).
* **Connection sparsity**: for a ``Linear`` weight :math:`W \in \mathbb
  R^{out\times in}` (or a ``Conv2d`` weight :math:`(C_{out}, C_{in}, k_H,
  k_W)`), output unit :math:`i` (neuron / filter) has no incoming connection
  left when row :math:`W_{i,\cdot}` is all zero, and input :math:`j` (feature
  / channel) feeds nothing when column :math:`W_{\cdot, j}` is all zero. Such
  units can be removed physically (structured pruning, §3.1); a neuron with a
  zero row still outputs its bias. The same holds for ``Conv1d`` (filters and
  channels) and ``Embedding`` (axis 0: token vectors, all-zero after
  ``ln_structured(dim=0)``; axis 1: embedding dimensions). For an
  ``RNN``/``LSTM``/``GRU`` a hidden unit counts as having no incoming
  connection when its rows of every gate in ``weight_ih_l{k}`` and
  ``weight_hh_l{k}`` are zero (summed over the layers of a stack), and an
  input feeds nothing when its column of ``weight_ih_l0`` is zero. An
  attention layer's projections are ``Linear`` layers and are listed as such;
  heads are counted by :mod:`nnprune.prune.heads`.
* **Activation sparsity**: :math:`s` of each layer's output on a batch, e.g.
  the share of ReLU outputs that are exactly zero.

Book: §2.1 (sparse weights, connections, activations), §3.2 (sparsity measures).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..nn.conv import Conv2d
from ..nn.conv1d import Conv1d
from ..nn.embedding import Embedding
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.parameter import Parameter
from ..nn.rnn import RNNBase
from ._walk import trace

WHICH = ("prunable", "all")
# Layers with connection structure: what their weight's axis 0 and axis 1 count.
CONNECTION_UNITS = {
    Linear: ("neurons", "inputs"),
    Conv2d: ("filters", "channels"),
    Conv1d: ("filters", "channels"),
    Embedding: ("tokens", "dimensions"),
    RNNBase: ("hidden units", "inputs"),
}


def _array(x: Any) -> Any:
    return x.data if isinstance(x, Parameter) else x


def count_zeros(x: Any) -> int:
    """Number of entries of an array or ``Parameter`` that are exactly zero."""
    a = _array(x)
    return int(a.size - int(get_xp(a).count_nonzero(a)))


def sparsity(x: Any) -> float:
    """Fraction of exact zeros in an array or ``Parameter``.

    Raises
    ------
    ValueError
        If the array is empty.
    """
    a = _array(x)
    if a.size == 0:
        raise ValueError(f"sparsity of an empty array is undefined, got shape {tuple(a.shape)}")
    return count_zeros(a) / a.size


def density(x: Any) -> float:
    """Fraction of non-zeros: ``1 - sparsity(x)``."""
    return 1.0 - sparsity(x)


def counted_parameters(model: Module, which: str = "prunable") -> list[tuple[str, Parameter]]:
    """``(name, parameter)`` pairs counted by the weight-sparsity functions.

    Parameters
    ----------
    which : {"prunable", "all"}, default "prunable"
        ``"prunable"``: parameters with ``prunable=True`` (weights of Linear,
        Conv2d, ...); ``"all"``: biases and normalisation scales too.
    """
    if which not in WHICH:
        raise ValueError(f"which must be one of {list(WHICH)}, got {which!r}")
    if which == "all":
        return list(model.named_parameters())
    return [(t.name, t.param) for t in model.prunable_parameters()]


def parameter_sparsity(model: Module, which: str = "prunable") -> dict[str, float]:
    """``{parameter name: sparsity}`` of the parameters :func:`counted_parameters` selects."""
    return {name: sparsity(p) for name, p in counted_parameters(model, which)}


def layer_sparsity(model: Module, which: str = "prunable") -> dict[str, float]:
    """``{layer name: sparsity}``: zeros over entries of each layer's counted parameters."""
    zeros: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for name, p in counted_parameters(model, which):
        layer = name.rpartition(".")[0]
        zeros[layer] = zeros.get(layer, 0) + count_zeros(p)
        sizes[layer] = sizes.get(layer, 0) + p.size
    return {layer: zeros[layer] / sizes[layer] for layer in sizes}


def model_sparsity(model: Module, which: str = "prunable") -> float:
    """Global weight sparsity: total zeros over total entries of the counted parameters.

    Raises
    ------
    ValueError
        If no parameter is counted (e.g. nothing prunable with ``which="prunable"``).
    """
    params = counted_parameters(model, which)
    total = sum(p.size for _, p in params)
    if total == 0:
        raise ValueError(f"model has no parameters to count with which={which!r}")
    return sum(count_zeros(p) for _, p in params) / total


def zero_outputs(weight: Any) -> Any:
    """Bool array ``(out,)``: output units whose incoming weights (``weight[i]``) are all zero."""
    w = _array(weight)
    return ~get_xp(w).any(w.reshape(w.shape[0], -1) != 0, axis=1)  # rows of (out, in*kH*kW)


def zero_inputs(weight: Any) -> Any:
    """Bool array ``(in,)``: inputs/channels whose outgoing weights ``weight[:, j]`` are all 0."""
    w = _array(weight)
    w3 = w.reshape(w.shape[0], w.shape[1], -1)  # (out, in, kH*kW)
    return ~get_xp(w).any(w3 != 0, axis=(0, 2))


def _recurrent_zero_units(rnn: Any) -> tuple[int, int, int, int]:
    """``(units, zero units, inputs, zero inputs)`` of a recurrent layer (all its layers)."""
    hs, gates = rnn.hidden_size, rnn._step.num_gates
    dead = 0
    for k in range(rnn.num_layers):
        w_ih, w_hh = _array(rnn._layer(k)[0]), _array(rnn._layer(k)[1])
        both = get_xp(w_ih).concatenate([w_ih, w_hh], axis=1)  # (G*H, D_k+H)
        per_unit = both.reshape(gates, hs, -1).transpose(1, 0, 2).reshape(hs, -1)  # (H, G*(D+H))
        dead += int(zero_outputs(per_unit).sum())
    w_in = _array(rnn._layer(0)[0])
    return rnn.num_layers * hs, dead, int(w_in.shape[1]), int(zero_inputs(w_in).sum())


def connection_sparsity(model: Module) -> dict[str, dict[str, Any]]:
    """Dead units of every ``Linear``, ``Conv1d``/``Conv2d``, ``Embedding`` and recurrent layer.

    Returns
    -------
    dict
        ``{layer name: row}`` with ``row`` holding ``"type"``; ``"units"``
        (what axis 0 counts: ``"neurons"`` or ``"filters"``), ``"outputs"``,
        ``"zero_outputs"`` (units with all-zero incoming weights) and
        ``"output_sparsity"`` (their fraction); and ``"inputs_unit"``
        (``"inputs"`` or ``"channels"``), ``"inputs"``, ``"zero_inputs"``
        (inputs with all-zero outgoing weights) and ``"input_sparsity"``.
        For ``Embedding`` the "outputs" are the ``num_embeddings`` token
        vectors and the "inputs" the ``embedding_dim`` dimensions (axes 0 and 1
        of the weight); for recurrent layers see the module docstring.
        Other layer types have no such structure and are not listed.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, layer in model.named_modules():
        kind = next((k for k in CONNECTION_UNITS if isinstance(layer, k)), None)
        if kind is None:
            continue
        if kind is RNNBase:
            n_out, dead_out, n_in, dead_in = _recurrent_zero_units(layer)
        else:
            w = layer.weight.data
            n_out, n_in = int(w.shape[0]), int(w.shape[1])
            dead_out, dead_in = int(zero_outputs(w).sum()), int(zero_inputs(w).sum())
        out[name] = {
            "type": type(layer).__name__,
            "units": CONNECTION_UNITS[kind][0],
            "outputs": n_out,
            "zero_outputs": dead_out,
            "output_sparsity": dead_out / n_out,
            "inputs_unit": CONNECTION_UNITS[kind][1],
            "inputs": n_in,
            "zero_inputs": dead_in,
            "input_sparsity": dead_in / n_in,
        }
    return out


def activation_sparsity(model: Module, x: Any) -> dict[str, float]:
    """Fraction of exact zeros in each layer's output on the batch ``x``.

    The model runs once in eval mode, ``Sequential`` containers opened
    recursively (see :func:`nnprune.metrics._walk.trace`); each module's mode
    is restored afterwards.

    Returns
    -------
    dict
        ``{layer name: sparsity of its output}``, in forward order.
    """
    return {call.name: sparsity(call.output) for call in trace(model, x)}
