r"""``Adam`` and ``AdamW``: adaptive moment estimation, with L2 or decoupled weight decay.

Book: §1.1 (training loop), §5.2 (retraining).
"""

from __future__ import annotations

from typing import Any

from ..backend import get_xp
from ..checks import check_nonnegative, check_positive
from ..nn.parameter import Parameter
from .optimizer import Optimizer, ParamsLike


class Adam(Optimizer):
    r"""Adam, with the update of ``torch.optim.Adam`` (``amsgrad=False``).

    With gradient :math:`g_t`, weights :math:`w_t`, learning rate
    :math:`\eta`, weight decay :math:`\lambda` and step :math:`t = 1, 2, \dots`:

    .. math::

        g_t &\leftarrow g_t + \lambda w_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        w_t &= w_{t-1} - \frac{\eta}{1 - \beta_1^t}
               \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    with :math:`m_0 = v_0 = 0` (Kingma & Ba, 2015, "Adam: A method for
    stochastic optimization", ICLR; :math:`\epsilon` is added after the bias
    correction, as in PyTorch). ``weight_decay`` here is an L2 penalty added
    to the gradient, so Adam rescales it like the gradient; :class:`AdamW`
    decouples it. The base class masks :math:`g_t` and zeroes ``exp_avg``
    (:math:`m`) and ``exp_avg_sq`` (:math:`v`) where pruned; ``Parameter.data``
    reads every pruned entry of :math:`w_t` as zero.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        Parameters or parameter groups (see :class:`Optimizer`).
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0`.
    betas : tuple of float, default (0.9, 0.999)
        :math:`(\beta_1, \beta_2)`, each in ``[0, 1)``.
    eps : float, default 1e-8
        :math:`\epsilon > 0`, added to the denominator.
    weight_decay : float, default 0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient.

    Book: §1.1, §5.2.
    """

    _decoupled = False

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self._check_group(dict(defaults))
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        betas = group["betas"]
        ok = isinstance(betas, tuple | list) and len(betas) == 2
        ok = ok and all(isinstance(b, int | float) and not isinstance(b, bool) for b in betas)
        if not ok or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"betas must be a pair of numbers in [0, 1), got {betas!r}")
        group["betas"] = (float(betas[0]), float(betas[1]))
        group["eps"] = check_positive("eps", group["eps"])
        group["weight_decay"] = check_nonnegative("weight_decay", group["weight_decay"])

    def _update(
        self, param: Parameter, grad: Any, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        xp = get_xp(param.data)
        lr, weight_decay, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param.data)
            state["exp_avg_sq"] = xp.zeros_like(param.data)
        state["step"] += 1
        t, exp_avg, exp_avg_sq = state["step"], state["exp_avg"], state["exp_avg_sq"]
        data = param.data
        if weight_decay != 0:
            if self._decoupled:
                data *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * data
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        step_size = lr / (1 - beta1**t)
        denom = xp.sqrt(exp_avg_sq) / (1 - beta2**t) ** 0.5 + eps
        data -= step_size * exp_avg / denom


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    The weights shrink by :math:`\eta\lambda` before the Adam step, instead
    of :math:`\lambda w` being added to the gradient:

    .. math::

        w_{t-1} &\leftarrow (1 - \eta \lambda)\, w_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        w_t &= w_{t-1} - \frac{\eta}{1 - \beta_1^t}
               \frac{m_t}{\sqrt{v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    (Loshchilov & Hutter, 2019, "Decoupled weight decay regularization",
    ICLR). With Adam's L2 form the decay is divided by
    :math:`\sqrt{v_t}`, so weights with large gradients are barely
    regularised; the decoupled form shrinks every weight at the same rate.

    Parameters
    ----------
    params : iterable of Parameter, or iterable of dict
        Parameters or parameter groups (see :class:`Optimizer`).
    lr : float, default 1e-3
        Learning rate :math:`\eta \ge 0`.
    betas : tuple of float, default (0.9, 0.999)
        :math:`(\beta_1, \beta_2)`, each in ``[0, 1)``.
    eps : float, default 1e-8
        :math:`\epsilon > 0`, added to the denominator.
    weight_decay : float, default 1e-2
        Decoupled decay :math:`\lambda \ge 0`.

    Book: §1.1, §5.2.
    """

    _decoupled = True

    def __init__(
        self,
        params: ParamsLike,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
