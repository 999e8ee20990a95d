r"""``SGD``: stochastic gradient descent with momentum, dampening and Nesterov.

Book: §1.1 (gradient descent and the training loop).
"""

from __future__ import annotations

from typing import Any

from ..checks import check_bool, check_nonnegative
from ..nn.parameter import Parameter
from .optimizer import Optimizer, ParamsLike


class SGD(Optimizer):
    r"""Stochastic gradient descent, with the update of ``torch.optim.SGD``.

    With gradient :math:`g_t`, weights :math:`w_t`, learning rate
    :math:`\eta`, weight decay :math:`\lambda`, momentum :math:`\mu` and
    dampening :math:`\tau`:

    .. math::

        d_t &= g_t + \lambda w_{t-1} \\
        b_t &= \begin{cases} d_t & t = 1 \\
               \mu b_{t-1} + (1 - \tau) d_t & t > 1 \end{cases} \\
        d_t &\leftarrow \begin{cases} d_t + \mu b_t & \text{nesterov} \\
               b_t & \text{otherwise} \end{cases}
               \quad (\text{only if } \mu \ne 0) \\
        w_t &= w_{t-1} - \eta d_t

    This is the PyTorch form of momentum (Sutskever et al., 2013, "On the
    importance of initialization and momentum in deep learning", ICML): the
    learning rate multiplies the buffer rather than each gradient, and the
    Nesterov variant looks ahead along the buffer. The base class masks
    :math:`g_t` and zeroes :math:`b_t` where pruned, and ``Parameter.data``
    reads every pruned entry as zero, so a pruned weight stays exactly zero.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        Parameters or parameter groups (see :class:`Optimizer`).
    lr : float
        Learning rate :math:`\eta \ge 0`.
    momentum : float, default 0
        Momentum factor :math:`\mu \ge 0`.
    dampening : float, default 0
        Dampening :math:`\tau \ge 0` for the momentum buffer.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.
    nesterov : bool, default False
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from nnprune.nn import Parameter
    >>> w = Parameter(np.array([1.0, 2.0]))
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> w.grad[...] = [1.0, -1.0]
    >>> opt.step()
    >>> w.data
    array([0.9, 2.1])
    >>> w.mask = np.array([True, False])  # prune the second weight
    >>> opt.step()  # its momentum buffer is not empty, yet it stays zero
    >>> print(w.data[1], opt.state[w]["momentum_buffer"][1])
    0.0 0.0

    Book: §1.1, §5.2 (learning rate and momentum when retraining).
    """

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        for name in ("momentum", "dampening", "weight_decay"):
            group[name] = check_nonnegative(name, group[name])
        group["nesterov"] = check_bool("nesterov", group["nesterov"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "nesterov=True requires momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update(
        self, param: Parameter, grad: Any, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        d_p = grad
        if group["weight_decay"] != 0:
            d_p = d_p + group["weight_decay"] * param.data
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = d_p.copy()
                state["momentum_buffer"] = buf
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * d_p
            d_p = d_p + momentum * buf if group["nesterov"] else buf
        data = param.data
        data -= group["lr"] * d_p
