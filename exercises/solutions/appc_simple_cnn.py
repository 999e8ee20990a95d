r"""Exercise appc.simple_cnn: Appendix C 神经网络剪枝优化项目实战 (hands-on project).

Task
----
The book's ``SimpleCNN`` (conv 3->32 3x3, ReLU, conv 32->64 3x3, ReLU, view as 64*8*8,
fc1 -> 128, fc2 -> 10) fails on its first CIFAR-10 batch: two unpadded 3x3 convolutions
on 32x32 leave 64x28x28 features, not 64x8x8; and fc1 and fc2 have no non-linearity
between them, so they are one linear map (docs/errata.md, Appendix C). Build the corrected
model as an ``nnprune.nn.Sequential``.

Maths
-----
Each block: ``Conv2d(k=3, padding=1)`` (keeps H x W), ``ReLU``, ``MaxPool2d(2)`` (halves it).
Two blocks take a ``S x S`` image to ``64 x S/4 x S/4``, so fc1 has ``64 * (S // 4) ** 2``
inputs (4096 for CIFAR's 32x32). Then ``ReLU`` between fc1 (-> 128) and fc2 (-> classes).
For 32x32 RGB images and 10 classes the model has 545 098 parameters.

Shapes
------
``simple_cnn(in_channels=3, image_size=32, num_classes=10, seed=0)`` returns a model
taking ``(N, in_channels, image_size, image_size)`` to ``(N, num_classes)``;
``image_size`` is a multiple of 4.

Rules
-----
Allowed imports: numpy, math, nnprune.nn, nnprune.rng. Use ``seed`` for the initial
weights (``nnprune.rng.as_generator(seed)`` gives one generator for every layer).

Hint
----
``nn.Flatten()`` turns ``(N, 64, S/4, S/4)`` into ``(N, 64 * (S/4)**2)``. A ``MaxPool2d``
holds its last input, so each block needs its own instance.

Check your work: ``nnprune check appc.simple_cnn``
"""

from nnprune import nn
from nnprune.rng import as_generator


def simple_cnn(in_channels=3, image_size=32, num_classes=10, seed=0):
    """The corrected SimpleCNN: two conv-ReLU-pool blocks, fc1, ReLU, fc2."""
    # BEGIN SOLUTION
    # Why this is right: padding=1 keeps HxW through each 3x3 conv and each MaxPool2d(2) halves it,
    # so fc1 reads 64 * (S // 4) ** 2 features; one generator seeds every layer.
    # Usual mistake: no ReLU between fc1 and fc2: two Linear layers in a row are one linear map.
    gen = as_generator(seed)
    side = image_size // 4
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=1, seed=gen),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, seed=gen),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * side * side, 128, seed=gen),
        nn.ReLU(),
        nn.Linear(128, num_classes, seed=gen),
    )
    # END SOLUTION
