"""Transpose and LastTimeStep: gradchecks, the definition, a masked Conv1d-GRU chain, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn
from nnprune.gradcheck import gradcheck


@pytest.mark.parametrize(("dim0", "dim1"), [(1, 2), (0, 2), (-1, -2), (0, 1)])
def test_transpose_matches_numpy_and_gradcheck(rng, dim0, dim1) -> None:
    x = rng.normal(size=(2, 3, 4))
    layer = nn.Transpose(dim0, dim1)
    np.testing.assert_array_equal(layer(x), np.swapaxes(x, dim0, dim1))
    gradcheck(layer, x)


def test_last_time_step_matches_indexing_and_gradcheck(rng) -> None:
    x = rng.normal(size=(3, 5, 2))
    layer = nn.LastTimeStep()
    np.testing.assert_array_equal(layer(x), x[:, 4, :])
    gradcheck(layer, x)
    dx = layer.backward(np.ones((3, 2)))
    assert np.all(dx[:, :4] == 0) and np.all(dx[:, 4] == 1)


def test_last_time_step_with_lengths_matches_indexing_and_gradcheck(rng) -> None:
    x = rng.normal(size=(3, 5, 2))
    lengths = np.array([5, 2, 1])
    layer = nn.LastTimeStep()
    expected = np.stack([x[0, 4], x[1, 1], x[2, 0]])
    np.testing.assert_array_equal(layer(x, lengths), expected)
    gradcheck(layer, x, forward_kwargs={"lengths": lengths})
    dx = layer.backward(np.ones((3, 2)))
    assert dx.sum() == 6 and np.all(dx[1, 1] == 1) and np.all(dx[2, 0] == 1)
    np.testing.assert_array_equal(layer(x, np.full(3, 5)), x[:, -1])  # full lengths = default


@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        (
            np.array([1, 2]),
            r"lengths must be an int array of shape \(3,\), got int64 of shape \(2,\)",
        ),
        (np.array([1.0, 2.0, 3.0]), r"lengths must be an int array of shape \(3,\), got float64"),
        (np.array([1, 0, 3]), r"lengths must be in \[1, 5\] \(T = 5\), got values from 0 to 3"),
        (np.array([1, 6, 3]), r"lengths must be in \[1, 5\] \(T = 5\), got values from 1 to 6"),
    ],
)
def test_last_time_step_rejects_bad_lengths(lengths, message) -> None:
    with pytest.raises(ValueError, match=message):
        nn.LastTimeStep()(np.zeros((3, 5, 2)), lengths)


@pytest.mark.parametrize("masked", [False, True])
def test_conv1d_gru_chain_gradcheck(rng, masked) -> None:
    """The speech case study's chain, end to end, masked and unmasked."""
    model = nn.Sequential(
        nn.Transpose(1, 2),
        nn.Conv1d(3, 4, 3, padding=1, seed=0),
        nn.ReLU(),
        nn.Transpose(1, 2),
        nn.GRU(4, 5, seed=1),
        nn.LastTimeStep(),
        nn.Linear(5, 2, seed=2),
    ).double()
    if masked:
        gru = model[4]
        gru.weight_hh_l0.mask = rng.random(gru.weight_hh_l0.shape) > 0.5
        gru.weight_ih_l0.mask = rng.random(gru.weight_ih_l0.shape) > 0.5
        assert np.all(gru.weight_hh_l0.data[~gru.weight_hh_l0.mask] == 0)
    gradcheck(model, rng.normal(size=(2, 6, 3)))


def test_backward_does_not_mutate_dout(rng) -> None:
    x = rng.normal(size=(2, 3, 4))
    for layer, dout in (
        (nn.Transpose(), rng.normal(size=(2, 4, 3))),
        (nn.LastTimeStep(), rng.normal(size=(2, 4))),
    ):
        layer(x)
        before = dout.copy()
        layer.backward(dout)
        np.testing.assert_array_equal(dout, before)


@pytest.mark.parametrize("bad", [3, -4, 1.0, True])
def test_transpose_rejects_bad_dims(bad) -> None:
    with pytest.raises(ValueError, match=r"dim0 must be an int in \[-3, 3\)"):
        nn.Transpose(bad, 1)


def test_errors_name_the_layer() -> None:
    with pytest.raises(ValueError, match="Transpose expects a 3-D input"):
        nn.Transpose()(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="LastTimeStep expects a 3-D input"):
        nn.LastTimeStep()(np.zeros((2, 3)))
    with pytest.raises(RuntimeError, match="LastTimeStep.backward called before forward"):
        nn.LastTimeStep().backward(np.zeros((2, 3)))
