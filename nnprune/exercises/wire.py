r"""The data that travels between the grader and the student's worker process, and its framing.

Only data crosses: ``None``, bools, ints, floats, complex numbers, strings, bytes, NumPy
arrays (not of dtype object) and NumPy scalars, and lists, tuples, sets and dicts of them
(a subclass, such as a namedtuple or an ndarray subclass, arrives as the plain type). A
frame is an 8-byte length, then an ``.npz`` archive (stored, not compressed) read with
``allow_pickle=False``: its member ``"json"`` holds the structure (a JSON tree whose tagged
nodes ``{"$": ...}`` point at the archive's other members, the arrays). Nothing in a frame
is ever unpickled or executed.

More node kinds refer to objects instead of copying them:

``{"$": "obj", "cls": ..., "state": ...}`` (and ``{"$": "cls", "cls": ...}``, the class)
    an instance of an nnprune class given as its class's dotted name and its attributes
    (data). The receiver rebuilds it with ``cls.__new__(cls)``. The grader rebuilds only
    subclasses of :class:`~nnprune.nn.Module` and :class:`~nnprune.nn.Parameter` defined
    inside nnprune (never in ``nnprune.exercises``), so a description from the student's
    side can name no other code; the worker also accepts other nnprune classes (a pruning
    method, a data set) that a check sends.
``{"$": "rng", "state": ...}``
    a :class:`numpy.random.Generator`, by its bit generator's name and state.
``{"$": "ref", "id": n, ...}``
    an object that stays in the process that owns it (a student's own class, a
    generator; or a function of the grader's that the student's code may call); the
    other side gets a stand-in whose use becomes a request to the owner.
"""

from __future__ import annotations

import inspect
import io
import json
import os
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

HEADER = struct.Struct("<Q")
MAX_DEPTH = 64


class WireError(ValueError):
    """A frame that is not well-formed data."""


def _allowed_class(path: str, broad: bool = False) -> type | None:
    """The nnprune Module/Parameter subclass named ``path`` ("pkg.mod:Qual"), else None.

    ``broad``: any class defined in nnprune (outside ``nnprune.exercises``), for what the
    grader sends to the worker (a data set, a pruning method); the grader itself rebuilds
    layers and parameters only.
    """
    import importlib

    from ..nn import Module, Parameter

    module, _, qual = path.partition(":")
    if not module.startswith("nnprune.") or module.startswith("nnprune.exercises"):
        return None
    try:
        obj: Any = importlib.import_module(module)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    if not isinstance(obj, type) or class_path(obj) != path:
        return None
    if issubclass(obj, Module | Parameter) or (broad and hasattr(obj, "__dict__")):
        return obj
    return None


def class_path(cls: type) -> str:
    """``"module:QualName"`` of ``cls``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def describable(value: Any, broad: bool = False) -> bool:
    """Whether ``value`` is an nnprune object that travels as a description."""
    cls = type(value)
    if not cls.__module__.startswith("nnprune.") or not hasattr(value, "__dict__"):
        return False
    return _allowed_class(class_path(cls), broad) is cls


class Encoder:
    """Turn a value into (JSON tree, arrays); ``ref`` is called for what is not data."""

    def __init__(self, ref: Callable[[Any], dict] | None = None, broad: bool = False) -> None:
        self.arrays: list[np.ndarray] = []
        self.ref = ref
        self.broad = broad

    def _array(self, arr: np.ndarray, tag: str) -> dict:
        self.arrays.append(arr)
        return {"$": tag, "i": len(self.arrays) - 1}

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"a value nested deeper than {MAX_DEPTH} levels")
        if value is None or isinstance(value, bool | str):
            return value
        # subclasses of the data types travel as the plain type: only the data crosses
        if isinstance(value, np.generic) and not isinstance(value, np.object_):
            return self._array(np.asarray(value), "scalar")
        if isinstance(value, int):
            value = int(value)
            return value if abs(value) < 2**63 else {"$": "bigint", "v": str(value)}
        if isinstance(value, float):
            value = float(value)
            return value if np.isfinite(value) else {"$": "float", "v": repr(value)}
        if isinstance(value, complex):
            value = complex(value)
            return {"$": "complex", "re": repr(value.real), "im": repr(value.imag)}
        if isinstance(value, str):
            return str(value)
        if isinstance(value, bytes):
            return {
                "$": "bytes",
                "i": self._array(np.frombuffer(bytes(value), np.uint8), "arr")["i"],
            }
        if isinstance(value, np.ndarray):
            plain = np.asarray(value).view(np.ndarray)
            if not plain.dtype.hasobject:
                return self._array(np.ascontiguousarray(plain), "arr")
        elif isinstance(value, list | tuple | set | frozenset):
            items = [self.encode(v, depth + 1) for v in list(value)]
            tag = "tuple" if isinstance(value, tuple) else "list" if isinstance(value, list) else (
                "set")  # fmt: skip
            return {"$": tag, "v": items}
        elif isinstance(value, dict):
            pairs = list(dict.items(value))
            return {
                "$": "dict",
                "k": [self.encode(k, depth + 1) for k, _ in pairs],
                "v": [self.encode(v, depth + 1) for _, v in pairs],
            }
        elif type(value) is slice:
            parts = (value.start, value.stop, value.step)
            return {"$": "slice", "v": [self.encode(v, depth + 1) for v in parts]}
        elif value is Ellipsis:
            return {"$": "ellipsis"}
        elif isinstance(value, np.dtype):
            return {"$": "dtype", "v": value.str}
        elif type(value) is np.random.Generator:
            bits = value.bit_generator
            return {"$": "rng", "name": type(bits).__name__,
                    "state": self.encode(bits.state, depth + 1)}  # fmt: skip
        elif isinstance(value, type) and _allowed_class(class_path(value), self.broad):
            return {"$": "cls", "cls": class_path(value)}
        elif describable(value, self.broad):
            # all data, or not described at all: an nnprune object that holds one of the
            # student's objects stays where it is (a reference), as the student's own do
            state, ref, mark = dict(vars(value)), self.ref, len(self.arrays)
            self.ref = None
            try:
                tree = self.encode(state, depth + 1)
            except WireError:
                del self.arrays[mark:]
                tree = None
            finally:
                self.ref = ref
            if tree is not None:
                return {"$": "obj", "cls": class_path(type(value)), "state": tree}
        if self.ref is None:
            raise WireError(f"a {type(value).__name__} is not data")
        return self.ref(value)


class Decoder:
    """Rebuild a value from (JSON tree, arrays); ``ref`` turns a ``ref`` node into a stand-in."""

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        ref: Callable[[dict], Any] | None = None,
        broad: bool = False,
    ) -> None:
        self.arrays = arrays
        self.ref = ref
        self.broad = broad

    def decode(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"a value nested deeper than {MAX_DEPTH} levels")
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            raise WireError("an untagged list in a frame")
        if not isinstance(node, dict) or not isinstance(node.get("$"), str):
            raise WireError("an untagged value in a frame")
        tag = node["$"]
        if tag in ("arr", "scalar"):
            arr = self.arrays.get(f"a{node.get('i')}")
            if arr is None:
                raise WireError("a frame points at an array it does not hold")
            return arr[()] if tag == "scalar" else arr
        if tag in ("list", "tuple", "set"):
            items = [self.decode(v, depth + 1) for v in _list(node, "v")]
            if tag == "set":
                try:
                    return set(items)
                except TypeError:
                    raise WireError("a set with items that are not hashable data") from None
            return items if tag == "list" else tuple(items)
        if tag == "bytes":
            arr = self.arrays.get(f"a{node.get('i')}")
            if arr is None or arr.dtype != np.uint8:
                raise WireError("a bytes node without its uint8 array")
            return arr.tobytes()
        if tag == "dict":
            keys = [self.decode(k, depth + 1) for k in _list(node, "k")]
            values = [self.decode(v, depth + 1) for v in _list(node, "v")]
            try:
                return dict(zip(keys, values, strict=True))
            except (TypeError, ValueError):
                raise WireError("a dict with keys that are not hashable data") from None
        if tag == "bigint":
            return int(str(node.get("v")))
        if tag == "float":
            return float(str(node.get("v")))
        if tag == "complex":
            return complex(float(str(node.get("re"))), float(str(node.get("im"))))
        if tag == "slice":
            return slice(*[self.decode(v, depth + 1) for v in _list(node, "v")][:3])
        if tag == "ellipsis":
            return Ellipsis
        if tag == "dtype":
            return np.dtype(str(node.get("v")))
        if tag == "rng":
            name = str(node.get("name"))
            if name not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
                raise WireError(f"unknown bit generator {name!r}")
            bits = getattr(np.random, name)()
            bits.state = self.decode(node.get("state"), depth + 1)
            return np.random.Generator(bits)
        if tag == "cls":
            cls = _allowed_class(str(node.get("cls")), self.broad)
            if cls is None:
                raise WireError(f"{node.get('cls')!r} is not an nnprune layer or parameter")
            return cls
        if tag == "obj":
            cls = _allowed_class(str(node.get("cls")), self.broad)
            if cls is None:
                raise WireError(f"{node.get('cls')!r} is not an nnprune layer or parameter")
            ref, self.ref = self.ref, None  # a description is data all the way down
            try:
                state = self.decode(node.get("state"), depth + 1)
            finally:
                self.ref = ref
            if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
                raise WireError("an object's state must be a dict with str keys")
            for key in state:  # data may not stand in for a method or a property
                if hasattr(type(inspect.getattr_static(cls, key, None)), "__get__"):
                    raise WireError(f"an object's state may not replace {cls.__name__}.{key}")
            obj = cls.__new__(cls)
            obj.__dict__.update(state)
            return obj
        if tag == "ref" and self.ref is not None:
            return self.ref(node)
        raise WireError(f"unknown node {tag!r} in a frame")


def _list(node: dict, key: str) -> list:
    value = node.get(key)
    if not isinstance(value, list):
        raise WireError(f"a {node['$']} node without its {key!r} list")
    return value


def pack(message: Any, ref: Callable[[Any], dict] | None = None, broad: bool = False) -> bytes:
    """``message`` as one frame (length header included)."""
    enc = Encoder(ref, broad)
    tree = enc.encode(message)
    members = {f"a{i}": a for i, a in enumerate(enc.arrays)}
    members["json"] = np.frombuffer(json.dumps(tree).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **members)
    body = buf.getvalue()
    return HEADER.pack(len(body)) + body


def unpack(body: bytes, ref: Callable[[dict], Any] | None = None, broad: bool = False) -> Any:
    """The message of one frame's body (without its length header)."""
    _stored_only(body)
    try:
        with np.load(io.BytesIO(body), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as exc:  # noqa: BLE001 - any malformed archive is a bad frame
        raise WireError(f"a frame that is not an .npz archive ({type(exc).__name__})") from None
    raw = arrays.pop("json", None)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise WireError("a frame without its json member")
    try:
        tree = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WireError("a frame whose json member does not parse") from None
    return Decoder(arrays, ref, broad).decode(tree)


def _stored_only(body: bytes) -> None:
    """Refuse an archive with compressed members: a small frame must not inflate."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise WireError("a frame that is not an .npz archive (BadZipFile)") from None
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(body):
            raise WireError(f"a frame whose member {info.filename!r} is compressed")


def write_frame(fd: int, frame: bytes) -> None:
    """Write all of ``frame`` to the file descriptor ``fd``."""
    view = memoryview(frame)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exact(fd: int, n: int, wait: Callable[[], None] | None = None) -> bytes:
    """``n`` bytes from ``fd``; ``wait()`` runs before each read; EOF raises EOFError."""
    chunks, left = [], n
    while left:
        if wait is not None:
            wait()
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, max_bytes: int, wait: Callable[[], None] | None = None) -> bytes:
    """The body of the next frame on ``fd`` (at most ``max_bytes``)."""
    (size,) = HEADER.unpack(read_exact(fd, HEADER.size, wait))
    if size > max_bytes:
        raise WireError(f"a frame of {size} bytes (the limit is {max_bytes})")
    return read_exact(fd, size, wait)
