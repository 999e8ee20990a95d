"""Parameter, Module, Sequential, state_dict and determinism."""

from __future__ import annotations

import numpy as np
import pytest

import nnprune
from nnprune import nn
from nnprune.nn import Parameter


class TwoLayer(nn.Module):
    """A small model with a nested container, a buffer and a plain attribute."""

    def __init__(self, seed=0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 3, seed=seed)
        self.act = nn.ReLU()
        self.head = nn.Sequential(nn.Linear(3, 2, seed=seed), nn.Tanh())
        self.register_buffer("step", np.zeros(1, np.float32))
        self.note = "not registered"

    def forward(self, x):
        return self.head(self.act(self.fc1(x)))

    def backward(self, dout):
        return self.fc1.backward(self.act.backward(self.head.backward(dout)))


def _pruned_model() -> TwoLayer:
    model = TwoLayer()
    model.fc1.weight.mask = np.arange(12).reshape(3, 4) % 3 != 0
    return model


def _snapshot(model: nn.Module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.state_dict().items()}


def _assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
        assert a[k].dtype == b[k].dtype, k


# ------------------------------------------------------------------ Parameter
def test_parameter_copies_and_casts_to_float():
    src = np.arange(6).reshape(2, 3)
    p = Parameter(src)
    assert p.dtype == np.float32 and p.shape == (2, 3) and p.size == 6 and p.ndim == 2
    src[0, 0] = 100
    assert p.data[0, 0] == 0  # copied in
    np.testing.assert_array_equal(p.grad, np.zeros((2, 3)))
    assert Parameter(np.ones(2, np.float64)).dtype == np.float64


def test_mask_setter_zeroes_data_and_none_unprunes():
    p = Parameter(np.arange(1.0, 7.0).reshape(2, 3), name="weight")
    keep = np.array([[True, False, True], [False, True, True]])
    p.mask = keep
    np.testing.assert_array_equal(p.data, np.where(keep, np.arange(1.0, 7.0).reshape(2, 3), 0))
    keep[0, 0] = False  # the mask is copied in
    assert p.mask[0, 0]
    p.mask = None
    assert p.mask is None
    np.testing.assert_array_equal(p.data[~p.data.astype(bool)], 0.0)  # zeros stay zero
    assert "pruned" not in repr(p)


def test_mask_setter_rejects_bad_masks_and_keeps_state():
    p = Parameter(np.ones((2, 3)), name="weight")
    with pytest.raises(ValueError, match="mask for 'weight' must be a bool array, got dtype int64"):
        p.mask = np.ones((2, 3), dtype=np.int64)
    with pytest.raises(
        ValueError, match=r"mask for 'weight' must have shape \(2, 3\), got \(3, 2\)"
    ):
        p.mask = np.ones((3, 2), dtype=bool)
    with pytest.raises(ValueError, match="must be a bool array, got dtype int64"):
        p.mask = [[1, 0, 1], [1, 1, 1]]
    assert p.mask is None
    np.testing.assert_array_equal(p.data, np.ones((2, 3)))
    p.mask = [[True, False, True], [True, True, True]]  # a nested list of bools is accepted
    np.testing.assert_array_equal(p.data, [[1, 0, 1], [1, 1, 1]])


def test_data_setter_reapplies_mask_and_keeps_dtype():
    p = Parameter(np.ones((2, 2), np.float32), name="w")
    p.mask = np.array([[True, False], [False, True]])
    p.data = np.full((2, 2), 5.0)  # float64 in, stays float32
    np.testing.assert_array_equal(p.data, [[5.0, 0.0], [0.0, 5.0]])
    assert p.dtype == np.float32
    assert "pruned=2" in repr(p)


def test_data_setter_refuses_new_shape_while_pruned():
    p = Parameter(np.ones((2, 2)), name="w")
    p.mask = np.ones((2, 2), dtype=bool)
    with pytest.raises(ValueError, match=r"cannot assign data of shape \(3,\) to pruned parameter"):
        p.data = np.ones(3)
    assert p.shape == (2, 2)
    p.mask = None
    p.data = np.ones(3)  # unpruned: a new shape is fine and resets grad
    assert p.shape == (3,) and p.grad.shape == (3,)


def test_parameter_to_dtype_keeps_mask():
    p = Parameter(np.ones(4, np.float32))
    p.mask = np.array([True, False, True, False])
    p.to(dtype=np.float64)
    assert p.dtype == np.float64 and p.grad.dtype == np.float64
    np.testing.assert_array_equal(p.data, [1.0, 0.0, 1.0, 0.0])


# --------------------------------------------------------------------- Module
def test_registration_and_named_parameters_order():
    model = TwoLayer()
    names = [n for n, _ in model.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "head.0.weight", "head.0.bias"]
    assert [n for n, _ in model.named_children()] == ["fc1", "act", "head"]
    assert [n for n, _ in model.named_modules()] == ["", "fc1", "act", "head", "head.0", "head.1"]
    assert [n for n, _ in model.named_buffers()] == ["step"]
    assert model.fc1.weight.name == "weight"
    assert model.num_parameters() == 4 * 3 + 3 + 3 * 2 + 2
    assert "note" not in dict(model.named_parameters())
    assert list(model.parameters())[0] is model.fc1.weight


def test_setting_none_removes_a_parameter():
    layer = nn.Linear(3, 2)
    layer.bias = None
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer.bias is None


def test_replacing_a_buffer_keeps_it_registered():
    model = TwoLayer()
    model.step = np.ones(1, np.float32)
    assert "step" in model.state_dict()
    np.testing.assert_array_equal(model.state_dict()["step"], [1.0])
    del model.step
    assert "step" not in model.state_dict()


def test_setattr_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(2, 2)

    with pytest.raises(RuntimeError, match=r"Broken.__init__ must call super\(\).__init__\(\)"):
        Broken()


def test_missing_attribute_message():
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        _ = nn.Linear(2, 2).wieght


def test_get_submodule():
    model = TwoLayer()
    assert model.get_submodule("head.0") is model.head[0]
    assert model.get_submodule("") is model
    with pytest.raises(AttributeError, match="no sub-module 'head.5' in TwoLayer"):
        model.get_submodule("head.5")


def test_train_eval_propagate():
    model = TwoLayer()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_zero_grad_and_forward_backward(rng):
    model = TwoLayer().double()
    x = rng.normal(size=(5, 4))
    y = model(x)
    assert y.shape == (5, 2)
    model.backward(np.ones_like(y))
    assert any(np.any(p.grad != 0) for p in model.parameters())
    model.zero_grad()
    assert all(np.all(p.grad == 0) for p in model.parameters())


def test_to_dtype_casts_params_grads_and_float_buffers():
    model = _pruned_model()
    model.double()
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in model.parameters())
    assert model.step.dtype == np.float64
    assert model.fc1.weight.mask is not None
    model.float()
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model.backend == "numpy"


def test_base_module_forward_backward_not_implemented():
    with pytest.raises(NotImplementedError, match="Module does not implement forward"):
        nn.Module()(np.zeros(1))
    with pytest.raises(NotImplementedError, match="Module does not implement backward"):
        nn.Module().backward(np.zeros(1))


# ------------------------------------------------------------------ state_dict
def test_state_dict_has_masks_and_copies():
    model = _pruned_model()
    state = model.state_dict()
    assert list(state) == [
        "fc1.weight",
        "fc1.weight_mask",
        "fc1.bias",
        "head.0.weight",
        "head.0.bias",
        "step",
    ]
    assert state["fc1.weight_mask"].dtype == np.bool_
    state["fc1.weight"][...] = 7.0  # a copy: the model is untouched
    assert not np.any(model.fc1.weight.data == 7.0)


def test_load_state_dict_round_trip():
    src = _pruned_model()
    src.step = np.array([3.0], np.float32)
    dst = TwoLayer(seed=1)
    dst.load_state_dict(src.state_dict())
    _assert_same_state(dst.state_dict(), src.state_dict())
    np.testing.assert_array_equal(dst.fc1.weight.mask, src.fc1.weight.mask)
    assert dst.head[0].weight.mask is None
    # the loaded arrays are not shared with the source
    dst.fc1.weight.data = np.ones((3, 4))
    assert not np.array_equal(src.fc1.weight.data, dst.fc1.weight.data)


def test_load_state_dict_unprunes_when_the_state_has_no_mask():
    dst = _pruned_model()
    dst.load_state_dict(TwoLayer(seed=2).state_dict())
    assert dst.fc1.weight.mask is None
    np.testing.assert_array_equal(dst.fc1.weight.data, TwoLayer(seed=2).fc1.weight.data)


def _edit(state, key, value=None, drop=False):
    state = dict(state)
    if drop:
        del state[key]
    else:
        state[key] = value
    return state


@pytest.mark.parametrize(
    "make_state, message",
    [
        (lambda s: _edit(s, "fc1.bias", drop=True), r"missing keys \['fc1.bias'\]"),
        (lambda s: _edit(s, "extra", np.zeros(1)), r"unexpected keys \['extra'\]"),
        (lambda s: _edit(s, "head.0.weight", np.zeros((3, 2))), r"'head.0.weight' has shape"),
        (
            lambda s: _edit(s, "fc1.bias", np.zeros(3, np.int64)),
            "'fc1.bias' has dtype int64, expected float32",
        ),
        (
            lambda s: _edit(s, "fc1.weight_mask", np.ones((3, 4), np.int8)),
            "'fc1.weight_mask' must be a bool array of shape",
        ),
        (
            lambda s: _edit(s, "fc1.weight_mask", np.ones((4, 3), bool)),
            r"must be a bool array of shape \(3, 4\), got bool \(4, 3\)",
        ),
        (lambda s: _edit(s, "step", np.zeros(2, np.float32)), r"'step' has shape \(2,\)"),
    ],
)
def test_load_state_dict_errors_leave_module_unchanged(make_state, message):
    """Every entry but the bad one is new, so any partial load would show."""
    model = _pruned_model()
    before = _snapshot(model)
    other = TwoLayer(seed=5)
    other.head[0].weight.mask = np.zeros((2, 3), dtype=bool)
    other.step = np.array([9.0], np.float32)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(make_state(other.state_dict()))
    _assert_same_state(model.state_dict(), before)
    assert model.head[0].weight.mask is None


def test_load_state_dict_non_strict_skips_unknown_and_missing():
    model = TwoLayer()
    src = TwoLayer(seed=3).state_dict()
    partial = {"fc1.weight": src["fc1.weight"], "unknown": np.zeros(1)}
    model.load_state_dict(partial, strict=False)
    np.testing.assert_array_equal(model.fc1.weight.data, src["fc1.weight"])
    np.testing.assert_array_equal(model.fc1.bias.data, TwoLayer().fc1.bias.data)


# ----------------------------------------------------------------- Sequential
def _seq():
    return nn.Sequential(nn.Linear(2, 3, seed=0), nn.ReLU(), nn.Linear(3, 1, seed=0))


def test_sequential_indexing_and_slicing():
    s = _seq()
    assert len(s) == 3
    assert isinstance(s[1], nn.ReLU) and s[-1] is s[2]
    head = s[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is s[0]
    assert [n for n, _ in s[1:].named_parameters()] == ["1.weight", "1.bias"]
    assert list(s) == [s[0], s[1], s[2]]
    with pytest.raises(IndexError, match="index 3 is out of range for Sequential of length 3"):
        s[3]
    with pytest.raises(IndexError, match="index -4 is out of range"):
        s[-4]
    with pytest.raises(TypeError, match="Sequential indices must be integers or slices, got 'a'"):
        s["a"]


def test_sequential_setitem_delitem_insert_append():
    s = _seq()
    last = s[2]
    s[1] = nn.Tanh()
    assert isinstance(s[1], nn.Tanh)
    del s[0]
    assert len(s) == 2 and s[1] is last
    assert [n for n, _ in s.named_parameters()] == ["1.weight", "1.bias"]  # renumbered
    s.insert(0, nn.Sigmoid())
    assert isinstance(s[0], nn.Sigmoid) and isinstance(s[1], nn.Tanh)
    assert s.append(nn.ReLU()) is s
    assert isinstance(s[-1], nn.ReLU) and len(s) == 4
    s.insert(4, nn.Flatten())
    assert isinstance(s[4], nn.Flatten)
    s.insert(-1, nn.Tanh())
    assert [type(m).__name__ for m in s] == [
        "Sigmoid",
        "Tanh",
        "Linear",
        "ReLU",
        "Tanh",
        "Flatten",
    ]
    del s[1:3]
    assert [type(m).__name__ for m in s] == ["Sigmoid", "ReLU", "Tanh", "Flatten"]
    assert [n for n, _ in s.named_modules()] == ["", "0", "1", "2", "3"]


def test_sequential_type_and_index_errors():
    with pytest.raises(TypeError, match="Sequential takes Module objects, got int at 1"):
        nn.Sequential(nn.ReLU(), 3)
    s = _seq()
    with pytest.raises(TypeError, match="Sequential takes Module objects, got str"):
        s[0] = "relu"
    with pytest.raises(TypeError, match="Sequential takes Module objects, got function"):
        s.append(lambda x: x)
    with pytest.raises(TypeError, match="Sequential takes Module objects, got NoneType"):
        s.insert(0, None)
    with pytest.raises(IndexError, match="index 7 is out of range for Sequential of length 3"):
        s.insert(7, nn.ReLU())
    with pytest.raises(IndexError, match="index 5 is out of range"):
        del s[5]
    assert [type(m).__name__ for m in s] == ["Linear", "ReLU", "Linear"]


def test_sequential_forward_backward(rng):
    s = _seq().double()
    x = rng.normal(size=(4, 2))
    w1, b1, w2, b2 = (p.data for p in s.parameters())
    h = np.maximum(x @ w1.T + b1, 0)
    np.testing.assert_allclose(s(x), h @ w2.T + b2)
    dout = rng.normal(size=(4, 1))
    np.testing.assert_allclose(s.backward(dout), ((dout @ w2) * (h > 0)) @ w1)


def test_repr():
    assert repr(nn.Linear(2, 3)) == "Linear(in_features=2, out_features=3, bias=True)"
    assert repr(nn.Sequential(nn.ReLU())) == "Sequential(\n  (0): ReLU()\n)"


# ---------------------------------------------------------------- determinism
def test_same_seed_same_weights():
    a, b, c = nn.Linear(5, 4, seed=11), nn.Linear(5, 4, seed=11), nn.Linear(5, 4, seed=12)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, c.weight.data)
    gen = np.random.default_rng(11)
    d, e = nn.Linear(5, 4, seed=gen), nn.Linear(5, 4, seed=gen)  # a generator advances
    np.testing.assert_array_equal(d.weight.data, a.weight.data)
    assert not np.array_equal(d.weight.data, e.weight.data)


def test_manual_seed_controls_default_generator():
    nnprune.manual_seed(42)
    first = [nn.Linear(3, 3).weight.data.copy() for _ in range(2)]
    nnprune.manual_seed(42)
    second = [nn.Linear(3, 3).weight.data.copy() for _ in range(2)]
    for u, v in zip(first, second, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(first[0], first[1])


@pytest.mark.parametrize("seed", [-1, True, 1.5, "3"])
def test_bad_seeds(seed):
    with pytest.raises(
        ValueError, match="seed must be a non-negative integer or a numpy Generator"
    ):
        nnprune.rng.as_generator(seed)
    if not isinstance(seed, float | str):
        with pytest.raises(ValueError, match="seed must be a non-negative integer"):
            nnprune.manual_seed(seed)


def test_prunable_parameters_yields_qualified_name_module_attr_and_param():
    from nnprune.nn.module import PrunableParameter

    model = nn.Sequential(nn.Linear(4, 5, seed=0), nn.ReLU(), nn.Linear(5, 3, seed=1))
    got = list(model.prunable_parameters())
    assert [g.name for g in got] == ["0.weight", "2.weight"]
    assert all(isinstance(g, PrunableParameter) for g in got)
    assert got[1].module is model[2] and got[1].attr == "weight"
    assert got[1].param is model[2].weight
    model[0].weight.prunable = False
    assert [g.name for g in model.prunable_parameters()] == ["2.weight"]
