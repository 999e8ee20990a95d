r"""A Distiller-style per-layer sparsity table.

One row per layer that owns parameters: its weight shape, parameter count
(weight and bias), non-zeros, sparsity, and for ``Linear`` / ``Conv2d`` the
number of all-zero rows and columns of the weight (neurons and inputs, or
filters and channels; see :func:`nnprune.metrics.connection_sparsity`).
Optionally the layer's FLOPs, dense and non-zero (:func:`nnprune.metrics.layer_flops`).
The printed total row matches :func:`nnprune.metrics.model_size`.

Sequence layers: ``Conv1d``, ``Embedding`` and ``RNN``/``LSTM``/``GRU``
rows get zero rows/columns as :func:`~nnprune.metrics.connection_sparsity`
counts them (for a recurrent layer: hidden units with no incoming weight,
inputs with no outgoing weight; its shape column is ``weight_ih_l0``'s). A
``MultiHeadSelfAttention`` owns no parameter (its projections get their own
``Linear`` rows), but with ``input_shape`` it gets a row of its own holding
the FLOPs of its attention products, so that the FLOPs column sums to
:func:`~nnprune.metrics.flops`.

Distiller (Intel Labs) prints the same kind of table with
``distiller.weights_sparsity_summary``.

Book: §2.1 (measuring sparsity), §3.2 (sparsity measures).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..nn.module import Module
from .flops import layer_flops
from .sparsity import connection_sparsity, count_zeros

# (row key, column title, printed as)
COLUMNS = (
    ("name", "Name", "{}"),
    ("type", "Type", "{}"),
    ("shape", "Weight shape", "{}"),
    ("params", "Params", "{:,}"),
    ("nonzeros", "Non-zeros", "{:,}"),
    ("sparsity", "Sparsity", "{:.2%}"),
    ("zero_rows", "Zero rows/filters", "{}"),
    ("zero_cols", "Zero cols/channels", "{}"),
    ("flops", "FLOPs", "{:,}"),
    ("flops_nz", "FLOPs nz", "{:,}"),
)


def layer_table(model: Module, input_shape: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """One dict per layer that owns parameters, in model order.

    Parameters
    ----------
    model : Module
    input_shape : sequence of int, optional
        Shape of one sample (no batch axis); when given, each row also gets
        ``"flops"`` and ``"flops_nz"`` (``0`` for layers without MACs).

    Returns
    -------
    list of dict
        Keys ``name``, ``type``, ``shape`` (the weight's, or of the first
        parameter), ``params`` and ``nonzeros`` (all the layer's own
        parameters), ``sparsity``; for ``Linear`` a ``zero_rows`` (neurons with
        no incoming weight) and ``zero_cols`` (inputs with no outgoing
        weight), for ``Conv2d`` the same keys count zero filters and zero
        input channels, and likewise for the layers listed in the module
        docstring (``None`` for other layers). With ``input_shape``, a layer
        without parameters but with FLOPs (attention products) gets a row with
        ``params = nonzeros = 0`` and ``shape``/``sparsity`` ``None``.
    """
    connections = connection_sparsity(model)
    per_layer_flops = layer_flops(model, input_shape) if input_shape is not None else None
    rows = []
    for name, layer in model.named_modules():
        own = [p for n, p in layer.named_parameters() if "." not in n]
        if not own:
            if per_layer_flops is not None and name in per_layer_flops:
                f, f_nz = per_layer_flops[name]
                rows.append(
                    {
                        "name": name or "(model)",
                        "type": type(layer).__name__,
                        "shape": None,
                        "params": 0,
                        "nonzeros": 0,
                        "sparsity": None,
                        "zero_rows": None,
                        "zero_cols": None,
                        "flops": f,
                        "flops_nz": f_nz,
                    }
                )
            continue
        size = sum(p.size for p in own)
        nonzeros = size - sum(count_zeros(p) for p in own)
        weight = getattr(layer, "weight", None) or own[0]
        conn = connections.get(name)
        row = {
            "name": name or "(model)",
            "type": type(layer).__name__,
            "shape": tuple(weight.shape),
            "params": size,
            "nonzeros": nonzeros,
            "sparsity": 1.0 - nonzeros / size,
            "zero_rows": None if conn is None else conn["zero_outputs"],
            "zero_cols": None if conn is None else conn["zero_inputs"],
        }
        if per_layer_flops is not None:
            row["flops"], row["flops_nz"] = per_layer_flops.get(name, (0, 0))
        rows.append(row)
    return rows


def format_table(rows: Sequence[dict[str, Any]], total: bool = True) -> str:
    """Plain-text table of :func:`layer_table` rows, with a total row.

    Columns absent from every row (e.g. FLOPs) are left out; ``None`` prints
    as ``-``.
    """
    columns = [c for c in COLUMNS if any(c[0] in r for r in rows)]
    body = [
        [("-" if r.get(key) is None else fmt.format(r[key])) for key, _, fmt in columns]
        for r in rows
    ]
    if total and rows:
        params = sum(r["params"] for r in rows)
        nonzeros = sum(r["nonzeros"] for r in rows)
        sums = {"name": "Total", "params": params, "nonzeros": nonzeros}
        sums["sparsity"] = 1.0 - nonzeros / params
        for key in ("zero_rows", "zero_cols", "flops", "flops_nz"):
            if any(r.get(key) is not None for r in rows):
                sums[key] = sum(r.get(key) or 0 for r in rows)
        body.append([("" if key not in sums else fmt.format(sums[key])) for key, _, fmt in columns])
    header = [title for _, title, _ in columns]
    widths = [max(len(cell) for cell in col) for col in zip(header, *body, strict=True)]
    left = {"name", "type", "shape"}

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(w) if key in left else cell.rjust(w)
            for cell, w, (key, _, _) in zip(cells, widths, columns, strict=True)
        ).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in body]
    if total and rows:
        out.insert(len(out) - 1, "  ".join("-" * w for w in widths))
    return "\n".join(out)
