r"""Taking a pruned model to other tools: ONNX files and PyTorch state dicts.

* :func:`export_onnx` (:mod:`nnprune.export.onnx_export`): MLPs and CNNs
  (``Linear``, ``Conv2d``, pooling, ``BatchNorm`` folded into the layer before
  it, activations, ``Flatten``, ``Dropout`` dropped), physically shrunk models
  included; needs ``pip install 'nnprune[onnx]'``.
* :func:`to_torch_state_dict` / :func:`from_torch_state_dict`
  (:mod:`nnprune.export.torch_state`): the same names and shapes as PyTorch's
  ``state_dict``; needs ``torch``.

``import nnprune`` imports neither ``onnx`` nor ``torch``: each function
imports what it needs when called.

Book: §8.3 (deployment on mobile and edge devices).
"""

from .onnx_export import export_onnx
from .torch_state import from_torch_state_dict, to_torch_state_dict

__all__ = ["export_onnx", "from_torch_state_dict", "to_torch_state_dict"]

# The causal character language model of Book §8.1, its mask as a constant.
from .onnx_lm import export_lm_onnx  # noqa: E402

__all__ += ["export_lm_onnx"]
