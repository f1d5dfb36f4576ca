// Host side of block masks: building one (kernels/block_mask.py) and
// checking one handed to flash attention.
#include "ArgumentChecks.h"
#include "FlashAttentionLaunch.h"
#include "LibraryLaunch.h"
#include "terrazzo/ops/BlockMask.h"

#include <algorithm>

namespace terrazzo::ops {

namespace {
using checks::fail;

std::string str(int64_t x) { return std::to_string(x); }

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t nextPowerOfTwo(int64_t x) {
  int64_t p = 1;
  while (p < x)
    p *= 2;
  return p;
}

void requireContiguous(const TensorArg &t, const std::string &name) {
  int64_t expected = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] != 1 && t.strides[i] != expected)
      fail(name, "must be contiguous");
    expected *= t.shape[i];
  }
}

// One int32 tensor of the mask: `shape`, contiguous, with data, on `ref`'s device.
void requireList(const TensorArg &t, const std::string &name, const std::vector<int64_t> &shape, const TensorArg &ref,
                 const std::string &refName) {
  checks::requireRank(t, name, shape.size(), "");
  checks::requireDtype(t, name, {"int32"});
  checks::requireShape(t, name, shape);
  requireContiguous(t, name);
  checks::requireSameDevice(t, name, ref, refName);
  checks::requireData(t, name);
}

// The mask's own consistency: block size, lengths, and the four tensors'
// shapes read off kvCounts (MB, MH, nQ, 2). Returns (MB, MH).
std::pair<int64_t, int64_t> checkMaskTensors(const BlockMaskArg &m) {
  if (m.blockSize < 16 || (m.blockSize & (m.blockSize - 1)) != 0)
    fail("block_size", "must be a power of two, at least 16, got " + str(m.blockSize));
  if (m.qLen < 1 || m.kvLen < 1)
    fail("block_mask", "lengths must be positive, got Q_LEN " + str(m.qLen) + ", KV_LEN " + str(m.kvLen));
  checks::requireRank(m.kvCounts, "block_mask.kv_counts", 4, "(B, H, n_q_blocks, 2)");
  int64_t mb = m.kvCounts.shape[0], mh = m.kvCounts.shape[1];
  int64_t nq = cdiv(m.qLen, m.blockSize), nkv = cdiv(m.kvLen, m.blockSize);
  requireList(m.kvCounts, "block_mask.kv_counts", {mb, mh, nq, 2}, m.kvCounts, "block_mask.kv_counts");
  requireList(m.kvIndices, "block_mask.kv_indices", {mb, mh, nq, 2, nkv}, m.kvCounts, "block_mask.kv_counts");
  requireList(m.qCounts, "block_mask.q_counts", {mb, mh, nkv, 2}, m.kvCounts, "block_mask.kv_counts");
  requireList(m.qIndices, "block_mask.q_indices", {mb, mh, nkv, 2, nq}, m.kvCounts, "block_mask.kv_counts");
  return {mb, mh};
}
} // namespace

void createBlockMask(const HostValue &maskMod, const TensorArg &classes, const BlockMaskArg &mask, void *stream,
                     const std::vector<const TensorArg *> &maskModArgs) {
  if (maskMod.kind != HostValue::Kind::Function)
    fail("mask_mod", "must be a @tz.jit function (b, h, q_idx, kv_idx) -> bool");
  auto [mb, mh] = checkMaskTensors(mask);
  if (mb < 1 || mh < 1)
    fail("block_mask", "batch and head counts must be at least 1, got B " + str(mb) + ", H " + str(mh));
  int64_t nq = cdiv(mask.qLen, mask.blockSize), nkv = cdiv(mask.kvLen, mask.blockSize);
  requireList(classes, "classes", {mb, mh, nq, nkv}, mask.kvCounts, "block_mask.kv_counts");
  if (maskModArgs.size() > 4)
    fail("mask_mod_args", "takes at most 4 tensors, not " + str(maskModArgs.size()));
  Keywords classifyKw = {{"MASK_MOD", maskMod}, {"BLOCK", HostValue::integer(mask.blockSize)}};
  for (size_t i = 0; i < maskModArgs.size(); ++i) {
    std::string name = "mask_mod_args[" + str(i) + "]";
    checks::requireSameDevice(*maskModArgs[i], name, classes, "the block mask");
    checks::requireStrides(*maskModArgs[i], name, false);
    checks::requireData(*maskModArgs[i], name);
    classifyKw.emplace_back("mask_mod_arg" + str(i), maskModArgs[i]->pointer());
  }

  LaunchTarget target;
  target.device = classes.device;
  target.deviceIndex = classes.deviceIndex;
  target.stream = stream;
  // A 128x128 tile of mask_mod results is 128 values per thread on 4 warps;
  // 8 warps halve that for the large blocks.
  target.numWarps = mask.blockSize >= 128 ? 8 : 4;
  runKernel(libraryKernel("block_mask.py", "block_mask_classify"), target, {nq, nkv, mb * mh},
            {classes.pointer(), HostValue::integer(mh), HostValue::integer(mask.qLen), HostValue::integer(mask.kvLen),
             HostValue::integer(nq), HostValue::integer(nkv)},
            classifyKw);
  target.numWarps = 4;
  Kernel &compact = libraryKernel("block_mask.py", "block_mask_compact");
  // Lines of at least 16 entries: no 1- or 2-wide tiles for short sequences.
  auto entries = [](int64_t n) { return HostValue::integer(std::max<int64_t>(nextPowerOfTwo(n), 16)); };
  // Rows of key blocks per query block, then columns of query blocks per key block.
  runKernel(compact, target, {nq, mb * mh, 1},
            {classes.pointer(), mask.kvCounts.pointer(), mask.kvIndices.pointer(), HostValue::integer(nq),
             HostValue::integer(nkv), HostValue::integer(nq * nkv), HostValue::integer(nkv), HostValue::integer(1)},
            {{"ENTRIES", entries(nkv)}});
  runKernel(compact, target, {nkv, mb * mh, 1},
            {classes.pointer(), mask.qCounts.pointer(), mask.qIndices.pointer(), HostValue::integer(nkv),
             HostValue::integer(nq), HostValue::integer(nq * nkv), HostValue::integer(1), HostValue::integer(nkv)},
            {{"ENTRIES", entries(nq)}});
}

namespace flash {
void checkBlockMask(const FlashAttentionOptions &o, const checks::AttentionDims &d, const TensorArg &q) {
  if (!o.blockMask)
    return;
  const BlockMaskArg &m = *o.blockMask;
  auto [mb, mh] = checkMaskTensors(m);
  checks::requireSameDevice(m.kvCounts, "block_mask", q, "q");
  if (mb != 1 && mb != d.B)
    fail("block_mask", "was built for batch size " + str(mb) + ", q has " + str(d.B) + " (1 broadcasts)");
  if (mh != 1 && mh != d.H)
    fail("block_mask", "was built for " + str(mh) + " heads, q has " + str(d.H) + " (1 broadcasts)");
  if (m.qLen != d.NQ || m.kvLen != d.NK)
    fail("block_mask", "was built for Q_LEN " + str(m.qLen) + " and KV_LEN " + str(m.kvLen) + ", the inputs have " +
                           str(d.NQ) + " queries and " + str(d.NK) + " keys");
  if (o.causal)
    fail("causal", "cannot be combined with a block_mask: put causality in the mask_mod it was built from");
  if (o.seqlensK)
    fail("seqlens_k", "cannot be combined with a block_mask: hide the padding keys in its mask_mod");
  if (o.maskMod.kind == HostValue::Kind::None)
    fail("mask_mod", "is needed with a block_mask: its partial tiles are masked with it");
}
} // namespace flash

} // namespace terrazzo::ops
