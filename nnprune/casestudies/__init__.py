"""The lessons' studies of book §5–8 and appendix C, on the library's public API.

§7's case studies (:mod:`.image`, :mod:`.text`, :mod:`.speech`) are each a
:class:`~nnprune.experiments.casestudy.Study` that says only what differs (data,
model, pruning methods, training); :func:`~nnprune.experiments.casestudy.run_study`
runs them against the equal-budget control ``dense+retrain``. The chapter lessons
call :mod:`.pruning_loop` (§5), :mod:`.applications` (§6), :mod:`.trends` (§8) and
:mod:`nnprune.pseudocode.appc` (appendix C).

Book: §5–8, appendix C.
"""

from ..experiments.casestudy import CONTROL, Study, run_study
from ..models_speech import SpeechClassifier
from ..models_text import TransformerClassifier
from .image import run_image_study
from .speech import run_speech_study
from .text import run_text_study

__all__ = ["CONTROL", "SpeechClassifier", "Study", "TransformerClassifier", "run_image_study",
           "run_speech_study", "run_study", "run_text_study"]  # fmt: skip
