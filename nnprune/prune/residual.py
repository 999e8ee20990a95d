r"""Structured pruning of residual networks: inside a block, and across the additions.

A :class:`~nnprune.nn.BasicBlock` computes
:math:`y = \mathrm{ReLU}(\mathrm{BN}_2(W_2 * u) + g(x))` with
:math:`u = \mathrm{ReLU}(\mathrm{BN}_1(W_1 * x))`. Its channels fall in two
kinds, and only the first kind is as easy as in a chain:

**Inside a block** (:func:`prune_block_inner`). Channel :math:`j` of
:math:`u` is produced by filter :math:`j` of ``conv1``, normalised by entry
:math:`j` of ``bn1`` and read only by input channel :math:`j` of ``conv2``:
exactly the chain ``Conv2d -> BatchNorm2d -> ReLU -> Conv2d`` of
:mod:`nnprune.prune.removal`, whose dependency walk is reused as it is.

**At the addition** (:func:`prune_coupled_channels`). The sum
:math:`s_j = f_j(x) + g_j(x)` pairs channel :math:`j` of the block's
``bn2`` with channel :math:`j` of the shortcut. Removing it from one summand
only would leave the shapes unequal, so both go, together with everything
that reads :math:`y_j`. With an identity shortcut, :math:`g_j(x) = x_j` is
channel :math:`j` of the *previous* block's output, which is itself a sum:
the coupling runs back through every identity shortcut to the layer that
last changed the width (the stem, or a block with a 1x1 projection), and
forward to the next layer that reads the channels without adding to them.
One *channel group* thus holds

=====================================  ==========================================
role                                   layers (in a ``small_resnet``)
=====================================  ==========================================
producers (lose filters :math:`j`)     the stem ``Conv2d`` or the opening block's
                                       ``conv2`` and ``downsample[0]``; the
                                       ``conv2`` of every identity block after it
norms (lose entry :math:`j`)           the BatchNorm after each producer
consumers (lose input channel          ``conv1`` of every block that reads the
:math:`j`)                             stream; ``conv1`` and ``downsample[0]`` of
                                       the next projection block, or the
                                       ``Linear`` after ``GlobalAvgPool2d``
                                       (column :math:`j`: the pool keeps channel
                                       :math:`j` as feature :math:`j`)
=====================================  ==========================================

and its channels are removed from all of them at once.
:func:`channel_groups` lists the groups of a model. ReLU, Dropout and
pooling between blocks act on each channel alone and are crossed; any
other module ends the walk, and a group with a reader it cannot follow, or
whose channels are the model's outputs, is listed with the reason and
refused. Models are ``Sequential`` chains of layers and blocks (the stem
may be a nested ``Sequential``); everything is checked before anything
changes, so a refused call leaves the model as it was.

Torch-Pruning's ``DependencyGraph`` (Fang et al., 2023) finds such groups in
any graph by tracing the forward pass (it calls them *pruning groups*);
this module is the readable special case of a ResNet, with the groups
written out.

:func:`mask_block_inner` and :func:`mask_coupled_channels` are the masked
twins (incoming filters and outgoing input channels masked, as
:func:`~nnprune.prune.removal.mask_units` does): the removed and the
masked model compute the same function. A masked producer still emits its
BatchNorm shift :math:`\beta_j - \gamma_j\hat\mu_j/\hat\sigma_j`, and with
an identity shortcut the channel even carries data; it is the masked
*consumers* that stop it everywhere.

References
----------
K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image
Recognition", CVPR 2016.
H. Li, A. Kadav, I. Durdanovic, H. Samet and H. P. Graf, "Pruning Filters
for Efficient ConvNets", ICLR 2017 (§4.2: pruning ResNets; they prune
inside blocks and leave the coupled channels alone).
G. Fang, X. Ma, M. Song, M. B. Mi and X. Wang, "DepGraph: Towards Any
Structural Pruning", CVPR 2023.

Book: §6.1, §7.1 (pruning a ResNet); §3.1 (structural pruning).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..nn.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from ..nn.batchnorm import BatchNorm1d, BatchNorm2d
from ..nn.conv import Conv2d
from ..nn.dropout import Dropout
from ..nn.flatten import Flatten
from ..nn.global_pool import GlobalAvgPool2d
from ..nn.linear import Linear
from ..nn.module import Module, Sequential
from ..nn.pooling import AvgPool2d, MaxPool2d
from ..nn.residual import BasicBlock
from ..rng import SeedLike, as_generator
from ._checks import amount_to_count
from ._surgery import Site, chain_sites, check_indices, find_site
from .importance import Criterion, lowest, unit_scores
from .removal import Edit, RemovalRecord, mask_planned, plan_removal, remove_planned

_PER_CHANNEL = (ReLU, LeakyReLU, Tanh, Sigmoid, Dropout, MaxPool2d, AvgPool2d)


@dataclass(frozen=True)
class ChannelGroup:
    """Channels that meet at residual additions and can only be removed together.

    Attributes
    ----------
    name : str
        The layer that opens the group: a ``Conv2d`` (the stem) or a
        ``BasicBlock`` with a projection shortcut. Pass it (or the group's
        position in :func:`channel_groups`) to :func:`prune_coupled_channels`.
    channels : int
        Number of channels in the group.
    producers, norms, consumers : tuple of str
        Dotted names of the layers that lose output filters, BatchNorm
        entries and input channels (or ``Linear`` columns).
    reason : str
        Empty if the group can be pruned, else why it cannot.
    """

    name: str
    channels: int
    producers: tuple[str, ...]
    norms: tuple[str, ...]
    consumers: tuple[str, ...]
    reason: str = ""
    parts: tuple[tuple[Site, str], ...] = field(default=(), repr=False, compare=False)

    @property
    def prunable(self) -> bool:
        """Whether :func:`prune_coupled_channels` accepts this group."""
        return not self.reason


def _sub(block: Site, attr: str) -> Site:
    """A sub-layer of a block as a site, e.g. ``"2.downsample.0"``."""
    return Site(f"{block.name}.{attr}", block.module.get_submodule(attr), block.parent)


def _block_parts(site: Site) -> tuple[list[tuple[Site, str]], list[tuple[Site, str]]]:
    """What reads a block's input channels, and what writes its output channels."""
    takes = [(_sub(site, "conv1"), "consumer")]
    gives = [(_sub(site, "conv2"), "producer"), (_sub(site, "bn2"), "norm")]
    if site.module.downsample is not None:
        takes.append((_sub(site, "downsample.0"), "consumer"))
        gives += [(_sub(site, "downsample.0"), "producer"), (_sub(site, "downsample.1"), "norm")]
    return takes, gives


def _finish(
    name: str, channels: int, parts: list[tuple[Site, str]], reason: str = ""
) -> ChannelGroup:
    def names(role: str) -> tuple[str, ...]:
        return tuple(s.name for s, r in parts if r == role)

    return ChannelGroup(
        name, channels, names("producer"), names("norm"), names("consumer"), reason, tuple(parts)
    )


def channel_groups(model: Module) -> list[ChannelGroup]:
    """The coupled channel groups of a residual model, in model order.

    Parameters
    ----------
    model : Sequential
        A chain of layers and ``BasicBlock`` (nested ``Sequential`` allowed),
        e.g. :func:`nnprune.models_resnet.small_resnet`.

    Returns
    -------
    list of ChannelGroup
        Every group, prunable or not (see ``ChannelGroup.reason``).

    Book: §6.1, §7.1.
    """
    groups: list[ChannelGroup] = []
    cur: tuple[str, int, list[tuple[Site, str]]] | None = None  # (name, channels, parts)
    pooled = False  # after GlobalAvgPool2d, channel j is feature j

    def stop(reason: str) -> None:
        nonlocal cur
        if cur is not None:
            groups.append(_finish(*cur, reason=reason))
        cur = None

    for site in chain_sites(model):
        m = site.module
        width = cur[1] if cur is not None else None
        reads = f"it is read by {site.name!r} ({type(m).__name__})"
        if isinstance(m, Conv2d | BasicBlock) and not pooled:
            if cur is not None and m.in_channels != width:
                stop(f"{reads}, which expects {m.in_channels} channels, not {width}")
                break
            if isinstance(m, Conv2d):
                takes, gives = [(site, "consumer")], [(site, "producer")]
            else:
                takes, gives = _block_parts(site)
            if isinstance(m, BasicBlock) and m.downsample is None:
                # The identity adds the block's input to its output: the group goes on.
                # (Without an open group the stream is the model's input: left alone.)
                if cur is not None:
                    cur[2].extend(takes + gives)
                continue
            if cur is not None:
                cur[2].extend(takes)
                stop("")
            cur = (site.name, m.out_channels, gives)
        elif isinstance(m, BatchNorm1d if pooled else BatchNorm2d) and m.num_features == width:
            cur[2].append((site, "norm"))
        elif isinstance(m, _PER_CHANNEL) and not (pooled and isinstance(m, MaxPool2d | AvgPool2d)):
            continue
        elif isinstance(m, GlobalAvgPool2d) and not pooled:
            pooled = True
        elif isinstance(m, Flatten) and pooled:
            continue  # (N, C) stays (N, C)
        elif isinstance(m, Linear) and pooled and cur is not None and m.in_features == width:
            cur[2].append((site, "consumer"))
            stop("")
            break  # later Linear layers are a chain: nnprune.prune.removal handles them
        else:
            stop(f"{reads}, which nnprune.prune.residual cannot follow (see its module docstring)")
            break
    stop("its channels are the model's outputs")
    return groups


def _group(model: Module, group: int | str) -> ChannelGroup:
    groups = channel_groups(model)
    names = [g.name for g in groups]
    if isinstance(group, str) and group in names:
        g = groups[names.index(group)]
    elif isinstance(group, int) and not isinstance(group, bool) and 0 <= group < len(groups):
        g = groups[group]
    else:
        raise ValueError(
            f"group must be a group name {names} or an index in [0, {len(groups)}), got {group!r}"
        )
    if not g.prunable:
        raise ValueError(f"cannot remove channels of group {g.name!r}: {g.reason}")
    return g


def _group_edits(model: Module, group: int | str, indices: Any) -> tuple[ChannelGroup, list[Edit]]:
    g = _group(model, group)
    idx = check_indices(indices, g.channels, layer=g.name)
    return g, [Edit(site, role, idx) for site, role in g.parts]


def prune_coupled_channels(model: Module, group: int | str, indices: Any) -> RemovalRecord:
    """Physically remove channels ``indices`` from every layer of a coupled group.

    Parameters
    ----------
    model : Sequential
        The residual model, changed in place.
    group : str or int
        The group's name (the stem ``Conv2d`` or a projection ``BasicBlock``,
        e.g. ``"0.0"`` or ``"2"``) or its position in :func:`channel_groups`.
    indices : sequence of int
        Channels to remove, in ``[0, channels)``.

    Returns
    -------
    RemovalRecord
        ``action="removed"``, the group name, the sorted indices, the
        parameter counts and every layer changed.

    Raises
    ------
    ValueError
        Unknown group, a group that cannot be pruned (its reason is in the
        message), or bad indices; the model is then unchanged.

    Notes
    -----
    Build a new optimiser afterwards. Torch-Pruning:
    ``DG.get_pruning_group(model.conv1, tp.prune_conv_out_channels, idxs).prune()``.

    Examples
    --------
    >>> from nnprune.models_resnet import small_resnet
    >>> model = small_resnet(1, 10, widths=(4, 8), seed=0)
    >>> record = prune_coupled_channels(model, "0.0", [0, 3])
    >>> model[0][0].out_channels, model[1].in_channels, model[1].out_channels
    (2, 2, 2)
    >>> model[2].conv1.in_channels, model[2].downsample[0].in_channels
    (2, 2)

    Book: §6.1, §7.1.
    """
    before = model.num_parameters()
    g, edits = _group_edits(model, group, indices)
    return remove_planned(model, g.name, edits, before)


def mask_coupled_channels(model: Module, group: int | str, indices: Any) -> RemovalRecord:
    """Masked twin of :func:`prune_coupled_channels`: mask producers' filters and consumers' inputs.

    Arguments, refusals and return value as :func:`prune_coupled_channels`,
    with ``action="masked"``; existing masks are kept (logical and).

    Book: §6.1, §7.1.
    """
    before = model.num_parameters()
    g, edits = _group_edits(model, group, indices)
    return mask_planned(model, g.name, edits, before)


def coupled_channel_scores(
    model: Module, group: int | str, criterion: str = "l1", seed: SeedLike = None
) -> np.ndarray:
    r"""One score per channel of a group, from the incoming weights of all its producers.

    .. math::

        s^{(1)}_j = \sum_{P} \sum_k |W^{P}_{jk}|,\qquad
        s^{(2)}_j = \Big(\sum_{P} \sum_k (W^{P}_{jk})^2\Big)^{1/2},

    over the group's producers :math:`P` (Li et al., 2017, per layer;
    Torch-Pruning's group importance sums the same way). ``"random"``
    draws seeded :math:`U[0, 1)` scores. Use with
    :func:`nnprune.prune.importance.lowest` to choose ``indices``.

    Returns
    -------
    numpy.ndarray, shape ``(channels,)``

    Book: §6.1, §7.1; §3.2.
    """
    g = _group(model, group)
    if criterion == "random":
        return as_generator(seed).random(g.channels)
    if criterion not in ("l1", "l2"):
        raise ValueError(f"criterion must be one of ('l1', 'l2', 'random'), got {criterion!r}")
    parts = [unit_scores(s.module, criterion) for s, r in g.parts if r == "producer"]
    if criterion == "l1":
        return np.sum(parts, axis=0)
    return np.sqrt(np.sum(np.square(parts), axis=0))


def _block_site(model: Module, block: str | Module) -> Site:
    sites = chain_sites(model)
    site = sites[find_site(sites, block)]
    if not isinstance(site.module, BasicBlock):
        raise ValueError(f"layer {site.name!r} is a {type(site.module).__name__}, not a BasicBlock")
    return site


def _block_edits(model: Module, block: str | Module, indices: Any) -> tuple[str, list[Edit]]:
    site = _block_site(model, block)
    m, name = site.module, f"{site.name}.conv1"
    idx = check_indices(indices, m.conv1.out_channels, layer=name)
    # The inner path is the chain Conv2d -> BatchNorm2d -> ReLU -> Conv2d of removal.py:
    # its dependency walk is reused on a Sequential view of the block's own layers.
    attrs = ("conv1", "bn1", "relu", "conv2")
    _, edits = plan_removal(Sequential(*(m.get_submodule(a) for a in attrs)), "0", idx, None)
    return name, [Edit(_sub(site, attrs[int(e.site.name)]), e.role, e.index) for e in edits]


def remove_block_inner(model: Module, block: str | Module, indices: Any) -> RemovalRecord:
    """Physically remove filters ``indices`` of a block's ``conv1`` (and ``bn1``, ``conv2`` inputs).

    These channels never reach the addition, so they are free of the
    coupling (see module docstring). Arguments as :func:`prune_block_inner`,
    with the filters given.

    Book: §6.1, §7.1.
    """
    before = model.num_parameters()
    name, edits = _block_edits(model, block, indices)
    return remove_planned(model, name, edits, before)


def mask_block_inner(model: Module, block: str | Module, indices: Any) -> RemovalRecord:
    """Masked twin of :func:`remove_block_inner` (``conv1`` filters, ``conv2`` input channels).

    Book: §6.1, §7.1.
    """
    before = model.num_parameters()
    name, edits = _block_edits(model, block, indices)
    return mask_planned(model, name, edits, before)


def prune_block_inner(
    model: Module,
    block_name: str | Module,
    amount: int | float,
    criterion: Criterion = "l1",
    seed: SeedLike = None,
) -> RemovalRecord:
    r"""Remove the ``amount`` lowest-scoring filters of a block's ``conv1``.

    Scores from :func:`nnprune.prune.importance.unit_scores` on ``conv1``
    (``"l1"``: :math:`\sum_k |W_{jk}|`, Li et al., 2017; ``"l2"``;
    ``"random"``; a callable or an array). ``bn1`` and the input channels
    of ``conv2`` shrink with them; the block's input and output widths do not
    change.

    Parameters
    ----------
    model : Sequential
        The residual model, changed in place.
    block_name : str or BasicBlock
        Dotted name of the block (e.g. ``"1"``) or the block itself.
    amount : int or float
        Number (int) or fraction (float in ``[0, 1]``) of ``conv1``'s filters.
    criterion : str, callable or array_like, default "l1"
    seed : int or numpy.random.Generator, optional
        For ``criterion="random"``.

    Returns
    -------
    RemovalRecord

    Raises
    ------
    ValueError
        Not a block, a bad ``amount`` or criterion, or all filters; the model
        is then unchanged.

    Book: §6.1, §7.1; §3.1, §3.2.
    """
    m = _block_site(model, block_name).module
    scores = unit_scores(m.conv1, criterion, seed)
    count = amount_to_count(amount, len(scores), "channels")
    return remove_block_inner(model, m, lowest(scores, count))


__all__ = [
    "ChannelGroup",
    "channel_groups",
    "coupled_channel_scores",
    "mask_block_inner",
    "mask_coupled_channels",
    "prune_block_inner",
    "prune_coupled_channels",
    "remove_block_inner",
]
