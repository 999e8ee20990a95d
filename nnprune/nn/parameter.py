r"""``Parameter``: a trainable array with its gradient and its pruning mask.

A parameter holds

* ``data``: the values (``numpy`` or ``cupy`` array);
* ``grad``: an array of the same shape; ``Module.backward`` *adds* into it;
* ``mask``: ``None`` (not pruned) or a ``bool`` array of the same shape,
  ``True`` = kept, ``False`` = pruned;
* ``name``: the attribute name in its module (``"weight"``, ``"bias"``);
* ``prunable``: whether the pruning API may prune it (weights yes; biases and
  normalisation scales no, unless a method says otherwise);
* ``requires_grad``: ``False`` freezes it (optimisers skip it).

The mask rule
-------------
Whenever a layer computes, a pruned weight contributes exactly zero, and
``data`` shows what the layer computed with. The rule is enforced in **one**
place: the ``data`` getter. Every reader of the values goes through it (the
layers' ``forward`` and ``backward``, the metrics, ``Module.state_dict`` and so
``nnprune.io.save``), and each read first sets the pruned entries of the stored
array to zero, in place: in effect ``xp.copyto(data, 0, where=~mask)``, done
on the bits for speed (:meth:`Parameter.apply_mask`).

So no write can revive a pruned weight, whoever makes it: an optimiser's
``step``, a student's ``p.data[...] -= lr * p.grad``, a hand loop
``w = p.data; w -= lr * p.grad`` (``w`` is the same array, zeroed again at the
next read), a NaN checkpoint or an infinite learning rate. The zeros come from
*selection*, not from multiplying by the mask: ``nan * 0`` and ``inf * 0``
are ``nan``, a selected zero is a zero.

Why the getter and not the alternatives. Enforcing where a mask or new data
is *set* (and in ``Optimizer.step``) misses every in-place write made
elsewhere, which is what user code does. Enforcing in ``Module.__call__``
(PyTorch's forward pre-hook) misses ``layer.forward(x)`` called directly, and
the metrics and ``state_dict`` would each need the rule again. The getter is
the one door every reader uses, so one call there is the whole rule. It
costs one pass over the array per read of a pruned parameter (nothing for an
unpruned one); ``benchmarks/bench_engine.py`` times it (the ``MLP 90%`` row).
``mask`` is read live at each access, so a mask edited in place takes effect too.
Layers never look at masks, and must read ``weight.data`` (never
``_data``).

PyTorch's ``torch.nn.utils.prune`` keeps the same information differently: it
renames the tensor to ``weight_orig``, stores ``weight_mask`` as a buffer and
recomputes ``weight = weight_orig * weight_mask`` in a forward pre-hook. nnprune
keeps one ``data`` array that is masked whenever it is read, so what a reader
sees in ``layer.weight.data`` is exactly what the layer computes with.

Book: §1.1 (weights), §3.1 (pruning multiplies weights by a 0/1 mask).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from ..backend import backend_of, get_xp, to_backend


def zero_pruned(array: Any, mask: Any) -> None:
    """Set ``array[~mask]`` to exactly +0.0 in place, by selection (see ``apply_mask``).

    Also used by the optimisers to clear their state (momentum, Adam's moments)
    where a parameter is pruned.
    """
    xp = get_xp(array)
    bits = array.view(f"i{array.itemsize}")  # the same memory, as integers
    # Integer times 1 keeps a kept entry's bit pattern exactly; times 0 gives the
    # all-zero pattern, +0.0, whatever the float was (NaN, inf, -0.0).
    xp.multiply(bits, mask, out=bits)


def pruned_zeroed(array: Any, mask: Any) -> Any:
    """A new array equal to ``array`` with ``array[~mask]`` exactly +0.0 (by selection).

    The copy version of :func:`zero_pruned`, in one pass: what
    ``xp.where(mask, array, 0)`` means, about 3x faster here (the optimisers' masked
    gradient).
    """
    bits = array.view(f"i{array.itemsize}")
    return get_xp(array).multiply(bits, mask).view(array.dtype)


class Parameter:
    """A trainable array with ``grad``, an optional pruning ``mask`` and flags.

    Parameters
    ----------
    data : array_like
        Initial values. Copied into a floating-point array.
    name : str, optional
        Attribute name inside the owning module; set by ``Module`` when the
        parameter is assigned.
    prunable : bool, default False
        Whether the pruning API may put a mask on it.
    requires_grad : bool, default True
        ``False`` freezes the parameter: optimisers leave it unchanged.
    """

    def __init__(
        self, data: Any, name: str = "", prunable: bool = False, requires_grad: bool = True
    ) -> None:
        xp = get_xp(data)
        arr = xp.array(data, copy=True)
        if arr.dtype.kind != "f":
            arr = arr.astype(np.float32)
        self._data = arr
        self.grad = xp.zeros_like(arr)
        self._mask = None
        self.name = name
        self.prunable = bool(prunable)
        self.requires_grad = bool(requires_grad)

    # ------------------------------------------------------------------ data
    @property
    def data(self) -> Any:
        """The values, with the pruned entries set to exactly zero (see the module docstring).

        The returned array is the stored one, not a copy: writes into it
        change the parameter, but a pruned entry reads as zero again at the
        next access. Assigning an array copies it in.
        """
        self.apply_mask()
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        xp = get_xp(self._data)
        arr = xp.array(to_backend(value, backend_of(self._data)), dtype=self._data.dtype, copy=True)
        if arr.shape != self._data.shape:
            if self._mask is not None:
                raise ValueError(
                    f"cannot assign data of shape {arr.shape} to pruned parameter "
                    f"{self.name!r} of shape {self._data.shape}; call prune.remove first"
                )
            self.grad = xp.zeros_like(arr)
        self._data = arr
        self.apply_mask()

    # ------------------------------------------------------------------ mask
    @property
    def mask(self) -> Any:
        """``None`` or a bool array of ``data.shape`` (True = kept).

        Setting a mask zeroes the pruned entries of ``data`` at once.
        """
        return self._mask

    @mask.setter
    def mask(self, value: Any) -> None:
        if value is None:
            self._mask = None
            return
        xp = get_xp(self._data)
        m = to_backend(value, backend_of(self._data))
        if not hasattr(m, "dtype") or m.dtype != np.bool_:
            raise ValueError(
                f"mask for {self.name or 'parameter'!r} must be a bool array, "
                f"got dtype {getattr(m, 'dtype', type(m).__name__)}"
            )
        if m.shape != self._data.shape:
            raise ValueError(
                f"mask for {self.name or 'parameter'!r} must have shape {self._data.shape}, "
                f"got {m.shape}"
            )
        self._mask = xp.array(m, copy=True)
        self.apply_mask()

    def apply_mask(self) -> None:
        """Set the pruned entries of ``data`` to exactly +0.0, in place (no-op without a mask).

        By selection, not multiplication: whatever a pruned entry holds, NaN
        and infinities included, it becomes 0 (``nan * 0`` would stay NaN). The
        meaning is ``xp.copyto(data, 0, where=~mask)``; it is done on the bits
        because ``copyto`` with a scattered mask is about 10x slower (a branch
        per entry: 438 vs 43 µs on a 300x784 float32 weight at 90% sparsity).
        Seen as integers, each kept entry is multiplied by 1 (its bits unchanged)
        and each pruned entry by 0, the bit pattern of +0.0. The ``data`` getter
        calls it on every read.
        """
        if self._mask is not None:
            zero_pruned(self._data, self._mask)

    # ------------------------------------------------------------- utilities
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``data``."""
        return tuple(self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        """dtype of ``data``."""
        return self._data.dtype

    @property
    def size(self) -> int:
        """Number of entries of ``data``."""
        return int(self._data.size)

    @property
    def ndim(self) -> int:
        """Number of dimensions of ``data``."""
        return int(self._data.ndim)

    def zero_grad(self) -> None:
        """Set ``grad`` to zero in place."""
        self.grad[...] = 0

    def to(self, backend: str | None = None, dtype: Any = None) -> Parameter:
        """Move ``data``, ``grad`` and ``mask`` to ``backend`` and/or cast to ``dtype``.

        The mask is re-applied after the move. Returns ``self``.
        """
        if backend is not None:
            self._data = to_backend(self._data, backend)
            self.grad = to_backend(self.grad, backend)
            self._mask = to_backend(self._mask, backend)
        if dtype is not None:
            self._data = self._data.astype(dtype, copy=False)
            self.grad = self.grad.astype(dtype, copy=False)
        self.apply_mask()
        return self

    def __repr__(self) -> str:
        pruned = "" if self._mask is None else f", pruned={int(self._mask.size - self._mask.sum())}"
        return (
            f"Parameter(name={self.name!r}, shape={self.shape}, dtype={self.dtype}"
            f"{pruned}, prunable={self.prunable})"
        )


@contextlib.contextmanager
def masks_lifted(params: Iterable[Parameter]) -> Iterator[None]:
    """Take the masks off ``params`` for the ``with`` block, then put them back.

    For numerical (dense) gradients: with a mask on, the mask rule reads every
    perturbed pruned entry as zero, so central differences there would be 0.
    Putting a mask back zeroes the pruned entries again.
    """
    params = list(params)
    masks = [p.mask for p in params]
    try:
        for p in params:
            p.mask = None
        yield
    finally:
        for p, mask in zip(params, masks, strict=True):
            p.mask = mask
