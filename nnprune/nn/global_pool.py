r"""``GlobalAvgPool2d``: the mean of each channel over all positions, ``(N, C, H, W) -> (N, C)``.

The head of a ResNet: whatever the image size, each channel becomes one
feature for the classifier. PyTorch writes it as
``nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())`` (torchvision's
ResNet: ``avgpool`` then ``torch.flatten(x, 1)``), Keras as
``GlobalAveragePooling2D``; here it is one layer, since the two always go
together. Channel :math:`c` of the input is feature :math:`c` of the output,
which is what makes channel pruning through it simple (no ``H*W`` blocks of
columns, unlike ``Flatten``).

Book: §1.2 (CNN: pooling layers); the ResNet case study, §6.1 and §7.1.
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ._validate import check_input
from .module import Module


class GlobalAvgPool2d(Module):
    r"""Average each channel over its whole ``H x W`` map.

    .. math::

        y[n, c] = \frac{1}{HW}\sum_{p, q} x[n, c, p, q],\qquad
        \frac{\partial L}{\partial x[n, c, p, q]} = \frac{\delta[n, c]}{HW}.

    Shapes: input ``(N, C, H, W)``, output ``(N, C)``. Same as PyTorch's
    ``AdaptiveAvgPool2d(1)`` followed by ``Flatten()``, or ``x.mean(dim=(2, 3))``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnprune import nn
    >>> nn.GlobalAvgPool2d()(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[1.5, 5.5]])

    Book: §6.1, §7.1.
    """

    def __init__(self) -> None:
        super().__init__()
        self._x_shape = None

    def forward(self, x: Any) -> Any:
        check_input(self, x, ndim=4)
        self._x_shape = x.shape
        return x.mean(axis=(2, 3))  # (N, C)

    def backward(self, dout: Any) -> Any:
        if self._x_shape is None:
            raise RuntimeError("GlobalAvgPool2d.backward called before forward")
        h, w = self._x_shape[2:]
        dx = get_xp(dout).empty(self._x_shape, dtype=dout.dtype)
        dx[...] = (dout * (1.0 / (h * w)))[:, :, None, None]  # (N, C, 1, 1) spread over H, W
        return dx


__all__ = ["GlobalAvgPool2d"]
