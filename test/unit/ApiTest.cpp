// The public C++ API: load kernels from a file, run them on the interpreter,
// and get diagnostics that point at the source.
#include "terrazzo/Terrazzo.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#ifndef TERRAZZO_TEST_KERNELS
#error "TERRAZZO_TEST_KERNELS must name the directory of the test kernels"
#endif

namespace {
const std::string kFile = std::string(TERRAZZO_TEST_KERNELS) + "/vector_ops.py";

std::vector<float> randomVector(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> v(n);
  for (auto &x : v)
    x = dist(rng);
  return v;
}

terrazzo::HostValue pointerTo(std::vector<float> &v) {
  return terrazzo::HostValue::pointer("float32", v.data(), v.size() * sizeof(float));
}
} // namespace

TEST(Api, RunsKernelFromFileOnInterpreter) {
  auto kernel = terrazzo::Kernel::fromFile(kFile, "axpy");
  const int64_t n = 1000; // not a multiple of BLOCK: the tail is masked
  auto x = randomVector(n, 1), y = randomVector(n, 2);
  std::vector<float> out(n + 8, NAN);
  float a = 0.75f;
  kernel->interpret({(n + 127) / 128, 1, 1},
                    {pointerTo(x), pointerTo(y), terrazzo::HostValue::pointer("float32", out.data(), n * sizeof(float)),
                     terrazzo::HostValue::floating(a), terrazzo::HostValue::integer(n)},
                    {{"BLOCK", terrazzo::HostValue::integer(128)}});
  for (int64_t i = 0; i < n; ++i) {
    double expected = (double)a * x[i] + 2.0 * y[i];
    ASSERT_NEAR(out[i], expected, 1e-5 * (1 + std::fabs(expected))) << "at " << i;
  }
  for (int64_t i = n; i < n + 8; ++i)
    EXPECT_TRUE(std::isnan(out[i])) << "element " << i << " past the end was written";
  EXPECT_EQ(kernel->numSpecializations(), 1u);
}

// A persistent run (as GpuOptions::persistent launches it): 8 tiles walked
// by 3 programs give what one program per tile gives, and the IR shows the
// tile loop.
TEST(Api, InterpretsPersistentKernelOnFewPrograms) {
  auto kernel = terrazzo::Kernel::fromFile(kFile, "axpy");
  const int64_t n = 1000;
  auto x = randomVector(n, 3), y = randomVector(n, 4);
  std::vector<float> out(n + 8, NAN);
  float a = -1.25f;
  std::vector<terrazzo::HostValue> args = {
      pointerTo(x), pointerTo(y), terrazzo::HostValue::pointer("float32", out.data(), n * sizeof(float)),
      terrazzo::HostValue::floating(a), terrazzo::HostValue::integer(n)};
  terrazzo::Keywords block = {{"BLOCK", terrazzo::HostValue::integer(128)}};
  auto before = terrazzo::persistentLaunchStats();
  kernel->interpret({(n + 127) / 128, 1, 1}, args, block, nullptr, /*persistentPrograms=*/3);
  auto after = terrazzo::persistentLaunchStats();
  EXPECT_EQ(after.interpretedLaunches - before.interpretedLaunches, 1u);
  EXPECT_EQ(after.interpretedPrograms - before.interpretedPrograms, 3u);
  EXPECT_EQ(after.interpretedTiles - before.interpretedTiles, 8u);
  for (int64_t i = 0; i < n; ++i) {
    double expected = (double)a * x[i] + 2.0 * y[i];
    ASSERT_NEAR(out[i], expected, 1e-5 * (1 + std::fabs(expected))) << "at " << i;
  }
  for (int64_t i = n; i < n + 8; ++i)
    EXPECT_TRUE(std::isnan(out[i])) << "element " << i << " past the end was written";
  std::string ir = kernel->ir(args, block, /*persistent=*/true);
  EXPECT_NE(ir.find("tz.persistent_grid"), std::string::npos) << ir;
  EXPECT_NE(ir.find("tz.persistent_tiles"), std::string::npos) << ir;
  EXPECT_EQ(kernel->ir(args, block).find("tz.persistent"), std::string::npos);
}

// What the cached launch path needs of a kernel without a GPU: which
// parameters are constexprs, and the globals its code depends on (here SCALE,
// read by the inlined `scaled`, and `tz`).
TEST(Api, ConstexprParamsAndDependencies) {
  auto kernel = terrazzo::Kernel::fromFile(kFile, "axpy");
  EXPECT_EQ(kernel->constexprParams(), (std::vector<bool>{false, false, false, false, false, true}));
  std::vector<float> buf(16);
  auto deps = kernel->dependencies({pointerTo(buf), pointerTo(buf), pointerTo(buf), terrazzo::HostValue::floating(1.5),
                                    terrazzo::HostValue::integer(100)},
                                   {{"BLOCK", terrazzo::HostValue::integer(64)}});
  std::vector<std::string> names;
  for (auto &d : deps) {
    EXPECT_NE(d.first, nullptr);
    names.push_back(d.second);
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "SCALE"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "scaled"), names.end());
}

TEST(Api, PlanLaunchWithoutGpuSaysSo) {
  if (terrazzo::gpuAvailable())
    GTEST_SKIP() << "a GPU is present";
  auto kernel = terrazzo::Kernel::fromFile(kFile, "axpy");
  std::vector<float> buf(16);
  try {
    kernel->planLaunch({pointerTo(buf), pointerTo(buf), pointerTo(buf), terrazzo::HostValue::floating(1.5),
                        terrazzo::HostValue::integer(100)},
                       {{"BLOCK", terrazzo::HostValue::integer(64)}});
    ADD_FAILURE() << "planLaunch without a GPU did not throw";
  } catch (const std::runtime_error &e) {
    EXPECT_NE(std::string(e.what()).find("no GPU to launch on"), std::string::npos) << e.what();
  }
}

TEST(Api, IrShowsSpecialization) {
  auto kernel = terrazzo::Kernel::fromFile(kFile, "axpy");
  std::vector<float> buf(16);
  std::string ir = kernel->ir({pointerTo(buf), pointerTo(buf), pointerTo(buf), terrazzo::HostValue::floating(1.5),
                               terrazzo::HostValue::integer(100)},
                              {{"BLOCK", terrazzo::HostValue::integer(64)}});
  EXPECT_NE(ir.find("tz.make_range 0, 64"), std::string::npos) << ir;
  EXPECT_NE(ir.find("func.func @axpy"), std::string::npos) << ir;
  EXPECT_EQ(ir.find("func.call"), std::string::npos) << "jit calls must be inlined:\n" << ir;
}

TEST(Api, OutOfBoundsAccessNamesTheSourceLine) {
  auto kernel = terrazzo::Kernel::fromFile(kFile, "out_of_bounds");
  std::vector<float> x(32, 1.0f), out(32, 0.0f);
  try {
    kernel->interpret({1, 1, 1}, {pointerTo(x), pointerTo(out)}, {{"BLOCK", terrazzo::HostValue::integer(32)}});
    FAIL() << "the out-of-bounds load was not reported";
  } catch (const terrazzo::DslError &e) {
    std::string what = e.what();
    EXPECT_NE(what.find("vector_ops.py:24:"), std::string::npos) << what;
    EXPECT_NE(what.find("tz.load(x_ptr + offs + 1)"), std::string::npos) << what;
  }
}

TEST(Api, MissingArgumentIsADiagnostic) {
  auto kernel = terrazzo::Kernel::fromFile(kFile, "axpy");
  std::vector<float> buf(16);
  EXPECT_THROW(kernel->ir({pointerTo(buf)}, {}), terrazzo::DslError);
}

TEST(Api, UnknownKernelName) {
  EXPECT_THROW(terrazzo::Kernel::fromFile(kFile, "no_such_kernel"), terrazzo::DslError);
  EXPECT_THROW(terrazzo::Kernel::fromFile(kFile + ".missing", "axpy"), std::runtime_error);
}

namespace {
// A module-level global whose value another thread changes: every change
// makes the next launch re-specialize and replace the cached entry.
class FlippingResolver : public terrazzo::Resolver {
public:
  std::optional<terrazzo::HostValue> lookup(const std::string &name) const override {
    if (name == "SCALE")
      return terrazzo::HostValue::integer(scale.load());
    if (name == "tz")
      return terrazzo::HostValue::terrazzoModule();
    return std::nullopt;
  }
  mutable std::atomic<int> scale{2};
};
} // namespace

// Two threads launch the same kernel while its global keeps changing: a
// launch must keep the specialization it found alive even when the other
// thread replaces the cache entry (it used to hold a reference into it).
TEST(Api, ConcurrentLaunchesSurviveRespecialization) {
  auto resolver = std::make_shared<FlippingResolver>();
  const char *source = "import terrazzo as tz\n"
                       "def scale(x_ptr, out_ptr, BLOCK: tz.constexpr):\n"
                       "    offs = tz.arange(0, BLOCK)\n"
                       "    tz.store(out_ptr + offs, tz.load(x_ptr + offs) * SCALE)\n";
  auto kernel = terrazzo::Kernel::fromSource(source, "scale.py", 0, "scale", resolver);
  std::atomic<int> bad{0};
  auto launcher = [&](unsigned seed) {
    auto x = randomVector(64, seed);
    std::vector<float> out(64);
    for (int i = 0; i < 150; ++i) {
      std::fill(out.begin(), out.end(), NAN);
      kernel->interpret({1, 1, 1}, {pointerTo(x), pointerTo(out)}, {{"BLOCK", terrazzo::HostValue::integer(64)}});
      // One specialization ran the whole launch: every element scaled alike.
      float factor = out[0] == x[0] * 2.0f ? 2.0f : 3.0f;
      bool consistent = true;
      for (int e = 0; e < 64; ++e)
        consistent &= out[e] == x[e] * factor; // float products, rounded as the kernel rounds them
      bad += !consistent;
      resolver->scale = 5 - resolver->scale.load(); // 2 <-> 3: the next launch re-specializes
    }
  };
  std::thread a(launcher, 11), b(launcher, 12);
  a.join();
  b.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GE(kernel->numSpecializations(), 2u);
}
