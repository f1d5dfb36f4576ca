#!/usr/bin/env bash
# Installs the build tree into a fresh prefix and builds and runs
# examples/cpp against it, as a C++ user would:
#   run-installed-example.sh <build dir> <source dir> [--gpu]
# The example's own build directory is kept between runs (and compiles
# through ccache when present), so a rerun costs the install and a relink.
set -euo pipefail
build=$1 source=$2
shift 2
work=$build/package-test
rm -rf "$work/prefix"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" >/dev/null

# Only what find_package needs is looked at: the package must not lean on
# the source or build tree.
test -f "$work/prefix/lib/cmake/Terrazzo/TerrazzoConfig.cmake"
test -f "$work/prefix/lib/cmake/Terrazzo/TerrazzoConfigVersion.cmake"
test -f "$work/prefix/include/terrazzo/Terrazzo.h"
test -f "$work/prefix/include/terrazzo/ops/Attention.h"
test -f "$work/prefix/share/terrazzo/kernels/flash_attention.py"
ls "$work"/prefix/lib/libterrazzo.so >/dev/null
if grep -rq "$source" "$work/prefix/lib/cmake/Terrazzo"; then
  echo "the installed package refers to the source tree:" >&2
  grep -rn "$source" "$work/prefix/lib/cmake/Terrazzo" >&2
  exit 1
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$work/example-build/CMakeCache.txt" ]; then
  cmake -S "$source/examples/cpp" -B "$work/example-build" "${generator[@]}" "${launcher[@]}" \
        -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
fi
cmake --build "$work/example-build" >/dev/null
"$work/example-build/terrazzo_example" "$@"
