r"""Whole-layer removal, only where it is exact: Dropout, BatchNorm folding, Linear merging.

Removing a whole layer changes what a model computes unless the layer adds
nothing at inference time. Three cases are exact and are offered here; any
other request is refused with a message naming the layer:

* :func:`remove_layer` deletes a ``Dropout`` (the identity in evaluation mode).
* :func:`fold_batchnorm` folds an eval-mode ``BatchNorm1d``/``BatchNorm2d`` into
  the ``Linear``/``Conv2d`` right before it (its statistics are constants then).
* :func:`merge_linear` merges two ``Linear`` layers with nothing between them
  (two affine maps compose into one). The book's Appendix C ``SimpleCNN`` has
  exactly this flaw: ``fc1`` and ``fc2`` have no non-linearity between them.

A ``Linear`` followed by a non-linearity cannot go: its units can be thinned
instead with :func:`nnprune.prune.removal.remove_units`. Models must be
``Sequential`` chains, as in :mod:`nnprune.prune.removal`.

Book: §3.1 (structural pruning of layers); Appendix C.
"""

from __future__ import annotations

import numbers

from ..backend import get_xp
from ..nn.batchnorm import BatchNorm1d, BatchNorm2d
from ..nn.conv import Conv2d
from ..nn.dropout import Dropout
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.parameter import Parameter
from ._surgery import Site, chain_sites, find_site
from .removal import RemovalRecord


def _delete(site: Site) -> None:
    pos = next(k for k, m in enumerate(site.parent) if m is site.module)
    del site.parent[pos]


def remove_layer(model: Module, index: int | str | Module) -> RemovalRecord:
    """Delete a layer that is the identity at inference (``Dropout``).

    Parameters
    ----------
    model : Sequential
    index : int, str or Module
        Position in the top-level ``Sequential`` (as ``del model[index]``),
        dotted name, or the layer itself.

    Raises
    ------
    ValueError
        For any other layer: deleting it would change what the model computes.

    Book: §3.1 (layer pruning).
    """
    sites = chain_sites(model)
    if isinstance(index, numbers.Integral) and not isinstance(index, bool):
        index = model[int(index)]
    site = sites[find_site(sites, index)]
    if not isinstance(site.module, Dropout):
        hint = {
            Linear: "; use merge_linear when the next layer is a Linear with no non-linearity "
            "between, or remove_units to shrink it",
            BatchNorm1d: "; use fold_batchnorm",
            BatchNorm2d: "; use fold_batchnorm",
        }.get(type(site.module), "")
        raise ValueError(
            f"layer {site.name!r} ({type(site.module).__name__}) cannot be removed exactly: "
            f"only Dropout is the identity at inference{hint}"
        )
    before = model.num_parameters()
    _delete(site)
    return RemovalRecord("deleted", site.name, (), before, model.num_parameters(), (site.name,))


def fold_batchnorm(model: Module) -> list[RemovalRecord]:
    r"""Fold every eval-mode BatchNorm into the ``Linear``/``Conv2d`` right before it.

    With :math:`s = \gamma / \sqrt{\hat\sigma^2 + \epsilon}` (per unit),

    .. math::

        W' = \operatorname{diag}(s)\, W,\qquad b' = s\,(b - \hat\mu) + \beta,

    so that :math:`W'x + b' = \gamma (Wx + b - \hat\mu)/\sqrt{\hat\sigma^2+\epsilon} + \beta`
    exactly: the BatchNorm layer is then deleted. A layer without bias gets
    one. BatchNorm layers that do not directly follow a ``Linear``
    (``BatchNorm1d``) or ``Conv2d`` (``BatchNorm2d``) are left in place.

    Returns
    -------
    list of RemovalRecord
        One per folded BatchNorm (``action="folded"``).

    Raises
    ------
    ValueError
        If a BatchNorm to fold is in training mode (folding uses the running
        statistics: call ``model.eval()``) or keeps no running statistics.

    Book: §3.1 (layer pruning).
    """
    sites, folds = chain_sites(model), []
    for prev, site in zip(sites[:-1], sites[1:], strict=True):
        bn, layer = site.module, prev.module
        pair = (isinstance(bn, BatchNorm1d) and isinstance(layer, Linear)) or (
            isinstance(bn, BatchNorm2d) and isinstance(layer, Conv2d)
        )
        if not pair or bn.num_features != layer.weight.shape[0]:
            continue
        if bn.training:
            raise ValueError(
                f"BatchNorm {site.name!r} is in training mode; folding uses its running "
                "statistics, exact in evaluation mode only: call model.eval() first"
            )
        if bn.running_mean is None:
            raise ValueError(f"BatchNorm {site.name!r} keeps no running statistics to fold")
        xp, w = get_xp(layer.weight.data), layer.weight.data
        s = 1.0 / xp.sqrt(bn.running_var.astype(w.dtype) + bn.eps)
        shift = xp.zeros_like(s) if bn.bias is None else bn.bias.data
        s = s if bn.weight is None else s * bn.weight.data
        b = xp.zeros_like(s) if layer.bias is None else layer.bias.data
        new_w = w * s.reshape(-1, *(1,) * (w.ndim - 1))  # scale each unit's row / filter
        folds.append((prev, site, new_w, s * (b - bn.running_mean.astype(w.dtype)) + shift))
    records = []
    for prev, site, new_w, new_b in folds:
        before, layer = model.num_parameters(), prev.module
        layer.weight.data = new_w
        if layer.bias is None:
            layer.bias = Parameter(new_b, name="bias")
        else:
            layer.bias.data = new_b
        _delete(site)
        after = model.num_parameters()
        records.append(
            RemovalRecord("folded", site.name, (), before, after, (prev.name, site.name))
        )
    return records


def merge_linear(model: Module, layer: str | Module) -> RemovalRecord:
    r"""Merge a ``Linear`` with the ``Linear`` that directly follows it into one.

    Two affine maps with nothing between them compose into one,

    .. math::

        W_2 (W_1 x + b_1) + b_2 = (W_2 W_1)\,x + (W_2 b_1 + b_2),

    so the pair becomes a single ``Linear(in_features_1, out_features_2)``,
    exactly. The book's Appendix C ``SimpleCNN`` has this flaw: ``fc1`` and
    ``fc2`` have no non-linearity between them, so they are one
    ``Linear(64*8*8, 10)`` in disguise. The merged layer has fewer parameters
    unless the hidden width is a narrow bottleneck; the record says which. It
    carries no mask (the product of masked matrices is dense in general).

    Raises
    ------
    ValueError
        If ``layer`` is not a ``Linear`` or the next layer is not a ``Linear``
        (a non-linearity between them makes the pair non-linear).

    Book: §3.1 (layer pruning); Appendix C.
    """
    sites = chain_sites(model)
    i = find_site(sites, layer)
    first = sites[i]
    nxt = sites[i + 1] if i + 1 < len(sites) else None
    if not isinstance(first.module, Linear):
        raise ValueError(f"layer {first.name!r} is a {type(first.module).__name__}, not a Linear")
    if nxt is None or not isinstance(nxt.module, Linear):
        found = (
            "the end of the model" if nxt is None else f"{nxt.name!r} ({type(nxt.module).__name__})"
        )
        raise ValueError(
            f"cannot merge Linear {first.name!r}: it is followed by {found}, not a Linear; "
            "only two Linear layers with nothing between them form one linear map"
        )
    l1, l2 = first.module, nxt.module
    w = l2.weight.data @ l1.weight.data  # (out_2, in_1)
    b = None
    if l1.bias is not None or l2.bias is not None:
        b = get_xp(w).zeros(l2.out_features, dtype=w.dtype)
        b = b + (0 if l1.bias is None else l2.weight.data @ l1.bias.data)
        b = b + (0 if l2.bias is None else l2.bias.data)
    before = model.num_parameters()
    l1.weight = Parameter(w, name="weight", prunable=True)
    l1.bias = None if b is None else Parameter(b, name="bias")
    l1.out_features = l2.out_features
    _delete(nxt)
    return RemovalRecord(
        "merged", first.name, (), before, model.num_parameters(), (first.name, nxt.name)
    )


__all__ = ["fold_batchnorm", "merge_linear", "remove_layer"]
