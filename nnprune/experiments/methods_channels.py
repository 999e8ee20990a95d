r"""Channel pruning of a CNN as a registered method (``channels``), and the physical shrink step.

``channels`` removes, in every prunable convolution, the fraction ``sparsity`` of its output
channels with the lowest score (:func:`nnprune.prune.prune_channels`: ``"l1"``/``"l2"`` filter
norms, Li et al. 2017; ``"bn_scale"`` :math:`|\gamma|`, Liu et al. 2017; ``"next_input"``
the next layer's input-channel norm), then retrains the smaller model. Here, and only
here, the run's target ``sparsity`` is a share of *channels*, not of weights: the model
has no zeros afterwards, it is smaller. Its size is reported against the original
parameter count (``params_original``, ``compression``).

:func:`shrink_structured` is the step that ``nnprune prune`` and ``nnprune compare``
share: after a method that masks whole units (:data:`SHRINKS`), the units whose outputs
meet only zero weights are removed physically (:func:`nnprune.prune.remove_dead_units`,
exact), so both commands report the same, smaller size.

Book: §3.1 (structural pruning), §3.2 (importance criteria), §4.3 (BN scale).
"""

from __future__ import annotations

from typing import Any

from .. import prune
from ..nn.module import Module
from .methods import RunContext, check_layer_sparsities, register

# methods whose masked units are removed physically before the model is measured and saved
SHRINKS = ("gsap", "slimming", "channels")


def _check_criterion(key: str, value: Any) -> str:
    if value not in prune.CHANNEL_CRITERIA:
        raise ValueError(f"{key} must be one of {prune.CHANNEL_CRITERIA}, got {value!r}")
    return value


@register(
    "channels",
    defaults={"criterion": "l1", "layer_sparsities": {}},
    summary="remove the fraction `sparsity` of every conv's output channels (Li et al. 2017)",
    checks={"criterion": _check_criterion, "layer_sparsities": check_layer_sparsities},
    opt_in=True,  # CNNs only: compared where named
)
def channels(ctx: RunContext) -> dict[str, Any]:
    """Physically remove the lowest-scoring output channels of every convolution, retrain.

    ``ctx.sparsity`` is the fraction of each convolution's output channels removed;
    ``layer_sparsities`` (``{layer: fraction}``) overrides it for the layers it names.
    ``info`` reports the parameters before and after.

    H. Li et al., *Pruning Filters for Efficient ConvNets*, ICLR 2017; Z. Liu et al.,
    *Learning Efficient Convolutional Networks through Network Slimming*, ICCV 2017.

    Book: §3.1, §3.2
    """
    s = ctx.method_settings
    before = ctx.model.num_parameters()
    layers = prune.channel_layers(ctx.model, ctx.input_shape)
    amount = {name: ctx.sparsity for name in layers}
    amount.update(s.get("layer_sparsities") or {})
    records = prune.prune_channels(
        ctx.model, amount, s.get("criterion", "l1"), input_shape=ctx.input_shape
    )
    ctx.retrain()
    return {
        "channels_removed": sum(len(r.removed) for r in records),
        "params_before": before,
        "params_after": ctx.model.num_parameters(),
    }


def shrink_structured(method: str, model: Module, input_shape: Any) -> list[prune.RemovalRecord]:
    """Remove the dead units a method of :data:`SHRINKS` left (exact); others: nothing."""
    if method not in SHRINKS:
        return []
    return prune.remove_dead_units(model, input_shape)


__all__ = ["SHRINKS", "channels", "shrink_structured"]
