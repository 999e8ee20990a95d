"""Run run/p.onnx with ONNX Runtime on the raw test images and compare with nnprune (see README).

The exported graph starts with the checkpoint's preprocessing (uint8 pixels / 255), so it
takes the raw pixel values; nnprune's model takes the loaded (scaled) data.
"""

import numpy as np
import onnxruntime as ort

from nnprune.experiments.workflow import prepare_data
from nnprune.io import load_model

x = prepare_data("mnist.npz", "mlp").splits.test[0]  # (1000, 784), scaled to [0, 1]
with np.load("mnist.npz") as f:
    raw = f["x_test"].reshape(len(f["x_test"]), -1).astype(np.float32)  # pixels 0-255
(y,) = ort.InferenceSession("run/p.onnx").run(None, {"input": raw})
print("max |onnxruntime - nnprune| =", np.abs(y - load_model("run/p.npz").eval()(x)).max())
