// The CUDA driver layer. Without a GPU (CI) it must say so without throwing,
// and every call must throw a readable GpuError. With one (the GPU machine)
// it loads a hand-written PTX module, launches it and checks the results.
#include "terrazzo/gpu/CudaDriver.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace terrazzo::gpu;

namespace {

// Expects `call` to throw a GpuError whose message contains `text`.
template <typename F> void expectGpuError(F call, const std::string &text) {
  try {
    call();
    ADD_FAILURE() << "no GpuError";
  } catch (const GpuError &error) {
    EXPECT_NE(std::string(error.what()).find(text), std::string::npos) << error.what();
    EXPECT_NE(error.result(), 0);
  }
}

TEST(CudaDriverWithoutGpu, ReportsUnavailableAndThrowsReadableErrors) {
  if (driverAvailable())
    GTEST_SKIP() << "a GPU is present";
  EXPECT_NO_THROW(driverAvailable());
  EXPECT_STRNE(driverUnavailableReason(), "");
  const std::string text = "CUDA driver unavailable: ";
  expectGpuError([] { currentDevice(); }, text);
  expectGpuError([] { currentContextOrNull(); }, text);
  expectGpuError([] { deviceCount(); }, text);
  expectGpuError([] { setDevice(0); }, text);
  expectGpuError([] { deviceAlloc(16); }, text);
  expectGpuError([] { synchronize(); }, text);
  expectGpuError([] { GpuModule::load("x", 1, true); }, text);
  expectGpuError([] { launch(nullptr, {1, 1, 1}, {1, 1, 1}, 0, nullptr, nullptr); }, text);
  expectGpuError([] { maxActiveBlocksPerSM(nullptr, 128, 0); }, text);
  expectGpuError([] { GpuEvent event; }, text);
}

// Two kernels: data[i] += 1 for i < n, and one that stores 42 at a byte
// offset of its dynamic shared memory and copies it to out[0].
const char *kPtx = R"(
.version 8.0
.target sm_80
.address_size 64

.extern .shared .align 16 .b8 dynamicShared[];

.visible .entry add_one(.param .u64 data, .param .u32 n)
{
  .reg .pred %p<2>;
  .reg .b32 %r<6>;
  .reg .b64 %rd<5>;
  .reg .f32 %f<3>;
  ld.param.u64 %rd1, [data];
  ld.param.u32 %r1, [n];
  mov.u32 %r2, %ctaid.x;
  mov.u32 %r3, %ntid.x;
  mov.u32 %r4, %tid.x;
  mad.lo.s32 %r5, %r2, %r3, %r4;
  setp.ge.u32 %p1, %r5, %r1;
  @%p1 bra DONE;
  cvta.to.global.u64 %rd2, %rd1;
  mul.wide.u32 %rd3, %r5, 4;
  add.s64 %rd4, %rd2, %rd3;
  ld.global.f32 %f1, [%rd4];
  add.f32 %f2, %f1, 0f3F800000;
  st.global.f32 [%rd4], %f2;
DONE:
  ret;
}

.visible .entry shared_round_trip(.param .u64 out, .param .u32 offset)
{
  .reg .b32 %r<4>;
  .reg .b64 %rd<3>;
  ld.param.u64 %rd1, [out];
  ld.param.u32 %r1, [offset];
  mov.u32 %r2, dynamicShared;
  add.u32 %r2, %r2, %r1;
  st.shared.u32 [%r2], 42;
  bar.sync 0;
  ld.shared.u32 %r3, [%r2];
  cvta.to.global.u64 %rd2, %rd1;
  st.global.u32 [%rd2], %r3;
  ret;
}
)";

class CudaDriverOnGpu : public ::testing::Test {
protected:
  void SetUp() override {
    if (!driverAvailable())
      GTEST_SKIP() << driverUnavailableReason();
  }
};

TEST_F(CudaDriverOnGpu, DescribesTheDevice) {
  const DeviceInfo &device = currentDevice();
  EXPECT_FALSE(device.name.empty());
  EXPECT_GE(device.ccMajor, 7);
  EXPECT_GT(device.smCount, 0);
  EXPECT_GT(device.maxSharedPerBlockOptin, 48u * 1024);
  EXPECT_EQ(&currentDevice(), &device) << "cached per device";
  EXPECT_NE(currentContext(), nullptr);
}

TEST_F(CudaDriverOnGpu, CopiesThroughDeviceMemory) {
  std::vector<int> host(1 << 18), back(host.size());
  for (size_t i = 0; i < host.size(); ++i)
    host[i] = int(i * 2654435761u);
  size_t bytes = host.size() * sizeof(int);
  CUdeviceptr ptr = deviceAlloc(bytes);
  copyToDevice(ptr, host.data(), bytes);
  copyToHost(back.data(), ptr, bytes);
  deviceFree(ptr);
  EXPECT_EQ(host, back);
}

TEST_F(CudaDriverOnGpu, LoadsPtxAndLaunches) {
  auto module = GpuModule::load(kPtx, std::strlen(kPtx), /*isPTX=*/true);
  CUfunction addOne = module->function("add_one");
  unsigned n = 1000;
  std::vector<float> host(n);
  for (unsigned i = 0; i < n; ++i)
    host[i] = float(i);
  CUdeviceptr data = deviceAlloc(n * sizeof(float));
  copyToDevice(data, host.data(), n * sizeof(float));
  void *params[] = {&data, &n};
  GpuEvent start, end;
  start.record(nullptr);
  launch(addOne, {(n + 127) / 128, 1, 1}, {128, 1, 1}, 0, nullptr, params);
  end.record(nullptr);
  EXPECT_GE(elapsedMs(start, end), 0.0f);
  // A grid with a zero dimension launches nothing.
  launch(addOne, {0, 1, 1}, {128, 1, 1}, 0, nullptr, params);
  synchronize();
  copyToHost(host.data(), data, n * sizeof(float));
  deviceFree(data);
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(host[i], float(i) + 1) << i;
}

TEST_F(CudaDriverOnGpu, ReportsOccupancy) {
  auto module = GpuModule::load(kPtx, std::strlen(kPtx), /*isPTX=*/true);
  CUfunction addOne = module->function("add_one");
  // A tiny kernel: the block-count limit per SM (16 to 32 on sm_80 and
  // later) decides, not registers.
  int small = maxActiveBlocksPerSM(addOne, 128, 0);
  EXPECT_GE(small, 8);
  EXPECT_LE(small, 64);
  // Blocks of 1024 threads: at most 2048 threads per SM.
  EXPECT_LE(maxActiveBlocksPerSM(addOne, 1024, 0), 2);
  EXPECT_GE(maxActiveBlocksPerSM(addOne, 1024, 0), 1);
}

TEST_F(CudaDriverOnGpu, OptsInToLargeDynamicSharedMemory) {
  auto module = GpuModule::load(kPtx, std::strlen(kPtx), /*isPTX=*/true);
  CUfunction f = module->function("shared_round_trip");
  const unsigned shared = 100 * 1024;
  module->setDynamicSharedMemory(f, shared);
  CUdeviceptr out = deviceAlloc(sizeof(int));
  unsigned offset = shared - 4;
  void *params[] = {&out, &offset};
  launch(f, {1, 1, 1}, {32, 1, 1}, shared, nullptr, params);
  synchronize();
  int value = 0;
  copyToHost(&value, out, sizeof(int));
  deviceFree(out);
  EXPECT_EQ(value, 42);
  expectGpuError([&] { module->setDynamicSharedMemory(f, 64 << 20); }, "bytes of shared memory per block");
}

TEST_F(CudaDriverOnGpu, ReportsBadImagesAndNames) {
  expectGpuError([] { GpuModule::load("not a cubin at all", 18, false); }, "cuModuleLoadData failed: CUDA_ERROR_");
  // The JIT's error log is part of the message.
  const char *badPtx = ".version 8.0\n.target sm_80\n.address_size 64\n.visible .entry k() { bogus.instruction; }\n";
  expectGpuError([&] { GpuModule::load(badPtx, std::strlen(badPtx), true); }, "bogus");
  auto module = GpuModule::load(kPtx, std::strlen(kPtx), true);
  expectGpuError([&] { module->function("no_such_kernel"); }, "cuModuleGetFunction(\"no_such_kernel\") failed");
}

} // namespace
