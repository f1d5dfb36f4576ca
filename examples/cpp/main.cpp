// Using Terrazzo from C++ through the installed package:
//   1. JIT-compile a DSL kernel from a file (scale_add.py) and run it;
//   2. call the kernel library's flash attention.
// Without --gpu both run on the CPU interpreter over host memory; with --gpu
// they run on GPU 0 over device memory. Every result is checked against a
// float64 reference computed here from the definitions; the exit status is
// non-zero if any check fails.
//
//   terrazzo_example [--gpu] [path/to/scale_add.py]
#include "CudaBuffers.h"

#include <terrazzo/Terrazzo.h>
#include <terrazzo/ops/Attention.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using terrazzo::HostValue;
using terrazzo::ops::TensorArg;

// --- float16 storage (the library's attention takes f16/bf16) --------------

uint16_t toHalf(float value) {
  // Round to nearest even through float's bits; inputs here are small
  // normal numbers, so only the normal and subnormal cases are needed.
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  uint32_t sign = (bits >> 16) & 0x8000u;
  int32_t exponent = int32_t((bits >> 23) & 0xff) - 127 + 15;
  uint32_t mantissa = bits & 0x7fffffu;
  if (exponent <= 0) { // subnormal half (or zero)
    if (exponent < -10)
      return uint16_t(sign);
    mantissa |= 0x800000u;
    uint32_t shift = uint32_t(14 - exponent);
    uint32_t half = mantissa >> shift, rest = mantissa & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1)))
      ++half;
    return uint16_t(sign | half);
  }
  uint32_t half = (uint32_t(exponent) << 10) | (mantissa >> 13), rest = mantissa & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1)))
    ++half; // a carry into the exponent is still the right rounding
  return uint16_t(sign | std::min<uint32_t>(half, 0x7c00u));
}

double fromHalf(uint16_t h) {
  int exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double magnitude = exponent == 0    ? std::ldexp(mantissa, -24)
                     : exponent == 31 ? (mantissa ? std::nan("") : INFINITY)
                                      : std::ldexp(1024 + mantissa, exponent - 25);
  return (h & 0x8000) ? -magnitude : magnitude;
}

constexpr uint16_t kHalfNaN = 0x7e00;

// --- where the buffers live ----------------------------------------------------

// A host vector, mirrored on the GPU in --gpu mode.
template <typename T> struct Buffer {
  std::vector<T> host;
  void *device = nullptr;
  bool gpu = false;

  Buffer(size_t n, T fill, bool onGpu) : host(n, fill), gpu(onGpu) {
    if (gpu) {
      device = example::deviceAlloc(n * sizeof(T));
      example::copyToDevice(device, host.data(), n * sizeof(T));
    }
  }
  ~Buffer() {
    if (device)
      example::deviceFree(device);
  }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;

  void upload() {
    if (gpu)
      example::copyToDevice(device, host.data(), host.size() * sizeof(T));
  }
  void download() {
    if (gpu)
      example::copyToHost(host.data(), device, host.size() * sizeof(T));
  }
  void *data() { return gpu ? device : static_cast<void *>(host.data()); }
  size_t bytes() const { return host.size() * sizeof(T); }
};

int failures = 0;

void report(bool ok, const std::string &what, double error, double bound) {
  std::printf("  %s  %-44s max rel err %.2e (bound %.1e)\n", ok ? "ok  " : "FAIL", what.c_str(), error, bound);
  failures += !ok;
}

// --- 1. a DSL kernel from a file --------------------------------------------

void runScaleAdd(const std::string &kernelFile, bool gpu, std::mt19937 &rng) {
  auto kernel = terrazzo::Kernel::fromFile(kernelFile, "scale_add");
  const int64_t n = 1000, block = 256; // a ragged tail: 1000 = 3 * 256 + 232
  const float alpha = 1.75f;
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  Buffer<float> x(n, 0, gpu), y(n, 0, gpu), out(n, std::numeric_limits<float>::quiet_NaN(), gpu);
  for (int64_t i = 0; i < n; ++i) {
    x.host[i] = uniform(rng);
    y.host[i] = uniform(rng);
  }
  x.upload();
  y.upload();
  auto pointer = [&](auto &b) {
    return gpu ? HostValue::devicePointer("float32", b.data(), b.bytes(), 0)
               : HostValue::pointer("float32", b.data(), b.bytes());
  };
  std::vector<HostValue> args = {pointer(x), pointer(y), pointer(out), HostValue::floating(alpha),
                                 HostValue::integer(n)};
  terrazzo::Keywords constexprs = {{"BLOCK", HostValue::integer(block)}};
  std::array<int64_t, 3> grid = {(n + block - 1) / block, 1, 1};
  if (gpu) {
    kernel->launch(grid, args, constexprs);
    example::deviceSynchronize();
  } else {
    kernel->interpret(grid, args, constexprs);
  }
  out.download();
  double worst = 0;
  for (int64_t i = 0; i < n; ++i) {
    double product = double(alpha) * x.host[i], ref = product + double(y.host[i]);
    // Relative to the operands' size: a sum that cancels is still exact to
    // the roundings of its terms.
    double err = std::fabs(out.host[i] - ref) / (std::fabs(product) + std::fabs(y.host[i]));
    worst = std::isnan(out.host[i]) ? INFINITY : std::max(worst, err);
  }
  // A float32 multiply and add: at most two roundings of 2**-24 each.
  report(worst <= 2.5e-7, "scale_add from " + kernelFile.substr(kernelFile.rfind('/') + 1) + " n=1000", worst,
         2.5e-7);
}

// --- 2. the library's flash attention -----------------------------------------

void runFlashAttention(bool gpu, std::mt19937 &rng) {
  // GQA (4 query heads over 2 key/value heads), causal, ragged lengths.
  const int64_t B = 2, H = 4, HKV = 2, NQ = 40, NK = 56, D = 32;
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto filled = [&](int64_t n) {
    auto b = std::make_unique<Buffer<uint16_t>>(n, 0, gpu);
    for (auto &h : b->host)
      h = toHalf(uniform(rng));
    b->upload();
    return b;
  };
  auto q = filled(B * H * NQ * D), k = filled(B * HKV * NK * D), v = filled(B * HKV * NK * D);
  Buffer<uint16_t> out(B * H * NQ * D, kHalfNaN, gpu);
  Buffer<float> lse(B * H * NQ, std::numeric_limits<float>::quiet_NaN(), gpu);

  auto tensor = [&](void *data, const char *dtype, std::vector<int64_t> shape) {
    TensorArg t;
    t.data = data;
    t.dtype = dtype;
    t.shape = shape;
    t.strides.assign(shape.size(), 1);
    for (size_t d = shape.size() - 1; d-- > 0;)
      t.strides[d] = t.strides[d + 1] * shape[d + 1];
    t.device = gpu ? TensorArg::Device::Cuda : TensorArg::Device::Host;
    return t;
  };
  TensorArg tq = tensor(q->data(), "float16", {B, H, NQ, D}), tk = tensor(k->data(), "float16", {B, HKV, NK, D}),
            tv = tensor(v->data(), "float16", {B, HKV, NK, D}), to = tensor(out.data(), "float16", {B, H, NQ, D}),
            tl = tensor(lse.data(), "float32", {B, H, NQ});
  terrazzo::ops::FlashAttentionOptions options;
  options.causal = true;
  terrazzo::ops::flashAttentionForward(tq, tk, tv, to, &tl, options);
  if (gpu)
    example::deviceSynchronize();
  out.download();
  lse.download();

  // softmax(q k^T / sqrt(D)) v, key j visible to query i iff j <= i + NK - NQ.
  double scale = 1.0 / std::sqrt(double(D)), worstOut = 0, worstLse = 0, maxRef = 0;
  std::vector<double> ref(out.host.size()), refLse(lse.host.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int64_t hk = h / (H / HKV);
      for (int64_t i = 0; i < NQ; ++i) {
        std::vector<double> s(NK, -INFINITY);
        double top = -INFINITY;
        for (int64_t j = 0; j <= std::min(NK - 1, i + NK - NQ); ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += fromHalf(q->host[((b * H + h) * NQ + i) * D + d]) * fromHalf(k->host[((b * HKV + hk) * NK + j) * D + d]);
          s[j] = dot * scale;
          top = std::max(top, s[j]);
        }
        double sum = 0;
        for (double &x : s)
          sum += (x = std::exp(x - top));
        refLse[(b * H + h) * NQ + i] = top + std::log(sum);
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = 0; j < NK; ++j)
            acc += s[j] / sum * fromHalf(v->host[((b * HKV + hk) * NK + j) * D + d]);
          ref[((b * H + h) * NQ + i) * D + d] = acc;
          maxRef = std::max(maxRef, std::fabs(acc));
        }
      }
    }
  for (size_t e = 0; e < ref.size(); ++e) {
    double got = fromHalf(out.host[e]);
    worstOut = std::isnan(got) ? INFINITY : std::max(worstOut, std::fabs(got - ref[e]) / maxRef);
  }
  for (size_t e = 0; e < refLse.size(); ++e)
    worstLse = std::isnan(lse.host[e]) ? INFINITY
                                        : std::max(worstLse, std::fabs(lse.host[e] - refLse[e]) / std::fabs(refLse[e]));
  // f16 inputs of the products and an f16 output: a few units of 2**-11.
  report(worstOut <= 2e-3, "flash_attention f16 causal GQA 4/2 out", worstOut, 2e-3);
  report(worstLse <= 1e-4, "flash_attention f16 causal GQA 4/2 lse", worstLse, 1e-4);
}

} // namespace

int main(int argc, char **argv) {
  bool gpu = false;
  std::string kernelFile = TERRAZZO_EXAMPLE_KERNEL;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--gpu")
      gpu = true;
    else
      kernelFile = argv[i];
  }
  if (gpu) {
    std::string why;
    if (!terrazzo::gpuAvailable() || !example::initCuda(why)) {
      std::fprintf(stderr, "--gpu: no GPU (%s)\n",
                   terrazzo::gpuAvailable() ? why.c_str() : terrazzo::gpuUnavailableReason().c_str());
      return 2;
    }
  }
  std::printf("terrazzo %s C++ example on the %s\n", terrazzo::version(), gpu ? "GPU" : "CPU interpreter");
  std::mt19937 rng(20261207);
  try {
    runScaleAdd(kernelFile, gpu, rng);
    runFlashAttention(gpu, rng);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::printf(failures ? "%d check(s) failed\n" : "all checks passed\n", failures);
  return failures ? 1 : 0;
}
