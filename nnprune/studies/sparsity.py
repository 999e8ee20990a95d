r"""Chapter 2's tables: weight, connection and activation sparsity of a model, dense vs pruned.

Bytes per format and dense vs CSR time are in :mod:`nnprune.metrics.storage`.

Book: §2.1 (weight, connection, activation sparsity).
"""

from __future__ import annotations

import numpy as np

from .. import metrics, nn
from ..report import format_table


def measures(model: nn.Module, X: np.ndarray) -> dict:
    """§2.1: weight, connection and activation sparsity of ``model`` on inputs ``X``."""
    return {
        "layers": metrics.layer_table(model, input_shape=X.shape[1:]),
        "model_sparsity": metrics.model_sparsity(model),
        "weight_sparsity": metrics.layer_sparsity(model),
        "connections": metrics.connection_sparsity(model),
        "activations": metrics.activation_sparsity(model, X),
    }


def weight_table(m: dict, title: str) -> str:
    """Per-layer weights, non-zeros and FLOPs (biases counted), under 100 columns."""
    cols = {
        "name": "{}",
        "shape": "{}",
        "params": "{:,}",
        "nonzeros": "{:,}",
        "sparsity": "{:.2%}",
        "zero_rows": "{}",
        "zero_cols": "{}",
        "flops_nz": "{:,}",
    }
    return format_table(m["layers"], columns=list(cols), formats=cols, title=title)


def connection_table(dense: dict, pruned: dict) -> str:
    """Neurons with every incoming weight zero, inputs with every outgoing weight zero."""
    rows = []
    for name, c in pruned["connections"].items():
        d = dense["connections"][name]
        rows.append(
            {
                "layer": name,
                "dead neurons (dense)": f"{d['zero_outputs']}/{d['outputs']}",
                "dead (pruned)": f"{c['zero_outputs']}/{c['outputs']}",
                "unused inputs (dense)": f"{d['zero_inputs']}/{d['inputs']}",
                "unused (pruned)": f"{c['zero_inputs']}/{c['inputs']}",
            }
        )
    return format_table(rows)


def activation_table(model: nn.Module, dense: dict, pruned: dict) -> str:
    """Share of each layer's outputs that are exactly zero on the test set."""
    kinds = dict(model.named_modules())
    rows = [
        {
            "layer": n,
            "type": type(kinds[n]).__name__,
            "dense": s,
            "pruned": pruned["activations"][n],
        }
        for n, s in dense["activations"].items()
    ]
    return format_table(rows, formats={"dense": "{:.2%}", "pruned": "{:.2%}"})
