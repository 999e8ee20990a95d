"""Tests for nnprune.optim: PyTorch parity, the mask invariant, state, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import optim
from nnprune.backend import backend_of, cupy_available, to_backend, to_numpy
from nnprune.nn import Linear, MSELoss, Parameter

N_STEPS = 20
SHAPES = [(4, 3), (3,)]

SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.05, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.05, momentum=0.8, weight_decay=0.05, nesterov=True),
]
ADAM_CONFIGS = [
    dict(lr=0.01),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05),
]
ADAMW_CONFIGS = [dict(lr=0.01), dict(lr=0.02, betas=(0.8, 0.99), weight_decay=0.3)]
ALL_CONFIGS = (
    [("SGD", c) for c in SGD_CONFIGS]
    + [("Adam", c) for c in ADAM_CONFIGS]
    + [("AdamW", c) for c in ADAMW_CONFIGS]
)


def random_problem(seed: int, shapes=SHAPES, steps: int = N_STEPS):
    """Initial weights and a fixed sequence of dense random gradients (float64)."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(steps)]
    return weights, grads


def run_nnprune(name, config, weights, grads, masks=None, to_gpu_at=None):
    """Train from ``weights`` on ``grads``; prune with ``masks`` after step len(grads)//4."""
    params = [Parameter(w.copy()) for w in weights]
    opt = getattr(optim, name)(params, **config)
    for t, step_grads in enumerate(grads):
        if t == to_gpu_at:
            for p in params:
                p.to("cupy")
        for p, g in zip(params, step_grads, strict=True):
            p.grad[...] = to_backend(g, backend_of(p.grad))
        opt.step()
        if masks is not None and t == len(grads) // 4:
            for p, m in zip(params, masks, strict=True):
                p.mask = m
    return params, opt


# ------------------------------------------------------------ PyTorch parity
@pytest.mark.torch
@pytest.mark.parametrize(("name", "config"), ALL_CONFIGS)
def test_parity_with_torch(name, config):
    torch = pytest.importorskip("torch")
    weights, grads = random_problem(0)
    ours, _ = run_nnprune(name, config, weights, grads)

    theirs = [torch.tensor(w.copy(), dtype=torch.float64, requires_grad=True) for w in weights]
    opt = getattr(torch.optim, name)(theirs, **config)
    for step_grads in grads:
        for t, g in zip(theirs, step_grads, strict=True):
            t.grad = torch.tensor(g)
        opt.step()
    for p, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(
            p.data, t.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=f"ours vs torch {name}"
        )


@pytest.mark.torch
def test_param_groups_parity_with_torch():
    torch = pytest.importorskip("torch")
    weights, grads = random_problem(1)
    params = [Parameter(w.copy()) for w in weights]
    opt = optim.SGD(
        [{"params": [params[0]]}, {"params": [params[1]], "lr": 0.5, "momentum": 0.0}],
        lr=0.1,
        momentum=0.9,
    )
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
    topt = torch.optim.SGD(
        [{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.5, "momentum": 0.0}],
        lr=0.1,
        momentum=0.9,
    )
    for step_grads in grads:
        for p, t, g in zip(params, theirs, step_grads, strict=True):
            p.grad[...] = g
            t.grad = torch.tensor(g)
        opt.step()
        topt.step()
    for p, t in zip(params, theirs, strict=True):
        np.testing.assert_allclose(p.data, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_param_groups_use_their_own_lr():
    # plain SGD: w_T = w_0 - lr * sum_t g_t, with each group's own lr
    weights, grads = random_problem(2)
    params = [Parameter(w.copy()) for w in weights]
    opt = optim.SGD([{"params": [params[0]], "lr": 0.3}, {"params": [params[1]]}], lr=0.01)
    assert [g["lr"] for g in opt.param_groups] == [0.3, 0.01]
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad[...] = g
        opt.step()
    for p, w, lr, i in zip(params, weights, (0.3, 0.01), range(2), strict=True):
        expected = w - lr * sum(step[i] for step in grads)
        np.testing.assert_allclose(p.data, expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------- mask invariant
def reference_run(name, config, weights, grads, masks):
    """Independent NumPy version of the update equations, with the mask applied by hand.

    Per step: g <- m*g; the PyTorch update; w <- m*w; every state array <- m*state.
    The mask is set (and w multiplied by it) after step len(grads)//4, as in
    ``run_nnprune``.
    """
    lr, wd = config["lr"], config.get("weight_decay", 1e-2 if name == "AdamW" else 0.0)
    mu, tau = config.get("momentum", 0.0), config.get("dampening", 0.0)
    b1, b2 = config.get("betas", (0.9, 0.999))
    eps = config.get("eps", 1e-8)
    ws = [w.copy() for w in weights]
    state = [dict() for _ in ws]
    active = [np.ones(w.shape) for w in ws]
    for t, step_grads in enumerate(grads, start=1):
        for i, (w, g) in enumerate(zip(ws, step_grads, strict=True)):
            m, s = active[i], state[i]
            g = g * m
            if name == "SGD":
                d = g + wd * w
                if mu:
                    s["buf"] = d.copy() if "buf" not in s else mu * s["buf"] + (1 - tau) * d
                    d = d + mu * s["buf"] if config.get("nesterov") else s["buf"]
                w = w - lr * d
            else:
                if name == "AdamW":
                    w = w * (1 - lr * wd)
                else:
                    g = g + wd * w
                s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
                m_hat, v_hat = s["m"] / (1 - b1**t), s["v"] / (1 - b2**t)
                w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
            ws[i] = w * m
            for key in s:
                s[key] = s[key] * m
        if t - 1 == len(grads) // 4:
            active = [mk.astype(float) for mk in masks]
            ws = [w * a for w, a in zip(ws, active, strict=True)]
    return ws


@pytest.mark.parametrize(("name", "config"), ALL_CONFIGS)
@pytest.mark.parametrize("seed", range(5))
def test_mask_invariant_holds_for_every_optimizer(name, config, seed):
    rng = np.random.default_rng(100 + seed)
    shapes = [tuple(rng.integers(1, 6, size=2)), (int(rng.integers(1, 6)),)]
    weights, grads = random_problem(seed, shapes=shapes, steps=40)
    masks = [rng.random(s) < 0.5 for s in shapes]
    params, opt = run_nnprune(name, config, weights, grads, masks)

    for p, m in zip(params, masks, strict=True):
        assert np.all(p.data[~m] == 0.0), f"{name}: pruned weights revived"
        state_arrays = [v for v in opt.state[p].values() if isinstance(v, np.ndarray)]
        assert state_arrays or config.get("momentum", 0) == 0
        for arr in state_arrays:
            assert np.all(arr[~m] == 0.0), f"{name}: optimizer state not zero where pruned"

    expected = reference_run(name, config, weights, grads, masks)
    for p, e in zip(params, expected, strict=True):
        np.testing.assert_allclose(p.data, e, rtol=1e-10, atol=1e-12, err_msg="ours vs formula")


def test_mask_survives_training_a_linear_layer():
    rng = np.random.default_rng(0)
    layer = Linear(6, 4, seed=0).double()
    mask = rng.random((4, 6)) < 0.4
    layer.weight.mask = mask
    opt = optim.SGD(layer.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True)
    loss_fn = MSELoss()
    x, y = rng.normal(size=(16, 6)), rng.normal(size=(16, 4))
    losses = []
    for _ in range(30):
        opt.zero_grad()
        losses.append(loss_fn(layer(x), y))
        layer.backward(loss_fn.backward())
        opt.step()
    assert losses[-1] < losses[0]
    assert np.all(layer.weight.data[~mask] == 0.0)
    assert np.all(layer.weight.data[mask] != 0.0)


def test_zeroing_weights_without_a_mask_lets_momentum_revive_them():
    """The bug the mask on the Parameter prevents: zeroed weights that momentum revives."""
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(5, 5))
    keep = rng.random((5, 5)) < 0.5
    results = {}
    for use_mask in (False, True):
        p = Parameter(w0.copy())
        opt = optim.SGD([p], lr=0.1, momentum=0.9)
        for _ in range(3):  # dense training fills the momentum buffer
            p.grad[...] = rng.normal(size=(5, 5))
            opt.step()
        if use_mask:
            p.mask = keep
        else:
            p.data = p.data * keep  # "prune" once, keep no mask
        p.grad[...] = np.where(keep, rng.normal(size=(5, 5)), 0.0)  # pruned weights get no gradient
        opt.step()
        results[use_mask] = p.data[~keep]
    assert np.all(results[False] != 0.0), "momentum should move the zeroed weights"
    assert np.all(results[True] == 0.0)


def test_update_rule_sees_only_the_masked_gradient():
    # Rules that are not elementwise (gradient clipping, LARS-style norms) must not
    # see pruned gradients, so the base class masks the gradient before the rule.
    seen = []

    class Recorder(optim.SGD):
        def _update(self, param, grad, state, group):
            seen.append(grad.copy())
            super()._update(param, grad, state, group)

    p = Parameter(np.ones((3, 3)))
    p.mask = np.eye(3, dtype=bool)
    p.grad[...] = np.where(np.eye(3, dtype=bool), 1.0, np.inf)  # inf where pruned
    Recorder([p], lr=0.1, momentum=0.9).step()
    np.testing.assert_array_equal(seen[0], np.eye(3))
    np.testing.assert_array_equal(p.data, 0.9 * np.eye(3))  # no inf * 0 = nan


def test_step_leaves_the_dense_gradient_unchanged():
    p = Parameter(np.ones((3, 3)))
    p.mask = np.eye(3, dtype=bool)
    g = np.arange(9.0).reshape(3, 3)
    p.grad[...] = g
    optim.Adam([p]).step()
    np.testing.assert_array_equal(p.grad, g)


# ------------------------------------------------------- other behaviour
@pytest.mark.parametrize(("name", "config"), ALL_CONFIGS)
def test_frozen_parameters_are_unchanged(name, config):
    weights, grads = random_problem(4)
    frozen, trained = Parameter(weights[0].copy()), Parameter(weights[1].copy())
    frozen.requires_grad = False
    opt = getattr(optim, name)([frozen, trained], **config)
    for g0, g1 in grads:
        frozen.grad[...] = g0
        trained.grad[...] = g1
        opt.step()
    np.testing.assert_array_equal(frozen.data, weights[0])
    assert not opt.state.get(frozen)
    assert not np.array_equal(trained.data, weights[1])


def test_zero_grad_zeroes_every_gradient():
    params = [Parameter(np.ones(3)), Parameter(np.ones((2, 2)))]
    for p in params:
        p.grad[...] = 5.0
    optim.SGD(params, lr=0.1).zero_grad()
    assert all(np.all(p.grad == 0) for p in params)


@pytest.mark.parametrize(("name", "config"), ALL_CONFIGS)
def test_state_dict_round_trip_continues_identically(name, config):
    weights, grads = random_problem(5)
    a = [Parameter(w.copy()) for w in weights]
    opt_a = getattr(optim, name)(a, **config)
    for step_grads in grads[:10]:
        for p, g in zip(a, step_grads, strict=True):
            p.grad[...] = g
        opt_a.step()
    saved = opt_a.state_dict()
    b = [Parameter(p.data.copy()) for p in a]
    opt_b = getattr(optim, name)(b, lr=123.0)
    opt_b.load_state_dict(saved)
    assert opt_b.param_groups[0]["lr"] == config["lr"]
    for step_grads in grads[10:]:
        for pa, pb, g in zip(a, b, step_grads, strict=True):
            pa.grad[...] = g
            pb.grad[...] = g
        opt_a.step()
        opt_b.step()
    for pa, pb in zip(a, b, strict=True):
        np.testing.assert_array_equal(pa.data, pb.data)


def test_state_dict_holds_copies():
    p = Parameter(np.ones(4))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad[...] = 1.0
    opt.step()
    saved = opt.state_dict()
    before = saved["state"][0]["momentum_buffer"].copy()
    opt.step()
    np.testing.assert_array_equal(saved["state"][0]["momentum_buffer"], before)
    assert saved["param_groups"][0]["params"] == [0]


def test_load_state_dict_copies_and_casts_to_the_parameter_dtype():
    a = Parameter(np.ones(4))
    opt_a = optim.Adam([a], lr=0.1)
    a.grad[...] = 1.0
    opt_a.step()
    saved = opt_a.state_dict()
    kept = saved["state"][0]["exp_avg"].copy()
    b = Parameter(np.ones(4, dtype=np.float32))
    opt_b = optim.Adam([b], lr=0.1)
    opt_b.load_state_dict(saved)
    assert opt_b.state[b]["exp_avg"].dtype == np.float32
    b.grad[...] = 1.0
    opt_b.step()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], kept)


def test_load_state_dict_errors_leave_the_optimizer_unchanged():
    p, q = Parameter(np.ones(4)), Parameter(np.ones(3))
    opt = optim.SGD([p, q], lr=0.1, momentum=0.9)
    p.grad[...] = 1.0
    opt.step()
    good = opt.state_dict()
    other = optim.SGD([Parameter(np.ones(4))], lr=0.2, momentum=0.9)
    with pytest.raises(ValueError, match="group 0 has 1 parameters, the loaded state dict has 2"):
        other.load_state_dict(good)
    two_groups = optim.SGD([{"params": [p]}, {"params": [q]}], lr=0.1)
    with pytest.raises(ValueError, match="has 1 parameter groups, this optimizer has 2"):
        two_groups.load_state_dict(good)
    swapped = optim.SGD([q, p], lr=0.3, momentum=0.9)
    with pytest.raises(ValueError, match=r"has shape \(4,\), the parameter has shape \(3,\)"):
        swapped.load_state_dict(good)
    assert swapped.param_groups[0]["lr"] == 0.3 and not swapped.state


def test_state_follows_the_parameter_to_another_dtype_and_backend():
    weights, grads = random_problem(6, shapes=[(3, 4)])
    ref = [Parameter(weights[0].copy())]
    moved = [Parameter(weights[0].copy())]
    opt_ref = optim.SGD(ref, lr=0.1, momentum=0.9)
    opt = optim.SGD(moved, lr=0.1, momentum=0.9)
    for t, (g,) in enumerate(grads):
        if t == 5:
            moved[0].to("numpy", dtype=np.float32)  # a model.to("numpy").float() mid-training
        ref[0].grad[...] = g
        moved[0].grad[...] = g
        opt_ref.step()
        opt.step()
    assert opt.state[moved[0]]["momentum_buffer"].dtype == np.float32
    assert moved[0].dtype == np.float32
    np.testing.assert_allclose(moved[0].data, ref[0].data, rtol=1e-4, atol=1e-5)


@pytest.mark.cupy
@pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a GPU")
@pytest.mark.parametrize(("name", "config"), ALL_CONFIGS)
def test_state_follows_the_model_to_cupy(name, config):
    weights, grads = random_problem(7)
    masks = [np.random.default_rng(0).random(s) < 0.5 for s in SHAPES]
    host, _ = run_nnprune(name, config, weights, grads, masks)
    params, opt = run_nnprune(name, config, weights, grads, masks, to_gpu_at=3)
    for p, h in zip(params, host, strict=True):
        assert backend_of(p.data) == "cupy"
        assert all(backend_of(v) == "cupy" for v in opt.state[p].values() if hasattr(v, "shape"))
        np.testing.assert_allclose(to_numpy(p.data), h.data, rtol=1e-10, atol=1e-12)


def test_changed_shape_asks_for_a_new_optimizer():
    p = Parameter(np.ones((4, 3)), name="weight")
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad[...] = 1.0
    opt.step()
    p.data = np.ones((2, 3))  # as structured pruning does when it removes rows
    with pytest.raises(RuntimeError, match=r"'weight' changed shape .*create a new optimizer"):
        opt.step()


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("cls", "kwargs", "message"),
    [
        (optim.SGD, dict(lr=-0.1), r"lr must be a finite real number >= 0, got -0.1"),
        (
            optim.SGD,
            dict(lr=0.1, momentum=-0.5),
            r"momentum must be a finite real number >= 0, got -0.5",
        ),
        (
            optim.SGD,
            dict(lr=0.1, dampening=-1),
            r"dampening must be a finite real number >= 0, got -1",
        ),
        (optim.SGD, dict(lr=0.1, weight_decay=-1e-4), r"weight_decay must be .*got -0.0001"),
        (optim.SGD, dict(lr=0.1, nesterov=True), r"nesterov=True requires momentum > 0"),
        (
            optim.SGD,
            dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
            r"requires momentum > 0 and dampening = 0",
        ),
        (optim.SGD, dict(lr=0.1, nesterov=1), r"nesterov must be True or False, got 1"),
        (optim.SGD, dict(lr="0.1"), r"lr must be a finite real number >= 0, got '0.1'"),
        (optim.Adam, dict(lr=-1.0), r"lr must be a finite real number >= 0, got -1.0"),
        (optim.Adam, dict(betas=(1.0, 0.999)), r"betas must be a pair of numbers in \[0, 1\)"),
        (optim.Adam, dict(betas=(0.9, -0.1)), r"betas must be .*got \(0.9, -0.1\)"),
        (optim.Adam, dict(betas=0.9), r"betas must be a pair of numbers"),
        (optim.Adam, dict(eps=0.0), r"eps must be a finite real number > 0, got 0.0"),
        (optim.AdamW, dict(eps=-1e-8), r"eps must be a finite real number > 0, got -1e-08"),
        (optim.AdamW, dict(weight_decay=-0.01), r"weight_decay must be a finite real number >= 0"),
    ],
)
def test_invalid_hyperparameters(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([Parameter(np.ones(2))], **kwargs)


def test_invalid_params():
    p = Parameter(np.ones(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam(iter([]))
    with pytest.raises(TypeError, match="only optimize Parameters, got ndarray at position 1"):
        optim.SGD([p, np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Parameters or of dicts.*got Parameter"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="appear more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match=r"unknown hyper-parameter\(s\) \['momentum'\]"):
        optim.Adam([{"params": [p], "momentum": 0.9}])
    with pytest.raises(ValueError, match="lr must be a finite real number >= 0, got -1"):
        optim.SGD([{"params": [p], "lr": -1}], lr=0.1)
    with pytest.raises(ValueError, match="must have a 'params' entry"):
        optim.SGD([{"lr": 0.1}], lr=0.1)


def test_add_param_group_error_leaves_optimizer_unchanged():
    p, q = Parameter(np.ones(2)), Parameter(np.ones(3))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="appear more than once"):
        opt.add_param_group({"params": [q, p]})
    with pytest.raises(ValueError, match="momentum must be a finite real number >= 0"):
        opt.add_param_group({"params": [q], "momentum": -1})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": [q], "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
