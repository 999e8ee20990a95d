r"""The grader's side of a student's worker: stand-ins for the student's functions and objects.

The grading process never imports a student's file. :class:`Session` starts
:mod:`nnprune.exercises.worker` in a child process (time and memory limits, its output to
a file) and talks to it over two pipes in frames of data (:mod:`nnprune.exercises.wire`)
that carry a random token chosen for this run. :func:`nnprune.exercises.harness.function`
returns a :class:`RemoteObject`: calling it sends the arguments (copies, as data) to the
worker, which calls the student's function and sends back the result, as data again.
Checks therefore compare in the grading process, with the grader's own NumPy, and nothing
the student's code does (patching ``np.allclose``, replacing ``harness.compare``, writing
"PASS" somewhere, exiting early) can reach a verdict.

What crosses, each way:

* data: numbers, strings, arrays, lists/tuples/dicts of them;
* nnprune layers and parameters (``Sequential``, ``Linear``, ``Parameter``, ...): by a
  description of their attributes, rebuilt on the other side (a model the student
  builds is a real nnprune model in the grader; a model a check passes is a real one in
  the worker, and what the student's code changes in it is written back);
* a function of the check (e.g. ``grad_fn`` for a training loop): the student's code gets
  a stand-in that asks the grader to call it, with data;
* any other object of the student (an instance of the student's own class, an
  iterator): it stays in the worker, and the grader gets a :class:`RemoteObject` whose
  attributes, calls, items and iteration are requests to the worker.

A student's exception comes back as :class:`StudentError` (also an instance of the
built-in exception type it had, e.g. ``ValueError``, so checks can catch it as before).
A worker that exits, hangs past the time limit or sends anything but a well-formed frame
with the token ends the session with :class:`WorkerGone`, which checks cannot catch by
``except Exception``: the check is a FAIL.
"""

from __future__ import annotations

import builtins
import os
import secrets
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from . import wire
from .verdicts import CheckFailed


class WorkerGone(BaseException):  # noqa: N818 - the end of a session, like SystemExit
    """The worker ended, hung past the time limit or broke the protocol."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # "timeout", "exit" or "protocol"
        self.message = message


class StudentError(Exception):
    """An exception raised by the student's code, as text (type, message, the student's frames)."""

    def __init__(self, info: dict) -> None:
        self.info = info
        self.type_name = str(info.get("type", "Exception"))
        self.text = str(info.get("text", ""))
        self.frames = [str(x) for x in info.get("frames", [])]
        self.kind = str(info.get("kind", "other"))
        super().__init__(self.text)

    def __str__(self) -> str:
        return self.text


_MIXED: dict[type, type] = {}


def student_error(info: dict) -> StudentError:
    """A :class:`StudentError`, also of the built-in exception type the student's code raised."""
    base = getattr(builtins, str(info.get("type")), None) if info.get("builtin") else None
    ok = (
        isinstance(base, type)
        and issubclass(base, Exception)
        and not issubclass(base, StopIteration | StopAsyncIteration)
        and base.__name__ not in ("ExceptionGroup", "BaseExceptionGroup")
    )
    if not ok:
        return StudentError(info)
    if base not in _MIXED:
        _MIXED[base] = type(f"Student{base.__name__}", (StudentError, base), {})
    try:
        return _MIXED[base](info)
    except TypeError:  # a built-in whose __init__ wants other arguments
        return StudentError(info)


def _root() -> str:
    """The folder holding the ``nnprune`` package, for the worker's ``PYTHONPATH``."""
    return str(Path(__file__).resolve().parents[2])


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_root(), env.get("PYTHONPATH")) if p)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")  # one exercise, one core: classes grade in parallel
    env["MPLBACKEND"] = "Agg"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the student's folder
    return env


class Session:
    """One worker process for one student file, with a deadline for all of its requests."""

    def __init__(
        self, timeout: float, memory_mb: int, output: Path, cwd: Path, max_frame_mb: int = 256
    ) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.max_frame = max_frame_mb * 1024 * 1024
        self.token = secrets.token_hex(16)
        self.callbacks: dict[int, Any] = {}
        self.notes: list[str] = []
        self.warnings: list[str] = []  # what the student's code warned during this check
        self.failure: BaseException | None = None  # a CheckFailed raised inside a callback
        self.gone: WorkerGone | None = None
        r_in, w_in = os.pipe()  # grader -> worker
        r_out, w_out = os.pipe()  # worker -> grader
        command = [sys.executable, "-m", "nnprune.exercises.worker", str(r_in), str(w_out),
                   str(int(memory_mb))]  # fmt: skip
        self._out = open(output, "wb")  # noqa: SIM115 - closed in close()
        try:
            self.proc = subprocess.Popen(
                command,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._out,
                stderr=subprocess.STDOUT,
                env=_child_env(),
                pass_fds=(r_in, w_out),
                start_new_session=os.name == "posix",
            )
        finally:
            os.close(r_in)
            os.close(w_out)
        self.fd_out, self.fd_in = w_in, r_out
        self.request({"op": "hello", "token": self.token})

    # ------------------------------------------------------------------ process
    def kill(self) -> None:
        if self.proc.poll() is None:
            if os.name == "posix":
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)  # the worker and its children
                except ProcessLookupError:
                    pass
            else:
                self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        for fd in (self.fd_out, self.fd_in):
            try:
                os.close(fd)
            except OSError:
                pass
        self.kill()
        self._out.close()

    def _end(self, reason: str, message: str) -> WorkerGone:
        self.kill()
        self.gone = WorkerGone(reason, message)
        return self.gone

    def _wait(self) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0 or not select.select([self.fd_in], [], [], left)[0]:
            raise self._end("timeout", f"time limit: still running after {self.timeout:g} s "
                                       "(an endless loop?)")  # fmt: skip

    # ------------------------------------------------------------------ frames
    def _ref(self, value: Any) -> dict:
        if isinstance(value, RemoteObject) and object.__getattribute__(value, "_session") is self:
            return {"$": "ref", "owner": "w", "id": object.__getattribute__(value, "_id")}
        if callable(value) and not isinstance(value, type):
            oid = len(self.callbacks) + 1
            self.callbacks[oid] = value
            return {"$": "ref", "owner": "g", "id": oid,
                    "name": str(getattr(value, "__name__", "a function"))[:100]}  # fmt: skip
        raise wire.WireError(f"a check cannot pass a {type(value).__name__} to the student's code")

    def _unref(self, node: dict) -> Any:
        if node.get("owner") != "w" or not isinstance(node.get("id"), int):
            raise wire.WireError("the worker sent a reference it does not own")
        return RemoteObject(self, node)

    def _send(self, message: dict) -> None:
        frame = wire.pack(message, self._ref, broad=True)
        try:
            wire.write_frame(self.fd_out, frame)
        except (BrokenPipeError, OSError):
            raise self._gone_message() from None

    def _gone_message(self) -> WorkerGone:
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        return self._end("exit", f"the check process ended with exit code {code} during this "
                                 "check (your code ended the process)")  # fmt: skip

    def _receive(self) -> dict:
        try:
            body = wire.read_frame(self.fd_in, self.max_frame, self._wait)
        except EOFError:
            raise self._gone_message() from None
        except wire.WireError as exc:
            raise self._end("protocol", f"the check process sent something that is not an "
                                        f"answer ({exc})") from None  # fmt: skip
        try:
            message = wire.unpack(body, self._unref)
        except (wire.WireError, ValueError, TypeError, RecursionError) as exc:
            raise self._end("protocol", f"the check process sent something that is not an "
                                        f"answer ({exc})") from None  # fmt: skip
        if not isinstance(message, dict) or message.get("token") != self.token:
            raise self._end("protocol", "the check process sent an answer without this run's "
                                        "token")  # fmt: skip
        return message

    def request(self, message: dict) -> Any:
        """Send ``message``; serve the worker's calls of grader functions; return the reply."""
        if self.gone is not None:
            raise self.gone
        self._send(message)
        while True:
            reply = self._receive()
            if reply.get("op") == "callback":
                self._callback(reply)
                continue
            if "error" in reply:
                info = reply["error"]
                if not isinstance(info, dict):
                    info = {"type": "Exception", "text": str(info)}
                raise student_error(info)
            if "reply" not in reply:
                raise self._end("protocol", "the check process sent an answer without a reply")
            return reply["reply"]

    def _callback(self, message: dict) -> None:
        fn = self.callbacks.get(message.get("id"))  # type: ignore[arg-type]
        args, kwargs = message.get("args", []), message.get("kwargs", {})
        if fn is None or not isinstance(args, list) or not isinstance(kwargs, dict):
            self._send({"error": "no such function"})
            return
        try:
            value = fn(*args, **{str(k): v for k, v in kwargs.items()})
        except Exception as exc:  # noqa: BLE001 - the check's own failure, told to the student
            if isinstance(exc, CheckFailed) and self.failure is None:
                self.failure = exc
            self._send({"error": f"{type(exc).__name__}: {exc}"})
            return
        self._send({"reply": value})

    # ------------------------------------------------------------------ the student's module
    def load(self, path: str, name: str) -> RemoteObject:
        """Import the student's file in the worker; the module's stand-in."""
        self.request({"op": "load", "path": path, "name": name})
        return RemoteObject(self, {"id": 0, "callable": False, "type": "module", "mro": []})


def write_back(old: Any, new: Any) -> Any:
    """Make ``old`` equal ``new`` in place where it can (arrays, dicts, lists, nnprune objects).

    Returns what the caller should hold afterwards: ``old`` when updated in place, else ``new``.
    """
    if isinstance(old, np.ndarray) and isinstance(new, np.ndarray):
        if old.shape == new.shape and old.flags.writeable:
            try:
                old[...] = new
                return old
            except (TypeError, ValueError):
                return new
        return new
    if type(old) is dict and type(new) is dict:
        for key in list(old):
            if key not in new:
                del old[key]
        for key, value in new.items():
            old[key] = write_back(old[key], value) if key in old else value
        return old
    if type(old) is list and type(new) is list:
        if len(old) == len(new):
            old[:] = [write_back(a, b) for a, b in zip(old, new, strict=True)]
        else:
            old[:] = new
        return old
    if wire.describable(old) and type(new) is type(old):
        mine, theirs = old.__dict__, new.__dict__
        for key in list(mine):
            if key not in theirs:
                del mine[key]
        for key, value in theirs.items():
            mine[key] = write_back(mine[key], value) if key in mine else value
        return old
    return new


class RemoteObject:
    """A stand-in for an object that lives in the student's worker process."""

    __slots__ = ("_session", "_id", "_info", "_keep", "_label")

    def __init__(self, session: Session, node: dict) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_id", node["id"])
        object.__setattr__(self, "_info", node)
        object.__setattr__(self, "_keep", False)
        object.__setattr__(self, "_label", str(node.get("type", "object")))

    def _ask(self, op: str, **fields: Any) -> Any:
        session = object.__getattribute__(self, "_session")
        return session.request({"op": op, "id": object.__getattribute__(self, "_id"), **fields})

    @property
    def remote_callable(self) -> bool:
        """Whether the student's object is callable (a function or a class)."""
        return bool(object.__getattribute__(self, "_info").get("callable"))

    @property
    def remote_type(self) -> str:
        """The name of the student's object's type."""
        return str(object.__getattribute__(self, "_info").get("type", "object"))

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # noqa: D105 - isinstance(x, Module) for a student's layer
        for path in object.__getattribute__(self, "_info").get("mro", []):
            cls = wire._allowed_class(str(path))
            if cls is not None:
                return cls
        return RemoteObject

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # NumPy's __array__ & co. are looked up, never asked
        try:
            return self._ask("getattr", name=name)
        except StudentError as exc:
            if exc.type_name == "AttributeError":
                raise AttributeError(exc.text) from None
            raise

    def __setattr__(self, name: str, value: Any) -> None:
        self._ask("setattr", name=name, value=value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        reply = self._ask("call", args=list(args), kwargs=kwargs)
        session = object.__getattribute__(self, "_session")
        if session.failure is not None:
            failure, session.failure = session.failure, None
            raise failure
        if isinstance(reply, dict) and isinstance(reply.get("warnings"), list):
            session.warnings += [str(w) for w in reply["warnings"]]
        changed = reply.get("changed", []) if isinstance(reply, dict) else []
        label = object.__getattribute__(self, "_label")
        for change in changed:
            where, what = change.get("arg"), str(change.get("label"))
            old = args[where] if isinstance(where, int) and where < len(args) else kwargs.get(
                str(where))  # fmt: skip
            write_back(old, change.get("value"))
            if object.__getattribute__(self, "_keep"):
                raise CheckFailed(
                    f"{label} wrote into its input `{what}`, which the task forbids",
                    f"work on copies (`{what} = {what}.copy()`, or new arrays: "
                    f"`w - lr * g`, not `w -= lr * g`): the caller still needs its `{what}`",
                )
            session.notes.append(
                f"note: {label} wrote into its input `{what}` (it was given a copy here; a "
                "caller's data would have changed)"
            )
        return reply.get("value") if isinstance(reply, dict) else reply

    def __getitem__(self, key: Any) -> Any:
        return self._ask("getitem", key=key)

    def __len__(self) -> int:
        return int(self._ask("len"))

    def __iter__(self) -> Any:
        it = self._ask("iter")
        while True:
            step = it._ask("next")
            if step["stop"]:
                return
            yield step["value"]

    def __repr__(self) -> str:
        return f"<your {self.remote_type} object>"


def label_function(obj: RemoteObject, name: str, keep_inputs: bool) -> RemoteObject:
    """Name ``obj`` ``name`` in messages; ``keep_inputs``: writing into an argument FAILs."""
    object.__setattr__(obj, "_label", name)
    object.__setattr__(obj, "_keep", bool(keep_inputs))
    return obj
