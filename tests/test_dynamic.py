"""Dynamic sparse training (SET, RigL): fixed sparsity, zero-started growth, the grow rules."""

import numpy as np
import pytest

from nnprune import nn, optim
from nnprune.models import mlp
from nnprune.pipeline import SET, DynamicSparsity, RigL, layer_sparsities, update_mask
from nnprune.train import fit

SIZES = (8, 16, 12, 3)


def data(rng, n=96):
    X = rng.standard_normal((n, SIZES[0])).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 1)


def weights(model):
    return {t.name: t.param for t in model.prunable_parameters()}


class Spy:
    """Runs after the DST callback: records (step, masks, data) at every step."""

    def __init__(self):
        self.seen = []

    def on_step_end(self, step, model):
        self.seen.append({n: (p.mask.copy(), p.data.copy()) for n, p in weights(model).items()})


@pytest.mark.parametrize("distribution", ["erk", "uniform"])
@pytest.mark.parametrize("make", [SET, RigL])
def test_sparsity_exactly_constant_and_grown_weights_start_at_zero(make, distribution, rng):
    model = mlp(SIZES, seed=0)
    train = data(rng)
    steps = 4 * 3  # 4 epochs of 96 / 32 batches
    cb = make(model, 0.75, total_steps=steps, update_every=2, distribution=distribution, seed=3)
    layer = cb.layer_sparsity_
    if distribution == "uniform":
        assert layer == {n: 0.75 for n in weights(model)}
    else:
        assert len(set(layer.values())) == len(layer)  # one sparsity per layer
    kept = {n: int(p.mask.sum()) for n, p in weights(model).items()}
    assert kept == {n: p.size - round(layer[n] * p.size) for n, p in weights(model).items()}
    spy = Spy()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = nn.CrossEntropyLoss()
    fit(
        model,
        loss,
        opt,
        train,
        epochs=4,
        batch_size=32,
        seed=0,
        callbacks=[cb, spy],
        progress=False,
    )
    assert len(cb.history_) >= 2 and cb.history_[0]["moved"] > 0
    for after in spy.seen:
        for name, (mask, w) in after.items():
            assert int(mask.sum()) == kept[name]  # the sparsity never changes
            assert np.all(w[~mask] == 0)  # the mask invariant
    # grown at an update: inactive before it, active after it, and exactly zero then
    grown_any = False
    for h in cb.history_:
        before, after = spy.seen[h["step"] - 1], spy.seen[h["step"]]
        for name in after:
            grown = after[name][0] & ~before[name][0]
            grown_any |= bool(grown.any())
            assert np.all(after[name][1][grown] == 0)
    assert grown_any
    assert all(h["sparsity"] == pytest.approx(0.75, abs=0.01) for h in cb.history_)


def test_update_mask_drops_smallest_and_rigl_grows_largest_gradient(rng):
    w = rng.standard_normal(40)
    mask = rng.random(40) < 0.5
    w[~mask] = 0
    g = rng.standard_normal(40)
    new = update_mask(w, mask, 0.3, np.abs(g))
    k = int(0.3 * mask.sum())
    # brute force: the k active entries of smallest |w| go
    active = sorted(np.flatnonzero(mask), key=lambda i: (abs(w[i]), i))
    dropped = set(active[:k])
    # the k largest |g| among the entries inactive after the drop come in
    candidates = [i for i in range(40) if not mask[i] or i in dropped]
    grown = set(sorted(candidates, key=lambda i: (-abs(g[i]), i))[:k])
    expected = (set(np.flatnonzero(mask)) - dropped) | grown
    assert set(np.flatnonzero(new)) == expected
    assert new.sum() == mask.sum()


def test_set_regrowth_follows_the_seed(rng):
    w = rng.standard_normal(200)
    mask = rng.random(200) < 0.3
    w[~mask] = 0
    a, b, c = (update_mask(w, mask, 0.5, None, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the drop is the same whatever the seed: only the random regrowth differs
    kept = mask & a & c
    assert kept.sum() >= mask.sum() - int(0.5 * mask.sum())
    # the same seed gives the same initial masks and the same history of moves
    masks = []
    for _ in range(2):
        model = mlp(SIZES, seed=0)
        SET(model, 0.5, total_steps=10, seed=5)
        masks.append([p.mask.copy() for p in weights(model).values()])
    for m0, m1 in zip(*masks, strict=True):
        np.testing.assert_array_equal(m0, m1)


def test_fraction_schedules():
    model = mlp(SIZES, seed=0)
    rigl = RigL(model, 0.5, total_steps=1000, update_fraction=0.4)
    assert rigl.stop_step == 750
    assert rigl.fraction(0) == pytest.approx(0.4)
    assert rigl.fraction(375) == pytest.approx(0.2)
    assert rigl.fraction(750) == 0.0 and rigl.fraction(999) == 0.0
    s = SET(mlp(SIZES, seed=0), 0.5, total_steps=1000, update_fraction=0.3)
    assert s.fraction(10) == s.fraction(990) == pytest.approx(0.3)


def test_layers_leave_others_dense_and_bad_arguments():
    model = mlp(SIZES, seed=0)
    RigL(model, 0.5, total_steps=10, layers=["0.weight"])
    params = weights(model)
    assert params["0.weight"].mask is not None and params["4.weight"].mask is None
    with pytest.raises(ValueError, match="grow must be one of"):
        DynamicSparsity(mlp(SIZES, seed=0), 0.5, total_steps=10, grow="magnitude")
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\), got 1.5"):
        SET(mlp(SIZES, seed=0), 1.5, total_steps=10)
    with pytest.raises(ValueError, match=r"update_fraction must be in \(0, 1\], got 0"):
        SET(mlp(SIZES, seed=0), 0.5, total_steps=10, update_fraction=0)
    with pytest.raises(ValueError, match="total_steps must be a positive integer, got 0"):
        RigL(mlp(SIZES, seed=0), 0.5, total_steps=0)


def _shapes_model(*shapes):
    """A model whose prunable weights have the given shapes (2-D: Linear, 4-D: Conv2d)."""
    layers = []
    for shape in shapes:
        if len(shape) == 2:
            layers.append(nn.Linear(shape[1], shape[0], seed=0))
        else:
            layers.append(nn.Conv2d(shape[1], shape[0], shape[2:], seed=0))
    return nn.Sequential(*layers)


@pytest.mark.parametrize("sparsity", [0.5, 0.8, 0.9, 0.99])
def test_erk_density_follows_sum_over_product_at_the_requested_total(sparsity):
    shapes = [(64, 3, 3, 3), (64, 64, 3, 3), (128, 64, 3, 3), (256, 2048), (10, 256)]
    model = _shapes_model(*shapes)
    s = layer_sparsities(model, sparsity)  # default: ERK
    sizes = {n: p.size for n, p in weights(model).items()}
    score = {n: sum(p.shape) / p.size for n, p in weights(model).items()}
    # the total number of non-zeros is the requested one
    nonzeros = sum((1 - s[n]) * sizes[n] for n in s)
    assert nonzeros == pytest.approx((1 - sparsity) * sum(sizes.values()))
    # every sparse layer has density eps * sum(d) / prod(d), with one eps
    sparse = [n for n in s if s[n] > 0]
    eps = {(1 - s[n]) / score[n] for n in sparse}
    assert max(eps) == pytest.approx(min(eps))
    # a layer is dense exactly when eps * its score would exceed 1
    for n in s:
        assert (s[n] == 0) == (min(eps) * score[n] > 1 - 1e-12)
        assert 0 <= s[n] < 1


def test_erk_counts_the_kernel_and_makes_small_layers_dense():
    # Conv weights (C_out, C_in, kH, kW): the kernel sides enter sum(d), as in Evci et al.
    model = _shapes_model((16, 8, 3, 3), (16, 8, 1, 1))
    s = layer_sparsities(model, 0.95)  # both sparse at 95 %
    dens = {n: 1 - v for n, v in s.items()}
    assert dens["0.weight"] / dens["1.weight"] == pytest.approx(
        (16 + 8 + 3 + 3) / (16 * 8 * 9) / ((16 + 8 + 1 + 1) / (16 * 8))
    )
    # 784-300-100-10 at 50 %: the two small layers would need densities above 1
    s = layer_sparsities(mlp((784, 300, 100, 10), seed=0), 0.5)
    assert s["2.weight"] == 0 and s["4.weight"] == 0
    first = 784 * 300
    small = 300 * 100 + 100 * 10  # kept whole: the first layer gives up their share
    assert (1 - s["0.weight"]) * first + small == pytest.approx(0.5 * (first + small))
    # almost no sparsity: every layer dense, and no division by zero
    assert set(layer_sparsities(model, 0.0).values()) == {0.0}


def test_layer_sparsities_uniform_and_bad_arguments():
    model = mlp(SIZES, seed=0)
    assert layer_sparsities(model, 0.6, "uniform") == {n: 0.6 for n in weights(model)}
    assert list(layer_sparsities(model, 0.6, layers=["2"])) == ["2.weight"]
    with pytest.raises(ValueError, match="distribution must be one of"):
        layer_sparsities(model, 0.5, "er")
    with pytest.raises(ValueError, match="distribution must be one of"):
        RigL(model, 0.5, total_steps=10, distribution="normal")
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\), got 1.0"):
        layer_sparsities(model, 1.0)


def test_a_weight_dropped_and_regrown_at_once_keeps_its_value():
    # Said = done: the module docstring says such a weight keeps its value (as RigL's
    # reference code by default); newly grown weights start at zero.
    from nnprune.pipeline.dynamic import DynamicSparsity

    layer = nn.Linear(4, 2, seed=0)
    model = nn.Sequential(layer)
    cb = DynamicSparsity(
        model, 0.5, total_steps=100, grow="gradient", update_fraction=0.5, decay="constant",
        update_every=1, distribution="uniform", seed=0,
    )  # fmt: skip
    mask = np.array([[True, True, True, True], [False, False, False, False]])
    layer.weight.mask = None
    layer.weight.data[...] = [[0.1, 0.2, 3.0, 4.0], [0, 0, 0, 0]]
    layer.weight.mask = mask
    # drop the two smallest active (0.1, 0.2); the largest |grad| are entry (0, 0), just
    # dropped, and (1, 3), inactive before the update
    layer.weight.grad[...] = [[9.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 5.0]]
    cb.on_step_end(1, model)
    new = layer.weight.mask
    assert new[0, 0] and not new[0, 1] and new[1, 3]
    assert layer.weight.data[0, 0] == np.float32(0.1)  # dropped and regrown: kept
    assert layer.weight.data[1, 3] == 0.0  # newly grown: starts at zero
    assert layer.weight.data[0, 1] == 0.0  # dropped: zeroed by its mask
    assert cb.history_[-1]["moved"] == 1
