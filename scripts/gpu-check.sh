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
#   TERRAZZO_LIB=build/carry/libterrazzo.so bash scripts/gpu-check.sh [tests|bench|triton|launch|linear|linear-tests|linear-bench|sparse|sparse-tests|sparse-bench|score-mod-grad|torch-ops|ring|autotune-prune|compile-time|tma|persistent|all]
# `only NAME` runs one benchmark of bench/run_all.py (matmul, attention, ...;
# TIME_LIMIT seconds, default 240) for a short device call.
#
# Two more steps run only when named (issue 18; see their sections below):
#   cpp-example  the installed C++ package's example (examples/cpp) with --gpu.
#                Carry an installed prefix instead of the bare library:
#                  cmake --install build --prefix build/carry/prefix
#                  strip --strip-unneeded build/carry/prefix/lib/libterrazzo.so
#                  TERRAZZO_PREFIX=build/carry/prefix bash scripts/gpu-check.sh cpp-example
#   ring, ring-multi  ring attention (issue 19): one GPU, and several GPUs with
#                torchrun/NCCL; see their section below
#   ws           warp specialisation: its GPU tests, then the matmul bench and
#                (WS_BENCHES, default attention) benches with TZ_WARP_SPECIALIZE=1
#   compile-time the cold compile of the flash forward (head dim 128) and the
#                bench matmul, phase by phase, with the default LLVM middle end
#                (O1) and with O3, and the code each gives every library kernel
#                (see its section below)
#   sanitize     every library kernel under compute-sanitizer memcheck, racecheck
#                and synccheck (logs: $OUT/sanitizer-<tool>.log)
#                  TERRAZZO_LIB=build/carry/libterrazzo.so bash scripts/gpu-check.sh sanitize
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
PREFIX=${TERRAZZO_PREFIX:-}
LIB=${TERRAZZO_LIB:-${PREFIX:+$PREFIX/lib/libterrazzo.so}}
LIB=${LIB:-build/runtime/libterrazzo.so}
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
  TZ_TEST_DEVICE=cuda $PY -m pytest test/python/test_interpreter_numerics.py test/python/test_gpu_*.py test/python/test_import_order.py \
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
# --- issue 17, launch path (helper issue17-launch) ---------------------------
# `launch`: the cached launch path's GPU tests (hits, streams, a rebound
# global, autotuned kernels, argument errors), the runtime and autotune tests
# it must keep passing, and the launch overhead of ours / Triton's / torch.add
# in one run (no matmul): bench/bench_triton_source.py --launch-only.
if [ "$WHAT" = launch ]; then
  $PY -m pytest test/python/test_gpu_fast_launch.py test/python/test_gpu_runtime.py test/python/test_gpu_autotune.py \
    test/python/test_fast_launch.py test/python/test_argument_safety.py test/python/test_api.py \
    -q -p no:cacheprovider -rf > "$OUT/pytest-launch.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-launch.log" | tee -a "$OUT/summary.txt"
  $PY bench/bench_triton_source.py --launch-only --out "$OUT/bench-launch" > "$OUT/bench-launch.log" 2>&1 || status=1
  tail -n 3 "$OUT/bench-launch.log" | tee -a "$OUT/summary.txt"
fi
# --- end issue 17 -------------------------------------------------------------
if [ "$WHAT" = bench ] || [ "$WHAT" = all ]; then
  if [ -f bench/run_all.py ]; then
    $PY bench/run_all.py --out "$OUT/bench" > "$OUT/bench.log" 2>&1 || status=1
    tail -n 40 "$OUT/bench.log" | tee -a "$OUT/summary.txt"
  fi
fi
# One benchmark of run_all.py alone (e.g. `gpu-check.sh only matmul`), for a
# short device call.
if [ "$WHAT" = only ]; then
  $PY bench/run_all.py --out "$OUT/bench" --only "${2:?which benchmark}" --time-limit "${TIME_LIMIT:-240}" \
    > "$OUT/bench-$2.log" 2>&1 || status=1
  tail -n 40 "$OUT/bench-$2.log" | tee -a "$OUT/summary.txt"
fi
# --- TMA copies (issue 14 step 3) ----------------------------------------------
# `tma`: the GPU matmul and attention suites rerun with TZ_TMA=1 (and checks
# that the code really copies with TMA), then the matmul benchmark (its
# largest tiles with and without the `tma` option, in one process) and the
# benchmarks named in TMA_BENCHES (default: attention) without and with
# TZ_TMA=1. TIME_LIMIT seconds each (default 240).
if [ "$WHAT" = tma ]; then
  TZ_TEST_DEVICE=cuda $PY -m pytest test/python/test_gpu_tma.py -q -p no:cacheprovider -rf \
    > "$OUT/pytest-gpu-tma.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-gpu-tma.log" | tee -a "$OUT/summary.txt"
  if [ "${TMA_MATMUL:-1}" = 1 ]; then
    $PY bench/run_all.py --out "$OUT/bench" --only matmul --time-limit "${TIME_LIMIT:-240}" \
      > "$OUT/bench-matmul.log" 2>&1 || status=1
    tail -n 30 "$OUT/bench-matmul.log" | tee -a "$OUT/summary.txt"
  fi
  for b in ${TMA_BENCHES-attention}; do
    $PY bench/run_all.py --out "$OUT/bench" --only "$b" --time-limit "${TIME_LIMIT:-240}" \
      > "$OUT/bench-$b.log" 2>&1 || status=1
    TZ_TMA=1 $PY bench/run_all.py --out "$OUT/bench-tma" --only "$b" --time-limit "${TIME_LIMIT:-240}" \
      > "$OUT/bench-$b-tma.log" 2>&1 || status=1
    tail -n 20 "$OUT/bench-$b.log" "$OUT/bench-$b-tma.log" | tee -a "$OUT/summary.txt"
  done
fi
# --- warp specialisation (issue 14, step 4) ----------------------------------
# The warp-specialisation tests (TZ_WARP_SPECIALIZE=1 in children), then the
# benchmarks of WS_BENCHES (default: attention) with TZ_WARP_SPECIALIZE=1,
# and the matmul bench (its configs include "ws" ones) unless WS_MATMUL=0.
if [ "$WHAT" = ws ]; then
  TZ_TEST_DEVICE=cuda $PY -m pytest test/python/test_gpu_warp_specialize.py -q -p no:cacheprovider -rf \
    > "$OUT/pytest-gpu-ws.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-gpu-ws.log" | tee -a "$OUT/summary.txt"
  if [ "${WS_MATMUL:-1}" = 1 ]; then
    $PY bench/run_all.py --out "$OUT/bench" --only matmul --time-limit "${TIME_LIMIT:-240}" \
      > "$OUT/bench-matmul.log" 2>&1 || status=1
    tail -n 30 "$OUT/bench-matmul.log" | tee -a "$OUT/summary.txt"
  fi
  for b in ${WS_BENCHES-attention}; do
    TZ_WARP_SPECIALIZE=1 $PY bench/run_all.py --out "$OUT/bench-ws" --only "$b" --time-limit "${TIME_LIMIT:-240}" \
      > "$OUT/bench-$b-ws.log" 2>&1 || status=1
    tail -n 20 "$OUT/bench-$b-ws.log" | tee -a "$OUT/summary.txt"
  done
fi
# --- persistent kernels (issue 14 step 5) ---------------------------------------
# `persistent`: the GPU tests of persistent launches (the masked matmul with
# cp.async, wgmma and TMA, the flash attention forward; numerics against
# float64 and the number of programs really launched), then the matmul
# benchmark, whose CONFIGS time the largest tiles plain, with TMA, and
# persistent, in one process, and the benchmarks named in
# PERSISTENT_BENCHES (default: attention) without and with TZ_PERSISTENT=1
# (every library launch persistent). TIME_LIMIT seconds each (default 240).
if [ "$WHAT" = persistent ]; then
  TZ_TEST_DEVICE=cuda $PY -m pytest test/python/test_gpu_persistent.py -q -p no:cacheprovider -rf \
    > "$OUT/pytest-gpu-persistent.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-gpu-persistent.log" | tee -a "$OUT/summary.txt"
  # The large tiles only (plain, TMA, warp-specialised, persistent) unless
  # TZ_BENCH_MATMUL_LARGE=0: the persistent configs come last in CONFIGS.
  TZ_BENCH_MATMUL_LARGE=${TZ_BENCH_MATMUL_LARGE:-1} \
    $PY bench/run_all.py --out "$OUT/bench" --only matmul --time-limit "${TIME_LIMIT:-240}" \
    > "$OUT/bench-matmul.log" 2>&1 || status=1
  tail -n 40 "$OUT/bench-matmul.log" | tee -a "$OUT/summary.txt"
  for b in ${PERSISTENT_BENCHES-attention}; do
    $PY bench/run_all.py --out "$OUT/bench" --only "$b" --time-limit "${TIME_LIMIT:-240}" \
      > "$OUT/bench-$b.log" 2>&1 || status=1
    TZ_PERSISTENT=1 $PY bench/run_all.py --out "$OUT/bench-persistent" --only "$b" --time-limit "${TIME_LIMIT:-240}" \
      > "$OUT/bench-$b-persistent.log" 2>&1 || status=1
    tail -n 20 "$OUT/bench-$b.log" "$OUT/bench-$b-persistent.log" | tee -a "$OUT/summary.txt"
  done
fi
# --- end persistent kernels ---------------------------------------------------
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

# --- issue 16: differentiated score_mod (score-mod-grad) -----------------------
# Gradients through score_mods (soft-cap, per-head scale read from a captured
# tensor, ALiBi, a relative-position bias table) on the GPU: torch CUDA
# tensors through autograd and through the library ops with NaN-poisoned
# outputs, larger shapes, fp16 and bf16, causal and not, against float64
# torch autograd of softmax(score_mod(Q K^T scale)) V (and the numpy
# reference of test_score_mod_gradients.py, which must agree with it); dq, dk,
# dv and the captured tensors' gradients. Each run's normwise errors go to
# score-mod-grad-errors.txt. Run alone with
#   TERRAZZO_LIB=build/carry/libterrazzo.so bash scripts/gpu-check.sh score-mod-grad
if [ "$WHAT" = score-mod-grad ]; then
  rm -f "$OUT/score-mod-grad-errors.txt"
  TZ_TEST_DEVICE=cuda TZ_SCORE_MOD_GRAD_REPORT="$OUT/score-mod-grad-errors.txt" \
    $PY -m pytest test/python/test_score_mod_gradients.py -q -p no:cacheprovider -rf \
    > "$OUT/pytest-score-mod-grad.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-score-mod-grad.log" | tee -a "$OUT/summary.txt"
fi
# --- end issue 16 (score-mod-grad) ----------------------------------------------

# --- issue 18: the installed C++ package's example on the GPU ----------------
# examples/cpp built against the carried prefix with find_package(Terrazzo):
# a DSL kernel JIT-compiled from a file and the library's flash attention on
# device buffers, each checked against a float64 reference; then the same on
# the interpreter (what CI runs).
if [ "$WHAT" = cpp-example ]; then
  if [ -z "$PREFIX" ] || [ ! -f "$PREFIX/lib/cmake/Terrazzo/TerrazzoConfig.cmake" ]; then
    echo "cpp-example: set TERRAZZO_PREFIX to a carried install prefix" | tee -a "$OUT/summary.txt"
    exit 1
  fi
  cmake -S examples/cpp -B build-gpu-example -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$PWD/$PREFIX" > "$OUT/cpp-example-build.log" 2>&1 &&
    cmake --build build-gpu-example >> "$OUT/cpp-example-build.log" 2>&1
  if [ $? -ne 0 ]; then
    echo "cpp-example: build failed (see cpp-example-build.log)" | tee -a "$OUT/summary.txt"
    exit 1
  fi
  build-gpu-example/terrazzo_example --gpu > "$OUT/cpp-example-gpu.log" 2>&1 || status=1
  build-gpu-example/terrazzo_example > "$OUT/cpp-example-cpu.log" 2>&1 || status=1
  cat "$OUT/cpp-example-gpu.log" "$OUT/cpp-example-cpu.log" | tee -a "$OUT/summary.txt"
fi

# --- issue 18: compute-sanitizer over the library kernels ---------------------
# scripts/sanitize_library_kernels.py runs flash and cosine-sim attention,
# forward and backward, at ragged shapes with masks, key lengths, biases, GQA,
# a transposed layout and bf16. Each tool's log ends with its error summary;
# copy the logs to bench/results/<date>-<gpu>-sanitizer/ when they are clean.
if [ "$WHAT" = sanitize ]; then
  SANITIZER=${COMPUTE_SANITIZER:-$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)}
  if [ -z "$SANITIZER" ]; then
    echo "sanitize: compute-sanitizer not found (set COMPUTE_SANITIZER)" | tee -a "$OUT/summary.txt"
    exit 1
  fi
  # One plain run first: it checks the cases and compiles every kernel into
  # the cache, so the tools spend their time on the kernels, not on the
  # compiler (host code). SANITIZER_TOOLS picks tools (one per device call
  # if the three do not fit in one).
  $PY scripts/sanitize_library_kernels.py > "$OUT/sanitizer-plain.log" 2>&1 || status=1
  tail -n 1 "$OUT/sanitizer-plain.log" | tee -a "$OUT/summary.txt"
  for tool in ${SANITIZER_TOOLS:-memcheck racecheck synccheck}; do
    # (No --leak-check: torch's caching allocator keeps its blocks to the end.)
    "$SANITIZER" --tool "$tool" --error-exitcode 1 --print-limit 50 \
      $PY scripts/sanitize_library_kernels.py > "$OUT/sanitizer-$tool.log" 2>&1 || status=1
    echo "$tool: $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|cases ran' "$OUT/sanitizer-$tool.log" | tr '\n' ' ')" |
      tee -a "$OUT/summary.txt"
  done
fi
# --- issue 19: ring (context-parallel) attention over torch.distributed -------
# `ring` (one GPU): the gloo tests (several processes on the CPU interpreter),
# world size 1 under torchrun at S = 128k and 512k (exactness against torch's
# SDPA and sampled float64 rows; the 1-GPU time that the scaling divides by),
# and a simulated 4-rank ring on the one GPU (loopback copies on the side
# stream) with its forward timeline. Results in $OUT/ring/.
# `ring-multi` (a multi-GPU kind, NCCL, NVLink multicast off): torchrun with 1,
# 2 and 4 GPUs (as many as there are) at S = 128k and 512k, exactness, fwd+bwd
# time, the per-step timeline of communication vs compute
# (ring-timeline-W<W>-S<S>.txt/json), then the scaling table ring-scaling.md.
# RING_WORLDS (default "1 2 4") and RING_SEQS (default 131072,524288) narrow it
# to fit one device call.
#   TERRAZZO_LIB=build/carry/libterrazzo.so bash scripts/gpu-check.sh ring
#   TERRAZZO_LIB=build/carry/libterrazzo.so bash scripts/gpu-check.sh ring-multi
if [ "$WHAT" = ring ] || [ "$WHAT" = ring-multi ]; then
  export NCCL_NVLS_ENABLE=0
  mkdir -p "$OUT/ring"
fi
if [ "$WHAT" = ring ]; then
  $PY -m pytest test/python/test_ring_attention.py test/python/test_gpu_ring_attention.py -q -p no:cacheprovider -rf \
    > "$OUT/pytest-ring.log" 2>&1 \
    || status=1
  tail -n 3 "$OUT/pytest-ring.log" | tee -a "$OUT/summary.txt"
  $PY -m torch.distributed.run --standalone --nproc-per-node 1 bench/ring_attention_bench.py \
    --seqs 131072,524288 --timeline-single --out "$OUT/ring" > "$OUT/ring-W1.log" 2>&1 || status=1
  tail -n 4 "$OUT/ring-W1.log" | tee -a "$OUT/summary.txt"
  $PY bench/ring_attention_bench.py --simulate 4 --seqs 131072 --out "$OUT/ring" > "$OUT/ring-simulated.log" 2>&1 \
    || status=1
  tail -n 2 "$OUT/ring-simulated.log" | tee -a "$OUT/summary.txt"
fi
if [ "$WHAT" = ring-multi ]; then
  NGPU=$(nvidia-smi -L 2>/dev/null | wc -l)
  for W in ${RING_WORLDS:-1 2 4}; do
    [ "$W" -le "$NGPU" ] || continue
    CHECK=""; [ "$W" = 1 ] && CHECK="--no-check"  # `ring` checks world size 1
    $PY -m torch.distributed.run --standalone --nproc-per-node "$W" bench/ring_attention_bench.py \
      --seqs "${RING_SEQS:-131072,524288}" $CHECK --out "$OUT/ring" > "$OUT/ring-W$W.log" 2>&1 || status=1
    tail -n 4 "$OUT/ring-W$W.log" | tee -a "$OUT/summary.txt"
  done
  $PY bench/ring_attention_bench.py --summarize "$OUT/ring" | tee -a "$OUT/summary.txt"
fi
# --- end issue 19 -------------------------------------------------------------
# --- issue 16: block masks and packed sequences --------------------------------
# Their GPU tests (also part of `tests`: test_gpu_*.py), then the benchmark of
# the must-shows: sliding window 1024 at 32k and packed documents vs our full
# causal attention and FlexAttention, varlen vs SDPA on jagged nested tensors
# and Flex (bench/block_sparse_varlen_bench.py). Our tile autotuner is off by
# default here (it compiles every candidate: minutes for the sparse variants);
# TZ_LIBRARY_AUTOTUNE=1 turns it on. Run with
#   TERRAZZO_LIB=build/carry/libterrazzo.so bash scripts/gpu-check.sh sparse
# or, to split it over device calls, `sparse-tests`, then `sparse-bench` with
# SPARSE_BENCH_ONLY=window (or documents, varlen; comma-separated).
if [ "$WHAT" = sparse ] || [ "$WHAT" = sparse-tests ]; then
  TZ_TEST_DEVICE=cuda $PY -m pytest test/python/test_gpu_block_sparse_varlen.py -q -p no:cacheprovider -rf \
    > "$OUT/pytest-gpu-block-sparse-varlen.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-gpu-block-sparse-varlen.log" | tee -a "$OUT/summary.txt"
fi
if [ "$WHAT" = sparse ] || [ "$WHAT" = sparse-bench ]; then
  TZ_LIBRARY_AUTOTUNE=${TZ_LIBRARY_AUTOTUNE:-0} $PY bench/block_sparse_varlen_bench.py --out "$OUT/block-sparse-varlen" \
    ${SPARSE_BENCH_ONLY:+--only "$SPARSE_BENCH_ONLY"} > "$OUT/block-sparse-varlen-bench.log" 2>&1 || status=1
  tail -n 40 "$OUT/block-sparse-varlen-bench.log" | tee -a "$OUT/summary.txt"
fi
# --- end issue 16 ----------------------------------------------------------------
# --- issue 16 item 4: the attention ops as torch.library custom ops ----------------
# test/python/test_torch_library_ops.py on CUDA tensors: opcheck, fake shapes,
# torch.compile(fullgraph=True) without graph breaks, plus the GPU-only cases:
# CUDA-graph capture + replay of a block calling the ops equals eager, and
# inductor fullgraph on CUDA matches eager (values and gradients). Run with
#   TERRAZZO_LIB=build/carry/libterrazzo.so bash scripts/gpu-check.sh torch-ops
if [ "$WHAT" = torch-ops ]; then
  TZ_TEST_DEVICE=cuda $PY -m pytest test/python/test_torch_library_ops.py -q -p no:cacheprovider -rfs \
    > "$OUT/pytest-torch-library-ops.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-torch-library-ops.log" | tee -a "$OUT/summary.txt"
fi
# --- end issue 16 item 4 -----------------------------------------------------------
# --- issue 14 item 6: autotuners prune by resources before timing (autotune-prune) --
# tz.autotune and the library's tile tuner compile every candidate for the
# device, prune those that cannot run (shared memory, registers) or spill
# next to one that does not, and time the rest without compiling again
# (test/python/test_gpu_autotune_prune.py: pruned configs never launched,
# float64 references, NaN-poisoned outputs; test_gpu_autotune.py: the
# matmul autotune and its disk reuse; test_autotune_prune.py: the sm_90a
# compile-report tests). Run with
#   TERRAZZO_LIB=build/carry/libterrazzo.so bash scripts/gpu-check.sh autotune-prune
if [ "$WHAT" = autotune-prune ]; then
  $PY -m pytest test/python/test_gpu_autotune_prune.py test/python/test_gpu_autotune.py \
    test/python/test_autotune_prune.py -q -p no:cacheprovider -rfs > "$OUT/pytest-autotune-prune.log" 2>&1 || status=1
  tail -n 15 "$OUT/pytest-autotune-prune.log" | tee -a "$OUT/summary.txt"
fi
# --- end issue 14 item 6 -------------------------------------------------------------
# --- issue 14: compile time (helper compile-time) -----------------------------
# Where a cold compile of the flash forward (head dim 128, 128x64 tiles, 8
# warps, causal and not) and of the bench matmul spends its time, per phase
# (frontend, tzgpu passes, lowering, LLVM IR, libdevice, LLVM optimisation,
# NVPTX codegen, waiting for nvJitLink, ptxas), each in fresh processes, with
# the default middle end (O1 + GVN + O3's unroller) and with TZ_LLVM_OPT_LEVEL=3 (the old O3):
# $OUT/compile-time/compile_phases.txt. Then what each level compiles every
# library kernel and bench matmul config to (registers, spills, PTX in loops;
# SASS counts need ptxas on PATH): $OUT/compile-time/codegen-default-vs-o3.txt.
# No GPU needed for either; the times are this machine's CPU. Run with
#   TERRAZZO_LIB=build/carry/libterrazzo.so bash scripts/gpu-check.sh compile-time
if [ "$WHAT" = compile-time ]; then
  mkdir -p "$OUT/compile-time"
  $PY bench/bench_compile_phases.py --repeat 5 --llvm-levels default,3 --out "$OUT/compile-time" \
    > "$OUT/compile-time/bench.log" 2>&1 || status=1
  cat "$OUT/compile-time/compile_phases.txt" 2>/dev/null | tee -a "$OUT/summary.txt" || tail -n 20 "$OUT/compile-time/bench.log"
  TZ_LLVM_OPT_LEVEL=3 $PY bench/codegen_compare.py collect "$OUT/compile-time/codegen-o3.json" \
    > "$OUT/compile-time/codegen-o3.log" 2>&1 || status=1
  $PY bench/codegen_compare.py collect "$OUT/compile-time/codegen-default.json" \
    > "$OUT/compile-time/codegen-default.log" 2>&1 || status=1
  $PY bench/codegen_compare.py compare "$OUT/compile-time/codegen-o3.json" "$OUT/compile-time/codegen-default.json" \
    --markdown > "$OUT/compile-time/codegen-default-vs-o3.txt" 2>&1 || status=1
  tail -n 3 "$OUT/compile-time/codegen-default-vs-o3.txt" | tee -a "$OUT/summary.txt"
fi
# --- end issue 14 (compile time) ----------------------------------------------
exit $status
