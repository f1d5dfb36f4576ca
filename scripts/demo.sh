#!/usr/bin/env bash
# Sets up and builds Terrazzo, then compiles the demo kernels written in the
# DSL and runs them on the CPU interpreter, checked against numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD=${TERRAZZO_BUILD_DIR:-build}
PYTHONPATH="$BUILD/python" "${PYTHON:-python3}" scripts/demo.py
