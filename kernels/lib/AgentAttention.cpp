// Host wrappers of agent attention: argument checks under agent attention's
// own names, then two flash-attention passes each way and the agents'
// gradient sum (kernels/agent_attention.py).
#include "ArgumentChecks.h"
#include "LibraryLaunch.h"
#include "terrazzo/ops/AgentAttention.h"
#include "terrazzo/ops/Attention.h"

#include <cmath>

namespace terrazzo::ops {

namespace {
using checks::fail;

struct Dims {
  int64_t B, H, N, n, D;
};

Dims checkInputs(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &agents) {
  auto str = [](int64_t x) { return std::to_string(x); };
  checks::requireRank(q, "q", 4, "(B, H, N, D)");
  checks::requireRank(k, "k", 4, "(B, H, N, D)");
  checks::requireRank(v, "v", 4, "(B, H, N, D)");
  checks::requireRank(agents, "agents", 4, "(B, H, n, D)");
  checks::requireDtype(q, "q", {"float16", "bfloat16"});
  for (auto [t, name] : {std::pair{&k, "k"}, {&v, "v"}, {&agents, "agents"}})
    checks::requireSameDtype(*t, name, q, "q");
  Dims d{q.shape[0], q.shape[1], q.shape[2], agents.shape[2], q.shape[3]};
  if (d.D < 1 || d.D > 256)
    fail("q", "head dim " + str(d.D) + " is not supported (1 to 256)");
  checks::requireShape(k, "k", q.shape);
  checks::requireShape(v, "v", q.shape);
  if (agents.shape[0] != d.B || agents.shape[1] != d.H || agents.shape[3] != d.D)
    fail("agents", "expected shape (" + str(d.B) + ", " + str(d.H) + ", n, " + str(d.D) + "), got " +
                       checks::shapeString(agents.shape));
  // Empty token or agent sets have no attention to speak of (and flash
  // attention's row statistics need rows).
  if (d.N < 1)
    fail("q", "agent attention needs at least one token, got shape " + checks::shapeString(q.shape));
  if (d.n < 1)
    fail("agents", "agent attention needs at least one agent, got shape " + checks::shapeString(agents.shape));
  for (auto [t, name] : {std::pair{&q, "q"}, {&k, "k"}, {&v, "v"}, {&agents, "agents"}}) {
    checks::requireSameDevice(*t, name, q, "q");
    checks::requireStrides(*t, name, false);
    checks::requireData(*t, name);
  }
  return d;
}

void checkRowStats(const TensorArg &t, const std::string &name, const std::vector<int64_t> &shape,
                   const TensorArg &q) {
  checks::requireRank(t, name, 3, "(B, H, rows)");
  checks::requireDtype(t, name, {"float32"});
  checks::requireShape(t, name, shape);
  if (t.strides != std::vector<int64_t>{shape[1] * shape[2], shape[2], 1})
    fail(name, "must be contiguous");
  checks::requireSameDevice(t, name, q, "q");
  checks::requireData(t, name);
}

void checkSaved(const Dims &d, const TensorArg &q, const TensorArg &agents, const TensorArg &agentValues,
                const TensorArg &agentLse, const TensorArg &lse) {
  checks::requireLike(agentValues, "agent_values", agents, "agents", false);
  checkRowStats(agentLse, "agent_lse", {d.B, d.H, d.n}, q);
  checkRowStats(lse, "lse", {d.B, d.H, d.N}, q);
}

FlashAttentionOptions flashOptions(const AgentAttentionOptions &o, const Dims &d) {
  FlashAttentionOptions f;
  f.causal = false;
  f.scale = o.scale ? *o.scale : 1.0 / std::sqrt((double)d.D);
  f.stream = o.stream;
  return f;
}

void checkScale(const AgentAttentionOptions &o) {
  if (o.scale && !std::isfinite(*o.scale))
    fail("scale", "must be finite, got " + std::to_string(*o.scale));
}
} // namespace

void agentAttentionForward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &agents,
                           const TensorArg &out, const TensorArg &agentValues, const TensorArg &agentLse,
                           const TensorArg &lse, const AgentAttentionOptions &options) {
  Dims d = checkInputs(q, k, v, agents);
  checks::requireLike(out, "out", q, "q", false);
  checkSaved(d, q, agents, agentValues, agentLse, lse);
  checkScale(options);
  FlashAttentionOptions f = flashOptions(options, d);
  flashAttentionForward(agents, k, v, agentValues, &agentLse, f); // agents read the keys
  flashAttentionForward(q, agents, agentValues, out, &lse, f);    // queries read the agents
}

void agentAttentionBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &agents,
                            const TensorArg &out, const TensorArg &agentValues, const TensorArg &agentLse,
                            const TensorArg &lse, const TensorArg &dout, const TensorArg &dq, const TensorArg &dk,
                            const TensorArg &dv, const TensorArg &dagents, const AgentAttentionOptions &options) {
  Dims d = checkInputs(q, k, v, agents);
  checks::requireLike(out, "out", q, "q", false);
  checks::requireLike(dout, "dout", q, "q", false);
  checkSaved(d, q, agents, agentValues, agentLse, lse);
  checks::requireLike(dq, "dq", q, "q", false);
  checks::requireLike(dk, "dk", k, "k", false);
  checks::requireLike(dv, "dv", v, "v", false);
  checks::requireLike(dagents, "dagents", agents, "agents", false);
  checkScale(options);
  FlashAttentionOptions f = flashOptions(options, d);
  LaunchTarget target;
  target.device = q.device;
  target.deviceIndex = q.deviceIndex;
  target.stream = options.stream;
  // The second pass gives dq, the agents' gradient as its keys, and the
  // gradient of agent_values, which is the first pass's dout.
  size_t bytes = (size_t)(d.B * d.H * d.n * d.D) * dtypeBytes(q.dtype);
  DeviceScratch dAsKeysMem(target, bytes), dValuesMem(target, bytes), dAsQueriesMem(target, bytes);
  TensorArg dAsKeys = dAsKeysMem.tensor(q.dtype, {d.B, d.H, d.n, d.D});
  TensorArg dValues = dValuesMem.tensor(q.dtype, {d.B, d.H, d.n, d.D});
  TensorArg dAsQueries = dAsQueriesMem.tensor(q.dtype, {d.B, d.H, d.n, d.D});
  flashAttentionBackward(q, agents, agentValues, out, lse, dout, dq, dAsKeys, dValues, f);
  flashAttentionBackward(agents, k, v, agentValues, agentLse, dValues, dAsQueries, dk, dv, f);
  std::vector<HostValue> args = {dAsKeys.pointer(), dAsQueries.pointer(), dagents.pointer()};
  for (const TensorArg *t : std::initializer_list<const TensorArg *>{&dAsKeys, &dAsQueries, &dagents})
    for (int64_t s : t->strides)
      args.push_back(HostValue::integer(s));
  for (int64_t x : {d.H, d.n, d.D})
    args.push_back(HostValue::integer(x));
  int64_t blockN = 16, blockD = d.D <= 16 ? 16 : d.D <= 32 ? 32 : 64;
  runKernel(ops::libraryKernel("agent_attention.py", "agent_grad_sum"), target, {(d.n + blockN - 1) / blockN, d.B * d.H, 1},
            args, {{"BLOCK_N", HostValue::integer(blockN)}, {"BLOCK_D", HostValue::integer(blockD)}});
}

} // namespace terrazzo::ops
