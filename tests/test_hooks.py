"""Forward hooks and forward pre-hooks (``torch.nn.Module`` signatures)."""

from __future__ import annotations

import numpy as np
import pytest

from nnprune import nn


def _mlp() -> nn.Sequential:
    inner = nn.Sequential(nn.Linear(4, 5, seed=0), nn.ReLU())
    return nn.Sequential(inner, nn.Linear(5, 3, seed=1))


def _x() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)


def test_hook_on_a_nested_module_sees_its_input_and_output() -> None:
    model, x = _mlp(), _x()
    seen = []
    model[0][1].register_forward_hook(lambda m, args, out: seen.append((m, args, out.copy())))
    y = model(x)
    assert len(seen) == 1
    module, args, out = seen[0]
    assert module is model[0][1] and isinstance(args, tuple) and len(args) == 1
    np.testing.assert_array_equal(args[0], model[0][0].forward(x))  # what ReLU read
    np.testing.assert_array_equal(out, np.maximum(args[0], 0))
    np.testing.assert_allclose(y, model[1].forward(out), rtol=1e-6)


def test_handle_remove_stops_the_hook_and_a_second_remove_is_harmless() -> None:
    model, x = _mlp(), _x()
    calls = []
    handle = model[1].register_forward_hook(lambda m, a, o: calls.append(1))
    model(x)
    handle.remove()
    handle.remove()
    model(x)
    assert calls == [1]


def test_handle_is_a_context_manager() -> None:
    model, x = _mlp(), _x()
    calls = []
    with model[0].register_forward_hook(lambda m, a, o: calls.append(1)):
        model(x)
    model(x)
    assert calls == [1]


def test_a_hook_may_replace_the_output() -> None:
    model, x = _mlp(), _x()
    model[0].register_forward_hook(lambda m, args, out: np.zeros_like(out))
    np.testing.assert_allclose(model(x), np.broadcast_to(model[1].bias.data, (6, 3)))


def test_hooks_run_in_registration_order_each_seeing_the_last_output() -> None:
    layer, x = nn.Linear(4, 2, seed=0), _x()
    order = []
    layer.register_forward_hook(lambda m, a, o: order.append("first") or o + 1)
    layer.register_forward_hook(lambda m, a, o: order.append("second") or o * 2)
    np.testing.assert_allclose(layer(x), (layer.forward(x) + 1) * 2, rtol=1e-6)
    assert order == ["first", "second"]


def test_pre_hook_may_replace_the_input_with_one_value_or_a_tuple() -> None:
    layer, x = nn.Linear(4, 2, seed=0), _x()
    handle = layer.register_forward_pre_hook(lambda m, args: args[0] * 0)
    np.testing.assert_allclose(layer(x), np.broadcast_to(layer.bias.data, (6, 2)))
    handle.remove()
    layer.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    np.testing.assert_allclose(layer(x), layer.forward(2 * x), rtol=1e-6)


def test_calling_forward_directly_runs_no_hook() -> None:
    layer, calls = nn.Linear(4, 2, seed=0), []
    layer.register_forward_hook(lambda m, a, o: calls.append(1))
    layer.forward(_x())
    assert calls == []


def test_hooks_fire_inside_attention_and_transformer_layers() -> None:
    enc = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, seed=0)
    x = np.random.default_rng(1).normal(size=(2, 3, 8))
    names = []
    for name, module in enc.named_modules():
        if name:
            module.register_forward_hook(lambda m, a, o, name=name: names.append(name))
    enc(x)
    assert {"self_attn", "self_attn.q_proj", "self_attn.out_proj", "linear1", "linear2"} <= set(
        names
    )


def test_non_callable_hook_is_refused() -> None:
    with pytest.raises(TypeError, match="hook must be callable, got int"):
        nn.ReLU().register_forward_hook(3)
    with pytest.raises(TypeError, match="hook must be callable, got str"):
        nn.ReLU().register_forward_pre_hook("f")
