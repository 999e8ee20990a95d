r"""Exercise ch6.conv_bn_removal: §6.1 稀疏性剪枝优化在图像识别中的应用 (image recognition).

Task
----
Real CNNs put a BatchNorm between a convolution and its ReLU: ``Conv2d -> BatchNorm2d ->
ReLU -> Conv2d``. Remove channels through that block so that the network is really smaller
and computes exactly what the masked network computes. Choose the channels as network
slimming does (Liu et al., 2017): the BatchNorm scale :math:`|\gamma_c|` ranks them.

Maths
-----
In evaluation mode, channel :math:`c` of the block's output is

.. math::

    a_c = \mathrm{ReLU}\Bigl(\gamma_c \frac{W^{(1)}_c * x + b^{(1)}_c - \mu_c}
          {\sqrt{\sigma^2_c + \epsilon}} + \beta_c\Bigr),

read by every filter :math:`o` of the next convolution through :math:`W^{(2)}_{o,c}`.
Removing :math:`c` deletes :math:`W^{(1)}_c`, :math:`b^{(1)}_c`, the four BatchNorm
entries :math:`\gamma_c, \beta_c, \mu_c, \sigma^2_c` and :math:`W^{(2)}_{\cdot, c}`.
*Masking* :math:`c` must make :math:`a_c = 0`: zeroing :math:`W^{(1)}_c` and
:math:`b^{(1)}_c` is not enough, BatchNorm turns a zero input into
:math:`\beta_c - \gamma_c \mu_c / \sqrt{\sigma^2_c + \epsilon}`.

Shapes
------
``params`` is a dict of arrays: ``conv1.weight`` ``(C1, C0, k, k)``, ``conv1.bias``,
``bn.weight`` (:math:`\gamma`), ``bn.bias`` (:math:`\beta`), ``bn.running_mean``,
``bn.running_var`` (all ``(C1,)``), ``conv2.weight`` ``(C2, C1, k, k)``, ``conv2.bias``
``(C2,)``. ``keep`` is a sorted int array of the channels that stay. ``shrink`` returns a
new dict with the same keys and the smaller arrays; ``mask_channels`` a new dict with the
same shapes. Do not modify ``params``.

Rules
-----
NumPy only.

Hint
----
Index with ``keep`` on axis 0 of every per-channel array and on axis 1 of ``conv2.weight``;
``conv2.bias`` does not change. For ``slimming_keep``,
``np.argsort(np.abs(gamma), kind="stable")`` lists the channels from the least important,
and the result is sorted so the channels keep their order.

Check your work: ``nnprune check ch6.conv_bn_removal``
"""

import numpy as np

PER_CHANNEL = ("conv1.weight", "conv1.bias", "bn.weight", "bn.bias", "bn.running_mean",
               "bn.running_var")  # fmt: skip


def slimming_keep(gamma, n_remove):
    """Sorted indices of the channels kept when the ``n_remove`` smallest ``|gamma|`` go."""
    raise NotImplementedError("your code here")


def shrink(params, keep):
    """The block with only the channels ``keep``: a new dict of smaller arrays."""
    raise NotImplementedError("your code here")


def mask_channels(params, keep):
    """The same shapes, every channel not in ``keep`` made to output exactly 0 after the ReLU."""
    raise NotImplementedError("your code here")
