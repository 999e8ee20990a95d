r"""Run a model layer by layer and record what each layer saw and produced.

``Sequential`` containers are opened recursively; every other module is one
layer, called with ``forward``. The model runs in eval mode (Dropout off,
BatchNorm on running statistics) and every module's own mode is restored
afterwards, even on error.

Book: §2.1 (activation sparsity), §1.3 (FLOPs need each layer's shapes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..nn.module import Module, Sequential


@dataclass
class LayerCall:
    """One layer's call during a traced forward pass."""

    name: str
    layer: Module
    input_shape: tuple[int, ...]
    output: Any


def _run(module: Module, x: Any, name: str, calls: list[LayerCall]) -> Any:
    if isinstance(module, Sequential):
        for child_name, child in module.named_children():
            x = _run(child, x, f"{name}.{child_name}" if name else child_name, calls)
        return x
    y = module(x)  # through __call__, so forward hooks fire as in any other call
    calls.append(LayerCall(name, module, tuple(x.shape), y))
    return y


def trace(model: Module, x: Any) -> list[LayerCall]:
    """Forward ``x`` through ``model`` in eval mode; one :class:`LayerCall` per layer, in order."""
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnprune Module, got {type(model).__name__}")
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    calls: list[LayerCall] = []
    try:
        _run(model, x, "", calls)
    finally:
        for m, training in modes:
            # Set each module's own flag: Module.train would also reset its children.
            object.__setattr__(m, "training", training)
    return calls
