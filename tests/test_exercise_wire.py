"""The frames between grader and worker carry data only; descriptions name nnprune layers only."""

from __future__ import annotations

import io

import numpy as np
import pytest

from nnprune import nn
from nnprune.exercises import wire
from nnprune.exercises.remote import write_back


def _roundtrip(value):
    frame = wire.pack(value)
    return wire.unpack(frame[wire.HEADER.size :])


def test_data_round_trips_exactly():
    value = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "mask": np.array([True, False]),
        3: (1, 2.5, None, "x", float("nan"), 2**70, 1 + 2j),
        "s": np.float32(0.25),
        "nested": [slice(1, None, 2), Ellipsis, np.dtype("int16")],
    }
    back = _roundtrip(value)
    assert back["a"].dtype == np.float32 and np.array_equal(back["a"], value["a"])
    assert back["mask"].dtype == bool and back[3][:4] == (1, 2.5, None, "x")
    assert np.isnan(back[3][4]) and back[3][5] == 2**70 and back[3][6] == 1 + 2j
    assert isinstance(back["s"], np.float32) and back["nested"][0] == slice(1, None, 2)
    assert back["nested"][1] is Ellipsis and back["nested"][2] == np.dtype("int16")


def test_an_nnprune_model_travels_as_a_description():
    model = nn.Sequential(nn.Linear(3, 2, seed=0), nn.ReLU()).double()
    x = np.random.default_rng(0).normal(size=(4, 3))
    back = _roundtrip(model)
    assert type(back) is nn.Sequential and type(back[0]) is nn.Linear
    assert np.array_equal(back.forward(x), model.forward(x))
    gen = _roundtrip(np.random.default_rng(5))
    assert gen.normal() == np.random.default_rng(5).normal()


def test_anything_else_is_not_data():
    with pytest.raises(wire.WireError, match="is not data"):
        wire.pack({"f": print})
    with pytest.raises(wire.WireError, match="is not data"):
        wire.pack(np.array([object()], dtype=object))


@pytest.mark.parametrize(
    "cls",
    ["os:system", "subprocess:call", "nnprune.exercises.harness:CheckFailed",
     "nnprune.io:load", "builtins:eval", "nnprune.nn:Linear.__init__"],
)  # fmt: skip
def test_a_description_naming_other_code_is_refused(cls):
    arrays = {}
    tree = {"$": "obj", "cls": cls, "state": {"$": "dict", "k": [], "v": []}}
    with pytest.raises(wire.WireError, match="not an nnprune layer or parameter"):
        wire.Decoder(arrays).decode(tree)


def test_a_pickled_member_is_refused():
    buf = io.BytesIO()
    np.savez(buf, json=np.frombuffer(b'{"$": "arr", "i": 0}', np.uint8),
             a0=np.array([{"x": 1}], dtype=object))  # fmt: skip
    with pytest.raises(wire.WireError):
        wire.unpack(buf.getvalue())
    with pytest.raises(wire.WireError, match="not an .npz"):
        wire.unpack(b"PASS PASS PASS")


def test_write_back_updates_the_callers_objects_in_place():
    w = np.zeros(3)
    params = {"w": w, "gone": np.ones(1)}
    write_back(params, {"w": np.ones(3), "new": 1})
    assert params["w"] is w and np.array_equal(w, np.ones(3)) and set(params) == {"w", "new"}
    layer = nn.Linear(2, 2, seed=0)
    grad = layer.weight.grad
    changed = _roundtrip(layer)
    changed.weight.grad[...] = 7.0
    write_back(layer, changed)
    assert layer.weight.grad is grad and np.all(grad == 7.0)


def test_what_the_grader_sends_may_be_any_nnprune_object_but_it_rebuilds_layers_only():
    from nnprune.prune import L1Unstructured

    frame = wire.pack({"cls": nn.Linear, "method": L1Unstructured(0.5)}, broad=True)
    sent = wire.unpack(frame[wire.HEADER.size :], broad=True)  # as the worker reads it
    assert sent["cls"] is nn.Linear and isinstance(sent["method"], L1Unstructured)
    with pytest.raises(wire.WireError, match="not an nnprune layer or parameter"):
        wire.unpack(frame[wire.HEADER.size :])  # as the grader reads the worker's frames


def test_a_compressed_frame_is_refused_before_it_inflates():
    buf = io.BytesIO()
    np.savez_compressed(buf, json=np.frombuffer(b'{"$": "arr", "i": 0}', np.uint8),
                        a0=np.zeros(10**7))  # 80 MB of zeros in about 80 kB  # fmt: skip
    assert len(buf.getvalue()) < 10**6
    with pytest.raises(wire.WireError, match="compressed"):
        wire.unpack(buf.getvalue())


def test_subclasses_of_data_travel_as_the_plain_type():
    from collections import OrderedDict, namedtuple

    Pair = namedtuple("Pair", "a b")

    class Liar(np.ndarray):
        def __eq__(self, other):
            return True

    back = _roundtrip([Pair(1, 2), OrderedDict(x=1), {3, 4}, b"ab", np.zeros(2).view(Liar)])
    assert back[0] == (1, 2) and type(back[0]) is tuple
    assert type(back[1]) is dict and back[2] == {3, 4} and back[3] == b"ab"
    assert type(back[4]) is np.ndarray and not np.array_equal(back[4], np.ones(2))


def test_a_description_cannot_replace_a_method_or_hold_a_reference():
    model = nn.Sequential(nn.Linear(3, 2, seed=0))
    enc = wire.Encoder()
    tree = enc.encode(model)
    arrays = {f"a{i}": a for i, a in enumerate(enc.arrays)}
    forged = dict(tree)
    state = dict(forged["state"])
    state["k"] = state["k"] + ["num_parameters"]
    state["v"] = state["v"] + [545098]
    forged["state"] = state
    with pytest.raises(wire.WireError, match="may not replace Sequential.num_parameters"):
        wire.Decoder(arrays).decode(forged)
    # one of the student's objects inside a layer: the layer stays a reference, and a
    # description that holds a reference is refused
    model.student = object()
    node = wire.Encoder(ref=lambda v: {"$": "ref", "owner": "w", "id": 7}).encode(model)
    assert node["$"] == "ref"
    holder = {"$": "obj", "cls": tree["cls"],
              "state": {"$": "dict", "k": ["x"], "v": [{"$": "ref", "owner": "w", "id": 7}]}}
    with pytest.raises(wire.WireError):
        wire.Decoder({}, ref=lambda node: "a stand-in").decode(holder)
