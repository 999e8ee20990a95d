r"""Settings of a comparison: defaults, a small TOML file, and validation with clear messages.

A config file has two kinds of table; every key is optional::

    [compare]
    methods = ["random", "global_magnitude", "layer_magnitude"]
    sparsities = [0.5, 0.75, 0.9, 0.95, 0.98]
    seeds = [0, 1, 2]
    dataset = "digits"       # a built-in name (digits, mnist5k, text, speech) or a path:
                             # .npz (x_train, y_train, x_test, y_test), .csv, IDX/CIFAR folder
    label_column = "label"   # the label column of a CSV file
    model = "mlp"            # a built-in (mlp, cnn, lenet5, resnet, transformer, gru)
                             # or your builder "module:function"
    model_args = {}          # settings of that builder, e.g. {widths = [8, 16]}
    hidden = [300, 100]      # MLP hidden widths (64-300-100-10 on digits)
    batchnorm = false        # BatchNorm after every hidden layer ("slimming" needs it)
    train_epochs = 20        # dense training, once per seed
    retrain_epochs = 10      # the same budget for every method
    lr = 0.05
    retrain_lr = 0.005       # default: a tenth of lr (Han et al. 2015)
    weight_decay = 0.0       # SGD's L2 term
    lr_schedule = "none"     # dense training: "none", "cosine" or "step"
    batch_size = 64

    [methods.admm]           # one table per method, its own settings
    rho = 0.1

Unknown keys, unknown methods, sparsities outside [0, 1), empty lists,
wrong types, values beyond their bounds (epochs at most 10000, ...) and
method settings out of range (``methods.snip.batch_size = 0``,
``methods.admm.rho = -1``) raise a ``ValueError`` that names the key, before
any training, and so does a method that needs BatchNorm (``slimming``)
on a built-in ``mlp``/``cnn`` without ``batchnorm = true`` (any other model is
looked at: it must have BatchNorm layers). Without a
``methods`` key, every method that runs on the chosen model is compared.

Book: §3.3 (comparing methods on the same model, data and seeds).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..architectures import ARCHITECTURES, is_import_path
from ..checks import check_finite, check_int
from ..data.sources import BUILTIN as DATASETS
from .methods import available_methods, get_method, registered_methods

MODELS = tuple(ARCHITECTURES)
DEFAULT_SPARSITIES = (0.5, 0.75, 0.9, 0.95, 0.98)
DEFAULT_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class CompareConfig:
    """Validated settings of one comparison (build with :func:`make_config` or :func:`load_config`).

    Attributes
    ----------
    methods : tuple of str
        Registered method names (:func:`nnprune.experiments.available_methods`).
    sparsities : tuple of float
        Target fractions of zero weights, each in [0, 1).
    seeds : tuple of int
        One dense model per seed; summaries are mean and std over seeds.
    dataset : str
        A built-in name (``digits``, ``mnist5k``, ``text``, ``speech``) or a
        path (see :func:`nnprune.data.sources.load_dataset`); paths are
        stored absolute so that worker processes find them.
    label_column : str
        The label column of a CSV file.
    model : str
        A built-in architecture (:data:`nnprune.models.ARCHITECTURES`) or an
        import path ``"module:function"`` (imported again by name in every
        worker process, the current folder searched first).
    model_args : dict
        Settings of that architecture or builder (``hidden``/``channels``/
        ``batchnorm`` below are the ``mlp`` and ``cnn`` ones).
    hidden : tuple of int
        MLP hidden widths.
    channels : tuple of int
        CNN filters per block.
    batchnorm : bool
        Build the model with BatchNorm after every hidden layer (``mlp(...,
        batchnorm=True)``, ``small_cnn(..., batchnorm=True)``); methods that
        rank BatchNorm scales (``slimming``) need it.
    train_epochs, retrain_epochs : int
        Dense training (once per seed) and retraining after pruning (every run).
    lr, momentum : float
        SGD settings for both.
    batch_size : int
    workers : int or None
        Parallel processes (``None``: as many as CPU cores; 1: run inline).
    data_seed : int
        Seed of the train/validation/test split, the same for every run.
    latency_batch, latency_repeats : int
        Batch size and repeats of the latency measurement (one BLAS thread).
    retrain_lr : float or None
        Learning rate of the retraining after pruning; ``None``: ``lr / 10``, a
        tenth of the training rate, as Han et al. (2015) retrain. Methods that
        train from the initial weights (``snip``) or train to prune (``slimming``'s
        penalty epochs) keep ``lr``.
    weight_decay : float
        SGD's L2 weight decay, in training and retraining.
    lr_schedule : {"none", "cosine", "step"}
        Learning-rate schedule of the dense training (``"step"``: x0.1 after every
        third of the epochs).
    method_settings : dict
        ``{method: {setting: value}}``, the defaults merged with ``[methods.*]``.
    """

    methods: tuple[str, ...] = field(default_factory=available_methods)
    sparsities: tuple[float, ...] = DEFAULT_SPARSITIES
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    dataset: str = "digits"
    label_column: str = "label"
    model: str = "mlp"
    model_args: dict[str, Any] = field(default_factory=dict)
    hidden: tuple[int, ...] = (300, 100)
    channels: tuple[int, ...] = (16, 32)
    batchnorm: bool = False
    train_epochs: int = 20
    retrain_epochs: int = 10
    lr: float = 0.05
    momentum: float = 0.9
    batch_size: int = 64
    workers: int | None = None
    data_seed: int = 0
    latency_batch: int = 64
    latency_repeats: int = 20
    retrain_lr: float | None = None
    weight_decay: float = 0.0
    lr_schedule: str = "none"
    method_settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def settings(self, method: str) -> dict[str, Any]:
        """The shared training settings plus the method's own under ``"method"``."""
        own = self.method_settings.get(method)
        if own is None:
            own = get_method(method).defaults
        return {
            "train_epochs": self.train_epochs,
            "retrain_epochs": self.retrain_epochs,
            "lr": self.lr,
            "retrain_lr": self.lr / 10 if self.retrain_lr is None else self.retrain_lr,
            "weight_decay": self.weight_decay,
            "momentum": self.momentum,
            "batch_size": self.batch_size,
            "method": dict(own),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict in the file's layout (``compare`` and ``methods``)."""
        compare = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "method_settings"
        }
        compare = {k: list(v) if isinstance(v, tuple) else v for k, v in compare.items()}
        return {
            "compare": compare,
            "methods": {k: dict(v) for k, v in self.method_settings.items()},
        }


COMPARE_KEYS = tuple(
    f.name for f in dataclasses.fields(CompareConfig) if f.name != "method_settings"
)
_LISTS = {"methods": str, "sparsities": float, "seeds": int, "hidden": int, "channels": int}
_POSITIVE = ("train_epochs", "batch_size", "latency_batch", "latency_repeats")
# Upper bounds: far above any sensible comparison, low enough that a typo (an
# extra zero or three) is refused at once instead of running for days.
MAX_EPOCHS = 10_000
LIMITS = {
    "train_epochs": MAX_EPOCHS,
    "retrain_epochs": MAX_EPOCHS,
    "latency_repeats": 10_000,
    "latency_batch": 100_000,
    "batch_size": 1_000_000,
}
MAX_WIDTH = 100_000  # units of one hidden layer, channels of one conv block
_NO_DUPLICATES = ("methods", "sparsities", "seeds")  # hidden = [100, 100] is a fine MLP


def _type_name(value: Any) -> str:
    return type(value).__name__


def _check_list(key: str, value: Any, kind: type) -> tuple:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"{key} must be a list, got {value!r} ({_type_name(value)})")
    if not value and key not in ("compare.hidden",):
        raise ValueError(f"{key} must not be empty")
    if kind is str:
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            raise ValueError(f"{key} must hold strings, got {bad[0]!r} ({_type_name(bad[0])})")
        return tuple(value)
    check = check_finite if kind is float else (lambda k, v: check_int(k, v, minimum=0))
    return tuple(check(f"{key}[{i}]", v) for i, v in enumerate(value))


def _check_compare(compare: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in compare.items():
        name = f"compare.{key}"
        if key not in COMPARE_KEYS:
            raise ValueError(f"unknown key {name!r}; valid keys: {', '.join(COMPARE_KEYS)}")
        if key in _LISTS:
            value = _check_list(name, value, _LISTS[key])
            if key in ("hidden", "channels"):
                for i, width in enumerate(value):
                    if not 1 <= width <= MAX_WIDTH:
                        raise ValueError(f"{name}[{i}] must be in [1, {MAX_WIDTH}], got {width}")
            elif len(set(value)) != len(value):
                raise ValueError(f"{name} has duplicates: {list(value)}")
        elif key == "batchnorm":
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, got {value!r}")
        elif key == "dataset":
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a name or a path, got {value!r}")
            if value not in DATASETS:
                if not Path(value).exists():
                    raise ValueError(
                        f"{name}: {value!r} is neither a built-in data set "
                        f"({', '.join(DATASETS)}) nor an existing file or folder"
                    )
                value = str(Path(value).resolve())
        elif key == "model":
            if not isinstance(value, str) or not (value in MODELS or is_import_path(value)):
                raise ValueError(
                    f"{name} must be one of {list(MODELS)} or an import path "
                    f"'module:function', got {value!r}"
                )
        elif key == "label_column":
            if not isinstance(value, str) or not value:
                raise ValueError(f"{name} must be a column name, got {value!r}")
        elif key == "model_args":
            if not isinstance(value, dict):
                raise ValueError(f"{name} must be a table, got {value!r}")
            value = dict(value)
        elif key in ("lr", "momentum"):
            value = check_finite(name, value)
            if key == "lr" and value <= 0:
                raise ValueError(f"{name} must be > 0, got {value}")
            if key == "momentum" and not 0 <= value < 1:
                raise ValueError(f"{name} must be in [0, 1), got {value}")
        elif key in ("retrain_lr", "weight_decay"):
            value = None if value is None and key == "retrain_lr" else check_finite(name, value)
            if value is not None and (value < 0 or (key == "retrain_lr" and value == 0)):
                bound = "> 0" if key == "retrain_lr" else ">= 0"
                raise ValueError(f"{name} must be {bound}, got {value}")
        elif key == "lr_schedule":
            if value not in ("none", "cosine", "step"):
                raise ValueError(f"{name} must be 'none', 'cosine' or 'step', got {value!r}")
        elif key == "workers":
            value = None if value is None else check_int(name, value, minimum=1)
        else:
            value = check_int(name, value, minimum=1 if key in _POSITIVE else 0)
            if key in LIMITS and value > LIMITS[key]:
                raise ValueError(f"{name} must be at most {LIMITS[key]}, got {value}")
        out[key] = value
    batchnorm = out.get("batchnorm", False)
    for method in out.get("methods", ()):
        if method not in registered_methods():
            raise ValueError(
                f"compare.methods: unknown method {method!r}; "
                f"valid methods: {', '.join(registered_methods())}"
            )
        builtin = out.get("model", "mlp") in ("mlp", "cnn")  # where batchnorm builds the layers
        if get_method(method).requires_batchnorm and not batchnorm and builtin:
            raise ValueError(
                f"compare.methods: method {method!r} needs a model with BatchNorm; "
                "set compare.batchnorm = true"
            )
    if "methods" not in out:
        out["methods"] = available_methods(batchnorm=batchnorm)
    for i, s in enumerate(out.get("sparsities", ())):
        if not 0 <= s < 1:
            raise ValueError(f"compare.sparsities[{i}]: sparsity must be in [0, 1), got {s}")
    return out


def _check_method_settings(methods: dict[str, Any]) -> dict[str, dict[str, Any]]:
    merged = {name: dict(get_method(name).defaults) for name in registered_methods()}
    for name, table in methods.items():
        if name not in merged:
            raise ValueError(f"unknown method [methods.{name}]; valid methods: {', '.join(merged)}")
        if not isinstance(table, dict):
            raise ValueError(f"methods.{name} must be a table, got {table!r}")
        defaults = merged[name]
        for key, value in table.items():
            if key not in defaults:
                valid = ", ".join(defaults) or "none"
                raise ValueError(f"unknown key 'methods.{name}.{key}'; valid keys: {valid}")
            default = defaults[key]
            if isinstance(default, float):
                value = check_finite(f"methods.{name}.{key}", value)
            elif isinstance(default, int) and not isinstance(default, bool):
                value = check_int(f"methods.{name}.{key}", value, minimum=0)
            elif not isinstance(value, type(default)):
                raise ValueError(
                    f"methods.{name}.{key} must be {_type_name(default)}, got {value!r}"
                )
            check = get_method(name).checks.get(key)
            if check is not None:
                value = check(f"methods.{name}.{key}", value)
            defaults[key] = value
    return merged


def make_config(data: dict[str, Any] | None = None, **overrides: Any) -> CompareConfig:
    """Validate a config dict (the TOML layout) and return a :class:`CompareConfig`.

    Parameters
    ----------
    data : dict, optional
        ``{"compare": {...}, "methods": {name: {...}}}``; missing keys take the defaults.
    **overrides
        ``[compare]`` keys that replace those in ``data`` (``None`` values are ignored),
        e.g. from command-line options.

    Raises
    ------
    ValueError
        Naming the offending key: unknown sections or keys, unknown methods,
        sparsities outside [0, 1), empty lists, wrong types.
    """
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ValueError(f"config must be a dict of tables, got {_type_name(data)}")
    unknown = sorted(set(data) - {"compare", "methods"})
    if unknown:
        raise ValueError(f"unknown section [{unknown[0]}]; valid sections: [compare], [methods]")
    compare = data.get("compare", {})
    methods = data.get("methods", {})
    for section, table in (("compare", compare), ("methods", methods)):
        if not isinstance(table, dict):
            raise ValueError(f"[{section}] must be a table, got {table!r}")
    compare = {**compare, **{k: v for k, v in overrides.items() if v is not None}}
    return CompareConfig(**_check_compare(compare), method_settings=_check_method_settings(methods))


def config_hash(config: CompareConfig) -> str:
    """A short SHA-256 of everything in ``config`` that changes the results (not ``workers``).

    ``nnprune compare --resume`` continues a folder only with the config of the
    same hash.
    """
    data = config.to_dict()
    data["compare"].pop("workers", None)
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def replace(config: CompareConfig, **overrides: Any) -> CompareConfig:
    """A copy of ``config`` with ``[compare]`` keys replaced and re-validated.

    ``None`` values keep the current one (unset command-line options).
    """
    data = config.to_dict()
    registered = registered_methods()
    data["methods"] = {k: v for k, v in data["methods"].items() if k in registered}
    return make_config(data, **overrides)


def load_config(path: str | os.PathLike) -> CompareConfig:
    """Read and validate a TOML config file (see the module docstring for its layout).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the path is a folder, the file is not UTF-8 or not valid TOML (with
        the line), or it fails validation (with the key).
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"config path {str(path)!r} is a folder; give the TOML file in it")
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from None
    try:
        return make_config(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def quick_config(config: CompareConfig | None = None) -> CompareConfig:
    """A tiny grid for smoke runs: sparsities 0.5 and 0.9, the first seed, few epochs.

    The methods and their settings stay as in ``config``.
    """
    config = config or make_config()
    return replace(
        config,
        sparsities=[0.5, 0.9],
        seeds=list(config.seeds[:1]),
        train_epochs=3,
        retrain_epochs=1,
        latency_repeats=3,
    )
