r"""The ``Penalty`` protocol: a term :math:`\lambda\,\Omega(W)` added to the training loss.

Every penalty of this package represents :math:`R(W) = \lambda\,\Omega(W)`, summed
over a list of parameters:

.. math::

    \min_W\; \mathrm{Loss}(W) + \lambda \sum_{p} \Omega(W_p),\qquad \lambda \ge 0.

It offers up to three views of :math:`R`, where they exist:

* ``value(params)``: :math:`\lambda \sum_p \Omega(W_p)` as a float, to add to the loss;
* ``grad(W)``: a (sub)gradient :math:`\lambda\,\partial\Omega/\partial W` of one array;
* ``prox(V, step)``: the proximal operator of :math:`\text{step}\cdot R`,

.. math::

    \operatorname{prox}_{\text{step}\,\lambda\,\Omega}(V)
        = \arg\min_X\; \tfrac12 \lVert X - V \rVert_F^2 + \text{step}\,\lambda\,\Omega(X).

Two methods plug a penalty into a training loop without touching any layer:

* ``add_grad(params)``, after ``model.backward``: adds :math:`\lambda\,\partial\Omega/\partial W`
  into each ``p.grad``, multiplied by the mask so pruned entries get nothing
  (the subgradient route; weights become small, rarely exactly zero);
* ``apply_prox(params, lr)``, after ``opt.step()``: replaces each ``p.data`` by
  ``prox(p.data, lr)`` and re-applies the mask (proximal gradient / ISTA, Beck &
  Teboulle 2009; for L1 this gives exact zeros).

Frozen parameters (``requires_grad=False``) are skipped by both, as optimisers skip them.
``params`` may be a ``Module`` (its prunable parameters are used: the weights, not
biases or normalisation scales), one ``Parameter``, or an iterable of them.

Book: §4.1 (corrected, see docs/errata.md#s4-1-l0, #s4-1-l1).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..checks import check_nonnegative
from ..nn.module import Module
from ..nn.parameter import Parameter

ParamsLike = Module | Parameter | Iterable[Parameter]


def check_array(name: str, value: Any) -> Any:
    """Raise ``ValueError`` unless ``value`` is a floating NumPy or CuPy array."""
    dtype = getattr(value, "dtype", None)
    if not hasattr(value, "shape") or dtype is None or getattr(dtype, "kind", "") != "f":
        what = f"{type(value).__name__} of dtype {dtype}" if dtype is not None else type(value)
        raise ValueError(f"{name} must be a floating-point NumPy or CuPy array, got {what}")
    return value


def as_parameter_list(params: ParamsLike) -> list[Parameter]:
    """Turn a ``Module``, a ``Parameter`` or an iterable of them into a list of parameters.

    A ``Module`` gives its prunable parameters (``Module.prunable_parameters()``).

    Raises
    ------
    ValueError
        If ``params`` is none of these, or an item is not a ``Parameter``.
    """
    if isinstance(params, Module):
        return [t.param for t in params.prunable_parameters()]
    if isinstance(params, Parameter):
        return [params]
    if isinstance(params, str | bytes) or not isinstance(params, Iterable):
        raise ValueError(
            "params must be a Module, a Parameter or an iterable of Parameters, "
            f"got {type(params).__name__}"
        )
    out = list(params)
    for i, p in enumerate(out):
        if not isinstance(p, Parameter):
            raise ValueError(
                f"params must contain nnprune Parameters, got {type(p).__name__} at position {i}"
            )
    return out


class Penalty:
    r"""Base class of the sparsity penalties :math:`R(W) = \lambda\,\Omega(W)`.

    Subclasses implement :meth:`omega` (the unscaled :math:`\Omega` of one
    array) and, where they exist, :meth:`grad` and :meth:`prox`.

    Parameters
    ----------
    lam : float
        The strength :math:`\lambda \ge 0`. May be changed later (``penalty.lam = ...``),
        e.g. by a schedule; the new value is validated.
    """

    def __init__(self, lam: float) -> None:
        self._lam = check_nonnegative("lam", lam)

    @property
    def lam(self) -> float:
        r"""The strength :math:`\lambda \ge 0`."""
        return self._lam

    @lam.setter
    def lam(self, value: float) -> None:
        self._lam = check_nonnegative("lam", value)

    # ------------------------------------------------------- one array
    def omega(self, W: Any) -> float:
        r"""The unscaled penalty :math:`\Omega(W)` of one array."""
        raise NotImplementedError(f"{type(self).__name__} does not implement omega")

    def grad(self, W: Any) -> Any:
        r"""A (sub)gradient :math:`\lambda\,\partial\Omega/\partial W`, same shape as ``W``."""
        raise NotImplementedError(
            f"{type(self).__name__} has no useful gradient; use apply_prox / prox instead"
        )

    def prox(self, V: Any, step: float) -> Any:
        r""":math:`\operatorname{prox}_{\text{step}\,\lambda\,\Omega}(V)`, same shape as ``V``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement prox")

    # ------------------------------------------- per-parameter hooks
    # Subclasses whose penalty depends on the parameter (reweighted L1) override these.
    def _param_omega(self, p: Parameter) -> float:
        return self.omega(p.data)

    def _param_grad(self, p: Parameter) -> Any:
        return self.grad(p.data)

    def _param_prox(self, p: Parameter, step: float) -> Any:
        return self.prox(p.data, step)

    # ------------------------------------------------ training hooks
    def value(self, params: ParamsLike) -> float:
        r""":math:`\lambda \sum_p \Omega(W_p)`, the term to add to the loss.

        Parameters
        ----------
        params : Module, Parameter or iterable of Parameters
            A ``Module`` means its prunable parameters.
        """
        plist = as_parameter_list(params)
        return self._lam * sum(float(self._param_omega(p)) for p in plist)

    def add_grad(self, params: ParamsLike) -> None:
        r"""Add :math:`\lambda\,\partial\Omega/\partial W` into ``p.grad`` (masked entries get 0).

        Call after ``model.backward(...)`` and before ``opt.step()``.
        """
        plist = [p for p in as_parameter_list(params) if p.requires_grad]
        updates = [self._param_grad(p) for p in plist]  # compute all first: no partial update
        for p, g in zip(plist, updates, strict=True):
            if p.mask is not None:
                g = g * p.mask
            p.grad += g

    def apply_prox(self, params: ParamsLike, lr: float) -> None:
        r"""Replace ``p.data`` by :math:`\operatorname{prox}_{\text{lr}\,\lambda\,\Omega}(p.data)`.

        Call after ``opt.step()`` with the step's learning rate: with plain SGD
        this is one proximal-gradient (ISTA) step. Pruned entries read as zero
        (``Parameter.data`` enforces the mask).
        """
        step = check_nonnegative("lr", lr)
        plist = [p for p in as_parameter_list(params) if p.requires_grad]
        updates = [self._param_prox(p, step) for p in plist]
        for p, new in zip(plist, updates, strict=True):
            p.data[...] = new  # in place: optimiser state keeps referring to the same array

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lam={self._lam!r})"
