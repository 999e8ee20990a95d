r"""``BasicBlock``: the residual block of ResNet-18/34 (He et al., 2016).

A residual block adds its input back to what its two convolutions compute,
so the block only has to learn a correction to the identity. For pruning
this addition is the one new thing: the channels of the two summands must
match one for one, so they can only be removed *together* (see
:mod:`nnprune.prune.residual`).

References
----------
K. He, X. Zhang, S. Ren and J. Sun, "Deep Residual Learning for Image
Recognition", CVPR 2016.

Book: §1.2 (CNN building blocks); the ResNet case study, §6.1 and §7.1.
"""

from __future__ import annotations

from typing import Any

from ..checks import check_positive_int
from ..rng import SeedLike, as_generator
from ._validate import check_input
from .activation import ReLU
from .batchnorm import BatchNorm2d
from .conv import Conv2d
from .module import Module, Sequential


class BasicBlock(Module):
    r"""Two 3x3 convolutions with batch norm, plus a shortcut, then ReLU.

    .. math::

        u = \mathrm{ReLU}(\mathrm{BN}_1(W_1 * x)),\qquad
        f(x) = \mathrm{BN}_2(W_2 * u),\qquad
        s = f(x) + g(x),\qquad y = \mathrm{ReLU}(s),

    with the shortcut :math:`g(x) = x` (identity) when the shape is kept, or
    :math:`g(x) = \mathrm{BN}_d(W_d * x)` with a 1x1 convolution of the same
    stride (``downsample``, "option B" of the paper) when ``stride != 1`` or
    ``in_channels != out_channels``. The convolutions have no bias (the batch
    norm that follows would cancel it), as in torchvision.

    Backward runs both branches from the same :math:`\delta_s` and adds what
    reaches the input:

    .. math::

        \delta_s = \delta_y \odot 1[s > 0],\qquad
        \frac{\partial L}{\partial x} = f'(x)^\top \delta_s + g'(x)^\top \delta_s,

    where :math:`g'(x)^\top \delta_s = \delta_s` for the identity shortcut.
    Each sub-layer adds its own parameter gradients on the way.

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of ``conv1``, ``conv2`` and the output.
    stride : int, default 1
        Stride of ``conv1`` and of the projection shortcut (2 halves H and W).
    seed : int or numpy.random.Generator, optional
        Source of the initial weights.

    Attributes
    ----------
    conv1 : Conv2d ``(out_channels, in_channels, 3, 3)``, stride ``stride``, padding 1.
    bn1 : BatchNorm2d ``(out_channels)``.
    relu : ReLU (after ``bn1``; the ReLU after the addition is computed by the block,
        since a nnprune ``ReLU`` caches its input and cannot be called twice).
    conv2 : Conv2d ``(out_channels, out_channels, 3, 3)``, stride 1, padding 1.
    bn2 : BatchNorm2d ``(out_channels)``.
    downsample : Sequential(Conv2d 1x1, BatchNorm2d) or None
        The projection shortcut; ``None`` for the identity.

    The names are torchvision's, so ``state_dict()`` keys match
    ``torchvision.models.resnet.BasicBlock`` (which also has
    ``num_batches_tracked``).

    Examples
    --------
    >>> import numpy as np
    >>> from nnprune import nn
    >>> block = nn.BasicBlock(4, 8, stride=2, seed=0)
    >>> block(np.ones((2, 4, 8, 8), np.float32)).shape
    (2, 8, 4, 4)
    >>> block.downsample is None
    False

    Book: §6.1, §7.1.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, seed: SeedLike = None
    ) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        out_channels = check_positive_int("out_channels", out_channels)
        self.stride = check_positive_int("stride", stride)
        gen = as_generator(seed)
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride, 1, bias=False, seed=gen)
        self.bn1 = BatchNorm2d(out_channels)
        self.relu = ReLU()
        self.conv2 = Conv2d(out_channels, out_channels, 3, 1, 1, bias=False, seed=gen)
        self.bn2 = BatchNorm2d(out_channels)
        if stride != 1 or in_channels != out_channels:
            self.downsample = Sequential(
                Conv2d(in_channels, out_channels, 1, stride, bias=False, seed=gen),
                BatchNorm2d(out_channels),
            )
        else:
            self.downsample = None
        self._positive = None

    @property
    def in_channels(self) -> int:
        """Channels the block reads (follows structured pruning of ``conv1``)."""
        return self.conv1.in_channels

    @property
    def out_channels(self) -> int:
        """Channels the block writes (follows structured pruning of ``conv2``)."""
        return self.conv2.out_channels

    def forward(self, x: Any) -> Any:
        check_input(self, x, ndim=4, channels=self.in_channels)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        s = out + shortcut  # (N, C_out, OH, OW)
        self._positive = s > 0
        return s * self._positive

    def backward(self, dout: Any) -> Any:
        if self._positive is None:
            raise RuntimeError("BasicBlock.backward called before forward")
        ds = dout * self._positive  # a new array: dout is not touched
        d = self.bn2.backward(ds)
        d = self.conv2.backward(d)
        d = self.relu.backward(d)
        d = self.bn1.backward(d)
        dx = self.conv1.backward(d)
        return dx + (ds if self.downsample is None else self.downsample.backward(ds))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


__all__ = ["BasicBlock"]
