"""Residual networks: BasicBlock, GlobalAvgPool2d, small_resnet and their structured pruning.

The central check: a ResNet whose coupled channel groups and inner block
filters were physically removed computes, in float64 and eval mode, the same
outputs (to 1e-10) as a twin whose same channels were only masked. The masks
are written here by hand from the ResNet's wiring (which tensors are added
together), not taken from the library; shapes, parameter counts and shrunk
arrays are derived here from the original shapes with ``np.delete``.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from nnprune import io, nn, optim
from nnprune.gradcheck import gradcheck
from nnprune.models_resnet import small_resnet
from nnprune.prune import remove_units
from nnprune.prune.residual import (
    channel_groups,
    coupled_channel_scores,
    mask_block_inner,
    mask_coupled_channels,
    prune_block_inner,
    prune_coupled_channels,
    remove_block_inner,
)

TOL = 1e-10


# ------------------------------------------------------------------ helpers
def randomize_norms(model: nn.Module, rng: np.random.Generator, x: np.ndarray) -> nn.Module:
    """Non-zero BatchNorm shifts, scales away from 1 and trained running statistics."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            m.weight.data = rng.uniform(0.5, 1.5, m.num_features)
            m.bias.data = rng.normal(size=m.num_features) + 0.3
    model.train()
    for _ in range(3):
        model(x + rng.normal(size=x.shape) * 0.5)
    return model.eval()


def resnet(rng: np.random.Generator, in_channels: int = 2) -> tuple[nn.Sequential, np.ndarray]:
    """[stem, block, block, proj. block, block, GAP, Linear], widths (4, 6); x (5, 2, 8, 8)."""
    model = small_resnet(in_channels, 3, widths=(4, 6), blocks_per_stage=2, seed=7).double()
    x = rng.normal(size=(5, in_channels, 8, 8)) + 0.2
    return randomize_norms(model, rng, x), x


# Which weights each removal touches, by hand from the wiring of resnet():
# (parameter, axis) pairs; BatchNorm layers (entries removed) listed apart.
GROUP_A = {  # the stem's channels: added by every identity shortcut of stage 1
    "weights": [("0.0.weight", 0), ("1.conv2.weight", 0), ("2.conv2.weight", 0)]
    + [("1.conv1.weight", 1), ("2.conv1.weight", 1), ("3.conv1.weight", 1)]
    + [("3.downsample.0.weight", 1)],
    "norms": ["0.1", "1.bn2", "2.bn2"],
}
GROUP_B = {  # opened by the projection block 3, added in block 4, read by the Linear
    "weights": [("3.conv2.weight", 0), ("3.downsample.0.weight", 0), ("4.conv2.weight", 0)]
    + [("4.conv1.weight", 1), ("6.weight", 1)],
    "norms": ["3.bn2", "3.downsample.1", "4.bn2"],
}
INNER_2 = {"weights": [("2.conv1.weight", 0), ("2.conv2.weight", 1)], "norms": ["2.bn1"]}


def hand_mask(model: nn.Module, spec: dict, idx: list[int]) -> None:
    params = dict(model.named_parameters())
    for name, axis in spec["weights"]:
        p = params[name]
        keep = np.ones(p.shape, bool) if p.mask is None else p.mask.copy()
        keep[(slice(None),) * axis + (idx,)] = False
        p.mask = keep


def expected_state(state: dict, edits: list[tuple[dict, list[int]]]) -> dict:
    """The original arrays with the removed entries deleted (np.delete), by hand."""
    out = {k: v.copy() for k, v in state.items()}
    for spec, idx in edits:
        for name, axis in spec["weights"]:
            out[name] = np.delete(out[name], idx, axis=axis)
        for bn in spec["norms"]:
            for key in ("weight", "bias", "running_mean", "running_var"):
                out[f"{bn}.{key}"] = np.delete(out[f"{bn}.{key}"], idx)
    return out


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


# --------------------------------------------------------------- BasicBlock
def block(in_c: int, out_c: int, stride: int, rng: np.random.Generator) -> nn.BasicBlock:
    b = nn.BasicBlock(in_c, out_c, stride=stride, seed=3).double()
    return randomize_norms(b, rng, rng.normal(size=(4, in_c, 4, 4)))


@pytest.mark.parametrize("shape", [(3, 3, 1), (2, 3, 2)], ids=["identity", "projection"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("masked", [False, True], ids=["dense", "masked"])
def test_basic_block_gradcheck(shape, training, masked, rng):
    b = block(*shape, rng)
    if masked:
        b.conv1.weight.mask = rng.random(b.conv1.weight.shape) > 0.4
    b.train(training)
    gradcheck(b, rng.normal(size=(3, shape[0], 4, 4)))


def test_basic_block_structure_and_errors(rng):
    ident, proj = nn.BasicBlock(4, 4, seed=0), nn.BasicBlock(4, 8, stride=2, seed=0)
    assert ident.downsample is None and nn.BasicBlock(4, 4, stride=2).downsample is not None
    assert proj.downsample[0].kernel_size == (1, 1) and proj.downsample[0].stride == (2, 2)
    assert proj(np.ones((2, 4, 7, 7), np.float32)).shape == (2, 8, 4, 4)
    assert sorted(k for k in proj.state_dict() if "downsample" in k) == [
        "downsample.0.weight",
        "downsample.1.bias",
        "downsample.1.running_mean",
        "downsample.1.running_var",
        "downsample.1.weight",
    ]
    with pytest.raises(ValueError, match="BasicBlock expects 4 input channels"):
        ident(np.ones((2, 3, 4, 4)))
    with pytest.raises(ValueError, match="stride must be a positive integer, got 0"):
        nn.BasicBlock(4, 4, stride=0)
    with pytest.raises(RuntimeError, match="before forward"):
        nn.BasicBlock(2, 2).backward(np.ones((1, 2, 2, 2)))


def test_basic_block_identity_adds_input(rng):
    """With conv2 zeroed and bn2 shift zero, the block is ReLU(x): the shortcut is the identity."""
    b = block(3, 3, 1, rng)
    b.conv2.weight.data = np.zeros(b.conv2.weight.shape)
    b.bn2.bias.data = np.zeros(3)
    b.bn2.running_mean = np.zeros(3)
    x = rng.normal(size=(2, 3, 4, 4))
    np.testing.assert_allclose(b(x), np.maximum(x, 0), atol=1e-15)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(3, 3, 1), (2, 3, 2)], ids=["identity", "projection"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_basic_block_matches_torch(shape, training, rng):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional
    b = block(*shape, rng).train(training)
    stride = shape[2]
    params = {n: torch.tensor(p.data.copy(), requires_grad=True) for n, p in b.named_parameters()}
    buffers = {n: torch.tensor(v.copy()) for n, v in b.named_buffers()}
    x = rng.normal(size=(3, shape[0], 6, 6))
    r = rng.normal(size=(3, shape[1], 6 // stride, 6 // stride))

    def bn(z, name):
        return functional.batch_norm(
            z,
            buffers[f"{name}.running_mean"],
            buffers[f"{name}.running_var"],
            params[f"{name}.weight"],
            params[f"{name}.bias"],
            training=training,
            momentum=0.1,
            eps=1e-5,
        )

    xt = torch.tensor(x, requires_grad=True)
    u = functional.relu(bn(functional.conv2d(xt, params["conv1.weight"], None, stride, 1), "bn1"))
    f = bn(functional.conv2d(u, params["conv2.weight"], None, 1, 1), "bn2")
    g = xt
    if b.downsample is not None:
        g = bn(functional.conv2d(xt, params["downsample.0.weight"], None, stride), "downsample.1")
    yt = functional.relu(f + g)
    yt.backward(torch.tensor(r))

    b.zero_grad()
    y = b(x)
    dx = b.backward(r)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for n, p in b.named_parameters():
        np.testing.assert_allclose(p.grad, params[n].grad.numpy(), rtol=1e-10, atol=1e-12)
    for n, v in b.named_buffers():
        np.testing.assert_allclose(v, buffers[n].numpy(), rtol=1e-12)


# ----------------------------------------------------------- GlobalAvgPool2d
@pytest.mark.parametrize("hw", [(4, 4), (3, 5)])
def test_global_avg_pool(hw, rng):
    pool = nn.GlobalAvgPool2d()
    x = rng.normal(size=(2, 3, *hw))
    y = pool(x)
    brute = np.array([[x[n, c].sum() / (hw[0] * hw[1]) for c in range(3)] for n in range(2)])
    np.testing.assert_allclose(y, brute, rtol=1e-14)
    gradcheck(pool, x)
    with pytest.raises(ValueError, match="GlobalAvgPool2d expects a 4-D input"):
        pool(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="before forward"):
        nn.GlobalAvgPool2d().backward(np.ones((2, 3)))


# -------------------------------------------------------------- small_resnet
@pytest.mark.parametrize(
    ("in_c", "side", "widths"), [(1, 8, (16, 32)), (3, 32, (16, 32, 64))], ids=["digits", "cifar"]
)
def test_small_resnet_shapes(in_c, side, widths):
    model = small_resnet(in_c, 10, widths=widths, seed=0)
    blocks = [m for m in model if isinstance(m, nn.BasicBlock)]
    assert [b.out_channels for b in blocks] == list(widths)
    assert [b.downsample is not None for b in blocks] == [False] + [True] * (len(widths) - 1)
    assert model(np.zeros((2, in_c, side, side), np.float32)).shape == (2, 10)
    assert small_resnet(in_c, 10, widths=widths, seed=0).state_dict().keys() == (
        model.state_dict().keys()
    )


def test_small_resnet_errors():
    with pytest.raises(ValueError, match=r"widths must list at least one stage width, got \[\]"):
        small_resnet(widths=())
    with pytest.raises(ValueError, match="blocks_per_stage must be a positive integer, got 0"):
        small_resnet(blocks_per_stage=0)
    with pytest.raises(ValueError, match=r"widths\[1\] must be a positive integer, got -2"):
        small_resnet(widths=(4, -2))


def test_small_resnet_gradcheck_end_to_end(rng):
    model = small_resnet(2, 3, widths=(2, 3), seed=1).double()
    randomize_norms(model, rng, rng.normal(size=(4, 2, 4, 4)))
    model[1].conv1.weight.mask = rng.random(model[1].conv1.weight.shape) > 0.3
    gradcheck(model, rng.normal(size=(2, 2, 4, 4)))


# ----------------------------------------------------------- channel groups
def test_channel_groups_follow_the_additions(rng):
    model, _ = resnet(rng)
    groups = channel_groups(model)
    assert [(g.name, g.channels, g.prunable) for g in groups] == [("0.0", 4, True), ("3", 6, True)]
    for g, spec in zip(groups, (GROUP_A, GROUP_B), strict=True):
        assert set(g.producers) == {n[:-7] for n, a in spec["weights"] if a == 0}
        assert set(g.consumers) == {n[:-7] for n, a in spec["weights"] if a == 1}
        assert set(g.norms) == set(spec["norms"])


def test_removed_equals_masked_and_shrinks_by_the_shapes(rng):
    model, x = resnet(rng)
    state = model.state_dict()
    a_idx, b_idx, inner_idx = [0, 2], [1, 4, 5], [3]
    masked = copy.deepcopy(model)
    for spec, idx in ((GROUP_A, a_idx), (GROUP_B, b_idx), (INNER_2, inner_idx)):
        hand_mask(masked, spec, idx)
    pruned = copy.deepcopy(model)
    prune_coupled_channels(pruned, "0.0", a_idx)
    record = prune_coupled_channels(pruned, 1, b_idx)
    remove_block_inner(pruned, "2", inner_idx)
    assert record.removed == tuple(b_idx)

    want = expected_state(state, [(GROUP_A, a_idx), (GROUP_B, b_idx), (INNER_2, inner_idx)])
    got = pruned.state_dict()
    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    assert pruned.num_parameters() == sum(v.size for k, v in want.items() if "running" not in k)
    assert pruned.num_parameters() < model.num_parameters()

    y_masked, y_pruned = masked(x), pruned(x)
    np.testing.assert_allclose(y_pruned, y_masked, rtol=0, atol=TOL)
    assert np.abs(y_pruned - model(x)).max() > 1e-3  # the removed channels mattered

    # the library's masked twins put the same masks as the hand-written ones
    twin = copy.deepcopy(model)
    mask_coupled_channels(twin, "0.0", a_idx)
    mask_coupled_channels(twin, "3", b_idx)
    mask_block_inner(twin, "2", inner_idx)
    assert state_equal(twin.state_dict(), masked.state_dict())


def test_shrunk_model_trains_saves_and_loads(rng, tmp_path):
    model, x = resnet(rng)
    prune_coupled_channels(model, "0.0", [1])
    prune_coupled_channels(model, "3", [0, 3])
    prune_block_inner(model, "4", 0.5)
    y = rng.integers(0, 3, size=len(x))
    loss_fn, opt = nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    losses = []
    for _ in range(6):
        model.zero_grad()
        losses.append(loss_fn(model(x), y))
        model.backward(loss_fn.backward())
        opt.step()
    assert losses[-1] < losses[0]

    model.eval()
    path = tmp_path / "shrunk.npz"
    io.save(model, path)
    other = copy.deepcopy(model)
    for p in other.parameters():
        p.data = np.zeros(p.shape)
    io.load(other, path)
    np.testing.assert_array_equal(other(x), model(x))
    assert state_equal(other.state_dict(), model.state_dict())


def test_prune_block_inner_picks_lowest_l1_filters(rng):
    model, x = resnet(rng)
    w = model[1].conv1.weight.data.copy()
    expected = sorted(np.argsort([np.abs(f).sum() for f in w])[:2].tolist())
    masked = copy.deepcopy(model)
    hand_mask(masked, {"weights": [("1.conv1.weight", 0), ("1.conv2.weight", 1)]}, expected)
    record = prune_block_inner(model, "1", 2)
    assert list(record.removed) == expected
    assert model[1].conv1.out_channels == 2 and model[1].out_channels == 4
    np.testing.assert_allclose(model(x), masked(x), rtol=0, atol=TOL)


def test_coupled_channel_scores_sum_over_producers(rng):
    model, _ = resnet(rng)
    producers = [model[3].conv2.weight.data, model[3].downsample[0].weight.data]
    producers.append(model[4].conv2.weight.data)
    l1 = sum(np.abs(w).reshape(len(w), -1).sum(axis=1) for w in producers)
    l2 = np.sqrt(sum((w**2).reshape(len(w), -1).sum(axis=1) for w in producers))
    np.testing.assert_allclose(coupled_channel_scores(model, "3", "l1"), l1, rtol=1e-12)
    np.testing.assert_allclose(coupled_channel_scores(model, "3", "l2"), l2, rtol=1e-12)
    r = coupled_channel_scores(model, 0, "random", seed=3)
    np.testing.assert_array_equal(r, coupled_channel_scores(model, 0, "random", seed=3))
    with pytest.raises(ValueError, match="criterion must be one of"):
        coupled_channel_scores(model, 0, "taylor")


# ---------------------------------------------------------------- refusals
def test_refusals_leave_the_model_unchanged(rng):
    model, _ = resnet(rng)
    before = model.state_dict()
    cases = [
        (
            lambda: prune_coupled_channels(model, "1", [0]),
            r"group must be a group name \['0.0', '3'\]",
        ),
        (lambda: prune_coupled_channels(model, 2, [0]), r"or an index in \[0, 2\), got 2"),
        (lambda: prune_coupled_channels(model, "0.0", [0, 1, 2, 3]), "cannot remove all 4 units"),
        (lambda: prune_coupled_channels(model, "3", [6]), r"indices must be in \[0, 6\)"),
        (lambda: prune_coupled_channels(model, "3", [1, 1]), "indices must not repeat"),
        (lambda: mask_coupled_channels(model, "3", [0.5]), "indices must be integers"),
        (
            lambda: prune_block_inner(model, "5", 1),
            "layer '5' is a GlobalAvgPool2d, not a BasicBlock",
        ),
        (lambda: prune_block_inner(model, "1", 1.5), r"amount must be .* got 1.5"),
        (lambda: prune_block_inner(model, "1", 4), "cannot remove all 4 units of layer '1.conv1'"),
        (lambda: prune_block_inner(model, "9", 1), "layer '9' is not a layer"),
        (lambda: remove_block_inner(model[1], "conv1", [0]), "needs an nn.Sequential model"),
        # the chain-only removal sees the addition it cannot follow, and refuses
        (lambda: remove_units(model, "0.0", [0]), r"followed by '1' \(BasicBlock\)"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
        assert state_equal(model.state_dict(), before)


def test_groups_that_cannot_be_pruned_are_refused_with_the_reason(rng):
    headless = nn.Sequential(*list(small_resnet(2, 3, widths=(4,), seed=0))[:2]).double()
    (g,) = channel_groups(headless)
    assert not g.prunable and g.reason == "its channels are the model's outputs"
    before = headless.state_dict()
    with pytest.raises(ValueError, match="group '0.0': its channels are the model's outputs"):
        prune_coupled_channels(headless, "0.0", [0])
    assert state_equal(headless.state_dict(), before)

    base = list(small_resnet(2, 3, widths=(4,), seed=0))[:2]
    flat = nn.Sequential(*base, nn.Flatten(), nn.Linear(4 * 8 * 8, 3, seed=0)).double()
    (g,) = channel_groups(flat)
    assert "read by '2' (Flatten), which nnprune.prune.residual cannot follow" in g.reason
    with pytest.raises(
        ValueError, match=r"cannot remove channels of group '0.0': it is read by '2'"
    ):
        mask_coupled_channels(flat, "0.0", [0])
    assert all(p.mask is None for p in flat.parameters())
