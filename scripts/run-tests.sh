#!/usr/bin/env bash
# Builds what changed and runs every test: GoogleTest, lit and pytest (ctest
# drives all three). Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BUILD=${TERRAZZO_BUILD_DIR:-build}
ctest --test-dir "$BUILD" --output-on-failure
