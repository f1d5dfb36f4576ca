#!/usr/bin/env bash
# Builds the host code under AddressSanitizer and UndefinedBehaviorSanitizer
# into build-asan/ (its own tree: instrumented objects never mix with the
# normal build) and runs the C++ tests there: the interpreter, API, parser,
# disk cache, layout and PTX suites and lit. The Python module is left out
# (an instrumented extension needs the sanitizer runtime preloaded into
# python). Any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export TERRAZZO_BUILD_DIR=${TERRAZZO_BUILD_DIR:-build-asan}
export TERRAZZO_CMAKE_ARGS="-DTERRAZZO_SANITIZE=address;undefined -DTERRAZZO_BUILD_PYTHON=OFF"
bash scripts/setup.sh
# LLVM's own allocations at exit are not ours to chase. User poisoning is
# off: LLVM's allocators poison and unpoison memory only in instrumented
# builds, and the prebuilt (uninstrumented) LLVM mixed with our instrumented
# inline copies of the same templates reports false use-after-poison.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:allow_user_poisoning=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$TERRAZZO_BUILD_DIR" --output-on-failure
