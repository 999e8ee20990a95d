r"""Comparing pruning methods the ShrinkBench way: same models, data, seeds and budget.

* :func:`compare`: run the grid method × target sparsity × seed, print a
  table, write CSV, JSON and a plot (``nnprune compare`` on the command line);
  every run is recorded in ``runs.jsonl`` as it finishes or fails, and
  ``resume=True`` continues an interrupted comparison (:func:`read_runs`);
* :class:`CompareConfig`, :func:`make_config`, :func:`load_config`: settings
  from a small TOML file, with defaults and validation;
* :func:`register`, :func:`available_methods`, :func:`get_method`,
  :class:`RunContext`: the method registry and the adapters' calling convention;
* :func:`run_grid`: the runs alone (local processes, inline, or Dask).

Book: §3.3 (comparing methods).
"""

# methods.py registers the chapter 3 adapters, methods_ch4.py (which imports methods.py)
# the chapter 4 ones; importing both here fills the registry before anything looks it up.
from . import methods_ch4, methods_channels  # noqa: F401
from .compare import ComparisonResult, compare, read_runs, summarize
from .config import CompareConfig, load_config, make_config, quick_config
from .methods import (
    Method,
    RunContext,
    available_methods,
    get_method,
    register,
)
from .runner import RunSpec, measure_latency, plan_runs, run_grid

__all__ = [
    "CompareConfig",
    "ComparisonResult",
    "Method",
    "RunContext",
    "RunSpec",
    "available_methods",
    "compare",
    "get_method",
    "load_config",
    "make_config",
    "measure_latency",
    "plan_runs",
    "quick_config",
    "read_runs",
    "register",
    "run_grid",
    "summarize",
]
