r"""Exercise ch8.erk_sparsities: §8.2 未来研究的方向 (future directions).

Task
----
Sparse training from scratch (SET, RigL) fixes each layer's sparsity before training. The
Erdős–Rényi-Kernel rule (Evci et al., 2020) gives small layers more density and large ones
less, for the same overall sparsity. Compute it, including the case where a layer would
need a density above 1 and must stay dense.

Maths
-----
A layer with weight shape :math:`(d_1, \dots, d_k)` has :math:`n = \prod d_i` weights and
the score :math:`r = \sum d_i / \prod d_i` (for a Linear :math:`(o, i)`,
:math:`(o + i) / (o i)`). The density of a sparse layer is :math:`\epsilon r`, with
:math:`\epsilon` chosen so that the non-zeros sum to :math:`(1 - s) \sum n`:

.. math::

    \epsilon = \frac{(1 - s)\sum_{l \in S} n_l - s \sum_{l \in D} n_l}{\sum_{l \in S} r_l n_l},

where :math:`D` is the set of dense layers and :math:`S` the others. Start with :math:`D`
empty; while the largest score in :math:`S` gives :math:`\epsilon r > 1`, move the layers
with that score into :math:`D` and recompute :math:`\epsilon`. A layer's sparsity is
:math:`1 - \epsilon r_l` (0 for a dense one).

Shapes
------
``shapes``: a list of weight shapes (tuples of ints), e.g. ``[(300, 784), (100, 300),
(10, 100)]``; ``sparsity`` in ``[0, 1)``. Return a list of floats, one per layer.

Rules
-----
NumPy only (nnprune.pipeline.layer_sparsities is what the checker compares you with).

Hint
----
A dense layer holds :math:`n_l` non-zeros instead of :math:`(1 - s) n_l`: the other layers
must give up the :math:`s\,n_l` it takes beyond its share, hence the minus sign.

Check your work: ``nnprune check ch8.erk_sparsities``
"""

import math


def erk_sparsities(shapes, sparsity):
    """The ERK sparsity of each layer for an overall ``sparsity``."""
    raise NotImplementedError("your code here")
