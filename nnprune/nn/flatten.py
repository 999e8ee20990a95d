r"""``Flatten``: reshape ``(N, C, H, W)`` to ``(N, C*H*W)``; backward reshapes back.

Book: §1.2 (CNN: from feature maps to the classifier).
"""

from __future__ import annotations

from typing import Any

from .module import Module


class Flatten(Module):
    """Flatten all axes from ``start_dim`` on (default 1, as in PyTorch)."""

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = int(start_dim)
        self._shape = None

    def forward(self, x: Any) -> Any:
        self._shape = x.shape
        return x.reshape(*x.shape[: self.start_dim], -1)  # (N, C*H*W)

    def backward(self, dout: Any) -> Any:
        return dout.reshape(self._shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"
