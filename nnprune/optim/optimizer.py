r"""``Optimizer``: the base class that keeps pruning masks through every update.

Every optimiser in nnprune shares one :meth:`Optimizer.step`, written once
here as a template. For each parameter with ``requires_grad``:

1. take its gradient ``g``; if the parameter has a mask ``m``, use
   :math:`g \odot m` (a pruned weight receives no gradient, as in PyTorch,
   where the chain rule through ``weight_orig * weight_mask`` gives it);
2. call the subclass's per-parameter rule, :meth:`Optimizer._update`,
   which changes ``data`` in place and keeps its state (momentum buffer,
   ``exp_avg``, ...) in ``self.state[param]``;
3. zero every state array where the mask is ``False``.

Pruned weights stay zero whatever ``_update`` writes: that is the mask rule,
enforced once, in the ``Parameter.data`` getter (see
:mod:`nnprune.nn.parameter`), so a subclass that overrides :meth:`step`
itself, or a hand-written loop, cannot revive them either. Steps 1 and 3 keep
the optimiser's *state* clean: without them a momentum buffer filled before
pruning, or Adam's running averages, would hold non-zero values for pruned
weights, and these would move the weights again once the pruning is made
permanent (``prune.remove``; the "revived weights" bug that Distiller, NNCF
and many fine-tuning scripts met). The subclasses never look at masks: they
write the plain PyTorch update.

Learning rates must be finite: an infinite ``lr`` is rejected when a group
is added and again at each :meth:`step` (a group's ``lr`` may be changed by
hand between steps).

The optimiser state lives in the optimiser, one dict per parameter. When a
model is moved to another backend (``model.to("cupy")``), the state follows
it lazily, at the next :meth:`step`. A parameter whose shape changed (a
structurally pruned model) cannot keep its state: :meth:`step` raises and
asks for a new optimiser.

Book: §1.1 (training loop), §5.3 (the mask must be applied after every
update, corrected, see docs/errata.md#s5-3).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from ..backend import backend_of, get_xp, to_backend
from ..checks import check_nonnegative
from ..nn.parameter import Parameter, pruned_zeroed, zero_pruned

ParamsLike = Iterable[Parameter] | Iterable[dict[str, Any]]


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def check_lr(value: Any) -> float:
    """Return the learning rate ``value`` as float if it is finite and >= 0, else raise."""
    return check_nonnegative("lr", value)


class Optimizer:
    """Base class of every optimiser: parameter groups, state, and the masked step.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        The parameters to optimise, or parameter groups: dicts with a
        ``"params"`` list and optional per-group hyper-parameters
        (``{"params": [...], "lr": 0.01}``), as in ``torch.optim``.
    defaults : dict
        Hyper-parameters used by every group that does not set its own.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` and every hyper-parameter.
    state : dict
        ``state[param]`` is the dict of that parameter's optimiser state.
    """

    def __init__(self, params: ParamsLike, defaults: dict[str, Any]) -> None:
        if callable(getattr(params, "parameters", None)) and callable(
            getattr(params, "forward", None)
        ):
            raise TypeError(
                f"params must be an iterable of Parameters, got a {type(params).__name__} "
                "module; pass its parameters: SGD(model.parameters(), lr=...)"
            )
        if isinstance(params, Parameter) or _is_array(params) or isinstance(params, dict):
            raise TypeError(
                "params must be an iterable of Parameters or of dicts (parameter groups), "
                f"got {type(params).__name__}; pass model.parameters() or [param]"
            )
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Parameter, dict[str, Any]] = {}
        self._shapes: dict[Parameter, tuple[int, ...]] = {}
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----------------------------------------------------------- groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters.

        Missing hyper-parameters are taken from ``defaults``. The optimiser
        is left unchanged when the group is invalid.

        Raises
        ------
        TypeError
            If an item is not a :class:`Parameter` or the group is not a dict.
        ValueError
            If the group is empty, has an unknown or invalid hyper-parameter,
            or shares a parameter with another group.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a parameter group must have a 'params' entry")
        params = param_group["params"]
        params = [params] if isinstance(params, Parameter) else list(params)
        if len(params) == 0:
            raise ValueError("optimizer got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"optimizer can only optimize Parameters, got {type(p).__name__} "
                    f"at position {i} of 'params'"
                )
        unknown = sorted(set(param_group) - set(self.defaults) - {"params", "initial_lr"})
        if unknown:
            raise ValueError(
                f"unknown hyper-parameter(s) {unknown} for {type(self).__name__}; "
                f"expected some of {sorted(self.defaults)}"
            )
        seen = {id(q) for g in self.param_groups for q in g["params"]}
        ids = [id(p) for p in params]
        if len(set(ids)) != len(ids) or seen.intersection(ids):
            raise ValueError("some parameters appear more than once in the parameter groups")
        group = {**self.defaults, **param_group, "params": params}
        self._check_group(group)
        self.param_groups.append(group)
        for p in params:
            self._shapes[p] = p.shape

    def _check_group(self, group: dict[str, Any]) -> None:
        """Validate a group's hyper-parameters (subclasses extend this)."""
        group["lr"] = check_lr(group["lr"])

    # ------------------------------------------------------------- step
    def zero_grad(self) -> None:
        """Set the gradient of every parameter to zero."""
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad()

    def step(self) -> None:
        """Update every trainable parameter once, keeping the mask invariant.

        ``param.grad`` itself is not changed: pruning criteria may still read
        the dense gradient after the step.

        Raises
        ------
        RuntimeError
            If a parameter changed shape since the optimiser was created.
        ValueError
            If a group's ``lr`` is not a finite number >= 0.
        """
        for group in self.param_groups:
            check_lr(group["lr"])
        for group in self.param_groups:
            for p in group["params"]:
                if not p.requires_grad:
                    continue
                state = self._state_for(p)
                grad = p.grad if p.mask is None else pruned_zeroed(p.grad, p.mask)
                self._update(p, grad, state, group)
                if p.mask is not None:
                    for value in state.values():
                        if _is_array(value) and value.shape == p.mask.shape:
                            zero_pruned(value, p.mask)

    def _update(
        self, param: Parameter, grad: Any, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Apply the update rule to ``param.data`` in place (subclasses implement it).

        Parameters
        ----------
        param : Parameter
            The parameter; change ``param.data`` in place.
        grad : array
            Its gradient, already masked.
        state : dict
            This parameter's state; create arrays in it on first use.
        group : dict
            The hyper-parameters of the parameter's group.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    def _state_for(self, p: Parameter) -> dict[str, Any]:
        """Return ``p``'s state, moved to ``p``'s backend and dtype if the model moved."""
        if p.shape != self._shapes[p]:
            raise RuntimeError(
                f"parameter {p.name or '<unnamed>'!r} changed shape from {self._shapes[p]} "
                f"to {p.shape} since the optimizer was created (was the model structurally "
                "pruned?); create a new optimizer for the new model"
            )
        state = self.state.setdefault(p, {})
        backend = backend_of(p.grad)  # grad moves with data (Parameter.to)
        for key, value in state.items():
            if _is_array(value):
                if backend_of(value) != backend:
                    value = to_backend(value, backend)
                state[key] = value.astype(p.dtype, copy=False)
        return state

    # ------------------------------------------------------- state dict
    def state_dict(self) -> dict[str, Any]:
        """Return the optimiser state, with parameters referred to by index.

        Returns
        -------
        dict
            ``{"state": {index: {name: value}}, "param_groups": [group, ...]}``,
            where each group lists the indices of its parameters under
            ``"params"``, numbered across groups in order, as in PyTorch.
            Arrays are copies.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            packed = {k: v for k, v in group.items() if k != "params"}
            groups.append({**copy.deepcopy(packed), "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {
                        k: (v.copy() if _is_array(v) else v) for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state saved by :meth:`state_dict` into this optimiser.

        Arrays are copied to each parameter's backend and dtype. Nothing
        changes if the saved state does not fit these parameter groups.

        Raises
        ------
        ValueError
            If the number or sizes of the groups, or a state array's shape,
            do not match.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        params: dict[int, Parameter] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"parameter group {i} has {len(group['params'])} parameters, "
                    f"the loaded state dict has {len(saved['params'])}"
                )
            params.update(zip(saved["params"], group["params"], strict=True))
        new_state: dict[Parameter, dict[str, Any]] = {}
        for idx, values in state_dict["state"].items():
            p = params[idx]
            xp = get_xp(p.data)
            entry = {}
            for k, v in values.items():
                if _is_array(v):
                    if tuple(v.shape) != p.shape:
                        raise ValueError(
                            f"state {k!r} of parameter {idx} has shape {tuple(v.shape)}, "
                            f"the parameter has shape {p.shape}"
                        )
                    v = xp.array(to_backend(v, backend_of(p.data)), dtype=p.dtype, copy=True)
                entry[k] = v
            new_state[p] = entry
        for saved, group in zip(saved_groups, self.param_groups, strict=True):
            group.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


__all__ = ["Optimizer", "check_lr"]
