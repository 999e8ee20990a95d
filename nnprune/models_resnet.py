r"""``small_resnet``: a ResNet of ``BasicBlock`` stages for small images (digits, CIFAR).

The layout follows the CIFAR ResNets of He et al. (2016, §4.2): a 3x3 stem
without pooling, stages of ``BasicBlock`` whose first block halves H and W
(from the second stage on) and widens the channels through a 1x1 projection
shortcut, then global average pooling and one ``Linear``. Because the head
averages over positions, the same builder serves 8x8 digits and 32x32
CIFAR images.

The result is an ordinary :class:`~nnprune.nn.Sequential`,
``[stem, block, ..., block, GlobalAvgPool2d, Linear]`` with
``stem = Sequential(Conv2d, BatchNorm2d, ReLU)``, which
:mod:`nnprune.prune.residual` prunes structurally.

Book: §6.1, §7.1 (image case study).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import nn
from .checks import check_positive_int
from .rng import SeedLike, as_generator


def small_resnet(
    in_channels: int = 1,
    num_classes: int = 10,
    *,
    widths: Sequence[int] = (16, 32),
    blocks_per_stage: int = 1,
    seed: SeedLike = 0,
) -> nn.Sequential:
    """Build ``stem -> stages of BasicBlock -> GlobalAvgPool2d -> Linear``.

    Parameters
    ----------
    in_channels : int, default 1
        Channels of the input images (1 for digits/MNIST, 3 for CIFAR-10).
    num_classes : int, default 10
        Outputs of the classifier.
    widths : sequence of int, default (16, 32)
        Channels of each stage; stage ``s > 0`` starts with a stride-2 block,
        so the input's H and W should be divisible by ``2 ** (len(widths) - 1)``
        (convolutions with padding 1 round odd sizes up).
    blocks_per_stage : int, default 1
        ``BasicBlock`` per stage (3 gives ResNet-20 with ``widths=(16, 32, 64)``).
    seed : int or numpy.random.Generator, default 0
        Source of the initial weights.

    Returns
    -------
    Sequential
        ``model[0]`` is the stem, ``model[1:-2]`` the blocks,
        ``model[-2]`` the ``GlobalAvgPool2d`` and ``model[-1]`` the ``Linear``.

    Examples
    --------
    >>> import numpy as np
    >>> model = small_resnet(1, 10, widths=(4, 8), seed=0)
    >>> model(np.zeros((2, 1, 8, 8), np.float32)).shape
    (2, 10)
    >>> [type(m).__name__ for m in model]
    ['Sequential', 'BasicBlock', 'BasicBlock', 'GlobalAvgPool2d', 'Linear']

    Book: §6.1, §7.1.
    """
    in_channels = check_positive_int("in_channels", in_channels)
    num_classes = check_positive_int("num_classes", num_classes)
    blocks_per_stage = check_positive_int("blocks_per_stage", blocks_per_stage)
    widths = [check_positive_int(f"widths[{i}]", w) for i, w in enumerate(widths)]
    if not widths:
        raise ValueError("widths must list at least one stage width, got []")
    rng = as_generator(seed)
    stem = nn.Sequential(
        nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False, seed=rng),
        nn.BatchNorm2d(widths[0]),
        nn.ReLU(),
    )
    layers: list[nn.Module] = [stem]
    c_in = widths[0]
    for stage, width in enumerate(widths):
        for b in range(blocks_per_stage):
            stride = 2 if stage > 0 and b == 0 else 1
            layers.append(nn.BasicBlock(c_in, width, stride=stride, seed=rng))
            c_in = width
    layers += [nn.GlobalAvgPool2d(), nn.Linear(c_in, num_classes, seed=rng)]
    return nn.Sequential(*layers)


__all__ = ["small_resnet"]
