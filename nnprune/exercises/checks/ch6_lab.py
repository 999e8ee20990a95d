"""Checks of the chapter-6 lab exercise: channel removal through Conv-BN-ReLU-Conv (§6.1).

Imported by :mod:`nnprune.exercises.checks.ch6` (the worker imports one module per chapter).
The student receives and returns dicts of arrays; the checker builds the networks with
:mod:`nnprune.nn` and compares their outputs.
"""

from __future__ import annotations

import numpy as np

from ..harness import CheckFailed, as_array, check, compare, function, require

EX = "ch6.conv_bn_removal"
PER_CHANNEL = ("conv1.weight", "conv1.bias", "bn.weight", "bn.bias", "bn.running_mean",
               "bn.running_var")  # fmt: skip
KEYS = (*PER_CHANNEL, "conv2.weight", "conv2.bias")


def _params(seed=0, c0=3, c1=6, c2=4):
    rng = np.random.default_rng(seed)
    return {
        "conv1.weight": rng.normal(size=(c1, c0, 3, 3)), "conv1.bias": rng.normal(size=c1),
        "bn.weight": np.round(rng.normal(size=c1), 1), "bn.bias": rng.normal(size=c1),
        "bn.running_mean": rng.normal(size=c1), "bn.running_var": rng.uniform(0.5, 2, size=c1),
        "conv2.weight": rng.normal(size=(c2, c1, 3, 3)), "conv2.bias": rng.normal(size=c2),
    }  # fmt: skip


def _net(p):
    from ...nn import BatchNorm2d, Conv2d, ReLU, Sequential

    c1, c0 = p["conv1.weight"].shape[:2]
    net = Sequential(Conv2d(c0, c1, 3, padding=1), BatchNorm2d(c1), ReLU(),
                     Conv2d(c1, p["conv2.weight"].shape[0], 3, padding=1)).double()  # fmt: skip
    net[0].weight.data, net[0].bias.data = p["conv1.weight"], p["conv1.bias"]
    net[1].weight.data, net[1].bias.data = p["bn.weight"], p["bn.bias"]
    net[1].running_mean, net[1].running_var = p["bn.running_mean"], p["bn.running_var"]
    net[3].weight.data, net[3].bias.data = p["conv2.weight"], p["conv2.bias"]
    return net.eval()


def _output(p, x):
    return _net({k: np.asarray(v, dtype=np.float64) for k, v in p.items()}).forward(x)


def _dict(value, what):
    require(isinstance(value, dict), f"{what} must be a dict name -> array, got "
            f"{type(value).__name__}")  # fmt: skip
    missing = [k for k in KEYS if k not in value]
    require(not missing, f"{what} lacks the keys {missing}")
    return {k: as_array(value[k], f"{what}[{k!r}]") for k in KEYS}


def _copy(p):
    return {k: v.copy() for k, v in p.items()}


def _untouched(p, seed, fn_name):
    for k, v in _params(seed).items():
        require(np.array_equal(p[k], v), f"{fn_name} modified params[{k!r}]",
                "build new arrays: params[name][keep] is a copy, but out[name][...] = 0 "
                "on params[name] itself is not")  # fmt: skip


@check(EX, "slimming_keep: drop the smallest |gamma|, keep the order")
def _keep(student):
    fn = function(student, "slimming_keep")
    gamma = np.array([0.5, -0.1, 0.3, -0.9, 0.1, 0.7, 0.0, -0.3])
    for n in (0, 3, 5):
        order = np.argsort(np.abs(gamma), kind="stable")
        truth = np.sort(order[n:])
        got = as_array(fn(gamma.copy(), n), "slimming_keep(gamma, n)")
        compare("the kept channels", got, truth, case=f"gamma {gamma.tolist()}, remove {n}",
                mistakes=[("rank by |gamma|: a large negative scale is an important channel",
                           np.sort(np.argsort(gamma, kind="stable")[n:])),
                          ("return the channels that STAY, not the removed ones",
                           np.sort(order[:n])),
                          ("sort the kept indices: the channels keep their order",
                           order[n:])])  # fmt: skip


@check(EX, "shrink: every per-channel array, BatchNorm statistics included")
def _shrink(student):
    fn = function(student, "shrink")
    p = _params(0)
    keep = np.array([0, 2, 3, 5])
    got = _dict(fn(_copy(p), keep.copy()), "shrink(params, keep)")
    case = "Conv(3->6)-BN-ReLU-Conv(6->4), keep channels [0, 2, 3, 5]"
    for k in PER_CHANNEL:
        if got[k].shape == p[k].shape:
            raise CheckFailed(f"{case}: {k} still has shape {p[k].shape}",
                              "every per-channel array shrinks: the BatchNorm's weight, bias, "
                              "running_mean and running_var too" if k.startswith("bn") else None)
        compare(k, got[k], p[k][keep], case=case)
    compare("conv2.weight", got["conv2.weight"], p["conv2.weight"][:, keep], case=case,
            hint="the removed feature maps are INPUT channels of conv2: axis 1")
    compare("conv2.bias", got["conv2.bias"], p["conv2.bias"], case=case,
            hint="conv2's bias belongs to its output channels: it does not change")


@check(EX, "the shrunk network computes exactly what the masked one does")
def _outputs(student):
    shrink, mask = function(student, "shrink"), function(student, "mask_channels")
    x = np.random.default_rng(5).normal(size=(2, 3, 6, 6))
    for seed, keep in ((1, np.array([1, 2, 4])), (2, np.array([0, 5]))):
        p = _params(seed)
        small = _dict(shrink(_copy(p), keep.copy()), "shrink(params, keep)")
        _untouched(p, seed, "shrink")
        masked = _dict(mask(_copy(p), keep.copy()), "mask_channels(params, keep)")
        _untouched(p, seed, "mask_channels")
        for k in KEYS:
            require(masked[k].shape == p[k].shape, f"mask_channels changed the shape of {k}: "
                    f"{masked[k].shape}, expected {p[k].shape}")  # fmt: skip
        case = f"x (2, 3, 6, 6), padding 1, keep {keep.tolist()} of 6"
        want = _output({k: (v[keep] if k in PER_CHANNEL else v[:, keep] if k == "conv2.weight"
                            else v) for k, v in p.items()}, x)  # fmt: skip
        conv_only = _copy(p)
        drop = np.setdiff1d(np.arange(6), keep)
        conv_only["conv1.weight"][drop], conv_only["conv1.bias"][drop] = 0.0, 0.0
        compare("the shrunk network's output", _output(small, x), want, case=case)
        compare("the masked network's output", _output(masked, x), want, case=case,
                mistakes=[("zeroing conv1's filter is not enough: BatchNorm turns a zero input "
                           "into beta - gamma * mean / sqrt(var + eps); zero gamma and beta",
                           _output(conv_only, x))])  # fmt: skip
