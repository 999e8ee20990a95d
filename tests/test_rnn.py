"""RNN, LSTM and GRU: gradient checks, a plain-NumPy reference, PyTorch parity, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnprune import nn, prune
from nnprune.gradcheck import gradcheck, numerical_gradient, relative_error

N, T, D, H = 2, 3, 3, 4

# (class, extra constructor kwargs): the four step types
KINDS = [
    (nn.RNN, {"nonlinearity": "tanh"}),
    (nn.RNN, {"nonlinearity": "relu"}),
    (nn.LSTM, {}),
    (nn.GRU, {}),
]
KIND_IDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def make(cls, num_layers=1, bias=True, seed=0, **kw):  # noqa: ANN001, ANN201
    return cls(D, H, num_layers=num_layers, bias=bias, seed=seed, **kw).double()


def random_state(rng, layer, num_layers=1):  # noqa: ANN001, ANN201
    """``hx`` in the layer's format: an array, or ``(h0, c0)`` for the LSTM."""
    h0 = rng.normal(size=(num_layers, N, H))
    return (h0, rng.normal(size=(num_layers, N, H))) if isinstance(layer, nn.LSTM) else h0


# -------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize(("cls", "kw"), KINDS, ids=KIND_IDS)
def test_gradcheck(rng, cls, kw, num_layers, bias, masked) -> None:
    layer = make(cls, num_layers, bias, **kw)
    if masked:
        layer.weight_hh_l0.mask = rng.random(layer.weight_hh_l0.shape) > 0.5
        assert np.all(layer.weight_hh_l0.data[~layer.weight_hh_l0.mask] == 0)
    gradcheck(layer, rng.normal(size=(N, T, D)))


@pytest.mark.parametrize(("cls", "kw"), KINDS, ids=KIND_IDS)
def test_gradcheck_with_initial_state_and_its_gradient(rng, cls, kw) -> None:
    layer = make(cls, num_layers=2, **kw)
    x = rng.normal(size=(N, T, D))
    hx = random_state(rng, layer, num_layers=2)
    gradcheck(layer, x, forward_kwargs={"hx": hx})
    r = rng.normal(size=(N, T, H))
    layer.forward(x, hx=hx)
    layer.backward(r)
    states = [(layer.dh0_, hx[0]), (layer.dc0_, hx[1])] if cls is nn.LSTM else [(layer.dh0_, hx)]
    for analytic, state in states:
        numeric = numerical_gradient(lambda: float((layer.forward(x, hx=hx) * r).sum()), state)
        assert relative_error(analytic, numeric) < 1e-6


def test_rnn_in_sequential_with_linear(rng) -> None:
    model = nn.Sequential(nn.GRU(D, H, seed=0), nn.Linear(H, 2, seed=1)).double()
    gradcheck(model, rng.normal(size=(N, T, D)))


# ------------------------------------------------- independent references
def test_lstm_matches_the_equations_written_out(rng) -> None:
    layer = make(nn.LSTM)
    x = rng.normal(size=(N, T, D))
    w_ih, w_hh = layer.weight_ih_l0.data, layer.weight_hh_l0.data
    b = layer.bias_ih_l0.data + layer.bias_hh_l0.data
    h, c = np.zeros((N, H)), np.zeros((N, H))
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    for t in range(T):
        a = x[:, t] @ w_ih.T + h @ w_hh.T + b
        i, f, g, o = (
            sig(a[:, :H]),
            sig(a[:, H : 2 * H]),
            np.tanh(a[:, 2 * H : 3 * H]),
            sig(a[:, 3 * H :]),
        )
        c = f * c + i * g
        h = o * np.tanh(c)
        np.testing.assert_allclose(layer.forward(x)[:, t], h, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.c_n_[0], c, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.h_n_[0], h, rtol=1e-12, atol=1e-14)


def test_gru_matches_the_equations_written_out(rng) -> None:
    layer = make(nn.GRU)
    x = rng.normal(size=(N, T, D))
    p = {n: q.data for n, q in layer.named_parameters()}
    w_ir, w_iz, w_in = np.split(p["weight_ih_l0"], 3)
    w_hr, w_hz, w_hn = np.split(p["weight_hh_l0"], 3)
    b_ir, b_iz, b_in = np.split(p["bias_ih_l0"], 3)
    b_hr, b_hz, b_hn = np.split(p["bias_hh_l0"], 3)
    sig = lambda a: 1.0 / (1.0 + np.exp(-a))  # noqa: E731
    h = np.zeros((N, H))
    y = layer.forward(x)
    for t in range(T):
        xt = x[:, t]
        r = sig(xt @ w_ir.T + b_ir + h @ w_hr.T + b_hr)
        z = sig(xt @ w_iz.T + b_iz + h @ w_hz.T + b_hz)
        n = np.tanh(xt @ w_in.T + b_in + r * (h @ w_hn.T + b_hn))
        h = (1 - z) * n + z * h
        np.testing.assert_allclose(y[:, t], h, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("cls", "kw"), KINDS, ids=KIND_IDS)
def test_batch_first_false_is_the_transpose(rng, cls, kw) -> None:
    a = make(cls, num_layers=2, **kw)
    b = make(cls, num_layers=2, batch_first=False, **kw)
    x, r = rng.normal(size=(N, T, D)), rng.normal(size=(N, T, H))
    np.testing.assert_allclose(b.forward(x.transpose(1, 0, 2)), a.forward(x).transpose(1, 0, 2))
    np.testing.assert_allclose(a.backward(r), b.backward(r.transpose(1, 0, 2)).transpose(1, 0, 2))
    np.testing.assert_allclose(a.h_n_, b.h_n_)
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters(), strict=True):
        np.testing.assert_allclose(pa.grad, pb.grad, err_msg=name)


# ---------------------------------------------------------- construction
@pytest.mark.parametrize(("cls", "gates"), [(nn.RNN, 1), (nn.LSTM, 4), (nn.GRU, 3)])
def test_parameters_shapes_flags_and_init(cls, gates) -> None:
    layer = cls(5, H, num_layers=2, seed=7)
    expect = {
        "weight_ih_l0": (gates * H, 5),
        "weight_hh_l0": (gates * H, H),
        "bias_ih_l0": (gates * H,),
        "bias_hh_l0": (gates * H,),
        "weight_ih_l1": (gates * H, H),
        "weight_hh_l1": (gates * H, H),
        "bias_ih_l1": (gates * H,),
        "bias_hh_l1": (gates * H,),
    }
    params = dict(layer.named_parameters())
    assert list(params) == list(expect)
    bound = 1.0 / math.sqrt(H)
    for name, p in params.items():
        assert p.shape == expect[name] and p.dtype == np.float32
        assert p.prunable == name.startswith("weight")
        assert np.all(np.abs(p.data) <= bound) and np.std(p.data) > 0
    again = cls(5, H, num_layers=2, seed=7)
    for name, p in again.named_parameters():
        np.testing.assert_array_equal(p.data, params[name].data)
    assert not list(cls(5, H, bias=False).named_parameters())[2:]


def test_float32_stays_float32(rng) -> None:
    layer = nn.LSTM(D, H, seed=0)
    y = layer.forward(rng.normal(size=(N, T, D)).astype(np.float32))
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == layer.weight_hh_l0.grad.dtype == np.float32


def test_l1_pruning_of_the_recurrent_weight(rng) -> None:
    layer = make(nn.GRU)
    prune.l1_unstructured(layer, "weight_hh_l0", amount=0.5)
    kept = layer.weight_hh_l0.mask
    assert kept.sum() == kept.size // 2
    layer.forward(rng.normal(size=(N, T, D)))
    layer.backward(rng.normal(size=(N, T, H)))
    assert np.all(layer.weight_hh_l0.data[~kept] == 0)
    assert np.any(layer.weight_hh_l0.grad[~kept] != 0)  # dense gradients, by contract


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_size": 0, "hidden_size": 4}, "input_size must be a positive integer, got 0"),
        ({"input_size": 3, "hidden_size": 2.5}, "hidden_size must be a positive integer"),
        ({"input_size": 3, "hidden_size": 4, "num_layers": 0}, "num_layers must be a positive"),
        ({"input_size": 3, "hidden_size": 4, "batch_first": 1}, "batch_first must be True or F"),
        ({"input_size": 3, "hidden_size": 4, "bias": "yes"}, "bias must be True or False"),
        ({"input_size": 3, "hidden_size": 4, "nonlinearity": "sigmoid"}, "'tanh' or 'relu', got"),
    ],
)
def test_constructor_errors(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        nn.RNN(**kwargs)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_input_errors(rng, cls) -> None:
    layer = make(cls)
    with pytest.raises(ValueError, match=r"expects a 3-D input \(N, T, D\) with batch_first=True"):
        layer.forward(rng.normal(size=(T, D)))
    with pytest.raises(ValueError, match=r"expects input_size=3 features \(last axis\), got shape"):
        layer.forward(rng.normal(size=(N, T, 5)))
    with pytest.raises(ValueError, match="non-empty batch and sequence"):
        layer.forward(np.zeros((N, 0, D)))
    with pytest.raises(TypeError, match="expects an array input, got list"):
        layer.forward([[[0.0] * D]])
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((N, T, H)))
    layer.forward(rng.normal(size=(N, T, D)))
    with pytest.raises(ValueError, match=r"expects dout of shape \(2, 3, 4\)"):
        layer.backward(np.zeros((T, N, H)))


def test_state_errors(rng) -> None:
    x = rng.normal(size=(N, T, D))
    gru, lstm = make(nn.GRU, num_layers=2), make(nn.LSTM)
    with pytest.raises(ValueError, match=r"hx must have shape \(num_layers, N, hidden_size\)"):
        gru.forward(x, hx=np.zeros((N, H)))
    with pytest.raises(ValueError, match=r"LSTM hx must be a tuple \(h, c\)"):
        lstm.forward(x, hx=np.zeros((1, N, H)))
    with pytest.raises(ValueError, match=r"hx\[1\] must have shape"):
        lstm.forward(x, hx=(np.zeros((1, N, H)), np.zeros((1, N, 5))))
    gru.forward(x)
    with pytest.raises(ValueError, match="dh_n must have shape"):
        gru.backward(np.zeros((N, T, H)), dh_n=np.zeros((1, N, H)))


# ------------------------------------------------------- PyTorch parity
@pytest.mark.torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("cls", "kw"), KINDS, ids=KIND_IDS)
def test_matches_torch(rng, cls, kw, bias) -> None:
    torch = pytest.importorskip("torch")
    layer = make(cls, num_layers=2, bias=bias, **kw)
    prune.l1_unstructured(layer, "weight_hh_l0", amount=0.3)
    tcls = {nn.RNN: torch.nn.RNN, nn.LSTM: torch.nn.LSTM, nn.GRU: torch.nn.GRU}[cls]
    ref = tcls(D, H, num_layers=2, bias=bias, batch_first=True, **kw).double()
    assert [n for n, _ in ref.named_parameters()] == [n for n, _ in layer.named_parameters()]
    with torch.no_grad():
        for name, p in layer.named_parameters():
            getattr(ref, name).copy_(torch.from_numpy(p.data))
    lstm = cls is nn.LSTM
    x = rng.normal(size=(N, T, D))
    hx = random_state(rng, layer, num_layers=2)
    dout, dhn, dcn = (rng.normal(size=s) for s in [(N, T, H), (2, N, H), (2, N, H)])

    xt = torch.tensor(x, requires_grad=True)
    hxt = tuple(torch.tensor(s, requires_grad=True) for s in (hx if lstm else (hx,)))
    yt, state = ref(xt, hxt if lstm else hxt[0])
    hnt, cnt = state if lstm else (state, None)
    loss = (yt * torch.from_numpy(dout)).sum() + (hnt * torch.from_numpy(dhn)).sum()
    if lstm:
        loss = loss + (cnt * torch.from_numpy(dcn)).sum()
    loss.backward()

    y = layer.forward(x, hx=hx)
    dx = layer.backward(dout, dh_n=(dhn, dcn) if lstm else dhn)
    close = {"rtol": 1e-10, "atol": 1e-12}
    np.testing.assert_allclose(y, yt.detach().numpy(), **close)
    np.testing.assert_allclose(layer.h_n_, hnt.detach().numpy(), **close)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **close)
    np.testing.assert_allclose(layer.dh0_, hxt[0].grad.numpy(), **close)
    if lstm:
        np.testing.assert_allclose(layer.c_n_, cnt.detach().numpy(), **close)
        np.testing.assert_allclose(layer.dc0_, hxt[1].grad.numpy(), **close)
    for name, p in layer.named_parameters():
        want = getattr(ref, name).grad.numpy()
        np.testing.assert_allclose(p.grad, want, err_msg=f"ours vs torch: {name}", **close)
