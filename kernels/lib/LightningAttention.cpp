// Host wrappers of kernels/lightning_attention.py: argument checks, chunk and
// tile sizes, the carried-state scratches, and the launches of the forward
// (states, then outputs), the backward (forward and reverse states side by
// side, then dQ, dK, dV) and the decode step.
#include "ArgumentChecks.h"
#include "LibraryLaunch.h"
#include "terrazzo/ops/LightningAttention.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

namespace terrazzo::ops {

namespace {
using checks::fail;

Kernel &libraryKernel(const std::string &name) { return ops::libraryKernel("lightning_attention.py", name); }

using Dims = checks::LinearAttentionDims;

void checkTensor(const TensorArg &t, const std::string &name, const TensorArg &q) {
  checks::requireSameDevice(t, name, q, "q");
  checks::requireStrides(t, name, false);
  checks::requireData(t, name);
}

Dims checkQKV(const TensorArg &q, const TensorArg &k, const TensorArg &v) {
  return checks::checkLinearAttentionInputs(q, k, v, 256);
}

// A float32 (B, H, Dk, Dv) state (initial, final, or a gradient of one).
void checkState(const TensorArg *t, const std::string &name, const Dims &d, const TensorArg &q) {
  if (!t)
    return;
  checks::requireRank(*t, name, 4, "(B, H, Dk, Dv)");
  checks::requireDtype(*t, name, {"float32"});
  checks::requireShape(*t, name, {d.B, d.H, d.DK, d.DV});
  checkTensor(*t, name, q);
}

void checkLike(const TensorArg &t, const std::string &name, const TensorArg &like, const std::string &likeName,
               bool allowFloat32) {
  checks::requireLike(t, name, like, likeName, allowFloat32);
}

void checkOptions(const LightningAttentionOptions &o, const Dims &d, const TensorArg &q) {
  if (o.scale && !std::isfinite(*o.scale))
    fail("scale", "must be finite, got " + std::to_string(*o.scale));
  if (const TensorArg *s = o.decay) {
    checks::requireRank(*s, "decay", 1, "(H,)");
    checks::requireDtype(*s, "decay", {"float32"});
    checks::requireShape(*s, "decay", {d.H});
    checkTensor(*s, "decay", q);
  }
}

double scaleOf(const LightningAttentionOptions &o, const Dims &d) {
  return o.scale ? *o.scale : 1.0 / std::sqrt((double)d.DK);
}

LaunchTarget targetOf(const TensorArg &q, const LightningAttentionOptions &o) {
  LaunchTarget t;
  t.device = q.device;
  t.deviceIndex = q.deviceIndex;
  t.stream = o.stream;
  t.numWarps = 4;
  return t;
}

// Chunk and tile sizes. The interpreter runs every lane of a tile, so it
// gets 16-row chunks and 16-wide state tiles (which also makes small tests
// cross chunk and tile boundaries). On the GPU: 64-row chunks; 32 x 64
// state tiles (the states pass is the sequential one: at B * H = 16 and
// Dk = Dv = 128 that is 128 programs, and 127 registers on sm_90a); the
// output pass reads 128 key columns at a time and writes 64 value columns
// (136 registers, no spills). TZ_LIGHTNING_TILES="chunk,stateA,stateB,
// blockK,blockV" overrides the GPU choice (for tuning runs; each a power of
// two from 16 to 128, blockK and the state tiles capped by the head dims).
struct Tiles {
  int64_t chunk, stateA, stateB, blockK, blockV;
};

Tiles tilesFromEnvironment(const char *text) {
  std::vector<int64_t> v;
  std::string s(text);
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char *end = nullptr;
    long long x = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || x < 16 || x > 128 || (x & (x - 1)) != 0)
      fail("TZ_LIGHTNING_TILES", "expected five powers of two from 16 to 128 (chunk,stateA,stateB,blockK,blockV), "
                                 "got '" + s + "'");
    v.push_back(x);
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  if (v.size() != 5)
    fail("TZ_LIGHTNING_TILES", "expected five values (chunk,stateA,stateB,blockK,blockV), got '" + s + "'");
  return {v[0], v[1], v[2], v[3], v[4]};
}

Tiles tilesFor(const LaunchTarget &t) {
  if (t.device != TensorArg::Device::Cuda)
    return {16, 16, 16, 16, 16};
  if (const char *env = std::getenv("TZ_LIGHTNING_TILES"); env && *env)
    return tilesFromEnvironment(env);
  return {64, 32, 64, 128, 64};
}

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

HostValue pointerOrNone(const TensorArg *t) { return t ? t->pointer() : HostValue::none(); }

void appendStrides(std::vector<HostValue> &args, const TensorArg *t, size_t rank) {
  for (size_t i = 0; i < rank; ++i)
    args.push_back(HostValue::integer(t ? t->strides[i] : 0));
}

// One launch of lightning_chunk_states over the (B * H, NT, DA, DB) scratch.
struct StatesLaunch {
  const TensorArg &a, &b;
  const TensorArg *init, *final;
  int64_t DA, DB;
  double aScale;
  bool reverse;
};

void runStates(const StatesLaunch &s, const TensorArg &states, const Dims &d, const LightningAttentionOptions &o,
               const LaunchTarget &target, const Tiles &tiles) {
  std::vector<HostValue> args = {s.a.pointer(),          s.b.pointer(),         pointerOrNone(s.init),
                                 states.pointer(),       pointerOrNone(s.final), pointerOrNone(o.decay)};
  appendStrides(args, &s.a, 4);
  appendStrides(args, &s.b, 4);
  appendStrides(args, s.init, 4);
  appendStrides(args, s.final, 4);
  args.push_back(HostValue::integer(d.H));
  args.push_back(HostValue::integer(d.N));
  args.push_back(HostValue::floating(s.aScale));
  int64_t blockA = std::min(s.DA, tiles.stateA), blockB = std::min(s.DB, tiles.stateB);
  Keywords kw = {{"DA", HostValue::integer(s.DA)},
                 {"DB", HostValue::integer(s.DB)},
                 {"BLOCK_A", HostValue::integer(blockA)},
                 {"BLOCK_B", HostValue::integer(blockB)},
                 {"CHUNK", HostValue::integer(tiles.chunk)},
                 {"REVERSE", HostValue::boolean(s.reverse)},
                 {"HAS_DECAY", HostValue::boolean(o.decay != nullptr)},
                 {"HAS_INITIAL", HostValue::boolean(s.init != nullptr)},
                 {"STORE_STATES", HostValue::boolean(d.N > 0)},
                 {"STORE_FINAL", HostValue::boolean(s.final != nullptr)}};
  runKernel(libraryKernel("lightning_chunk_states"), target, {s.DA / blockA, s.DB / blockB, d.B * d.H}, args, kw);
}

// One launch of lightning_chunk_output: out = intra(q, k, v) + inter(q, M).
struct OutputLaunch {
  const TensorArg &q, &k, &v, &out;
  int64_t DQK, DV;
  bool transposedState; // M is the scratch's (DV, DQK) tile read transposed
  double intraScale, interScale;
  bool reverse;
};

void runOutput(const OutputLaunch &l, const TensorArg &states, const Dims &d, const LightningAttentionOptions &o,
               const LaunchTarget &target, const Tiles &tiles) {
  std::vector<HostValue> args = {l.q.pointer(), l.k.pointer(),   l.v.pointer(),
                                 states.pointer(), l.out.pointer(), pointerOrNone(o.decay)};
  for (auto *t : {&l.q, &l.k, &l.v})
    appendStrides(args, t, 4);
  // The scratch holds (rows, cols) = (DA, DB) tiles contiguously; M is
  // (DQK, DV): the same tile, or its transpose.
  args.push_back(HostValue::integer(l.transposedState ? 1 : l.DV));
  args.push_back(HostValue::integer(l.transposedState ? l.DQK : 1));
  appendStrides(args, &l.out, 4);
  args.push_back(HostValue::integer(d.H));
  args.push_back(HostValue::integer(d.N));
  args.push_back(HostValue::floating(l.intraScale));
  args.push_back(HostValue::floating(l.interScale));
  int64_t blockK = std::min(l.DQK, tiles.blockK), blockV = std::min(l.DV, tiles.blockV);
  Keywords kw = {{"D_QK", HostValue::integer(l.DQK)},
                 {"D_V", HostValue::integer(l.DV)},
                 {"BLOCK_K", HostValue::integer(blockK)},
                 {"BLOCK_V", HostValue::integer(blockV)},
                 {"CHUNK", HostValue::integer(tiles.chunk)},
                 {"REVERSE", HostValue::boolean(l.reverse)},
                 {"HAS_DECAY", HostValue::boolean(o.decay != nullptr)}};
  runKernel(libraryKernel("lightning_chunk_output"), target, {cdiv(d.N, tiles.chunk), l.DV / blockV, d.B * d.H}, args,
            kw);
}

// The carried state of every chunk, in the input dtype (the output kernel
// reads it only as a tensor-core operand, rounded to that dtype anyway).
size_t statesBytes(const Dims &d, const Tiles &tiles, const TensorArg &q) {
  return (size_t)(d.B * d.H * cdiv(d.N, tiles.chunk) * d.DK * d.DV) * dtypeBytes(q.dtype);
}
} // namespace

void lightningAttentionForward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &out,
                               const TensorArg *initialState, const TensorArg *finalState,
                               const LightningAttentionOptions &options) {
  Dims d = checkQKV(q, k, v);
  checkLike(out, "out", v, "v", false);
  checkState(initialState, "initial_state", d, q);
  checkState(finalState, "final_state", d, q);
  checkOptions(options, d, q);
  LaunchTarget target = targetOf(q, options);
  Tiles tiles = tilesFor(target);
  double scale = scaleOf(options, d);
  DeviceScratch scratch(target, statesBytes(d, tiles, q));
  TensorArg states = scratch.tensor(q.dtype, {d.B * d.H, cdiv(d.N, tiles.chunk), d.DK, d.DV});
  // With N == 0 the states kernel still runs: the final state is the initial one.
  runStates({k, v, initialState, finalState, d.DK, d.DV, 1.0, false}, states, d, options, target, tiles);
  runOutput({q, k, v, out, d.DK, d.DV, false, scale, scale, false}, states, d, options, target, tiles);
}

void lightningAttentionBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &dout,
                                const TensorArg *initialState, const TensorArg *dFinalState, const TensorArg &dq,
                                const TensorArg &dk, const TensorArg &dv, const TensorArg *dInitialState,
                                const LightningAttentionOptions &options) {
  Dims d = checkQKV(q, k, v);
  checkLike(dout, "dout", v, "v", false);
  checkLike(dq, "dq", q, "q", true);
  checkLike(dk, "dk", k, "k", true);
  checkLike(dv, "dv", v, "v", true);
  checkState(initialState, "initial_state", d, q);
  checkState(dFinalState, "dfinal_state", d, q);
  checkState(dInitialState, "dinitial_state", d, q);
  checkOptions(options, d, q);
  LaunchTarget target = targetOf(q, options);
  Tiles tiles = tilesFor(target);
  double scale = scaleOf(options, d);
  // Both sequential passes (the forward states, read by dQ; the reverse
  // states, read by dK and dV) run in one launch, side by side.
  int64_t NT = cdiv(d.N, tiles.chunk);
  DeviceScratch fwdMem(target, statesBytes(d, tiles, q)), revMem(target, statesBytes(d, tiles, q));
  TensorArg fwdStates = fwdMem.tensor(q.dtype, {d.B * d.H, NT, d.DK, d.DV});
  TensorArg revStates = revMem.tensor(q.dtype, {d.B * d.H, NT, d.DK, d.DV});
  {
    std::vector<HostValue> args = {k.pointer(),         v.pointer(),          pointerOrNone(initialState),
                                   fwdStates.pointer(), q.pointer(),          dout.pointer(),
                                   pointerOrNone(dFinalState), revStates.pointer(), pointerOrNone(dInitialState),
                                   pointerOrNone(options.decay)};
    appendStrides(args, &k, 4);
    appendStrides(args, &v, 4);
    appendStrides(args, initialState, 4);
    appendStrides(args, &q, 4);
    appendStrides(args, &dout, 4);
    appendStrides(args, dFinalState, 4);
    appendStrides(args, dInitialState, 4);
    args.push_back(HostValue::integer(d.H));
    args.push_back(HostValue::integer(d.N));
    args.push_back(HostValue::floating(scale));
    int64_t blockA = std::min(d.DK, tiles.stateA), blockB = std::min(d.DV, tiles.stateB);
    Keywords kw = {{"DK", HostValue::integer(d.DK)},
                   {"DV", HostValue::integer(d.DV)},
                   {"BLOCK_A", HostValue::integer(blockA)},
                   {"BLOCK_B", HostValue::integer(blockB)},
                   {"CHUNK", HostValue::integer(tiles.chunk)},
                   {"HAS_DECAY", HostValue::boolean(options.decay != nullptr)},
                   {"HAS_INITIAL", HostValue::boolean(initialState != nullptr)},
                   {"HAS_DFINAL", HostValue::boolean(dFinalState != nullptr)},
                   {"STORE_DINIT", HostValue::boolean(dInitialState != nullptr)}};
    // With N == 0 it still runs: dS_0 = dS_f.
    runKernel(libraryKernel("lightning_backward_states"), target, {d.DK / blockA, d.DV / blockB, 2 * d.B * d.H},
              args, kw);
  }
  if (d.N > 0) {
    // dq_i = scale * (do_i S_i^T): the forward with (q, k, v) -> (do, v, k).
    runOutput({dout, v, k, dq, d.DV, d.DK, true, scale, scale, false}, fwdStates, d, options, target, tiles);
    runOutput({v, dout, q, dk, d.DV, d.DK, true, scale, 1.0, true}, revStates, d, options, target, tiles);
    runOutput({k, q, dout, dv, d.DK, d.DV, false, scale, 1.0, true}, revStates, d, options, target, tiles);
  }
}

void lightningAttentionDecode(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &state,
                              const TensorArg &out, const TensorArg &newState,
                              const LightningAttentionOptions &options) {
  Dims d = checkQKV(q, k, v);
  if (d.N != 1)
    fail("q", "decoding takes one token per (batch, head): expected shape (B, H, 1, Dk), got " +
                  checks::shapeString(q.shape));
  checkLike(out, "out", v, "v", false);
  checkState(&state, "state", d, q);
  checkState(&newState, "new_state", d, q);
  checkOptions(options, d, q);
  LaunchTarget target = targetOf(q, options);
  int64_t blockV = std::min(d.DV, target.device == TensorArg::Device::Cuda ? int64_t(32) : int64_t(16));
  std::vector<HostValue> args = {q.pointer(),        k.pointer(),   v.pointer(),          state.pointer(),
                                 newState.pointer(), out.pointer(), pointerOrNone(options.decay)};
  // (B, H, 1, D) tensors pass their batch, head and feature strides.
  for (auto *t : {&q, &k, &v})
    for (int i : {0, 1, 3})
      args.push_back(HostValue::integer(t->strides[i]));
  appendStrides(args, &state, 4);
  appendStrides(args, &newState, 4);
  for (int i : {0, 1, 3})
    args.push_back(HostValue::integer(out.strides[i]));
  args.push_back(HostValue::integer(d.H));
  args.push_back(HostValue::floating(scaleOf(options, d)));
  Keywords kw = {{"DK", HostValue::integer(d.DK)},
                 {"DV", HostValue::integer(d.DV)},
                 {"BLOCK_V", HostValue::integer(blockV)},
                 {"HAS_DECAY", HostValue::boolean(options.decay != nullptr)}};
  runKernel(libraryKernel("lightning_decode"), target, {d.DV / blockV, d.B * d.H, 1}, args, kw);
}

} // namespace terrazzo::ops
