r"""The student's side of grading: a process that runs the student's code and returns data only.

``python -m nnprune.exercises.worker IN_FD OUT_FD [MEMORY_MB]`` is started by the grader
(:mod:`nnprune.exercises.remote`) with two pipes. It imports the student's file when
asked and then answers requests (get a function, call it with these arguments, read an
attribute of an object it returned) with frames of data (:mod:`nnprune.exercises.wire`).
It never sees a check, a reference answer or a verdict: every comparison runs in the
grading process, which never imports the student's file. Whatever the student prints
goes to this process's stdout, a file the grader shows under the report.

A call's reply also says which of its arguments the student's code changed (the grader
reports writes to inputs), and a student's exception comes back as text with the
traceback lines of the student's own file only.
"""

from __future__ import annotations

import builtins
import importlib.util
import inspect
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from . import wire

MAX_FRAME = 1 << 31


def student_frames(exc: BaseException, filename: str) -> list[str]:
    """The traceback lines of ``exc`` that lie in the student's file (``filename``)."""
    target = os.path.realpath(filename)
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.realpath(frame.filename) == target:
            lines.append(
                f'File "{Path(frame.filename).name}", line {frame.lineno}, in {frame.name}'
            )
            if frame.line:
                lines.append(f"  {frame.line.strip()}")
    return lines


def error_info(exc: BaseException, filename: str) -> dict[str, Any]:
    """A student's exception as data: its type's name, text and the student's frames."""
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a student's __str__ may fail too
        text = "(no message)"
    if len(text) > 2000:
        text = text[:2000] + " ..."
    cls = type(exc)
    builtin = cls.__module__ == "builtins" and getattr(builtins, cls.__name__, None) is cls
    return {
        "type": cls.__name__ if builtin else f"{cls.__module__}.{cls.__qualname__}"[:200],
        "builtin": builtin,
        "text": text,
        "frames": student_frames(exc, filename),
        "kind": "notimpl"
        if isinstance(exc, NotImplementedError)
        else "memory"
        if isinstance(exc, MemoryError)
        else "other",
    }


def _labels(fn: Any, args: tuple, kwargs: dict) -> list[str]:
    """The parameter names the positional arguments bind to (``argument 1`` when unknown)."""
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
        names = list(bound.arguments)
    except (TypeError, ValueError):
        names = []
    return [names[i] if i < len(names) else f"argument {i + 1}" for i in range(len(args))]


def _snapshot(value: Any) -> tuple[Any, list[np.ndarray]]:
    """A copy of ``value``'s data to tell later whether the student's code changed it."""
    enc = wire.Encoder(ref=lambda v: {"$": "same", "id": id(v)})
    try:
        tree = enc.encode(value)
    except (wire.WireError, RecursionError):
        return None, []
    return tree, [a.copy() for a in enc.arrays]


def _changed(before: tuple[Any, list[np.ndarray]], value: Any) -> bool:
    tree, arrays = before
    if tree is None:
        return False
    after = _snapshot(value)
    if after[0] != tree or len(after[1]) != len(arrays):
        return True
    return any(
        a.shape != b.shape or a.dtype != b.dtype or not np.array_equal(a, b, equal_nan=True)
        for a, b in zip(arrays, after[1], strict=True)
    )


class Worker:
    """Answer the grader's requests on the pipes ``fd_in`` / ``fd_out``."""

    def __init__(self, fd_in: int, fd_out: int) -> None:
        self.fd_in, self.fd_out = fd_in, fd_out
        self.token = ""
        self.path = ""
        self.objects: dict[int, Any] = {}
        self.next_id = 1

    # ------------------------------------------------------------------ encoding
    def _ref(self, value: Any) -> dict:
        oid = self.next_id
        self.next_id += 1
        self.objects[oid] = value
        mro = [wire.class_path(c) for c in type(value).__mro__]
        return {"$": "ref", "owner": "w", "id": oid, "callable": callable(value),
                "type": type(value).__name__[:100], "mro": mro[:50]}  # fmt: skip

    def _unref(self, node: dict) -> Any:
        oid = node.get("id")
        if node.get("owner") == "w":
            if oid not in self.objects:
                raise wire.WireError(f"no object {oid!r} here")
            return self.objects[oid]
        if node.get("owner") == "g" and isinstance(oid, int):
            return GraderFunction(self, oid, str(node.get("name", "a function")))
        raise wire.WireError("a reference of an unknown owner")

    def send(self, message: dict) -> None:
        message["token"] = self.token
        try:
            frame = wire.pack(message, self._ref)
        except (wire.WireError, RecursionError, ValueError) as exc:
            frame = wire.pack({"token": self.token, "error": {
                "type": "ValueError", "builtin": True, "frames": [], "kind": "other",
                "text": f"your answer cannot be sent to the grader: {exc}"}})  # fmt: skip
        wire.write_frame(self.fd_out, frame)

    def receive(self) -> dict:
        message = wire.unpack(wire.read_frame(self.fd_in, MAX_FRAME), self._unref, broad=True)
        if not isinstance(message, dict):
            raise wire.WireError("a request that is not a dict")
        return message

    # ------------------------------------------------------------------ requests
    def serve(self) -> None:
        """Answer requests until the grader closes the pipe."""
        while True:
            try:
                message = self.receive()
            except EOFError:
                return
            self.answer(message)

    def wait_reply(self) -> Any:
        """Serve requests until the reply to our own request (a call of a grader function)."""
        while True:
            message = self.receive()
            if "op" in message:
                self.answer(message)
                continue
            if "error" in message:
                raise RuntimeError(str(message["error"]))
            return message.get("reply")

    def answer(self, message: dict) -> None:
        op = message.get("op")
        try:
            reply = self.handle(op, message)
        except BaseException as exc:  # noqa: BLE001 - everything the student's code raises
            if isinstance(exc, wire.WireError | EOFError):
                raise
            self.send({"error": error_info(exc, self.path)})
            return
        self.send({"reply": reply})

    def handle(self, op: Any, m: dict) -> Any:
        if op == "hello":
            self.token = str(m.get("token", ""))
            return "ready"
        if op == "load":
            self.path = str(m["path"])
            self.objects[0] = load_student(self.path, str(m["name"]))
            return True
        obj = self.objects[m["id"]] if "id" in m else None
        if op == "getattr":
            return getattr(obj, str(m["name"]))
        if op == "setattr":
            setattr(obj, str(m["name"]), m["value"])
            return None
        if op == "getitem":
            return obj[m["key"]]
        if op == "len":
            return len(obj)
        if op == "iter":
            return iter(obj)
        if op == "next":
            try:
                return {"value": next(obj), "stop": False}
            except StopIteration:
                return {"value": None, "stop": True}
        if op == "call":
            args, kwargs = tuple(m.get("args", ())), dict(m.get("kwargs", {}))
            before = [_snapshot(a) for a in args], {k: _snapshot(v) for k, v in kwargs.items()}
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with np.errstate(over="warn", divide="warn", invalid="warn"):
                    value = obj(*args, **kwargs)
            seen = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
            labels = _labels(obj, args, kwargs)
            changed = [
                {"arg": i, "label": labels[i], "value": a}
                for i, a in enumerate(args)
                if _changed(before[0][i], a)
            ]
            changed += [
                {"arg": k, "label": k, "value": v}
                for k, v in kwargs.items()
                if _changed(before[1][k], v)
            ]
            return {"value": value, "changed": changed, "warnings": [w[:300] for w in seen[:10]]}
        raise ValueError(f"unknown request {op!r}")


class GraderFunction:
    """A function of the grader's that the student's code may call (with data)."""

    def __init__(self, worker: Worker, oid: int, name: str) -> None:
        self._worker, self._id, self.__name__ = worker, oid, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._worker.send({"op": "callback", "id": self._id, "args": list(args),
                           "kwargs": kwargs})  # fmt: skip
        return self._worker.wait_reply()

    def __repr__(self) -> str:
        return f"<function {self.__name__}>"


def load_student(path: str, name: str) -> Any:
    """Import the student's file as a fresh module."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def limit_memory(megabytes: int) -> None:
    """The address-space limit of this process (POSIX only)."""
    try:
        import resource
    except ImportError:  # Windows: no limit
        return
    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def run_checks(exercise: Any, path: str, emit: Any = None) -> list:
    """Grade ``path`` (kept for older callers): see :func:`nnprune.exercises.grader.run_checks`."""
    from .grader import run_checks as grade_file

    return grade_file(exercise, path)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process: ``IN_FD OUT_FD [MEMORY_MB]``."""
    args = sys.argv[1:] if argv is None else argv
    fd_in, fd_out = int(args[0]), int(args[1])
    if len(args) > 2 and int(args[2]) > 0:
        limit_memory(int(args[2]))
    import nnprune.nn  # noqa: F401 - before the student's file: descriptions name its classes

    Worker(fd_in, fd_out).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
