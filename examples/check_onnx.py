"""Run run/p.onnx with ONNX Runtime on the test images and compare with nnprune (see README)."""

import numpy as np
import onnxruntime as ort

from nnprune.experiments.workflow import prepare_data
from nnprune.io import load_model

x = prepare_data("mnist.npz", "mlp").splits.test[0]  # (1000, 784)
(y,) = ort.InferenceSession("run/p.onnx").run(None, {"input": x})
print("max |onnxruntime - nnprune| =", np.abs(y - load_model("run/p.npz").eval()(x)).max())
