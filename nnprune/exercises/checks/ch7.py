"""Checks of chapter 7: FLOPs of pruned layers (§7.1), recurrent unit removal (§7.3)."""

from __future__ import annotations

import numpy as np

from ..harness import CheckFailed, as_array, check, compare, function, require


def _pruned(shape, sparsity, seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=shape)
    W[rng.random(shape) < sparsity] = 0.0
    return W


def _pair(value, what):
    require(isinstance(value, tuple | list) and len(value) == 2,
            f"{what} must return (flops, flops_nz), got {value!r:.60}")  # fmt: skip
    return np.array([as_array(v, what).reshape(()) for v in value], dtype=float)


# --------------------------------------------------------------------------- FLOPs
EX = "ch7.conv_flops"


@check(EX, "linear_flops equals nnprune.metrics.flops")
def _linear(student):
    from ...metrics import flops
    from ...nn import Linear

    W = _pruned((7, 5), 0.6, 0)
    layer = Linear(5, 7)
    layer.weight.data = W.astype(np.float32)
    truth = np.array(flops(layer, (5,)), dtype=float)
    compare("(flops, flops_nz)", _pair(function(student, "linear_flops")(W.copy()), "linear_flops"),
            truth, case="Linear 5 -> 7, 60 % zeros",
            mistakes=[("flops_nz counts the non-zero weights only", truth[[0, 0]]),
                      ("biases are not counted", truth + 7)])  # fmt: skip


def _no_plus_one(W, hw, stride, pad):
    """(flops, flops_nz) with the output size missing its + 1."""
    k = W.shape[2]
    oh, ow = ((n + 2 * pad - k) // stride for n in hw)
    return [W.size * oh * ow, np.count_nonzero(W) * oh * ow]


@check(EX, "conv2d_flops equals nnprune.metrics.flops (stride, padding)")
def _conv(student):
    from ...metrics import flops
    from ...nn import Conv2d

    fn = function(student, "conv2d_flops")
    for i, (shape, hw, stride, pad) in enumerate(
        (
            ((8, 3, 3, 3), (10, 10), 1, 0),
            ((4, 2, 3, 3), (9, 11), 2, 1),
            ((6, 4, 1, 1), (5, 5), 1, 0),
        )
    ):
        W = _pruned(shape, 0.7, 10 + i)
        layer = Conv2d(shape[1], shape[0], shape[2], stride=stride, padding=pad)
        layer.weight.data = W.astype(np.float32)
        truth = np.array(flops(layer, (shape[1], *hw)), dtype=float)
        oh_in = hw[0] * hw[1]
        compare(
            "(flops, flops_nz)",
            _pair(fn(W.copy(), hw, stride, pad), "conv2d_flops"),
            truth,
            case=f"Conv2d {shape} on {hw}, stride {stride}, padding {pad}",
            mistakes=[
                (
                    "a convolution uses each weight once per OUTPUT position (OH * OW)",
                    [W.size, np.count_nonzero(W)],
                ),
                (
                    "count output positions, not input pixels",
                    [W.size * oh_in, np.count_nonzero(W) * oh_in],
                ),
                ("flops_nz counts the non-zero weights only", truth[[0, 0]]),
                (
                    "the output size is (H + 2 * padding - K) // stride + 1: "
                    "you forgot the + 1",
                    _no_plus_one(W, hw, stride, pad),
                ),
            ],
        )


# --------------------------------------------------------------------------- recurrent
EX = "ch7.recurrent_removal"


def _rnn_case(kind, seed):
    from ...nn import GRU, LSTM, Linear

    rng = np.random.default_rng(seed)
    rnn = (LSTM if kind == "LSTM" else GRU)(3, 5).double()
    head = Linear(5, 2).double()
    for p in (*rnn.parameters(), *head.parameters()):
        p.data = rng.normal(size=p.data.shape)
    return rnn, head


@check(EX, "LSTM and GRU: arrays equal nnprune.prune.remove_hidden_units'")
def _removal(student):
    from ...prune import remove_hidden_units

    fn = function(student, "remove_hidden_unit")
    for kind, gates in (("LSTM", 4), ("GRU", 3)):
        for j in (0, 3):
            rnn, head = _rnn_case(kind, j)
            names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
            arrays = [getattr(rnn, n).data.copy() for n in names] + [head.weight.data.copy()]
            got = fn(*[a.copy() for a in arrays], j, gates)
            require(isinstance(got, tuple | list) and len(got) == 5,
                    "return the five arrays (weight_ih, weight_hh, bias_ih, bias_hh, "
                    f"next_weight), got {type(got).__name__}")  # fmt: skip
            remove_hidden_units(rnn, [j], next_layer=head)
            truth = [getattr(rnn, n).data for n in names] + [head.weight.data]
            case = f"{kind} (input 3, hidden 5, {gates} gates), remove unit {j}"
            for name, g, t in zip((*names, "next_weight"), got, truth, strict=True):
                g = as_array(g, name)
                if g.shape and g.shape[0] == gates * 5 - 1:
                    raise CheckFailed(
                        f"{case}: {name} has {g.shape[0]} rows, expected {t.shape[0]}",
                        f"remove unit j's row in EVERY gate: rows g*H + j for g in "
                        f"range({gates})")  # fmt: skip
                if name == "weight_hh_l0" and g.shape == (t.shape[0], 5):
                    raise CheckFailed(
                        f"{case}: weight_hh has shape {g.shape}, expected {t.shape}",
                        "also remove column j of weight_hh: the other units read h_j "
                        "through it")  # fmt: skip
                if name == "next_weight" and g.shape == (2, 5):
                    raise CheckFailed(
                        f"{case}: next_weight still has 5 columns",
                        "the next layer reads h_j through its column j",
                    )
                compare(name, g, t, case=case)

from . import ch7_lab  # noqa: E402, F401 - the lab exercise (latency vs MACs)
