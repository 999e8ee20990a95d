r"""PyTorch ``state_dict`` in and out: the same names, shapes and layouts.

nnprune names parameters as PyTorch does (``"0.weight"``, ``"1.running_mean"``)
and stores them in PyTorch's layouts (``Linear.weight`` is ``(out, in)``,
``Conv2d.weight`` ``(out, in, kH, kW)``), so a state dict moves across
unchanged. A pruned parameter is exported with its zeros in place (what
``torch.nn.utils.prune.remove`` leaves); with ``masks=True`` each mask is also
exported under PyTorch's pruning key ``"<name>_mask"``, as a float tensor
of ones and zeros, the way ``torch.nn.utils.prune`` keeps its buffers.

Attention is the one layer whose names differ. nnprune's
:class:`~nnprune.nn.MultiHeadSelfAttention` keeps three projections
(``q_proj``, ``k_proj``, ``v_proj``, so each can be pruned on its own);
``torch.nn.MultiheadAttention`` (and so ``torch.nn.TransformerEncoderLayer``)
keeps one packed ``in_proj_weight`` ``(3E, E)`` and ``in_proj_bias`` ``(3E,)``,
query rows first, then key, then value. Both functions translate: the three
weights are stacked on export and split on import (their masks likewise: an
unpruned projection's block of the packed mask is ones, and a block of ones
comes back as no mask), and ``out_proj`` has the same name on both sides, so
the round trip is exact.
The per-head gate buffer ``head_mask`` is not a pruning mask and PyTorch has
no such buffer: on export a gate other than all ones is folded into the
columns of ``out_proj.weight`` that read its head (the outputs are unchanged),
and on import the gates are ones. A model whose heads were physically removed
(``num_heads * head_dim != embed_dim``) has no PyTorch counterpart and is refused.

Needs ``torch``.

Book: §8.3 (carrying a pruned model to other frameworks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import to_numpy
from ..nn.module import MASK_SUFFIX, Module


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError(
            "to_torch_state_dict / from_torch_state_dict need PyTorch (pip install torch)"
        ) from None
    return torch


def to_torch_state_dict(model: Module, masks: bool = False) -> dict[str, Any]:
    """``{name: torch.Tensor}`` for every parameter and buffer (pruned zeros in place).

    Parameters
    ----------
    model : Module
    masks : bool, default False
        Also export ``"<name>_mask"`` (float 0/1) for every pruned parameter.

    Returns
    -------
    dict of str to torch.Tensor
        Loadable with ``torch_model.load_state_dict(...)`` for the matching
        PyTorch model (``strict=False`` when masks are included).
    """
    torch = _import_torch()
    arrays: dict[str, np.ndarray] = {}
    params = dict(model.named_parameters())
    for name, value in model.state_dict().items():
        if name.endswith(MASK_SUFFIX) and name[: -len(MASK_SUFFIX)] in params:
            if masks:
                arrays[name] = np.asarray(to_numpy(value), dtype=np.float32)
            continue
        arrays[name] = np.array(to_numpy(value), copy=True)
    for prefix, attn in _attention_layers(model):
        _pack_attention(prefix, attn, arrays)
    return {name: torch.from_numpy(np.ascontiguousarray(a)) for name, a in arrays.items()}


PROJECTIONS = ("q_proj", "k_proj", "v_proj")  # the row blocks of in_proj, in PyTorch's order


def _attention_layers(model: Module) -> list[tuple[str, Any]]:
    from ..nn.attention import MultiHeadSelfAttention

    return [
        (f"{name}." if name else "", m)
        for name, m in model.named_modules()
        if isinstance(m, MultiHeadSelfAttention)
    ]


def _pack_attention(prefix: str, attn: Any, arrays: dict[str, np.ndarray]) -> None:
    """q/k/v projections -> ``in_proj_weight``/``in_proj_bias``; ``head_mask`` folded away."""
    if attn.num_heads * attn.head_dim != attn.embed_dim:
        raise ValueError(
            f"attention {prefix[:-1] or 'model'!r} has {attn.num_heads} heads of "
            f"{attn.head_dim} left of embed_dim {attn.embed_dim} (heads removed); "
            "torch.nn.MultiheadAttention cannot hold it"
        )
    for suffix, packed in (
        ("weight", "in_proj_weight"),
        ("bias", "in_proj_bias"),
        ("weight" + MASK_SUFFIX, "in_proj_weight" + MASK_SUFFIX),
        ("bias" + MASK_SUFFIX, "in_proj_bias" + MASK_SUFFIX),
    ):
        keys = [f"{prefix}{proj}.{suffix}" for proj in PROJECTIONS]
        present = [k in arrays for k in keys]
        if not any(present):
            continue
        if suffix.endswith(MASK_SUFFIX) and not all(present):  # some pruned: ones elsewhere
            param = suffix[: -len(MASK_SUFFIX)]
            for k, proj in zip(keys, PROJECTIONS, strict=True):
                shape = getattr(getattr(attn, proj), param).shape
                arrays.setdefault(k, np.ones(shape, np.float32))
        arrays[prefix + packed] = np.concatenate([arrays.pop(k) for k in keys], axis=0)
    gate = np.asarray(to_numpy(arrays.pop(prefix + "head_mask")), dtype=np.float64)
    if np.any(gate != 1):  # out_proj(concat_h(gate_h * head_h)): scale out_proj's columns
        key = prefix + "out_proj.weight"
        cols = np.repeat(gate, attn.head_dim)  # (H*d,)
        arrays[key] = (arrays[key] * cols[None, :]).astype(arrays[key].dtype)


def _unpack_attention(prefix: str, attn: Any, arrays: dict[str, np.ndarray]) -> None:
    """``in_proj_weight``/``in_proj_bias`` (and masks) -> q/k/v; gates of ones."""
    for suffix, packed in (
        ("weight", "in_proj_weight"),
        ("bias", "in_proj_bias"),
        ("weight" + MASK_SUFFIX, "in_proj_weight" + MASK_SUFFIX),
        ("bias" + MASK_SUFFIX, "in_proj_bias" + MASK_SUFFIX),
    ):
        if prefix + packed not in arrays:
            continue
        block = arrays.pop(prefix + packed)
        if block.shape[0] % 3:
            raise ValueError(
                f"{prefix + packed!r} has {block.shape[0]} rows, not 3 blocks (query, key, value)"
            )
        for proj, part in zip(PROJECTIONS, np.split(block, 3, axis=0), strict=True):
            if suffix.endswith(MASK_SUFFIX) and np.all(part != 0):
                continue  # a block of ones in a packed mask: that projection is not pruned
            arrays[f"{prefix}{proj}.{suffix}"] = part
    arrays.setdefault(prefix + "head_mask", np.ones(attn.num_heads, np.float32))


def from_torch_state_dict(model: Module, state: dict[str, Any], strict: bool = True) -> Module:
    """Load a PyTorch ``state_dict`` (tensors or arrays) into ``model``, in place.

    ``"<name>_mask"`` entries of parameters (from ``torch.nn.utils.prune``)
    become nnprune masks; a pruned PyTorch model's ``"<name>_orig"`` entries
    are taken as the weights (masked again by their mask). Attention's
    ``in_proj_weight``/``in_proj_bias`` are split into ``q_proj``, ``k_proj``
    and ``v_proj`` (see the module docstring). ``num_batches_tracked`` buffers,
    which nnprune does not keep, are ignored.

    Raises
    ------
    ValueError
        For a name or shape mismatch (``strict=True``), naming the entry.
    """
    arrays: dict[str, np.ndarray] = {}
    for name, value in state.items():
        if name.endswith("num_batches_tracked"):
            continue
        array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        if name.endswith("_orig"):
            name = name[: -len("_orig")]
        arrays[name] = array
    for prefix, attn in _attention_layers(model):
        _unpack_attention(prefix, attn, arrays)
    params = dict(model.named_parameters())
    for name in list(arrays):
        base = name[: -len(MASK_SUFFIX)]
        if name.endswith(MASK_SUFFIX) and base in params:  # a pruning mask, not head_mask
            arrays[name] = arrays[name].astype(bool)
            if base in arrays:
                arrays[base] = np.where(arrays[name], arrays[base], 0).astype(arrays[base].dtype)
    own = model.state_dict()
    for name, array in arrays.items():
        if name in own and not name.endswith("_mask"):
            arrays[name] = array.astype(np.asarray(own[name]).dtype, copy=False)
    model.load_state_dict(arrays, strict=strict)
    return model


__all__ = ["from_torch_state_dict", "to_torch_state_dict"]
