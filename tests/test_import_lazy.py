"""``import nnprune`` stays light: optional and slow modules load only when used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Optional dependencies, and the slow imports of the core ones (SciPy: ~0.1 s, matplotlib,
# scikit-learn, tqdm), that `import nnprune` must not pull in: each loads where it is used.
LAZY = (
    "scipy",
    "matplotlib",
    "sklearn",
    "tqdm",
    "dask",
    "torch",
    "cupy",
    "onnx",
    "onnxruntime",
    "jupytext",
)


def test_import_nnprune_does_not_import_optional_or_slow_modules() -> None:
    code = (
        "import json, sys; import nnprune; "
        f"print(json.dumps([m for m in {list(LAZY)!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
