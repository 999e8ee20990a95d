"""The case studies of book §7: image (CNN, ResNet), text (Transformer), speech (Conv1d + GRU).

Each study trains a dense model, prunes copies of it, retrains them and an
unpruned copy (the equal-budget control ``dense+retrain``) with the same
budget, and prints a measured before/after table whose accuracy changes are
taken against that control (:mod:`nnprune.casestudies.common`). The study flow is
written once (:func:`~.common.run_study`); each study is a :class:`~.common.Study`
holding only what differs. The chapter-7 lesson and
``benchmarks/bench_applications.py`` call :func:`run_image_study`,
:func:`run_text_study` and :func:`run_speech_study`. The other chapter lessons call
the studies of their own modules: :mod:`.pruning_loop` (§5), :mod:`.applications`
(§6), :mod:`.trends` (§8) and :mod:`.l1_project` (appendix C).

Book: §6, §7 (corrected, see docs/errata.md#s7).
"""

from .common import CONTROL, Study, run_study
from .image import run_image_study
from .speech import run_speech_study
from .speech_model import SpeechClassifier
from .text import run_text_study
from .text_model import TransformerClassifier

__all__ = [
    "CONTROL",
    "Study",
    "SpeechClassifier",
    "TransformerClassifier",
    "run_image_study",
    "run_study",
    "run_speech_study",
    "run_text_study",
]
