#!/usr/bin/env bash
# One device call: on the GPU machine (no LLVM/MLIR there) build the Python
# module against the libterrazzo.so carried from a development machine, check
# the library needs no LLVM at run time, and run the Python test suite and the
# demo. Results go under $OUT (default: ./gpu-out).
#
# On the development machine first:  ninja -C build runtime/libterrazzo.so
# Then carry build/runtime/libterrazzo.so (the device tool's `carry`), and run
#   TERRAZZO_LIB=build/runtime/libterrazzo.so bash scripts/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
LIB=${TERRAZZO_LIB:-build/runtime/libterrazzo.so}
PY=${PYTHON:-python3}
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

PYTHONPATH=build-gpu/python $PY -m pytest test/python -q -p no:cacheprovider > "$OUT/pytest.log" 2>&1 || status=1
tail -n 3 "$OUT/pytest.log" | tee -a "$OUT/summary.txt"
PYTHONPATH=build-gpu/python $PY scripts/demo.py > "$OUT/demo.log" 2>&1 || status=1
tail -n 1 "$OUT/demo.log" | tee -a "$OUT/summary.txt"
exit $status
