#!/usr/bin/env bash
# The GPU check: CuPy tests and the NumPy / CuPy / PyTorch CUDA benchmark, in about 5 minutes.
#
# Run from the repository root on a machine with an NVIDIA GPU, CuPy and (optionally)
# PyTorch with CUDA; nnprune need not be installed:
#
#     OUT=/some/folder bash benchmarks/gpu_check.sh
#
# Writes $OUT/gpu_env.txt (nvidia-smi, versions), $OUT/gpu_tests.log (every test that needs
# CuPy and a GPU, plus the backend, optimiser and sparse test files in full),
# $OUT/chapter_cupy.log (one chapter script end to end on the GPU; its figures go to /tmp) and $OUT/bench_gpu.txt
# (benchmarks/bench_gpu.py). Each step has its own time limit; a failing step does not stop
# the others. The exit status is 0 only when every step passed.
set -u
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$(pwd)"
export MPLBACKEND=Agg
status=0
step() {  # step NAME SECONDS LOG COMMAND...: run with a time limit, log, remember failures
    local name=$1 limit=$2 log=$3
    shift 3
    local start=$SECONDS
    timeout "$limit" "$@" >"$log" 2>&1
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - start)) s (log $log)"
    tail -n 15 "$log"
    [ "$rc" -eq 0 ] || status=1
}

{
    date -u
    nvidia-smi || echo "nvidia-smi failed"
    python - <<'EOF'
import platform
print("python", platform.python_version())
for name in ("numpy", "scipy", "cupy", "torch", "threadpoolctl", "pytest", "hypothesis"):
    try:
        module = __import__(name)
        print(name, module.__version__)
    except Exception as exc:  # noqa: BLE001 - report whatever went wrong
        print(name, "not importable:", type(exc).__name__, exc)
try:
    import cupy
    print("cupy devices:", cupy.cuda.runtime.getDeviceCount(),
          "CUDA runtime", cupy.cuda.runtime.runtimeGetVersion())
    cupy.show_config()
except Exception as exc:  # noqa: BLE001
    print("cupy check failed:", type(exc).__name__, exc)
try:
    import torch
    print("torch cuda available:", torch.cuda.is_available(), "cuda", torch.version.cuda)
except Exception as exc:  # noqa: BLE001
    print("torch check failed:", type(exc).__name__, exc)
EOF
} >"$OUT/gpu_env.txt" 2>&1
head -n 40 "$OUT/gpu_env.txt"

# Every test marked cupy or named for CuPy/the GPU, and three backend-heavy files in full.
step "GPU tests" 150 "$OUT/gpu_tests.log" \
    python -m pytest -q -rs -p no:cacheprovider \
    tests/test_backend.py tests/test_optim.py tests/test_sparse.py tests/test_sparse_convert.py \
    tests/test_conv_pool.py tests/test_regularizers.py tests/test_transformer_layers.py \
    tests/test_casestudies.py \
    -k "cupy or gpu or GPU or test_backend or test_optim or test_sparse"
timeout 60 python -m pytest -q -rs -p no:cacheprovider -m cupy tests >>"$OUT/gpu_tests.log" 2>&1 \
    || status=1
echo "== tests marked cupy (appended to $OUT/gpu_tests.log):"
tail -n 3 "$OUT/gpu_tests.log"

step "chapter 1 on CuPy" 45 "$OUT/chapter_cupy.log" \
    python chapters/ch01_neural_network_basics.py --quick --backend cupy --out /tmp/ch01_cupy

step "bench_gpu" 200 "$OUT/bench_gpu.log" \
    python benchmarks/bench_gpu.py --out "$OUT/bench_gpu.txt"

echo "== gpu_check done in $SECONDS s, status $status"
exit "$status"
