"""Adapters that fail on purpose, for the reliability tests (registered by fixtures only).

They live in a module of their own so that spawned worker processes can import them.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from nnprune import prune
from nnprune.experiments import methods as methods_module
from nnprune.experiments.methods import register

NAMES = ("fails", "dies", "sleeps")


def fails(ctx):
    """Raise, as a bug in a method would."""
    raise RuntimeError("injected failure")


def dies(ctx):
    """Kill the process running it, as the out-of-memory killer would."""
    os.kill(os.getpid(), signal.SIGKILL)


def sleeps(ctx):
    """Write this process's id to ``pid_dir``, then work (sleep) for a long time."""
    folder = Path(ctx.method_settings["pid_dir"])
    (folder / f"{os.getpid()}.pid").write_text(str(os.getpid()))
    time.sleep(120)


def works(ctx):
    """What the fixed method does: global magnitude, no retraining."""
    prune.to_sparsity(ctx.model, ctx.sparsity)


def register_all(fixed: bool = False) -> None:
    """Register ``fails``, ``dies`` (``fixed``: both prune by magnitude) and ``sleeps``."""
    register("fails")(works if fixed else fails)
    register("dies")(works if fixed else dies)
    register("sleeps", defaults={"pid_dir": ""})(sleeps)


def unregister_all() -> None:
    for name in NAMES:
        methods_module._REGISTRY.pop(name, None)
