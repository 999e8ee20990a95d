r"""Gradient-sensitivity pruning criteria of book §4.3, corrected.

* weights: :func:`gsp_scores` (:math:`|g|`), :func:`agsp_scores` (:math:`|w g|`),
  :func:`snip` / :func:`snip_scores` (SNIP at initialisation), applied with
  :func:`nnprune.prune.to_sparsity`; :func:`obd_scores` (second order, small layers);
* units: :func:`gsap_scores` / :func:`gsap_prune` (Taylor :math:`|z\,\partial J/\partial z|`,
  Molchanov 2017), removed physically;
* activation sparsity: :func:`apoz_scores` / :func:`apoz_prune` (APoZ, Hu et al. 2016);
* channels: :class:`SlimmingPenalty` and :func:`slim_channels` (network slimming);
* checks: :func:`taylor_report`, :func:`weight_taylor_report`,
  :func:`weight_taylor_sweep` (predicted vs actual loss change).

Book: §4.3 (corrected, see docs/errata.md#s4-3-gsp, #s4-3-agsp, #s4-3-gsap).
"""

from .apoz import apoz_prune, apoz_scores
from .gradient import (
    agsp_scores,
    book_gsp_select,
    gsp_scores,
    signed_gradients,
    snip,
    snip_scores,
)
from .obd import hessian_diagonal, obd_scores
from .slimming import SlimmingPenalty, bn_scales, slim_channels
from .taylor_check import TaylorReport, taylor_report, weight_taylor_report, weight_taylor_sweep
from .units import gsap_prune, gsap_scores

__all__ = [
    "SlimmingPenalty",
    "TaylorReport",
    "agsp_scores",
    "apoz_prune",
    "apoz_scores",
    "bn_scales",
    "book_gsp_select",
    "gsap_prune",
    "gsap_scores",
    "gsp_scores",
    "hessian_diagonal",
    "obd_scores",
    "signed_gradients",
    "slim_channels",
    "snip",
    "snip_scores",
    "taylor_report",
    "weight_taylor_report",
    "weight_taylor_sweep",
]
