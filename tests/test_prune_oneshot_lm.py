"""Wanda, SparseGPT and block-by-block one-shot pruning of a small causal language model."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import prune
from nnprune.models_lm import CharTransformerLM


def _layer_problem(rng, rows=6, cols=16, tokens=200):
    """A weight and correlated inputs X (tokens, in), so that H is far from diagonal."""
    mix = rng.normal(size=(cols, cols)) / np.sqrt(cols) + np.eye(cols)
    x = rng.normal(size=(tokens, cols)) @ mix * rng.uniform(0.2, 3.0, size=cols)
    return rng.normal(size=(rows, cols)), x


def _naive_obs(w, h, keep, percdamp):
    """Column by column OBS with the inverse of H restricted to the columns not yet visited.

    Independent of SparseGPT's Cholesky and lazy blocks: a direct inverse per column.
    """
    h = h + percdamp * np.mean(np.diag(h)) * np.eye(len(h))
    w = w.copy()
    for j in range(w.shape[1]):
        h_inv = np.linalg.inv(h[j:, j:])  # H^{-1} of columns j, j+1, ...
        removed = np.where(keep[:, j], 0.0, w[:, j])  # (out,)
        w[:, j:] -= np.outer(removed / h_inv[0, 0], h_inv[0])
    return w


# ---------------------------------------------------------------------- Wanda
def test_wanda_score_and_mask_by_hand():
    w = np.array([[1.0, -4.0, 2.0, 0.5], [-3.0, 1.0, 1.0, 2.0]])
    norms = np.array([2.0, 0.25, 1.0, 4.0])
    # scores |w| * norm: row 0 = [2, 1, 2, 2]; row 1 = [6, 0.25, 1, 8]
    np.testing.assert_array_equal(
        prune.wanda_scores(w, norms), [[2.0, 1.0, 2.0, 2.0], [6.0, 0.25, 1.0, 8.0]]
    )
    # half of each row: row 0 drops the 1 and the first tied 2; row 1 drops 0.25 and 1
    expected = np.array([[False, False, True, True], [True, False, False, True]])
    np.testing.assert_array_equal(prune.wanda_mask(w, norms, 0.5), expected)
    # magnitude alone would keep -4 (column 1): the small input norm is what drops it
    assert prune.wanda_mask(w, np.ones(4), 0.5)[0, 1]
    # 1:2 groups (columns 0-1, 2-3): keep the larger score of each pair, ties the earlier
    np.testing.assert_array_equal(
        prune.wanda_mask(w, norms, n=1, m=2),
        [[True, False, True, False], [True, False, False, True]],
    )


def test_wanda_nm_pattern_and_row_counts(rng):
    w, x = _layer_problem(rng, rows=8, cols=16)
    norms = np.linalg.norm(x, axis=0)
    keep = prune.wanda_mask(w, norms, n=2, m=4)
    assert (keep.reshape(8, 4, 4).sum(axis=-1) == 2).all()
    keep = prune.wanda_mask(w, norms, 0.3)
    assert (keep.sum(axis=1) == 16 - int(16 * 0.3)).all()
    assert prune.wanda_mask(w, norms, 0.0).all()


@pytest.mark.parametrize("outlier_scale", [1.0, 20.0])
def test_wanda_beats_magnitude_only_with_outlier_features(outlier_scale, rng):
    """Wanda's edge needs a few large input features; without them it ranks like |W|."""
    w = rng.normal(size=(32, 64))
    x = rng.normal(size=(500, 64))
    x[:, :3] *= outlier_scale  # 3 of 64 input features `outlier_scale` times larger

    def error(keep):
        return np.sum((x @ (w * ~keep).T) ** 2) / np.sum((x @ w.T) ** 2)

    norms = np.linalg.norm(x, axis=0)
    wanda = error(prune.wanda_mask(w, norms, 0.5))
    magnitude = error(np.abs(w) > np.median(np.abs(w)))  # per layer, as the papers' baseline
    if outlier_scale > 1:
        assert wanda < 0.5 * magnitude, (wanda, magnitude)
    else:
        assert abs(wanda - magnitude) < 0.2 * magnitude, (wanda, magnitude)


# ------------------------------------------------------------------ SparseGPT
@pytest.mark.parametrize("blocksize", [4, 16, 128])
@pytest.mark.parametrize("nm", [None, (2, 4)])
def test_sparsegpt_matches_naive_obs_with_its_mask(blocksize, nm, rng):
    w, x = _layer_problem(rng)
    h = prune.hessian_from_inputs(x)
    kwargs = {} if nm is None else {"n": nm[0], "m": nm[1]}
    result = prune.sparsegpt(w, h, 0.5, blocksize=blocksize, percdamp=0.01, **kwargs)
    expected = _naive_obs(w, h, result.mask, 0.01)
    np.testing.assert_allclose(result.weight, expected, atol=1e-10, err_msg="ours vs naive OBS")
    assert (result.weight[~result.mask] == 0).all()
    if nm is None:
        for start in range(0, 16, blocksize):  # the exact share in every block of columns
            block = result.mask[:, start : start + blocksize]
            assert (~block).sum() == int(block.size * 0.5)
    else:
        assert (result.mask.reshape(6, 4, 4).sum(axis=-1) == 2).all()
        assert prune.is_nm_sparse(result.weight, 2, 4)


def _naive_adaptive_mask(w, h, sparsity, blocksize, percdamp):
    """Keep mask of SparseGPT's adaptive selection, from direct inverses (no Cholesky).

    At the start of each block of columns, the share ``sparsity`` of the block's weights
    with the smallest OBS errors w^2 / [H_(j)^-1]_jj is pruned, the weights taken as the
    OBS updates of the earlier columns have left them.
    """
    h = h + percdamp * np.mean(np.diag(h)) * np.eye(len(h))
    w, keep = w.copy(), np.ones(w.shape, dtype=bool)
    diag = np.array([np.linalg.inv(h[j:, j:])[0, 0] for j in range(len(h))])
    for j in range(w.shape[1]):
        if j % blocksize == 0:
            block = w[:, j : j + blocksize] ** 2 / diag[j : j + blocksize]
            drop = np.argsort(block, axis=None, kind="stable")[: int(block.size * sparsity)]
            flat = np.ones(block.size, dtype=bool)
            flat[drop] = False
            keep[:, j : j + blocksize] = flat.reshape(block.shape)
        h_inv = np.linalg.inv(h[j:, j:])
        removed = np.where(keep[:, j], 0.0, w[:, j])
        w[:, j:] -= np.outer(removed / h_inv[0, 0], h_inv[0])
    return keep


@pytest.mark.parametrize("blocksize", [4, 8, 16])
def test_sparsegpt_mask_is_chosen_per_block_after_the_updates(blocksize, rng):
    w, x = _layer_problem(rng, rows=6, cols=16)
    h = prune.hessian_from_inputs(x)
    result = prune.sparsegpt(w, h, 0.5, blocksize=blocksize)
    np.testing.assert_array_equal(result.mask, _naive_adaptive_mask(w, h, 0.5, blocksize, 0.01))
    if blocksize < 16:  # narrower blocks choose from updated weights: another mask
        assert (result.mask != prune.sparsegpt(w, h, 0.5, blocksize=16).mask).any()


@pytest.mark.parametrize("nm", [None, (2, 4)])
def test_sparsegpt_update_lowers_reconstruction_error(nm, rng):
    w, x = _layer_problem(rng, rows=10, cols=32, tokens=400)
    kwargs = {} if nm is None else {"n": nm[0], "m": nm[1]}
    result = prune.sparsegpt(w, prune.hessian_from_inputs(x), 0.5, blocksize=8, **kwargs)
    masked_only = np.where(result.mask, w, 0.0)
    err_update = np.sum((x @ w.T - x @ result.weight.T) ** 2)
    err_mask = np.sum((x @ w.T - x @ masked_only.T) ** 2)
    assert err_update < 0.8 * err_mask, (err_update, err_mask)


def test_sparsegpt_without_pruning_changes_nothing(rng):
    w, x = _layer_problem(rng)
    h = prune.hessian_from_inputs(x)
    for kwargs in ({"sparsity": 0.0}, {"n": 4, "m": 4}):
        result = prune.sparsegpt(w, h, blocksize=4, **kwargs)
        np.testing.assert_array_equal(result.weight, w)
        assert result.mask.all() and (result.losses == 0).all()


def test_sparsegpt_losses_are_the_obs_errors_of_one_column(rng):
    """One pruned weight: the loss w^2 / (2 [H_(j)^-1]_jj) is the true increase of the error."""
    w, x = _layer_problem(rng, rows=1, cols=8)
    h = prune.hessian_from_inputs(x)
    result = prune.sparsegpt(w, h, 1 / 8, blocksize=8, percdamp=1e-9)
    (j,) = np.flatnonzero(~result.mask[0])
    obs_diag = [np.linalg.inv(h[k:, k:])[0, 0] for k in range(8)]  # [H_(k)^-1]_kk
    assert j == np.argmin(w[0] ** 2 / np.array(obs_diag))  # the smallest OBS error
    dw = result.weight - w
    true_increase = 0.5 * (dw @ h @ dw.T).item()
    assert result.losses[0] == pytest.approx(true_increase, rel=1e-6)


def test_sparsegpt_and_wanda_errors(rng):
    w, x = _layer_problem(rng)
    h = prune.hessian_from_inputs(x)
    with pytest.raises(ValueError, match=r"sparsity must be in \[0, 1\), got 1.5"):
        prune.sparsegpt(w, h, 1.5)
    with pytest.raises(ValueError, match=r"hessian must have shape \(in, in\) = \(16, 16\)"):
        prune.sparsegpt(w, h[:4, :4])
    with pytest.raises(ValueError, match="divisible by m=4"):
        prune.sparsegpt(w, h, n=2, m=4, blocksize=6)
    with pytest.raises(ValueError, match="give both n and m"):
        prune.sparsegpt(w, h, n=2)
    with pytest.raises(ValueError, match="percdamp must be > 0, got 0"):
        prune.sparsegpt(w, h, percdamp=0)
    with pytest.raises(ValueError, match=r"input_norms must have shape \(in,\) = \(16,\)"):
        prune.wanda_mask(w, np.ones(3))
    with pytest.raises(ValueError, match=r"n must be <= m"):
        prune.wanda_mask(w, np.ones(16), n=5, m=4)


# -------------------------------------------------------- block-by-block LM
def _tiny_lm():
    return CharTransformerLM(
        12, d_model=8, nhead=2, num_layers=2, dim_feedforward=16, context=8, seed=0
    )


@pytest.mark.parametrize("method", ["magnitude", "wanda", "sparsegpt"])
@pytest.mark.parametrize("nm", [None, (2, 4)])
def test_prune_oneshot_masks_follow_the_engine_contract(method, nm, rng):
    model = _tiny_lm()
    calib = rng.integers(0, 12, size=(6, 8))
    kwargs = {"sparsity": 0.5} if nm is None else {"n": 2, "m": 4}
    report = prune.prune_oneshot(model, calib, method, batch_size=4, blocksize=4, **kwargs)
    assert len(report) == 2 * 6
    for name, layer in model.named_modules():
        if name in report:
            p = layer.weight
            assert p.mask is not None and p.mask.dtype == np.bool_
            assert (p.data[~p.mask] == 0).all()
            assert report[name]["sparsity"] == pytest.approx(0.5)
            if nm is not None:
                assert prune.is_nm_sparse(p.data, 2, 4)
    assert model.embedding.weight.mask is None and model.head.weight.mask is None


def test_prune_oneshot_propagates_pruned_inputs(rng):
    """The second block's statistics come from the *pruned* first block's outputs."""
    model = _tiny_lm()
    calib = rng.integers(0, 12, size=(4, 8))
    seen = []
    model.layers[1].self_attn.q_proj.register_forward_hook(
        lambda mod, args, out: seen.append(args[0])
    )
    x = model.eval().embed(calib)
    dense_out = model.layers[0](x, src_mask=model.attn_mask(8, x))
    prune.prune_oneshot(model, calib, "wanda", 0.5)
    pruned_out = model.layers[0](x, src_mask=model.attn_mask(8, x))
    # block 1's first input (pre-norm: norm1 of block 0's output) is the pruned one
    np.testing.assert_allclose(seen[0], model.layers[1].norm1(pruned_out), rtol=1e-5, atol=1e-6)
    assert np.abs(seen[0] - model.layers[1].norm1(dense_out)).max() > 1e-3


def test_prune_oneshot_at_zero_sparsity_keeps_outputs(rng):
    model = _tiny_lm()
    calib = rng.integers(0, 12, size=(4, 8))
    before = model.eval()(calib)
    prune.prune_oneshot(model, calib, "sparsegpt", 0.0, blocksize=4)
    np.testing.assert_allclose(model(calib), before, rtol=1e-6, atol=1e-6)


def test_prune_oneshot_errors(rng):
    model = _tiny_lm()
    with pytest.raises(ValueError, match="method must be one of"):
        prune.prune_oneshot(model, np.zeros((2, 8), int), "obs")
    with pytest.raises(ValueError, match=r"calibration must be int token ids of shape"):
        prune.prune_oneshot(model, np.zeros((2, 8)), "wanda")
    with pytest.raises(TypeError, match="needs a language model with embed"):
        prune.prune_oneshot(prune, np.zeros((2, 8), int))


def _linear2_input_gram(model, calib):
    """2 X X^T / tokens of block 0's linear2 inputs, in the model as it is now."""
    seen = []
    handle = model.layers[0].linear2.register_forward_hook(
        lambda mod, args, out: seen.append(np.asarray(args[0], np.float64).reshape(-1, 16))
    )
    model.eval()(calib)
    handle.remove()
    return prune.hessian_from_inputs(np.concatenate(seen))


@pytest.mark.parametrize("true_sequential", [False, True])
def test_prune_oneshot_true_sequential_sees_the_pruned_sublayers(true_sequential, rng):
    """linear2 is pruned from its inputs after (True) or before (False) q/k/v/out/linear1."""
    calib = rng.integers(0, 12, size=(6, 8))
    model, dense = _tiny_lm(), _tiny_lm()
    h_dense = _linear2_input_gram(dense, calib)
    prune.prune_oneshot(
        model, calib, "sparsegpt", 0.5, blocksize=4, true_sequential=true_sequential
    )
    h_pruned = _linear2_input_gram(model, calib)  # linear2 does not change its own input
    assert np.abs(h_pruned - h_dense).max() > 1e-4  # the pruned sublayers moved it
    w0 = dense.layers[0].linear2.weight.data
    expected = prune.sparsegpt(w0, h_pruned if true_sequential else h_dense, 0.5, blocksize=4)
    other = prune.sparsegpt(w0, h_dense if true_sequential else h_pruned, 0.5, blocksize=4)
    got = model.layers[0].linear2.weight.data
    np.testing.assert_allclose(got, expected.weight, rtol=1e-4, atol=1e-5)
    assert np.abs(got - other.weight).max() > 1e-3
