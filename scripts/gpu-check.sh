#!/usr/bin/env bash
# One device call: on the GPU machine (no LLVM/MLIR there) build the Python
# module against the libterrazzo.so carried from a development machine, check
# the library needs no LLVM at run time, run the GPU test suites (the
# interpreter numerics suite rerun on the GPU, the GPU runtime tests) and the
# benchmarks. Results go under $OUT (default: ./gpu-out).
#
# On the development machine first:
#   ninja -C build runtime/libterrazzo.so
#   strip --strip-unneeded -o build/carry/libterrazzo.so build/runtime/libterrazzo.so
# Then carry build/carry/libterrazzo.so (the device tool's `carry`), and run
#   TERRAZZO_LIB=build/carry/libterrazzo.so bash scripts/gpu-check.sh [tests|bench|linear|linear-tests|linear-bench|all]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
LIB=${TERRAZZO_LIB:-build/runtime/libterrazzo.so}
PY=${PYTHON:-python3}
WHAT=${1:-all}
status=0

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  $PY --version
  echo "ldd $LIB:"; ldd "$LIB"
} > "$OUT/machine.txt" 2>&1
if ldd "$LIB" | grep -Eq 'libLLVM|libMLIR'; then
  echo "libterrazzo.so needs a shared LLVM/MLIR" | tee -a "$OUT/summary.txt"
  status=1
fi

cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERRAZZO_PREBUILT_LIBRARY="$PWD/$LIB" \
  -DTERRAZZO_BUILD_TESTS=OFF -DTERRAZZO_BUILD_TOOLS=OFF -DPython3_EXECUTABLE="$(command -v $PY)" \
  > "$OUT/configure.log" 2>&1 && ninja -C build-gpu > "$OUT/build.log" 2>&1
if [ $? -ne 0 ]; then
  echo "module build failed (see build.log)" | tee -a "$OUT/summary.txt"
  exit 1
fi
export PYTHONPATH=$PWD/build-gpu/python
# The kernel cache stays out of $OUT (whatever is there comes back).
export TZ_CACHE_DIR=${TZ_CACHE_DIR:-/tmp/terrazzo-gpu-check-cache}

if [ "$WHAT" = tests ] || [ "$WHAT" = all ]; then
  # The numerics suite on the GPU: every launch goes to the GPU backend.
  TZ_TEST_DEVICE=cuda $PY -m pytest test/python/test_interpreter_numerics.py test/python/test_gpu_*.py \
    -q -p no:cacheprovider -rf > "$OUT/pytest-gpu.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-gpu.log" | tee -a "$OUT/summary.txt"
  $PY scripts/demo.py > "$OUT/demo.log" 2>&1 || status=1
  tail -n 1 "$OUT/demo.log" | tee -a "$OUT/summary.txt"
fi
# --- issue 17: Triton kernels with only the imports changed -----------------
# The ported tutorial kernels (test_triton_ported.py) on the GPU, each launch's
# buffers copied over and back (conftest's GPU routing), same float64 checks.
if [ "$WHAT" = tests ] || [ "$WHAT" = all ] || [ "$WHAT" = triton ]; then
  TZ_TEST_DEVICE=cuda $PY -m pytest test/python/test_triton_ported.py test/python/test_triton_coverage.py \
    -q -p no:cacheprovider -rf > "$OUT/pytest-triton-ported.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-triton-ported.log" | tee -a "$OUT/summary.txt"
fi
# The tutorial matmul from one Triton source file, compiled by Triton and by
# terrazzo (TFLOP/s, first launch), and a cached launch's overhead next to a
# torch op.
if [ "$WHAT" = bench ] || [ "$WHAT" = all ] || [ "$WHAT" = triton ]; then
  $PY bench/bench_triton_source.py --out "$OUT/bench" > "$OUT/bench-triton-source.log" 2>&1 || status=1
  tail -n 5 "$OUT/bench-triton-source.log" | tee -a "$OUT/summary.txt"
fi
# --- end issue 17 -------------------------------------------------------------
if [ "$WHAT" = bench ] || [ "$WHAT" = all ]; then
  if [ -f bench/run_all.py ]; then
    $PY bench/run_all.py --out "$OUT/bench" > "$OUT/bench.log" 2>&1 || status=1
    tail -n 40 "$OUT/bench.log" | tee -a "$OUT/summary.txt"
  fi
fi
# --- linear attention (issue 15) -------------------------------------------------
# The GPU tests of lightning, focused linear and agent attention, and the
# benchmark against fla (and PyTorch). The benchmark needs fla-core, einops and
# packaging unpacked under third_party_wheels/ (git-ignored):
#   pip download fla-core einops packaging --no-deps -d /tmp/fla
#   mkdir -p third_party_wheels && (cd third_party_wheels && for w in /tmp/fla/*.whl; do unzip -q -o "$w"; done)
# and carried to the GPU machine along with libterrazzo.so. Run with
#   TERRAZZO_LIB=... bash scripts/gpu-check.sh linear          (tests, then the benchmark)
#   TERRAZZO_LIB=... bash scripts/gpu-check.sh linear-tests    (each alone, to fit one device call)
#   TERRAZZO_LIB=... bash scripts/gpu-check.sh linear-bench
# (`all` runs the benchmark here; its tests section already ran test_gpu_*.py.)
if [ "$WHAT" = linear ] || [ "$WHAT" = linear-tests ]; then
  TZ_TEST_DEVICE=cuda $PY -m pytest test/python/test_gpu_lightning_attention.py \
    test/python/test_gpu_linear_attention_variants.py -q -p no:cacheprovider -rf \
    > "$OUT/pytest-gpu-linear-attention.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-gpu-linear-attention.log" | tee -a "$OUT/summary.txt"
fi
if [ "$WHAT" = linear ] || [ "$WHAT" = linear-bench ] || [ "$WHAT" = all ]; then
  if [ -d third_party_wheels/fla ]; then
    $PY bench/linear_attention_bench.py --out "$OUT/linear-attention" > "$OUT/linear-attention-bench.log" 2>&1 \
      || status=1
    tail -n 20 "$OUT/linear-attention-bench.log" | tee -a "$OUT/summary.txt"
  else
    echo "linear attention bench skipped: third_party_wheels/fla is missing" | tee -a "$OUT/summary.txt"
  fi
fi
exit $status
