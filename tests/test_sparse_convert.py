"""nnprune.sparse.to_sparse_model: the CSR copy of a model computes what the model computes."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn, prune
from nnprune.models import mlp, small_cnn
from nnprune.nn.residual import BasicBlock
from nnprune.sparse import SparseConv2d, SparseLinear, to_sparse_model


def _prune_all(model: nn.Module, amount: float) -> None:
    for m in model.modules():
        if isinstance(m, nn.Linear | nn.Conv2d):
            prune.l1_unstructured(m, "weight", amount=amount)


def _randomise_bn(model: nn.Module, rng: np.random.Generator) -> None:
    """Non-trivial running statistics and affine parameters, so eval mode matters."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            n = m.num_features
            m.running_mean[...] = rng.standard_normal(n)
            m.running_var[...] = rng.uniform(0.5, 2.0, n)
            m.weight.data[...] = rng.uniform(0.5, 1.5, n)
            m.bias.data[...] = rng.standard_normal(n)


@pytest.mark.parametrize("mode", ["sparse", "dense"])
def test_mlp_with_batchnorm_and_dropout_matches_the_dense_model(mode, rng):
    model = mlp((64, 40, 20, 10), batchnorm=True, dropout=0.5, seed=0)
    _prune_all(model, 0.8)
    _randomise_bn(model, rng)
    x = rng.standard_normal((16, 64)).astype(np.float32)
    sparse = to_sparse_model(model, mode=mode)
    assert model.training  # the original keeps its mode and its layers
    assert sum(isinstance(m, nn.Linear) for m in model.modules()) == 3
    assert sum(isinstance(m, SparseLinear) for m in sparse.modules()) == 3
    assert not any(isinstance(m, nn.Linear) for m in sparse.modules())
    assert all(m.mode_ == mode for m in sparse.modules() if isinstance(m, SparseLinear))
    expected = model.eval().forward(x)  # eval: running statistics, no dropout
    np.testing.assert_allclose(sparse.forward(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["sparse", "auto"])
def test_cnn_matches_the_dense_model(mode, rng):
    model = small_cnn(1, 10, 8, channels=(4, 8), batchnorm=True, seed=1)
    _prune_all(model, 0.7)
    _randomise_bn(model, rng)
    x = rng.standard_normal((5, 1, 8, 8)).astype(np.float32)
    sparse = to_sparse_model(model, mode=mode, input_shape=(1, 8, 8), repeats=1)
    assert sum(isinstance(m, SparseConv2d) for m in sparse.modules()) == 2
    expected = model.eval().forward(x)
    np.testing.assert_allclose(sparse.forward(x), expected, rtol=1e-5, atol=1e-5)


def test_nested_sequential_is_converted(rng):
    inner = nn.Sequential(nn.Linear(6, 5, seed=0), nn.ReLU())
    model = nn.Sequential(inner, nn.Linear(5, 3, seed=1))
    x = rng.standard_normal((4, 6))
    sparse = to_sparse_model(model.double())
    assert isinstance(sparse[0], nn.Sequential) and isinstance(sparse[0][0], SparseLinear)
    w1, b1 = inner[0].weight.data, inner[0].bias.data
    w2, b2 = model[1].weight.data, model[1].bias.data
    np.testing.assert_allclose(sparse.forward(x), np.maximum(x @ w1.T + b1, 0) @ w2.T + b2)


def test_errors():
    with pytest.raises(TypeError, match="model must be an nnprune Sequential, got Linear"):
        to_sparse_model(nn.Linear(3, 2))
    with pytest.raises(ValueError, match=r"mode must be one of \['auto', 'dense', 'sparse'\]"):
        to_sparse_model(mlp((4, 3)), mode="csr")
    with pytest.raises(ValueError, match="input_shape .* is needed for mode='auto'"):
        to_sparse_model(small_cnn(1, 10, 8, channels=(2,)), mode="auto")
    with pytest.raises(TypeError, match="cannot convert BasicBlock: it holds Conv2d"):
        to_sparse_model(nn.Sequential(BasicBlock(2, 2)))
