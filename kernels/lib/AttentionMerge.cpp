// Host wrapper of kernels/attention_merge.py: argument checks, tile size,
// grid and launch of the log-sum-exp merge of two attention results.
#include "ArgumentChecks.h"
#include "LibraryLaunch.h"
#include "terrazzo/ops/AttentionMerge.h"

#include <algorithm>

namespace terrazzo::ops {

namespace {
using checks::fail;

void checkOut(const TensorArg &t, const std::string &name) {
  checks::requireRank(t, name, 4, "(B, H, N, D)");
  checks::requireDtype(t, name, {"float32", "float16", "bfloat16"});
  checks::requireStrides(t, name, false);
  checks::requireData(t, name);
}

void checkLse(const TensorArg &t, const std::string &name, const TensorArg &out, const std::string &outName) {
  checks::requireRank(t, name, 3, "(B, H, N)");
  checks::requireDtype(t, name, {"float32"});
  checks::requireShape(t, name, {out.shape[0], out.shape[1], out.shape[2]});
  checks::requireSameDevice(t, name, out, outName);
  checks::requireStrides(t, name, false);
  checks::requireData(t, name);
}

int64_t nextPowerOfTwo(int64_t x) {
  int64_t p = 1;
  while (p < x)
    p *= 2;
  return p;
}
} // namespace

void attentionMergeInto(const TensorArg &out, const TensorArg &lse, const TensorArg &partOut,
                        const TensorArg &partLse, const AttentionMergeOptions &options) {
  checkOut(out, "out");
  checkOut(partOut, "part_out");
  checks::requireShape(partOut, "part_out", out.shape);
  checks::requireSameDevice(partOut, "part_out", out, "out");
  checkLse(lse, "lse", out, "out");
  checkLse(partLse, "part_lse", out, "out");
  int64_t B = out.shape[0], H = out.shape[1], N = out.shape[2], D = out.shape[3];
  if (D < 1 || D > 256)
    fail("out", "head dim " + std::to_string(D) + " is not supported (1 to 256)");

  LaunchTarget target;
  target.device = out.device;
  target.deviceIndex = out.deviceIndex;
  target.stream = options.stream;
  target.numWarps = 4;
  // A memory-bound pass: tiles of at most 4096 elements (32 per thread and
  // tensor at 4 warps; 64 x 128 tiles took 205 registers on sm_90a), and
  // small N gets small tiles so the interpreter masks little.
  int64_t padded = nextPowerOfTwo(D);
  int64_t blockM = std::max<int64_t>(16, std::min<int64_t>(64, 4096 / padded));
  blockM = std::min(blockM, N <= 16 ? int64_t(16) : N <= 32 ? int64_t(32) : int64_t(64));
  std::vector<HostValue> args = {out.pointer(), lse.pointer(), partOut.pointer(), partLse.pointer()};
  for (const TensorArg *t : {&out, &lse, &partOut, &partLse})
    for (int64_t s : t->strides)
      args.push_back(HostValue::integer(s));
  args.push_back(HostValue::integer(H));
  args.push_back(HostValue::integer(N));
  Keywords kw = {{"HEAD_DIM", HostValue::integer(D)}, {"BLOCK_M", HostValue::integer(blockM)}};
  if (padded != D)
    kw.emplace_back("HEAD_DIM_PADDED", HostValue::integer(padded));
  runKernel(libraryKernel("attention_merge.py", "attention_merge"), target, {(N + blockM - 1) / blockM, B * H, 1},
            args, kw);
}

} // namespace terrazzo::ops
