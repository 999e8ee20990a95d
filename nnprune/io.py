r"""Save and load models as ``.npz`` files, pruning masks included, never pickled.

A file written by :func:`save` is a NumPy ``.npz`` archive holding

* every entry of ``model.state_dict()``: parameters (``"0.weight"``) and buffers
  (``"1.running_mean"``) as they are, and, for each pruned parameter, its bool
  mask (``"0.weight_mask"``, the key PyTorch's pruning uses) packed eight
  entries to a byte with ``np.packbits`` (``"0.weight_mask.packbits"``, a flat
  ``uint8`` array; the shape is the parameter's), so a pruned model loads back
  pruned (masks do not "go back to 0" on reload) and its file is at most
  :math:`1 + 1/32` times the dense float32 one (a bool per entry would add a
  quarter);
* one metadata entry ``"__nnprune__"``: a JSON string (a 0-d unicode array,
  no pickle) with the format name and version, the model's class name, the
  nnprune version and the user's ``metadata`` dict.

Format version 1 (nnprune 0.1 before packed masks) stored masks as bool
arrays under ``"<name>_mask"``; such files still load.

Files are written atomically (a temporary file in the same folder, then
``os.replace``): an interrupted save never leaves a half-written model under
the real name. Files are read with ``np.load(path, allow_pickle=False)``, so
loading a file cannot run code. A checkpoint written by :func:`save_model`
names its architecture: a built-in name is built, but a ``"module:function"``
recorded in the file is imported only when the user names it again
(``load_checkpoint(path, model="module:function")``, ``--model`` on the
command line, or ``trust_code=True``); modules of the standard library are
refused always, and the builder's settings must be plain data its signature
accepts. A model file is data: it never chooses code to run.

Every loaded parameter and buffer must be finite: a file of NaN or inf
weights is refused at load, naming the entry.

Book: §1.3 (model size on disk), §3.1 (a pruned model is its weights plus masks).
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from ._npzcheck import check_npz_members
from .nn.module import MASK_SUFFIX, Module

FORMAT_NAME = "nnprune"
FORMAT_VERSION = 2
METADATA_KEY = "__nnprune__"
PACKED_SUFFIX = ".packbits"  # "<name>_mask.packbits": a mask as np.packbits of its flat bools


def _header(model: Module, metadata: dict[str, Any] | None) -> str:
    from ._version import __version__

    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": type(model).__name__,
        "nnprune_version": __version__,
        "metadata": metadata or {},
    }
    try:
        return json.dumps(header, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"metadata must be JSON-serialisable, got {metadata!r}: {exc}") from exc


def save(
    model: Module,
    path: str | os.PathLike,
    metadata: dict[str, Any] | None = None,
    *,
    compress: bool = False,
) -> Path:
    """Write ``model.state_dict()`` and a metadata entry to ``path`` (``.npz``), atomically.

    Parameters
    ----------
    model : Module
    path : str or path-like
        Used exactly as given (no ``.npz`` suffix is added). Its folder must exist.
    metadata : dict, optional
        JSON-serialisable information to keep with the weights (accuracy,
        sparsity, the command that trained it, ...).
    compress : bool, default False
        ``np.savez_compressed`` instead of ``np.savez`` (pruned zeros and masks
        compress well; loading is slower).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    TypeError, ValueError
        If ``metadata`` is not a JSON-serialisable dict.
    FileNotFoundError
        If the folder of ``path`` does not exist.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnprune Module, got {type(model).__name__}")
    if not os.fspath(path):
        raise ValueError("the path to save to must not be empty")
    path = Path(path)
    header = _header(model, metadata)
    state = model.state_dict()
    if METADATA_KEY in state:
        raise ValueError(f"the model has a state entry named {METADATA_KEY!r}, which is reserved")
    arrays = _encode(state)
    arrays[METADATA_KEY] = np.array(header)
    writer = np.savez_compressed if compress else np.savez
    return atomic_write(path, lambda f: writer(f, **arrays), "wb", make_parents=False, fsync=True)


def _encode(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Masks (``"<name>_mask"``, bool) become ``"<name>_mask.packbits"``; the rest as is."""
    arrays: dict[str, np.ndarray] = {}
    for key, value in state.items():
        if key.endswith(MASK_SUFFIX) and value.dtype == np.bool_:
            arrays[key + PACKED_SUFFIX] = np.packbits(value.ravel())  # (ceil(size / 8),)
        else:
            arrays[key] = value
    return arrays


def _decode(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Undo :func:`_encode`: unpack each packed mask to a bool array shaped like its parameter."""
    state: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        if not key.endswith(PACKED_SUFFIX):
            state[key] = value
            continue
        mask_key = key[: -len(PACKED_SUFFIX)]
        name = mask_key[: -len(MASK_SUFFIX)] if mask_key.endswith(MASK_SUFFIX) else None
        owner = arrays.get(name) if name is not None else None
        if owner is None:
            raise ValueError(f"{str(path)!r}: packed mask {key!r} has no parameter to belong to")
        if value.dtype != np.uint8 or value.shape != ((owner.size + 7) // 8,):
            raise ValueError(
                f"{str(path)!r}: packed mask {key!r} is {value.dtype} {value.shape}, expected "
                f"uint8 ({(owner.size + 7) // 8},) for a parameter of shape {owner.shape}"
            )
        bits = np.unpackbits(value, count=owner.size)
        state[mask_key] = bits.astype(np.bool_).reshape(owner.shape)
    return state


def _corrupt(path: Path, exc: BaseException) -> ValueError:
    if "pickle" in str(exc):  # NumPy's text suggests allow_pickle: never the right advice here
        return ValueError(
            f"{str(path)!r} is not a readable .npz file (truncated or corrupt, random bytes or "
            "a pickle?); nnprune model files are .npz archives written by nnprune.io.save and "
            "are never unpickled"
        )
    return ValueError(f"{str(path)!r} is not a readable .npz file (truncated or corrupt?): {exc}")


def _read_members(path: Path, archive: np.lib.npyio.NpzFile) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    with archive:
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except ValueError as exc:
                if "allow_pickle" in str(exc):
                    raise ValueError(
                        f"{str(path)!r}: entry {key!r} is an object array; nnprune files hold "
                        "numeric and bool arrays only and are never unpickled"
                    ) from exc
                raise _corrupt(path, exc) from exc
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                raise _corrupt(path, exc) from exc
    return arrays


def load_state(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a file written by :func:`save` without needing the model.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    state : dict of str to numpy.ndarray
        The saved ``state_dict`` (masks as ``"<name>_mask"`` bool arrays).
    header : dict
        ``{"format", "format_version", "class", "nnprune_version", "metadata"}``;
        ``header["metadata"]`` is the dict given to :func:`save`.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is truncated or corrupt, is not an ``.npz`` archive, has no
        nnprune metadata (a foreign ``.npz``), has a newer format version, or
        holds an object array (nnprune never unpickles).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(
            f"{str(path)!r} is a folder, not a model file; give the .npz file written by "
            "nnprune.io.save (or nnprune train --save)"
        )
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {str(path)!r}")
    # Open the file ourselves: np.load leaks its handle when the zip is corrupt.
    with open(path, "rb") as f:
        try:
            archive = np.load(f, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError) as exc:
            raise _corrupt(path, exc) from exc
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(
                f"{str(path)!r} holds a single .npy array, not an nnprune .npz archive"
            )
        try:
            check_npz_members(archive, path)
        except ValueError:
            archive.close()
            raise
        arrays = _read_members(path, archive)
    if METADATA_KEY not in arrays:
        raise ValueError(
            f"{str(path)!r} has no {METADATA_KEY!r} metadata entry: it is an .npz file "
            "that nnprune.io.save did not write"
        )
    raw = arrays.pop(METADATA_KEY)
    try:
        header = json.loads(str(raw[()])) if raw.dtype.kind == "U" and raw.ndim == 0 else None
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ValueError(f"{str(path)!r}: the {METADATA_KEY!r} entry is not nnprune metadata")
    version = header.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{str(path)!r} has format version {version!r}; this nnprune reads "
            f"version {FORMAT_VERSION} or older (upgrade nnprune)"
        )
    state = _decode(path, arrays)
    check_finite(path, state)
    return state, header


def check_finite(path: str | os.PathLike, state: dict[str, np.ndarray]) -> None:
    """Refuse a state whose float entries hold NaN or inf (a diverged or corrupt model).

    Raises
    ------
    ValueError
        Naming the file, the first such entry and how many of its values are not finite.
    """
    for key, value in state.items():
        if value.dtype.kind in "fc":
            mask = state.get(f"{key}_mask")
            if mask is not None and mask.shape == value.shape and mask.dtype == bool:
                value = value[mask]  # pruned entries are zeroed at load, whatever they hold
            bad = value.size - int(np.count_nonzero(np.isfinite(value)))
            if bad:
                raise ValueError(
                    f"{str(path)!r}: entry {key!r} holds {bad} NaN or infinite value(s) of "
                    f"{value.size}; the model diverged or the file is corrupt"
                )


def load(model: Module, path: str | os.PathLike, strict: bool = True) -> dict[str, Any]:
    """Load a file written by :func:`save` into ``model`` (same architecture), masks included.

    Everything is read and checked before the model is touched: after any
    error the model is unchanged.

    Parameters
    ----------
    model : Module
        A model built like the saved one; its parameters, buffers and masks
        are replaced (pruned parameters of the file come back pruned,
        parameters without a saved mask lose theirs).
    path : str or path-like
    strict : bool, default True
        Require exactly the model's entries (see ``Module.load_state_dict``).

    Returns
    -------
    dict
        The file's header (see :func:`load_state`); ``["metadata"]`` is the user's dict.

    Raises
    ------
    FileNotFoundError, ValueError
        See :func:`load_state`; a name, shape or dtype mismatch names the entry.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model must be an nnprune Module, got {type(model).__name__}")
    state, header = load_state(path)
    try:
        model.load_state_dict(state, strict=strict)
    except ValueError as exc:
        raise ValueError(
            f"cannot load {str(path)!r} (saved from a {header.get('class')}) into this "
            f"{type(model).__name__}: {exc}"
        ) from exc
    return header


# ------------------------------------------------- checkpoints that rebuild themselves
ARCHITECTURE_KEY = "architecture"


def save_model(
    model: Module,
    path: str | os.PathLike,
    architecture: dict[str, Any],
    metadata: dict[str, Any] | None = None,
    *,
    compress: bool = False,
) -> Path:
    """:func:`save` plus how to rebuild the model, so :func:`load_model` needs only the file.

    The header's ``"architecture"`` entry holds ``architecture`` (``{"model":
    "mlp" or "module:function", "args": {...}, "input_shape": [...],
    "num_classes": n}``, see :func:`nnprune.models.build_architecture`) and
    ``"shapes"``: every state entry's shape as saved, so a model whose units
    were physically removed (smaller ``Linear``/``Conv2d``/``BatchNorm``,
    attention heads, recurrent hidden units) is rebuilt at its reduced size. A
    model whose layers were deleted or merged is not: its builder makes layers
    the file does not hold (build it yourself and use :func:`load`).

    Parameters
    ----------
    model : Module
    path : str or path-like
    architecture : dict
        At least ``"model"``, ``"input_shape"`` and ``"num_classes"``.
    metadata : dict, optional
        As in :func:`save`.
    compress : bool, default False

    Raises
    ------
    ValueError
        If ``architecture`` lacks a required key or is not JSON-serialisable.
    """
    if not isinstance(architecture, dict):
        raise TypeError(f"architecture must be a dict, got {type(architecture).__name__}")
    missing = [k for k in ("model", "input_shape", "num_classes") if k not in architecture]
    if missing:
        raise ValueError(f"architecture lacks {', '.join(missing)}: {architecture!r}")
    shapes = {k: list(np.shape(v)) for k, v in model.state_dict().items()}
    arch = {**architecture, "shapes": shapes}
    meta = dict(metadata or {})
    if ARCHITECTURE_KEY in meta:
        raise ValueError(f"metadata must not use the reserved key {ARCHITECTURE_KEY!r}")
    meta[ARCHITECTURE_KEY] = arch
    return save(model, path, meta, compress=compress)


def _module_and_attr(model: Module, key: str) -> tuple[Module, str]:
    mod_name, _, attr = key.rpartition(".")
    return (model.get_submodule(mod_name) if mod_name else model), attr


def _resize(model: Module, shapes: dict[str, list[int]]) -> None:
    """Give parameters and buffers the saved shapes and update the layers' size attributes."""
    from .nn.attention import MultiHeadSelfAttention
    from .nn.parameter import Parameter
    from .nn.rnn import RNNBase

    own = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    for key, shape in shapes.items():
        if key.endswith(MASK_SUFFIX) and key[: -len(MASK_SUFFIX)] in own:
            continue  # a parameter's pruning mask: it follows the parameter
        shape = tuple(shape)
        if key in own and own[key].shape != shape:
            p: Parameter = own[key]
            p.mask = None  # the data setter accepts a new shape only without a mask
            p.data = np.zeros(shape, dtype=p.data.dtype)
            p.grad = np.zeros(shape, dtype=p.data.dtype)
        elif key in buffers and buffers[key] is not None and np.shape(buffers[key]) != shape:
            module, attr = _module_and_attr(model, key)
            module._buffers[attr] = np.zeros(shape, dtype=buffers[key].dtype)
    for _, module in model.named_modules():
        if isinstance(module, MultiHeadSelfAttention):  # heads removed: one gate per head left
            module.num_heads = int(module.head_mask.shape[0])
            module.head_mask_grad_ = np.zeros(module.num_heads)
        elif isinstance(module, RNNBase):  # hidden units removed (every layer as wide)
            module.hidden_size = int(module.weight_hh_l0.shape[1])
            module.input_size = int(module.weight_ih_l0.shape[1])
        weight = getattr(module, "weight", None)
        if not isinstance(weight, Parameter):
            continue
        w = weight.shape
        if hasattr(module, "in_features") and hasattr(module, "out_features") and len(w) == 2:
            module.out_features, module.in_features = int(w[0]), int(w[1])
        elif hasattr(module, "out_channels") and hasattr(module, "in_channels") and len(w) == 4:
            groups = int(getattr(module, "groups", 1))
            module.out_channels, module.in_channels = int(w[0]), int(w[1]) * groups
        elif hasattr(module, "num_features") and len(w) == 1:
            module.num_features = int(w[0])


class UntrustedCodeError(ValueError):
    """A checkpoint names a ``"module:function"`` builder the user did not name again."""


def check_builder_trusted(
    path: str | os.PathLike, recorded: Any, model: str | None, trust_code: bool
) -> None:
    """Refuse a builder recorded in a file unless the user named it (or trusts the file).

    Parameters
    ----------
    path : str or path-like
        The checkpoint (named in the message).
    recorded : str
        ``architecture["model"]`` as the file holds it.
    model : str or None
        The builder the user named again (``--model``); must equal ``recorded``.
    trust_code : bool
        Import whatever the file names (except the standard library).

    Raises
    ------
    UntrustedCodeError
        One line naming the file, the builder and how to trust it.
    """
    from .architectures import ARCHITECTURES, is_import_path

    if not isinstance(recorded, str):
        raise ValueError(f"{str(path)!r}: architecture 'model' must be a string, got {recorded!r}")
    if model is not None and model != recorded:
        raise ValueError(
            f"{str(path)!r} was built with model {recorded!r}, not {model!r} (given with --model)"
        )
    if not is_import_path(recorded):
        if recorded not in ARCHITECTURES:
            raise ValueError(
                f"{str(path)!r} names model {recorded!r}, which is neither a built-in "
                f"architecture ({', '.join(ARCHITECTURES)}) nor 'module:function'"
            )
        return
    if model is None and not trust_code:
        raise UntrustedCodeError(
            f"{str(path)!r} names the builder {recorded!r}, code that loading would run; a "
            f"model file never chooses code: if you trust it, name it again with --model "
            f"{recorded} (Python: load_checkpoint(path, model={recorded!r}))"
        )


def load_checkpoint(
    path: str | os.PathLike, *, model: str | None = None, trust_code: bool = False
) -> tuple[Module, dict[str, Any]]:
    """Rebuild the model saved by :func:`save_model` and load its weights and masks.

    Parameters
    ----------
    path : str or path-like
    model : str, optional
        The ``"module:function"`` builder the file records, named again by the
        user: only then is it imported (a built-in name needs nothing).
    trust_code : bool, default False
        Import the builder the file records without naming it. Modules of the
        standard library are refused even so.

    Returns
    -------
    model : Module
    header : dict
        As :func:`load_state`; ``header["metadata"]["architecture"]`` says how it was built.

    Raises
    ------
    ValueError
        The file has no architecture (written by :func:`save`: load it with
        :func:`load` into a model you build), the builder fails, or the rebuilt
        model does not match the saved weights (another architecture).
    UntrustedCodeError
        The file records a ``"module:function"`` that ``model`` does not name
        and ``trust_code`` is False: nothing was imported.
    """
    from .architectures import build_architecture

    state, header = load_state(path)
    arch = header.get("metadata", {}).get(ARCHITECTURE_KEY)
    if not isinstance(arch, dict) or "model" not in arch:
        raise ValueError(
            f"{str(path)!r} holds weights without an architecture (saved by nnprune.io.save); "
            "build the model yourself and use nnprune.io.load(model, path)"
        )
    check_builder_trusted(path, arch["model"], model, trust_code)
    shapes = arch.get("shapes", {})
    if not isinstance(shapes, dict) or not all(
        isinstance(v, list) and all(isinstance(d, int) and d >= 0 for d in v)
        for v in shapes.values()
    ):
        raise ValueError(f"{str(path)!r}: architecture 'shapes' is not a dict of integer lists")
    try:
        net = build_architecture(
            arch["model"], arch.get("input_shape"), arch.get("num_classes"), 0, arch.get("args")
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{str(path)!r}: cannot rebuild its architecture: {exc}") from None
    _resize(net, shapes)
    try:
        net.load_state_dict(state, strict=True)
    except ValueError as exc:
        raise ValueError(
            f"{str(path)!r} does not fit the architecture it names ({arch['model']!r}): {exc}"
        ) from None
    return net, header


def load_model(
    path: str | os.PathLike, *, model: str | None = None, trust_code: bool = False
) -> Module:
    """The model saved by :func:`save_model`, rebuilt from the file (masks included).

    ``model`` and ``trust_code`` as in :func:`load_checkpoint`.
    """
    return load_checkpoint(path, model=model, trust_code=trust_code)[0]


__all__ = [
    "FORMAT_VERSION",
    "UntrustedCodeError",
    "check_builder_trusted",
    "load",
    "load_checkpoint",
    "load_model",
    "load_state",
    "save",
    "save_model",
]
