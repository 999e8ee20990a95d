"""A model of your own for ``nnprune``: ``--model mymodels:build`` or ``model = "mymodels:build"``.

nnprune imports this file by name from the folder you run ``nnprune`` in (as ``python -m``
does), in every worker process too, and calls ``build`` with the keywords it accepts among
``input_shape`` (one sample's shape), ``num_classes`` and ``seed``, plus the settings of
``model_args`` (``--model-args '{"hidden": 128}'``). It must return an nnprune Module.
"""

import numpy as np

from nnprune import models, nn


def build(input_shape, num_classes, seed=0, hidden=100):
    """Flatten -> Linear(hidden) -> ReLU -> Linear(num_classes)."""
    n_in = int(np.prod(input_shape))
    return nn.Sequential(nn.Flatten(), *models.mlp((n_in, hidden, num_classes), seed=seed))
