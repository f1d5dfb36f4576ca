// Host wrappers of kernels/lightning_attention.py: argument checks, chunk and
// tile sizes, the carried-state scratches, and the launches of the forward
// (states, then outputs), the backward (forward and reverse states side by
// side, then dQ with dK, then dV) and the decode step.
#include "ArgumentChecks.h"
#include "LibraryLaunch.h"
#include "terrazzo/ops/LightningAttention.h"

#include <algorithm>
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
  using K = HostValue::Kind;
  if (o.featureMap.kind != K::None && o.featureMap.kind != K::Function)
    fail("feature_map", "must be a @tz.jit function or None");
  if (o.featureMapGrad.kind != K::None && o.featureMapGrad.kind != K::Function)
    fail("feature_map_grad", "must be a @tz.jit function or None");
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
// blockK,blockV[,segmentChunks]" overrides the choice on either device (for
// tuning runs, and for tests of other tiles on the interpreter; each tile a
// power of two from 16 to 128, capped by the head dims).
struct Tiles {
  int64_t chunk, stateA, stateB, blockK, blockV;
  int64_t segmentChunks = 0; // chunks per segment of the states passes; 0: chosen by segmentsFor
};

Tiles tilesFromEnvironment(const char *text) {
  std::vector<int64_t> v;
  std::string s(text);
  const std::string expected = "chunk,stateA,stateB,blockK,blockV (powers of two from 16 to 128) and optionally "
                               "the chunks per segment (0: automatic)";
  size_t pos = 0;
  while (true) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char *end = nullptr;
    long long x = std::strtoll(item.c_str(), &end, 10);
    bool tile = v.size() < 5;
    if (item.empty() || *end != '\0' || (tile && (x < 16 || x > 128 || (x & (x - 1)) != 0)) || (!tile && x < 0))
      fail("TZ_LIGHTNING_TILES", "expected " + expected + ", got '" + s + "'");
    v.push_back(x);
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  if (v.size() != 5 && v.size() != 6)
    fail("TZ_LIGHTNING_TILES", "expected " + expected + ", got '" + s + "'");
  return {v[0], v[1], v[2], v[3], v[4], v.size() == 6 ? v[5] : 0};
}

Tiles tilesFor(const LaunchTarget &t) {
  if (const char *env = std::getenv("TZ_LIGHTNING_TILES"); env && *env)
    return tilesFromEnvironment(env);
  if (t.device != TensorArg::Device::Cuda)
    return {16, 16, 16, 16, 16};
  return {64, 32, 64, 128, 64};
}

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

HostValue pointerOrNone(const TensorArg *t) { return t ? t->pointer() : HostValue::none(); }

void appendStrides(std::vector<HostValue> &args, const TensorArg *t, size_t rank) {
  for (size_t i = 0; i < rank; ++i)
    args.push_back(HostValue::integer(t ? t->strides[i] : 0));
}

// The states passes are split into segments of whole chunks that run in
// parallel from zero states (lightning_segment_scan then chains them): the
// sequential length is a segment, not the sequence. On the GPU, enough
// segments for ~4 programs per SM of an H100 (a whole segment when B * H
// fills it already); on the interpreter, 2 chunks per segment, so small
// tests cross segments.
int64_t chunksPerSegment(const LaunchTarget &t, const Dims &d, const Tiles &tiles) {
  int64_t chunks = std::max<int64_t>(1, cdiv(d.N, tiles.chunk));
  if (tiles.segmentChunks > 0)
    return tiles.segmentChunks;
  if (t.device != TensorArg::Device::Cuda)
    return 2;
  int64_t programs = d.B * d.H * cdiv(d.DK, tiles.stateA) * cdiv(d.DV, tiles.stateB);
  int64_t segments = std::clamp<int64_t>(cdiv(4 * 132, programs), 1, chunks);
  return cdiv(chunks, segments);
}

// The scratches of one direction of the states: each chunk's state within
// its segment (input dtype), each segment's own total and its entering
// state (float32).
struct StateBuffers {
  DeviceScratch statesMem, totalsMem, entriesMem;
  TensorArg states, totals, entries;
  int64_t chunksPerSeg, segments;

  StateBuffers(const LaunchTarget &target, const Dims &d, const Tiles &tiles, const TensorArg &q, int64_t cps)
      : statesMem(target, bytes(d, cdiv(d.N, tiles.chunk), dtypeBytes(q.dtype))),
        totalsMem(target, bytes(d, cdiv(cdiv(d.N, tiles.chunk), cps), sizeof(float))),
        entriesMem(target, bytes(d, cdiv(cdiv(d.N, tiles.chunk), cps), sizeof(float))), chunksPerSeg(cps),
        segments(cdiv(cdiv(d.N, tiles.chunk), cps)) {
    int64_t NT = cdiv(d.N, tiles.chunk);
    states = statesMem.tensor(q.dtype, {d.B * d.H, NT, d.DK, d.DV});
    totals = totalsMem.tensor("float32", {d.B * d.H, segments, d.DK, d.DV});
    entries = entriesMem.tensor("float32", {d.B * d.H, segments, d.DK, d.DV});
  }

  static size_t bytes(const Dims &d, int64_t n, size_t element) {
    return (size_t)(d.B * d.H * n * d.DK * d.DV) * element;
  }
};

Keywords stateKeywords(const Dims &d, const LightningAttentionOptions &o, const Tiles &tiles, int64_t blockA,
                       int64_t blockB) {
  return {{"BLOCK_A", HostValue::integer(blockA)},
          {"BLOCK_B", HostValue::integer(blockB)},
          {"CHUNK", HostValue::integer(tiles.chunk)},
          {"HAS_DECAY", HostValue::boolean(o.decay != nullptr)}};
}

// lightning_chunk_states of (a, b) from `init` into `buf` (forward only:
// the backward runs both directions through lightning_backward_states).
void runStates(const TensorArg &a, const TensorArg &b, const TensorArg *init, const StateBuffers &buf, const Dims &d,
               const LightningAttentionOptions &o, const LaunchTarget &target, const Tiles &tiles) {
  std::vector<HostValue> args = {a.pointer(),          b.pointer(),          pointerOrNone(init),
                                 buf.states.pointer(), buf.totals.pointer(), pointerOrNone(o.decay)};
  appendStrides(args, &a, 4);
  appendStrides(args, &b, 4);
  appendStrides(args, init, 4);
  for (int64_t x : {d.H, d.N})
    args.push_back(HostValue::integer(x));
  args.push_back(HostValue::floating(1.0));
  args.push_back(HostValue::integer(buf.chunksPerSeg));
  int64_t blockA = std::min(d.DK, tiles.stateA), blockB = std::min(d.DV, tiles.stateB);
  Keywords kw = stateKeywords(d, o, tiles, blockA, blockB);
  kw.emplace_back("DA", HostValue::integer(d.DK));
  kw.emplace_back("DB", HostValue::integer(d.DV));
  kw.emplace_back("HAS_INITIAL", HostValue::boolean(init != nullptr));
  kw.emplace_back("FEATURE_MAP", o.featureMap);
  runKernel(libraryKernel("lightning_chunk_states"), target, {d.DK / blockA, d.DV / blockB, d.B * d.H * buf.segments},
            args, kw);
}

// lightning_segment_scan: the entering state of every segment of `buf`, and
// the final state (or dS_0 in reverse) into `final` when given.
void runScan(const StateBuffers &buf, const TensorArg *init, const TensorArg *final, bool reverse, const Dims &d,
             const LightningAttentionOptions &o, const LaunchTarget &target, const Tiles &tiles) {
  std::vector<HostValue> args = {buf.totals.pointer(), buf.entries.pointer(), pointerOrNone(init),
                                 pointerOrNone(final), pointerOrNone(o.decay)};
  appendStrides(args, init, 4);
  appendStrides(args, final, 4);
  for (int64_t x : {d.H, d.N, buf.chunksPerSeg})
    args.push_back(HostValue::integer(x));
  int64_t blockA = std::min(d.DK, tiles.stateA), blockB = std::min(d.DV, tiles.stateB);
  Keywords kw = stateKeywords(d, o, tiles, blockA, blockB);
  kw.emplace_back("DA", HostValue::integer(d.DK));
  kw.emplace_back("DB", HostValue::integer(d.DV));
  kw.emplace_back("REVERSE", HostValue::boolean(reverse));
  kw.emplace_back("HAS_INITIAL", HostValue::boolean(init != nullptr));
  kw.emplace_back("STORE_FINAL", HostValue::boolean(final != nullptr));
  runKernel(libraryKernel("lightning_segment_scan"), target, {d.DK / blockA, d.DV / blockB, d.B * d.H}, args, kw);
}

// One launch of lightning_chunk_output: out = intra(q, k, v) + inter(q, M),
// M a chunk's state from `buf` (its tiles, or their transposes).
struct OutputLaunch {
  const TensorArg &q, &k, &v, &out;
  int64_t DQK, DV;
  bool transposedState; // M is the scratch's (DV, DQK) tile read transposed
  double intraScale, interScale;
  bool reverse;
};

void runOutput(const OutputLaunch &l, const StateBuffers &buf, const Dims &d, const LightningAttentionOptions &o,
               const LaunchTarget &target, const Tiles &tiles) {
  std::vector<HostValue> args = {l.q.pointer(),         l.k.pointer(),     l.v.pointer(), buf.states.pointer(),
                                 buf.entries.pointer(), l.out.pointer(),   pointerOrNone(o.decay)};
  for (auto *t : {&l.q, &l.k, &l.v})
    appendStrides(args, t, 4);
  // The scratches hold (rows, cols) = (Dk, Dv) tiles contiguously; M is
  // (DQK, DV): the same tile, or its transpose.
  args.push_back(HostValue::integer(l.transposedState ? 1 : l.DV));
  args.push_back(HostValue::integer(l.transposedState ? l.DQK : 1));
  appendStrides(args, &l.out, 4);
  args.push_back(HostValue::integer(d.H));
  args.push_back(HostValue::integer(d.N));
  args.push_back(HostValue::floating(l.intraScale));
  args.push_back(HostValue::floating(l.interScale));
  args.push_back(HostValue::integer(buf.chunksPerSeg));
  int64_t blockK = std::min(l.DQK, tiles.blockK), blockV = std::min(l.DV, tiles.blockV);
  Keywords kw = {{"D_QK", HostValue::integer(l.DQK)},
                 {"D_V", HostValue::integer(l.DV)},
                 {"BLOCK_K", HostValue::integer(blockK)},
                 {"BLOCK_V", HostValue::integer(blockV)},
                 {"CHUNK", HostValue::integer(tiles.chunk)},
                 {"REVERSE", HostValue::boolean(l.reverse)},
                 {"HAS_DECAY", HostValue::boolean(o.decay != nullptr)},
                 {"FEATURE_MAP", o.featureMap}};
  runKernel(libraryKernel("lightning_chunk_output"), target, {cdiv(d.N, tiles.chunk), l.DV / blockV, d.B * d.H}, args,
            kw);
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
  StateBuffers buf(target, d, tiles, q, chunksPerSegment(target, d, tiles));
  runStates(k, v, initialState, buf, d, options, target, tiles);
  // With N == 0 the scan still runs: the final state is the initial one.
  runScan(buf, initialState, finalState, false, d, options, target, tiles);
  runOutput({q, k, v, out, d.DK, d.DV, false, scale, scale, false}, buf, d, options, target, tiles);
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
  if (options.featureMap.kind != HostValue::Kind::None && options.featureMapGrad.kind == HostValue::Kind::None)
    fail("feature_map_grad", "is needed for the backward of a feature_map (its derivative: (x, g) -> phi'(x) * g)");
  LaunchTarget target = targetOf(q, options);
  Tiles tiles = tilesFor(target);
  double scale = scaleOf(options, d);
  int64_t cps = chunksPerSegment(target, d, tiles);
  // The forward states (read by dQ) and the reverse states (read by dK and
  // dV) are computed in one launch, side by side.
  StateBuffers fwd(target, d, tiles, q, cps), rev(target, d, tiles, q, cps);
  {
    std::vector<HostValue> args = {k.pointer(),          v.pointer(),          pointerOrNone(initialState),
                                   fwd.states.pointer(), fwd.totals.pointer(), q.pointer(),
                                   dout.pointer(),       pointerOrNone(dFinalState), rev.states.pointer(),
                                   rev.totals.pointer(), pointerOrNone(options.decay)};
    appendStrides(args, &k, 4);
    appendStrides(args, &v, 4);
    appendStrides(args, initialState, 4);
    appendStrides(args, &q, 4);
    appendStrides(args, &dout, 4);
    appendStrides(args, dFinalState, 4);
    for (int64_t x : {d.H, d.N})
      args.push_back(HostValue::integer(x));
    args.push_back(HostValue::floating(scale));
    args.push_back(HostValue::integer(cps));
    int64_t blockA = std::min(d.DK, tiles.stateA), blockB = std::min(d.DV, tiles.stateB);
    Keywords kw = stateKeywords(d, options, tiles, blockA, blockB);
    kw.emplace_back("DK", HostValue::integer(d.DK));
    kw.emplace_back("DV", HostValue::integer(d.DV));
    kw.emplace_back("HAS_INITIAL", HostValue::boolean(initialState != nullptr));
    kw.emplace_back("HAS_DFINAL", HostValue::boolean(dFinalState != nullptr));
    kw.emplace_back("FEATURE_MAP", options.featureMap);
    runKernel(libraryKernel("lightning_backward_states"), target,
              {d.DK / blockA, d.DV / blockB, 2 * d.B * d.H * fwd.segments}, args, kw);
  }
  runScan(fwd, initialState, nullptr, false, d, options, target, tiles);
  // What the reverse scan leaves after the first segment is dS_0 (with
  // N == 0: dS_f itself).
  runScan(rev, dFinalState, dInitialState, true, d, options, target, tiles);
  // dq and dk share each chunk's do v^T (lightning_chunk_dqdk); dv is the
  // reverse output of (k, q, do) over R.
  {
    std::vector<HostValue> args = {q.pointer(),           k.pointer(),          v.pointer(),
                                   dout.pointer(),        fwd.states.pointer(), fwd.entries.pointer(),
                                   rev.states.pointer(),  rev.entries.pointer(), dq.pointer(),
                                   dk.pointer(),          pointerOrNone(options.decay)};
    for (const TensorArg *t : std::initializer_list<const TensorArg *>{&q, &k, &v, &dout, &dq, &dk})
      appendStrides(args, t, 4);
    for (int64_t x : {d.H, d.N})
      args.push_back(HostValue::integer(x));
    args.push_back(HostValue::floating(scale));
    args.push_back(HostValue::integer(cps));
    // Past Dv = 128 the do v^T reduction goes 64 columns at a time (at Dv =
    // 256 on sm_90a: 92 spilled bytes, against 460 at 128).
    int64_t blockO = std::min(d.DK, tiles.blockV), blockV = std::min(d.DV, d.DV > 128 ? 64 : tiles.blockK);
    Keywords kw = {{"DK", HostValue::integer(d.DK)},
                   {"DV", HostValue::integer(d.DV)},
                   {"BLOCK_O", HostValue::integer(blockO)},
                   {"BLOCK_V", HostValue::integer(blockV)},
                   {"CHUNK", HostValue::integer(tiles.chunk)},
                   {"HAS_DECAY", HostValue::boolean(options.decay != nullptr)},
                   {"FEATURE_MAP", options.featureMap},
                   {"FEATURE_MAP_GRAD", options.featureMapGrad}};
    runKernel(libraryKernel("lightning_chunk_dqdk"), target, {cdiv(d.N, tiles.chunk), d.DK / blockO, d.B * d.H},
              args, kw);
  }
  runOutput({k, q, dout, dv, d.DK, d.DV, false, scale, 1.0, true}, rev, d, options, target, tiles);
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
                 {"HAS_DECAY", HostValue::boolean(options.decay != nullptr)},
                 {"FEATURE_MAP", options.featureMap}};
  runKernel(libraryKernel("lightning_decode"), target, {d.DV / blockV, d.B * d.H, 1}, args, kw);
}

} // namespace terrazzo::ops
