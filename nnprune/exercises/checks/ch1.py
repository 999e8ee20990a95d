"""Checks of chapter 1: SiLU and Conv1d backward, softmax cross-entropy, masked momentum."""

from __future__ import annotations

import numpy as np

from ...gradcheck import GradcheckError, gradcheck, numerical_gradient
from ..harness import (
    CheckFailed,
    as_array,
    check,
    compare,
    function,
    need_torch,
    require,
    student_warnings,
)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


# --------------------------------------------------------------------------- SiLU
EX = "ch1.silu_backward"


def _silu_layer(student):
    from ...nn import Module

    cls = function(student, "SiLU")
    layer = cls()
    require(isinstance(layer, Module), "SiLU must subclass nnprune.nn.Module")
    return layer


@check(EX, "forward values, no overflow in np.exp at x = -1000")
def _silu_forward(student):
    x = np.array([[-1000.0, -30.0, -2.0, -0.5], [0.0, 0.5, 2.0, 30.0]])
    with np.errstate(over="ignore"):
        y = _silu_layer(student).forward(x)
    compare("forward(x)", y, x * _sigmoid(x), case="x = " + str(x.tolist()),
            mistakes=[("y = x * sigmoid(x), not sigmoid(x)", _sigmoid(x)),
                      ("sigmoid is 1 / (1 + exp(-x)): check the sign inside exp",
                       x * _sigmoid(-x))])  # fmt: skip
    over = [w for w in student_warnings(student) if "overflow" in w]
    require(not over, f"x = -1000: forward(x) is right, but np.exp overflowed on the way "
            f"({over[0] if over else ''})",
            "np.exp(-x) overflows for large negative x: compute with e = np.exp(-np.abs(x)), "
            "which never exceeds 1, and pick s = 1 / (1 + e) or e / (1 + e) by the sign of x "
            "(or use 0.5 * (1 + np.tanh(x / 2)))")  # fmt: skip


@check(EX, "backward matches the numerical gradient (gradcheck)")
def _silu_gradcheck(student):
    x = _rng(1).normal(size=(3, 5)) * 2
    layer = _silu_layer(student)
    dout = _rng(2).normal(size=x.shape)
    layer.forward(x)
    dx = layer.backward(dout.copy())
    s = _sigmoid(x)
    truth = dout * (s + x * s * (1 - s))
    compare("backward(dout)", dx, truth, case="x and dout of shape (3, 5)",
            mistakes=[("wrong sign", -truth),
                      ("use the product rule: d/dx [x s(x)] = s + x s (1 - s)", dout * s),
                      ("use the product rule: d/dx [x s(x)] = s + x s (1 - s)",
                       dout * x * s * (1 - s)),
                      ("multiply by dout (the chain rule)", truth / dout)])  # fmt: skip
    try:
        gradcheck(layer, x)
    except GradcheckError as exc:
        raise CheckFailed(str(exc)) from None


@check(EX, "backward leaves dout unchanged")
def _silu_dout(student):
    x = _rng(3).normal(size=(2, 4))
    layer = _silu_layer(student)
    layer.forward(x)
    dout = _rng(4).normal(size=x.shape)
    before = dout.copy()
    layer.backward(dout)
    require(np.array_equal(dout, before), "backward(dout) modified dout",
            "return a new array (dout * ...), never write into dout (dout *= ...)")  # fmt: skip


@check(EX, "PyTorch parity (torch.nn.functional.silu)")
def _silu_torch(student):
    torch = need_torch()
    x = _rng(5).normal(size=(4, 3)) * 3
    dout = _rng(6).normal(size=x.shape)
    t = torch.tensor(x, requires_grad=True)
    y = torch.nn.functional.silu(t)
    y.backward(torch.tensor(dout))
    layer = _silu_layer(student)
    compare("forward(x)", layer.forward(x), y.detach().numpy(), case="torch vs yours")
    compare("backward(dout)", layer.backward(dout), t.grad.numpy(), case="torch vs yours")


# --------------------------------------------------------------------------- Conv1d
EX = "ch1.conv1d_backward"
CONV_CASES = [((2, 3, 9), (4, 3, 3), 1), ((2, 2, 10), (3, 2, 4), 2), ((1, 1, 5), (2, 1, 1), 1)]


def _conv_truth(x, w, dout, stride):
    from ...nn import Conv1d

    layer = Conv1d(w.shape[1], w.shape[0], w.shape[2], stride=stride).double()
    layer.weight.data = w.copy()
    layer.bias.data = np.zeros(w.shape[0])
    layer.zero_grad()
    layer.forward(x)
    dx = layer.backward(dout)
    return dx, layer.weight.grad.copy(), layer.bias.grad.copy()


@check(EX, "dx, dW, db equal nnprune.nn.Conv1d's")
def _conv_values(student):
    fn = function(student, "conv1d_backward")
    for i, (xs, ws, stride) in enumerate(CONV_CASES):
        rng = _rng(10 + i)
        x, w = rng.normal(size=xs), rng.normal(size=ws)
        l_out = (xs[2] - ws[2]) // stride + 1
        dout = rng.normal(size=(xs[0], ws[0], l_out))
        case = f"x {xs}, weight {ws}, stride {stride}"
        got = fn(x.copy(), w.copy(), dout.copy(), stride)
        require(isinstance(got, tuple | list) and len(got) == 3,
                f"{case}: return (dx, dweight, dbias), got {type(got).__name__}")  # fmt: skip
        dx, dw, db = _conv_truth(x, w, dout, stride)
        flipped = _conv_truth(x, w[:, :, ::-1].copy(), dout, stride)[0]
        assigned = np.zeros_like(x)  # dx[...] = ... instead of += : overlaps overwritten
        l_out = dout.shape[2]
        for j in range(w.shape[2]):
            span = slice(j, j + stride * (l_out - 1) + 1, stride)
            assigned[:, :, span] = np.einsum("nol,oc->ncl", dout, w[:, :, j])
        compare(
            "dbias",
            got[2],
            db,
            case=case,
            mistakes=[("sum dbias over the batch and the positions", dout.sum(axis=2))],
        )
        compare("dweight", got[1], dw, case=case, mistakes=[("wrong sign", -dw)])
        compare("dx", got[0], dx, case=case,
                mistakes=[("wrong sign", -dx),
                          ("no kernel flip: the forward is a cross-correlation, so dx uses "
                           "W[:, :, j] at offset j", flipped),
                          ("accumulate into dx with +=: windows overlap when K > stride",
                           assigned)])  # fmt: skip


@check(EX, "dx and dW match the numerical gradient of conv1d_forward")
def _conv_numeric(student):
    fwd, bwd = function(student, "conv1d_forward"), function(student, "conv1d_backward")
    rng = _rng(20)
    x, w, b = rng.normal(size=(2, 2, 7)), rng.normal(size=(3, 2, 3)), rng.normal(size=3)
    r = rng.normal(size=(2, 3, 3))  # L_out = (7 - 3) // 2 + 1
    dx, dw, _ = bwd(x.copy(), w.copy(), r.copy(), 2)
    num_x = numerical_gradient(lambda: float((fwd(x, w, b, 2) * r).sum()), x)
    num_w = numerical_gradient(lambda: float((fwd(x, w, b, 2) * r).sum()), w)
    compare("dx", dx, num_x, case="stride 2, against central differences", rtol=1e-5, atol=1e-7)
    compare("dweight", dw, num_w, case="stride 2, against central differences",
            rtol=1e-5, atol=1e-7)  # fmt: skip


# --------------------------------------------------------------------------- cross-entropy
EX = "ch1.softmax_ce_grad"


def _ce_truth(z, y):
    from ...nn import CrossEntropyLoss

    loss = CrossEntropyLoss()
    value = loss.forward(z, y)
    return float(value), np.asarray(loss.backward())


def _ce_cases():
    rng = _rng(30)
    yield "random logits (4, 5)", rng.normal(size=(4, 5)) * 3, rng.integers(0, 5, size=4)
    yield "logits around 1000", 1000 + rng.normal(size=(3, 4)), np.array([0, 3, 1])
    yield (
        "one very confident row",
        np.array([[50.0, -50.0, 0.0], [1.0, 2.0, 3.0]]),
        np.array([1, 2]),
    )


@check(EX, "loss equals nnprune.nn.CrossEntropyLoss")
def _ce_loss(student):
    fn = function(student, "cross_entropy")
    for case, z, y in _ce_cases():
        with np.errstate(all="ignore"):
            got = fn(z.copy(), y.copy())
        got = as_array(got, "cross_entropy(...)")
        require(got.size == 1, f"{case}: return one number (the mean loss), got shape {got.shape}",
                "average over the batch: the loss is a scalar")  # fmt: skip
        truth = _ce_truth(z, y)[0]
        compare("the loss", got.reshape(()), truth, case=case,
                mistakes=[("average over the batch, do not sum", truth * len(y)),
                          ("wrong sign: the loss is -log p", -truth)],
                hint="subtract the row max before exp and use log-sum-exp"
                if "1000" in case or "confident" in case else None)  # fmt: skip


@check(EX, "gradient equals (softmax - onehot) / N")
def _ce_grad(student):
    fn = function(student, "cross_entropy_grad")
    for case, z, y in _ce_cases():
        with np.errstate(all="ignore"):
            got = fn(z.copy(), y.copy())
        truth = _ce_truth(z, y)[1]
        compare("the gradient", got, truth, case=case,
                mistakes=[("wrong sign: it is softmax - onehot", -truth),
                          ("divide by N: the loss is a mean over the batch", truth * len(y))],
                hint="subtract the row max before exp" if "1000" in case else None)  # fmt: skip


@check(EX, "gradient matches the numerical gradient of your loss")
def _ce_numeric(student):
    loss, grad = function(student, "cross_entropy"), function(student, "cross_entropy_grad")
    rng = _rng(31)
    z, y = rng.normal(size=(3, 4)), np.array([2, 0, 3])
    num = numerical_gradient(lambda: float(loss(z, y)), z)
    compare("cross_entropy_grad", grad(z.copy(), y), num, case="against central differences",
            rtol=1e-5, atol=1e-8)  # fmt: skip


@check(EX, "PyTorch parity (torch.nn.functional.cross_entropy)")
def _ce_torch(student):
    torch = need_torch()
    rng = _rng(32)
    z, y = rng.normal(size=(5, 3)) * 2, rng.integers(0, 3, size=5)
    t = torch.tensor(z, requires_grad=True)
    out = torch.nn.functional.cross_entropy(t, torch.tensor(y))
    out.backward()
    got = as_array(function(student, "cross_entropy")(z.copy(), y), "cross_entropy(...)")
    compare("the loss", got.reshape(()), out.item(), case="torch vs yours")
    compare("the gradient", function(student, "cross_entropy_grad")(z.copy(), y),
            t.grad.numpy(), case="torch vs yours")  # fmt: skip


# --------------------------------------------------------------------------- masked momentum
EX = "ch1.masked_momentum"


def _sgd_reference(w0, grads, masks, lr, momentum):
    """nnprune.optim.SGD on a Parameter whose mask changes: weights and buffers per step."""
    from ...nn import Parameter
    from ...optim import SGD

    p = Parameter(w0.copy())
    opt = SGD([p], lr=lr, momentum=momentum)
    out = []
    for g, m in zip(grads, masks, strict=True):
        p.mask = m
        p.grad[...] = g
        opt.step()
        out.append((p.data.copy(), opt.state[p]["momentum_buffer"].copy()))
    return out


@check(EX, "five steps equal nnprune.optim.SGD (mask set at step 3)")
def _momentum_steps(student):
    fn = function(student, "sgd_momentum_step", keep_inputs=True)
    rng = _rng(40)
    w = rng.normal(size=(4, 5))
    grads = [rng.normal(size=w.shape) for _ in range(5)]
    full = np.ones(w.shape, bool)
    pruned = np.abs(w) > np.median(np.abs(w))
    masks = [full, full, pruned, pruned, pruned]
    lr, mu = 0.1, 0.9
    truth = _sgd_reference(w, grads, masks, lr, mu)
    buf, mine = None, w.copy()
    for step, (g, m) in enumerate(zip(grads, masks, strict=True)):
        mine = mine * m  # pruning sets the weights to zero when the mask is set
        got = fn(mine.copy(), g.copy(), None if buf is None else buf.copy(), m.copy(), lr, mu)
        require(isinstance(got, tuple | list) and len(got) == 2,
                f"step {step + 1}: return (new_w, new_buf), got {type(got).__name__}")  # fmt: skip
        new_w, new_buf = as_array(got[0], "new_w"), as_array(got[1], "new_buf")
        case = f"step {step + 1} (lr {lr}, momentum {mu}, {int((~m).sum())} weights pruned)"
        if (~m).any() and np.any(new_w[~m] != 0):
            raise CheckFailed(
                f"{case}: {int((new_w[~m] != 0).sum())} pruned weights are non-zero after "
                "the update",
                "forgot the mask: apply it to the result of the update",
            )
        if (~m).any() and np.any(new_buf[~m] != 0):
            raise CheckFailed(
                f"{case}: the momentum buffer is non-zero at {int((new_buf[~m] != 0).sum())} "
                "pruned weights",
                "zero the momentum buffer where pruned (mask the gradient and the buffer)",
            )
        compare("new_w", new_w, truth[step][0], case=case)
        compare("new_buf", new_buf, truth[step][1], case=case)
        mine, buf = new_w, new_buf


@check(EX, "inputs are not modified")
def _momentum_inputs(student):
    fn = function(student, "sgd_momentum_step", keep_inputs=True)
    rng = _rng(41)
    w, g, b = rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    m = rng.random((3, 3)) > 0.4
    w, b = w * m, b * m
    copies = [a.copy() for a in (w, g, b, m)]
    fn(w, g, b, m, 0.1, 0.9)
    for name, a, c in zip(("w", "grad", "buf", "mask"), (w, g, b, m), copies, strict=True):
        require(np.array_equal(a, c), f"sgd_momentum_step modified its argument {name}",
                "return new arrays; the caller keeps the old ones")  # fmt: skip
