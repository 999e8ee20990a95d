r"""PyTorch ``state_dict`` in and out: the same names, shapes and layouts.

nnprune names parameters as PyTorch does (``"0.weight"``, ``"1.running_mean"``)
and stores them in PyTorch's layouts (``Linear.weight`` is ``(out, in)``,
``Conv2d.weight`` ``(out, in, kH, kW)``), so a state dict moves across
unchanged. A pruned parameter is exported with its zeros in place (what
``torch.nn.utils.prune.remove`` leaves); with ``masks=True`` each mask is also
exported under PyTorch's pruning key ``"<name>_mask"``, as a float tensor
of ones and zeros, the way ``torch.nn.utils.prune`` keeps its buffers.

Needs ``torch``.

Book: §8.3 (carrying a pruned model to other frameworks).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import to_numpy
from ..nn.module import Module


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
    out = {}
    for name, value in model.state_dict().items():
        if name.endswith("_mask"):
            if masks:
                out[name] = torch.from_numpy(np.asarray(value, dtype=np.float32).copy())
            continue
        out[name] = torch.from_numpy(np.array(to_numpy(value), copy=True))
    return out


def from_torch_state_dict(model: Module, state: dict[str, Any], strict: bool = True) -> Module:
    """Load a PyTorch ``state_dict`` (tensors or arrays) into ``model``, in place.

    ``"<name>_mask"`` entries (from ``torch.nn.utils.prune``) become nnprune
    masks; a pruned PyTorch model's ``"<name>_orig"`` entries are taken as the
    weights (masked again by their mask). ``num_batches_tracked`` buffers,
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
        if name.endswith("_mask"):
            array = array.astype(bool)
        arrays[name] = array
    for name in [n for n in arrays if n.endswith("_mask")]:
        base = name[: -len("_mask")]
        if base in arrays:
            arrays[base] = np.where(arrays[name], arrays[base], 0).astype(arrays[base].dtype)
    own = model.state_dict()
    for name, array in arrays.items():
        if name in own and not name.endswith("_mask"):
            arrays[name] = array.astype(np.asarray(own[name]).dtype, copy=False)
    model.load_state_dict(arrays, strict=strict)
    return model


__all__ = ["from_torch_state_dict", "to_torch_state_dict"]
