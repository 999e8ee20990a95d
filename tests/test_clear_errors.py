"""Former tracebacks: each either works as PyTorch does or is one line naming what to do."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import models, nn, optim
from nnprune.gradcheck import gradcheck


def test_conv_on_an_empty_batch_gives_an_empty_output():
    conv = nn.Conv2d(3, 4, 3, seed=0)
    y = conv(np.zeros((0, 3, 8, 8), np.float32))
    assert y.shape == (0, 4, 6, 6)
    assert conv.backward(y).shape == (0, 3, 8, 8)
    assert not conv.weight.grad.any()
    assert models.small_cnn(3, 10, 8, seed=0)(np.zeros((0, 3, 8, 8), np.float32)).shape == (0, 10)


def test_integer_images_are_computed_in_floating_point():
    x = np.arange(2 * 3 * 6 * 6).reshape(2, 3, 6, 6) % 7  # int64
    conv = nn.Conv2d(3, 4, 3, seed=0)
    y = conv(x)
    dx = conv.backward(np.ones_like(y))
    ref = nn.Conv2d(3, 4, 3, seed=0)
    y_ref = ref(x.astype(np.float64))
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(dx, ref.backward(np.ones_like(y_ref)))
    pool = nn.AvgPool2d(2)
    out = pool(x)
    np.testing.assert_array_equal(out, nn.AvgPool2d(2)(x.astype(np.float64)))
    assert pool.backward(np.ones_like(out)).shape == x.shape


def test_flatten_empty_batch_and_list():
    assert nn.Flatten()(np.zeros((0, 3, 4))).shape == (0, 12)
    with pytest.raises(TypeError, match=r"Flatten expects an array input, got list"):
        nn.Flatten()([[1, 2], [3, 4]])


def test_backward_with_a_wrong_dout_shape_names_both_shapes():
    lin = nn.Linear(3, 4)
    lin(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"Linear.backward: dout has shape \(2, 5\), expected"):
        lin.backward(np.ones((2, 5)))
    conv = nn.Conv2d(3, 4, 3)
    conv(np.ones((2, 3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"Conv2d.backward: dout has shape \(2, 4, 5, 5\)"):
        conv.backward(np.ones((2, 4, 5, 5)))


def test_optimizer_given_a_layer_says_parameters():
    with pytest.raises(TypeError, match=r"got a Linear module; pass its parameters"):
        optim.SGD(nn.Linear(3, 4), lr=0.1)


def test_assigning_an_array_to_a_parameter_is_refused():
    lin = nn.Linear(3, 4)
    with pytest.raises(TypeError, match=r"Linear.weight is a Parameter; .*weight.data"):
        lin.weight = np.ones((4, 3), np.float32)
    lin.bias = None  # removing a parameter stays allowed
    assert lin.bias is None


def test_gradients_still_exact_after_the_checks():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    assert gradcheck(nn.Conv2d(3, 2, 3, seed=0).double(), x)
