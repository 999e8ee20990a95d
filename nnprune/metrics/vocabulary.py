r"""One vocabulary for the size of a pruned model, used by every table, summary, JSON and report.

A pruned model may be *masked* (zeros inside full-size arrays) or *shrunk* (units removed
physically), or both. Every number below is therefore measured against the model **before
pruning** (its parameters :math:`P_0` and prunable weights :math:`W_0`):

=========================  ==============================================================
key                        meaning
=========================  ==============================================================
``parameters_original``    :math:`P_0`: every parameter (weights, biases, BatchNorm) before
                           pruning
``parameters``             every parameter left in the arrays (masked zeros included)
``nonzeros``               the non-zero parameters left, :math:`P_{nz}`
``nonzero_weights``        the non-zero prunable weights left, :math:`W_{nz}`
``weight_sparsity``        :math:`1 - W_{nz}/W_0`: the share of the original prunable
                           weights that are zero *or removed*; for a model that was only
                           masked this is the usual share of zeros
``compression``            :math:`P_0 / P_{nz}` (ShrinkBench's compression ratio, against
                           the original size, so shrinking counts)
``bytes_dense``            bytes of every parameter stored dense (float32: 4 per entry)
``bytes_sparse``           bytes with every prunable weight in CSR: values, column indices
                           and row pointers
``bytes_nonzeros_32bit``   :math:`4 P_{nz}`: non-zeros x 32 bit, no indices (the figure
                           many courses quote; no real format stores a sparse model so)
=========================  ==============================================================

Book: §1.3 (what to measure), §2.1 (sparsity), §3.3 (comparing methods).
"""

from __future__ import annotations

from typing import Any

from ..nn.module import Module
from .size import model_bytes, model_size
from .sparsity import count_zeros, counted_parameters


def original_size(model: Module) -> dict[str, int]:
    """``{"parameters": P_0, "weights": W_0}`` of an unpruned model (its builder's output)."""
    weights = sum(p.size for _, p in counted_parameters(model, "prunable"))
    return {"parameters": int(model.num_parameters()), "weights": int(weights)}


def size_report(model: Module, original: dict[str, int] | None = None) -> dict[str, Any]:
    """The keys of the module docstring for ``model``.

    Parameters
    ----------
    model : Module
        The pruned model (masked, shrunk or both).
    original : dict, optional
        :func:`original_size` of the model before pruning; default: ``model`` itself
        (right for a model that was only masked).

    Raises
    ------
    ValueError
        If the model has no prunable weight, or more than ``original`` says there were.
    """
    original = original or original_size(model)
    params, nonzeros = model_size(model)
    prunable = counted_parameters(model, "prunable")
    if not prunable:
        raise ValueError(f"{type(model).__name__} has no prunable weights to measure")
    total = sum(p.size for _, p in prunable)
    if total > original["weights"]:
        raise ValueError(
            f"the model has {total:,} prunable weights, more than the {original['weights']:,} "
            "of the original it is measured against"
        )
    nz_weights = total - sum(count_zeros(p) for _, p in prunable)
    return {
        "parameters_original": int(original["parameters"]),
        "parameters": int(params),
        "nonzeros": int(nonzeros),
        "nonzero_weights": int(nz_weights),
        "weight_sparsity": 1 - nz_weights / original["weights"],
        "compression": original["parameters"] / nonzeros if nonzeros else float("inf"),
        "bytes_dense": int(model_bytes(model, "dense")),
        "bytes_sparse": int(model_bytes(model, "csr")),
        "bytes_nonzeros_32bit": 4 * int(nonzeros),
    }


def format_size(size: dict[str, Any]) -> str:
    """:func:`size_report` as three lines of at most 100 columns, every quantity named."""
    return (
        f"size: parameters {size['parameters_original']:,} original -> {size['parameters']:,} "
        f"remaining, {size['nonzeros']:,} non-zero; compression {size['compression']:.2f}x "
        "(original / non-zero)\n"
        f"      weight sparsity {size['weight_sparsity']:.4f} (share of the original prunable "
        "weights zero or removed)\n"
        f"      bytes {size['bytes_dense']:,} dense, {size['bytes_sparse']:,} CSR, "
        f"{size['bytes_nonzeros_32bit']:,} as non-zeros x 32 bit"
    )


__all__ = ["format_size", "original_size", "size_report"]
