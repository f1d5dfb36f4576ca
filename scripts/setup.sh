#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks, then configures and builds
# Terrazzo into build/ (Ninja, ccache). Safe to run again: it only does what
# is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(cmake ninja-build ccache g++ git python3-dev libzstd-dev zlib1g-dev libgtest-dev
              llvm-22-dev libmlir-22-dev mlir-22-tools)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "== installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if ! $PY -c "import numpy, pytest, ml_dtypes, lit, pybind11" >/dev/null 2>&1; then
  echo "== installing Python packages"
  $PY -m pip install -q numpy pytest ml_dtypes lit pybind11 scikit-build-core
fi

BUILD=${TERRAZZO_BUILD_DIR:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
  # TERRAZZO_CMAKE_ARGS: extra configure options (e.g. scripts/sanitize-host.sh's).
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython3_EXECUTABLE="$(command -v $PY)" \
    ${TERRAZZO_CMAKE_ARGS:-}
fi
echo "== building (this takes a while the first time)"
ninja -C "$BUILD" -j"${TERRAZZO_JOBS:-$(nproc)}"
