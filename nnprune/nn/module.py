r"""``Module`` and ``Sequential``: the containers every layer and model builds on.

A module computes ``y = forward(x)`` and caches what its backward pass needs;
``dx = backward(dy)`` then returns the gradient with respect to its input and
*adds* the gradients of its parameters into ``param.grad``. There is no
autograd: each layer writes its own backward, and ``nnprune.gradcheck``
checks it against central differences.

The API follows ``torch.nn.Module``: parameters, sub-modules and buffers
are registered by plain attribute assignment, and ``named_parameters()``,
``state_dict()``, ``train()``/``eval()`` and ``to()`` behave as a PyTorch user
expects. Pruning masks are part of the state: ``state_dict()`` holds
``"<name>_mask"`` for every pruned parameter (the key PyTorch's pruning uses),
so a saved pruned model loads back pruned.

Forward hooks (PyTorch's ``register_forward_hook`` and
``register_forward_pre_hook``) run when a module is *called*, ``module(x)``,
not when ``module.forward(x)`` is: containers and models call their children,
so a hook on a layer deep inside a model fires during ``model(x)``. They are
how activation-based criteria read a layer's output without rewriting the
model's forward.

Book: §1.1 (forward and backward propagation), §1.2 (models as stacks of layers).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np

from ..backend import backend_of, get_xp, normalize_backend, to_backend, to_numpy
from .parameter import Parameter

MASK_SUFFIX = "_mask"


class PrunableParameter(NamedTuple):
    """One prunable parameter: qualified ``name``, owning ``module``, ``attr``, ``param``."""

    name: str
    module: Module
    attr: str
    param: Parameter


class RemovableHandle:
    """What ``register_forward_hook`` returns: ``handle.remove()`` unregisters the hook.

    Also a context manager: ``with layer.register_forward_hook(f): model(x)``
    removes the hook on leaving the block.
    """

    _ids = itertools.count()

    def __init__(self, hooks: dict[int, Callable[..., Any]]) -> None:
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        """Unregister the hook (a second call does nothing)."""
        self._hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class Module:
    """Base class of every layer and model.

    Subclasses set parameters (``self.weight = Parameter(...)``), buffers
    (``self.register_buffer("running_mean", arr)``) and sub-modules
    (``self.fc1 = Linear(...)``) as attributes, and implement
    :meth:`forward` and :meth:`backward`.

    Attributes
    ----------
    input_requires_grad : bool, default True
        PyTorch's ``x.requires_grad`` for this module's input. When False, a
        layer that can skip the input gradient dL/dx (``Linear``,
        ``Conv2d``) still adds its parameter gradients but returns ``None``
        from :meth:`backward`. Set it on a whole ``Sequential``: the flag then
        goes to its leading layers up to the first with parameters, the only
        ones whose input gradient nobody reads. :func:`nnprune.train.fit` sets
        it for the run, as PyTorch never computes the data's gradient.
    """

    input_requires_grad: bool = True

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_forward_pre_hooks", {})
        object.__setattr__(self, "_forward_hooks", {})
        object.__setattr__(self, "training", True)

    # --------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(
                f"{type(self).__name__}.__init__ must call super().__init__() "
                f"before assigning {name!r}"
            )
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            self._buffers.pop(name, None)
            self.__dict__.pop(name, None)
            if not value.name:
                value.name = name
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
            self.__dict__.pop(name, None)
            self._modules[name] = value
        elif name in self._buffers:
            self._buffers[name] = value
        elif name in self._parameters and value is not None:
            raise TypeError(
                f"{type(self).__name__}.{name} is a Parameter; to change its values assign "
                f"{name}.data (e.g. layer.{name}.data = array), or wrap the array: "
                f"layer.{name} = nn.Parameter(array); got a {type(value).__name__}"
            )
        else:
            # e.g. ``self.bias = None`` replaces a registered parameter
            self._parameters.pop(name, None)
            self._modules.pop(name, None)
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails.
        d = self.__dict__
        for store in ("_parameters", "_modules", "_buffers"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for store in (self._parameters, self._modules, self._buffers):
            if name in store:
                del store[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array: Any) -> None:
        """Register a non-trainable array (e.g. BatchNorm running statistics).

        Buffers are saved by :meth:`state_dict` and moved by :meth:`to`.
        """
        self.__dict__.pop(name, None)
        self._buffers[name] = array

    # ------------------------------------------------------------ computing
    def forward(self, x: Any) -> Any:
        """Compute the output and cache what :meth:`backward` needs."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, dout: Any) -> Any:
        """Return ``dL/dx`` given ``dL/dy``; add parameter gradients into ``.grad``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run :meth:`forward`, with the forward pre-hooks before and the forward hooks after."""
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_hook(
        self, hook: Callable[[Module, tuple[Any, ...], Any], Any]
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every call of this module.

        As ``torch.nn.Module.register_forward_hook``: ``args`` is the tuple of
        positional inputs, ``output`` what :meth:`forward` returned. The hook
        returns ``None``, or a replacement output (which the next layer then
        reads; the module's backward still uses its own cache, so replace
        outputs only to *evaluate*, not to train). Hooks run in the order they
        were registered, and only when the module is called (``module(x)``),
        not on ``module.forward(x)``.

        Parameters
        ----------
        hook : callable
            ``hook(module, args, output) -> None or output``.

        Returns
        -------
        RemovableHandle
            ``handle.remove()`` unregisters the hook.

        Examples
        --------
        >>> import numpy as np
        >>> from nnprune import nn
        >>> model = nn.Sequential(nn.Linear(4, 3, seed=0), nn.ReLU(), nn.Linear(3, 2, seed=1))
        >>> seen = {}
        >>> handle = model[1].register_forward_hook(
        ...     lambda module, args, output: seen.update(relu=output.copy()))
        >>> y = model(np.ones((5, 4), np.float32))
        >>> seen["relu"].shape
        (5, 3)
        >>> handle.remove()
        """
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(
        self, hook: Callable[[Module, tuple[Any, ...]], Any]
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before every call of this module.

        As ``torch.nn.Module.register_forward_pre_hook``: the hook returns
        ``None``, or replacement inputs (a tuple, or one value that is
        wrapped into a tuple). Returns a :class:`RemovableHandle`.
        """
        if not callable(hook):
            raise TypeError(f"hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # ------------------------------------------------------------ traversal
    def children(self) -> Iterator[Module]:
        """Direct sub-modules, in registration order."""
        yield from self._modules.values()

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for direct sub-modules."""
        yield from self._modules.items()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """``(dotted_name, module)`` for this module and all descendants (pre-order)."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """This module and all descendants."""
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """``(dotted_name, parameter)`` for every parameter, e.g. ``("0.weight", p)``."""
        for mod_name, mod in self.named_modules(prefix):
            for name, p in mod._parameters.items():
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter of this module and its descendants."""
        for _, p in self.named_parameters():
            yield p

    def prunable_parameters(self, prefix: str = "") -> Iterator[PrunableParameter]:
        """Every parameter the pruning API may prune, with where it lives.

        The one public way to ask "which weights are prunable?": chapters, the
        pruning API, saliency, pipelines and the comparison harness all use it.

        Yields
        ------
        PrunableParameter
            ``(name, module, attr, param)``: the qualified name as
            :meth:`named_parameters` gives it (``"0.weight"``), the module that
            owns the parameter, the attribute name in that module (``"weight"``)
            and the :class:`Parameter` itself.

        Examples
        --------
        >>> for name, module, attr, p in model.prunable_parameters():  # doctest: +SKIP
        ...     print(name, p.shape)
        """
        for mod_name, mod in self.named_modules(prefix):
            for attr, p in mod._parameters.items():
                if p.prunable:
                    name = f"{mod_name}.{attr}" if mod_name else attr
                    yield PrunableParameter(name, mod, attr, p)

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Any]]:
        """``(dotted_name, array)`` for every buffer."""
        for mod_name, mod in self.named_modules(prefix):
            for name, b in mod._buffers.items():
                yield (f"{mod_name}.{name}" if mod_name else name), b

    def get_submodule(self, target: str) -> Module:
        """Return the sub-module at a dotted path such as ``"features.0"``.

        Raises
        ------
        AttributeError
            If no module has that name.
        """
        mod: Module = self
        if target == "":
            return mod
        for part in target.split("."):
            if part not in mod._modules:
                raise AttributeError(f"no sub-module {target!r} in {type(self).__name__}")
            mod = mod._modules[part]
        return mod

    def num_parameters(self) -> int:
        """Total number of parameter entries (pruned ones included)."""
        return sum(p.size for p in self.parameters())

    # ---------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout drops, BatchNorm uses batch statistics)."""
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode; same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to zero."""
        for p in self.parameters():
            p.zero_grad()

    # -------------------------------------------------------- device / dtype
    def to(self, backend: str | None = None, dtype: Any = None) -> Module:
        """Move parameters, gradients, masks and buffers to ``backend`` and/or cast.

        Parameters
        ----------
        backend : {"numpy", "cupy"} or None
            Target array library (``"cpu"`` and ``"cuda"`` are accepted too).
        dtype : numpy dtype or None
            Floating dtype for parameters and floating buffers.

        Returns
        -------
        Module
            ``self``, modified in place (as in PyTorch).
        """
        if backend is not None:
            backend = normalize_backend(backend)
        for p in self.parameters():
            p.to(backend, dtype)
        for m in self.modules():
            for name, b in list(m._buffers.items()):
                if b is None:
                    continue
                if backend is not None:
                    b = to_backend(b, backend)
                if dtype is not None and b.dtype.kind == "f":
                    b = b.astype(dtype, copy=False)
                m._buffers[name] = b
        return self

    def double(self) -> Module:
        """Cast to float64 (used by gradient checks)."""
        return self.to(dtype=np.float64)

    def float(self) -> Module:
        """Cast to float32."""
        return self.to(dtype=np.float32)

    @property
    def backend(self) -> str:
        """``"numpy"`` or ``"cupy"``: where the first parameter lives."""
        for p in self.parameters():
            return backend_of(p.data)
        return "numpy"

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters, buffers and masks as NumPy arrays, keyed by dotted name.

        A pruned parameter ``"fc1.weight"`` adds the bool array
        ``"fc1.weight_mask"``.
        """
        state: dict[str, np.ndarray] = {}
        for name, p in self.named_parameters():
            state[name] = to_numpy(p.data).copy()
            if p.mask is not None:
                state[name + MASK_SUFFIX] = to_numpy(p.mask).copy()
        for name, b in self.named_buffers():
            if b is not None:
                state[name] = to_numpy(b).copy()
        return state

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        """Load parameters, buffers and masks from :meth:`state_dict` output.

        Every entry is checked before anything is changed: a missing or
        unexpected key (with ``strict``), or a shape or dtype that does not
        match, raises a ``ValueError`` naming the entry, and the module is
        left as it was.

        The state is the whole truth about each parameter it holds: a
        parameter loaded with a ``"<name>_mask"`` entry is pruned by that
        mask, and one loaded **without** a mask entry comes back **dense**
        (its old mask is dropped). So a dense state dict (say, the weights
        before pruning, for a lottery-ticket rewind) loaded into a pruned
        model unprunes it; to keep the masks, save them first and set them
        again (``masks = {n: p.mask for n, p in model.named_parameters()}``,
        then ``p.mask = masks[n]``), or load the pruned model's own
        ``state_dict()``. A parameter absent from the state (``strict=False``)
        keeps its data and its mask.
        """
        params = dict(self.named_parameters())
        buffers = {n: b for n, b in self.named_buffers() if b is not None}
        expected = set(params) | set(buffers)
        masks = {
            k[: -len(MASK_SUFFIX)]: v
            for k, v in state.items()
            if k.endswith(MASK_SUFFIX) and k[: -len(MASK_SUFFIX)] in params
        }
        values = {
            k: v
            for k, v in state.items()
            if not (k.endswith(MASK_SUFFIX) and k[: -len(MASK_SUFFIX)] in params)
        }
        if strict:
            missing = sorted(expected - set(values))
            unexpected = sorted(set(values) - expected)
            if missing or unexpected:
                raise ValueError(
                    f"state_dict does not match {type(self).__name__}: "
                    f"missing keys {missing}, unexpected keys {unexpected}"
                )
        targets = {**params, **buffers}
        for key, value in values.items():
            if key not in targets:
                continue
            cur = targets[key].data if key in params else targets[key]
            value = np.asarray(value) if not hasattr(value, "shape") else value
            if tuple(value.shape) != tuple(cur.shape):
                raise ValueError(
                    f"state_dict entry {key!r} has shape {tuple(value.shape)}, "
                    f"expected {tuple(cur.shape)}"
                )
            if value.dtype.kind != cur.dtype.kind:
                raise ValueError(
                    f"state_dict entry {key!r} has dtype {value.dtype}, expected {cur.dtype}"
                )
        for key, m in masks.items():
            m = np.asarray(m) if not hasattr(m, "shape") else m
            if m.dtype != np.bool_ or tuple(m.shape) != params[key].shape:
                raise ValueError(
                    f"state_dict entry {key + MASK_SUFFIX!r} must be a bool array of shape "
                    f"{params[key].shape}, got {m.dtype} {tuple(m.shape)}"
                )
        for key, value in values.items():
            if key in params:
                p = params[key]
                p.mask = None
                p.data = value
                if key in masks:
                    p.mask = masks[key]
            elif key in buffers:
                xp = get_xp(buffers[key])
                new = xp.asarray(
                    to_backend(value, backend_of(buffers[key])), dtype=buffers[key].dtype
                ).copy()
                self._set_buffer(key, new)

    def _set_buffer(self, dotted: str, value: Any) -> None:
        mod_name, _, name = dotted.rpartition(".")
        self.get_submodule(mod_name)._buffers[name] = value

    # ----------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """Extra text inside ``repr`` (e.g. ``in_features=64, out_features=10``)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): {mod!r}".replace("\n", "\n  ") for name, mod in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class Sequential(Module):
    """A chain of modules: ``forward`` runs them in order, ``backward`` in reverse.

    Parameters
    ----------
    *modules : Module
        The layers, registered as ``"0"``, ``"1"``, ... (as in PyTorch).

    Examples
    --------
    >>> from nnprune import nn
    >>> model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    >>> [name for name, _ in model.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential takes Module objects, got {type(m).__name__} at {i}")
            self._modules[str(i)] = m

    def forward(self, x: Any) -> Any:
        """Run the layers in order (each is called, so its hooks run)."""
        for m in self._modules.values():
            x = m(x)
        return x

    @property
    def input_requires_grad(self) -> bool:  # noqa: D102 (documented in Module)
        return self.__dict__.get("_input_requires_grad", True)

    @input_requires_grad.setter
    def input_requires_grad(self, value: bool) -> None:
        object.__setattr__(self, "_input_requires_grad", bool(value))
        for m in self._modules.values():  # the leading layers, up to the first with parameters
            m.input_requires_grad = bool(value)
            if next(m.parameters(), None) is not None:
                break

    def backward(self, dout: Any) -> Any:
        """Run the layers' backward passes in reverse order.

        Returns ``None`` when a layer skipped its input gradient
        (``input_requires_grad = False``) and no earlier layer has parameters.
        """
        mods = list(self._modules.values())
        for i in range(len(mods) - 1, -1, -1):
            dout = mods[i].backward(dout)
            if dout is None:
                if any(next(m.parameters(), None) is not None for m in mods[:i]):
                    raise RuntimeError(
                        f"layer {i} of Sequential returned no input gradient "
                        "(input_requires_grad=False) but earlier layers have parameters; "
                        "set input_requires_grad on the Sequential, not on a middle layer"
                    )
                return None
        return dout

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def _index(self, idx: int) -> int:
        if isinstance(idx, bool) or not isinstance(idx, int | np.integer):
            raise TypeError(f"Sequential indices must be integers or slices, got {idx!r}")
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for Sequential of length {n}")
        return idx % n

    def __getitem__(self, idx: int | slice) -> Any:
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return Sequential(*mods[idx])
        return mods[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Module objects, got {type(module).__name__}")
        key = list(self._modules)[self._index(idx)]
        self._modules[key] = module

    def __delitem__(self, idx: int | slice) -> None:
        mods = list(self._modules.values())
        del mods[idx if isinstance(idx, slice) else self._index(idx)]
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m

    def append(self, module: Module) -> Sequential:
        """Add a module at the end."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Module objects, got {type(module).__name__}")
        self._modules[str(len(self._modules))] = module
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert a module before position ``index``."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Module objects, got {type(module).__name__}")
        mods = list(self._modules.values())
        if index != len(mods):  # inserting at the end is allowed
            index = self._index(index)
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self._modules[str(i)] = m
        return self
