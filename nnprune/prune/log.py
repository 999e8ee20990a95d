r"""``PruningLog``: a record of every pruning decision, to answer "why was this pruned?".

Use it as a context manager; every pruning call made inside (``l1_unstructured``,
``ln_structured``, ``global_unstructured``, ``nm_structured``, ``remove``, ...)
appends one JSON-serialisable dict per parameter it touched::

    with prune.PruningLog(model) as log:
        prune.l1_unstructured(model[0], "weight", amount=0.5)
        prune.ln_structured(model[2], "weight", amount=2, n=1, dim=0)
    print(log.summary())
    log.to_json("pruning_log.json")

Each record holds

* ``function``, ``method``, ``criterion``, ``scope`` (``"layer"`` or ``"global"``);
* ``parameter``: the qualified name (``"0.weight"``) when the log was given the
  model, else ``"<ModuleClass>.<name>"``; ``shape``;
* ``amount`` as requested, ``dim`` for structured and N:M pruning;
* ``threshold`` (the fixed cut-off of threshold methods), ``max_pruned_score``
  and ``min_kept_score`` (the score cut-off a ranking method used: every unit
  scored at or below the first went, every unit at or above the second stayed);
* ``kept_before``, ``pruned_before``, ``kept_after``, ``pruned_after``,
  ``newly_pruned``, ``total`` (entries) and ``sparsity`` (fraction of zeros after);
* ``removed_channels``: for structured pruning, the indices along ``dim`` of the
  channels this call removed;
* method-specific fields such as ``seed``, ``n``, ``m``, ``q`` and ``std``.

Active logs live on a module-level stack, so nested ``with`` blocks each get
every record made inside them.

Book: §3.1–3.2 (pruning decisions), §5.1 (the decide step of the pruning loop).
"""

from __future__ import annotations

import json
import os
from typing import Any

from .._atomic import atomic_write
from ..nn.module import Module

_ACTIVE: list[PruningLog] = []


class PruningLog:
    """Collect one record per pruned parameter while the ``with`` block runs.

    Parameters
    ----------
    model : Module, optional
        The model whose sub-modules are pruned; used only to turn modules
        into qualified names such as ``"features.0.weight"``.

    Attributes
    ----------
    records : list of dict
        The decisions, in the order they were made (JSON-serialisable).
    """

    def __init__(self, model: Module | None = None) -> None:
        if model is not None and not isinstance(model, Module):
            raise TypeError(f"model must be an nnprune.nn.Module or None, got {type(model)}")
        self.model = model
        self.records: list[dict[str, Any]] = []

    def __enter__(self) -> PruningLog:
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for i in range(len(_ACTIVE) - 1, -1, -1):
            if _ACTIVE[i] is self:
                del _ACTIVE[i]
                break

    def __len__(self) -> int:
        return len(self.records)

    def qualified_name(self, module: Module, name: str) -> str:
        """``"<path>.<name>"`` if ``module`` is inside :attr:`model`, else ``"<Class>.<name>"``."""
        if self.model is not None:
            for path, sub in self.model.named_modules():
                if sub is module:
                    return f"{path}.{name}" if path else name
        return f"{type(module).__name__}.{name}"

    def to_json(self, path: str | os.PathLike) -> None:
        """Write :attr:`records` to ``path`` as JSON (temporary file, then rename)."""
        text = json.dumps(self.records, indent=2, allow_nan=False)
        atomic_write(path, lambda f: f.write(text), make_parents=False, fsync=True)

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> PruningLog:
        """Read a log written by :meth:`to_json` (records only, no model).

        Raises
        ------
        FileNotFoundError
            If there is no such file.
        ValueError
            Naming the file: not UTF-8, not JSON, nested too deeply, or not a
            list of records (objects).
        """
        name = repr(os.fspath(path))
        try:
            with open(os.fspath(path), encoding="utf-8") as f:
                records = json.load(f)
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name} is not UTF-8 text ({exc})") from None
        except json.JSONDecodeError as exc:
            raise ValueError(f"{name} is not a JSON pruning log: {exc}") from None
        except RecursionError:
            raise ValueError(f"{name} is nested too deeply to be a pruning log") from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError(f"{name} does not hold a list of pruning records")
        log = cls()
        log.records = records
        return log

    def summary(self) -> str:
        """Return a plain-text table: one row per record."""
        header = ("#", "parameter", "function", "amount", "cut-off", "pruned", "total", "sparsity")
        rows = [header]
        for i, r in enumerate(self.records):
            cut = r.get("threshold")
            if cut is None:
                cut = r.get("max_pruned_score")
            if "units" in r:  # structured: whole units of a layer
                rows.append(
                    (
                        str(i),
                        f"{r['layer']} (units)",
                        str(r.get("function", "")),
                        _fmt(r.get("amount")),
                        _fmt(cut),
                        f"{len(r['units'])} units",
                        str(r.get("total_units", "")),
                        f"params {r['params_before']}->{r['params_after']}",
                    )
                )
                continue
            rows.append(
                (
                    str(i),
                    str(r.get("parameter", "")),
                    str(r.get("function", "")),
                    _fmt(r.get("amount")),
                    _fmt(cut),
                    f"{r.get('pruned_before', '')}->{r.get('pruned_after', '')}",
                    str(r.get("total", "")),
                    f"{r.get('sparsity', 0.0):.4f}",
                )
            )
        widths = [max(len(row[j]) for row in rows) for j in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(line.rstrip() for line in lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def emit(module: Module, name: str, record: dict[str, Any]) -> None:
    """Append ``record`` (with its qualified ``parameter`` name) to every active log."""
    for log in _ACTIVE:
        entry = {"parameter": log.qualified_name(module, name), **record}
        log.records.append(entry)


def emit_units(record: dict[str, Any]) -> None:
    """Append a structured-pruning record (whole units of a layer) to every active log.

    ``record`` names the layer by its dotted path in the model (``"layer"``)
    and lists the units removed or masked; :meth:`PruningLog.summary` shows
    how many.
    """
    for log in _ACTIVE:
        log.records.append(dict(record))


def is_logging() -> bool:
    """True when at least one :class:`PruningLog` is active."""
    return bool(_ACTIVE)
