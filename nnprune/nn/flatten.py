r"""``Flatten``: reshape ``(N, C, H, W)`` to ``(N, C*H*W)``; backward reshapes back.

Book: §1.2 (CNN: from feature maps to the classifier).
"""

from __future__ import annotations

import math
from typing import Any

from ._validate import check_input
from .module import Module


class Flatten(Module):
    """Flatten all axes from ``start_dim`` on (default 1, as in PyTorch)."""

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = int(start_dim)
        self._shape = None

    def forward(self, x: Any) -> Any:
        check_input(self, x, min_ndim=self.start_dim)
        self._shape = x.shape
        flat = math.prod(x.shape[self.start_dim :])  # explicit: -1 is ambiguous for 0 samples
        return x.reshape(*x.shape[: self.start_dim], flat)  # (N, C*H*W)

    def backward(self, dout: Any) -> Any:
        return dout.reshape(self._shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}"
