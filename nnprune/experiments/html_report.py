r"""One self-contained HTML page for a run folder: tables, figures, config, pruning log, versions.

:func:`write_report` reads what ``nnprune compare`` (and ``prune``,
``sensitivity``) wrote into a folder and writes ``report.html`` next to it:

* the configuration (``results.json``), the summary (``summary.csv``) and every
  run (``results.csv``) as tables, and any other ``.csv`` (``sensitivity.csv``);
* every ``.png`` figure, embedded as a ``data:image/png;base64`` URI;
* every pruning log (``*.log.json``, written by ``nnprune prune``) as a table;
* the versions of nnprune, Python and the libraries that made the numbers
  and of those that wrote the page.

The page has no scripts and no external links (inline CSS only), so it reads
offline, in a mail attachment or an archive.

Book: §3.3 (reporting a comparison).
"""

from __future__ import annotations

import base64
import csv
import datetime as _dt
import html
import json
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._atomic import atomic_write

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th { background: #f3f3f3; } td.l, th.l { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; }
.wrap { overflow-x: auto; } pre { background: #f7f7f7; padding: 1em; overflow-x: auto; }
"""


def versions() -> dict[str, str]:
    """nnprune, Python, the platform, and the versions of the libraries installed."""
    import importlib.metadata

    from .._version import __version__

    found = {"nnprune": __version__, "python": sys.version.split()[0]}
    found["platform"] = platform.platform()
    for name in ("numpy", "scipy", "matplotlib", "scikit-learn", "onnx", "onnxruntime", "mlxtend"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def _cell(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        text = f"{int(value)}"  # counts averaged over seeds
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, dict | list):
        text = json.dumps(value)
        if len(text) > 120:
            text = text[:117] + "..."
    else:
        text = "" if value is None else str(value)
    return html.escape(text)


def html_table(rows: Sequence[dict[str, Any]], caption: str = "") -> str:
    """An HTML table of dicts (columns: the union of keys, in first-seen order)."""
    columns = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c)
            cls = "" if isinstance(v, int | float) else ' class="l"'
            cells.append(f"<td{cls}>{_cell(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _read_csv(path: Path) -> list[dict[str, Any]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in r.items():
            try:
                r[k] = int(v) if v.lstrip("-").isdigit() else float(v)
            except (ValueError, AttributeError):
                pass
    return rows


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(path.stem.replace("_", " "))
    return (
        f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(path.name)}</figcaption></figure>"
    )


def build_report(run_dir: str | os.PathLike) -> str:
    """The HTML page for ``run_dir`` as a string (see the module docstring).

    Raises
    ------
    FileNotFoundError
        If ``run_dir`` is not a folder.
    ValueError
        If it holds nothing to report (no CSV, JSON or PNG file).
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f"RUN_DIR {str(run)!r} is not a folder")
    csvs = sorted(run.glob("*.csv"))
    pngs = sorted(run.glob("*.png"))
    logs = sorted(run.glob("*.log.json"))
    results = run / "results.json"
    if not (csvs or pngs or logs or results.is_file()):
        raise ValueError(f"RUN_DIR {str(run)!r} holds no results (.csv, .png, results.json)")
    parts = [f"<h1>nnprune report: {html.escape(run.resolve().name)}</h1>"]
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(
        f"<p>Folder <code>{html.escape(str(run.resolve()))}</code>, page written {now}.</p>"
    )
    made_by = {}
    if results.is_file():
        doc = json.loads(results.read_text(encoding="utf-8"))
        made_by = {"nnprune (results)": doc.get("nnprune_version", "?")}
        config = doc.get("config", {})
        compare = config.get("compare", {})
        parts.append("<h2>Configuration</h2>")
        used = _used_settings(compare)
        parts.append(html_table([{"key": k, "value": v} for k, v in used.items()]))
        methods = config.get("methods", {})
        if methods:
            ran = set(compare.get("methods", methods))
            rows = [{"method": m, **s} for m, s in methods.items() if s and m in ran]
            if rows:
                parts.append(html_table(rows, "method settings"))
    order = {"summary.csv": 0, "results.csv": 1}
    for path in sorted(csvs, key=lambda p: (order.get(p.name, 2), p.name)):
        title = {"summary.csv": "Summary (mean over seeds)", "results.csv": "Every run"}.get(
            path.name, path.name
        )
        parts.append(f"<h2>{html.escape(title)}</h2>")
        parts.append(html_table(_read_csv(path), path.name))
    if pngs:
        parts.append("<h2>Figures</h2>")
        parts += [_image(p) for p in pngs]
    for path in logs:
        doc = json.loads(path.read_text(encoding="utf-8"))
        parts.append(f"<h2>Pruning log: {html.escape(path.name)}</h2>")
        if isinstance(doc, dict) and "run" in doc:
            parts.append(html_table([{"key": k, "value": v} for k, v in doc["run"].items()]))
        records = doc.get("records", doc) if isinstance(doc, dict) else doc
        if isinstance(records, list) and records:
            keep = ("function", "parameter", "layer", "criterion", "scope", "amount", "total",
                    "newly_pruned", "kept_after", "sparsity", "removed")  # fmt: skip
            rows = [{k: r[k] for k in keep if k in r} for r in records if isinstance(r, dict)]
            parts.append(html_table(rows, f"{len(records)} decisions"))
    parts.append("<h2>Versions</h2>")
    found = {**made_by, **versions()}
    parts.append(html_table([{"package": k, "version": v} for k, v in found.items()]))
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>nnprune report: {html.escape(run.resolve().name)}</title>"
        f"<style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def _used_settings(compare: dict[str, Any]) -> dict[str, Any]:
    """The ``[compare]`` settings without those the model does not read: ``hidden`` is the
    ``mlp``'s, ``channels`` the ``cnn``'s, ``batchnorm`` both of theirs (a builder of your own
    takes ``model_args`` instead)."""
    unused = {"mlp": ("channels",), "cnn": ("hidden",)}.get(
        compare.get("model", "mlp"), ("hidden", "channels", "batchnorm")
    )
    return {k: v for k, v in compare.items() if k not in unused}


def write_report(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write :func:`build_report` to ``out`` (default ``run_dir/report.html``), atomically."""
    page = build_report(run_dir)
    out = Path(run_dir) / "report.html" if out is None else Path(out)
    return atomic_write(out, lambda f: f.write(page), "w", make_parents=False)


__all__ = ["build_report", "html_table", "versions", "write_report"]
