//===- InterpreterTest.cpp - the tz CPU interpreter against C++ references ===//
//
// Each test parses a small kernel, runs it on buffers of fresh random data and
// compares with a straightforward C++ computation of the same thing.
#include "terrazzo/interpreter/Interpreter.h"

#include "FloatRounding.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <set>

using namespace terrazzo::interp;
using ::testing::HasSubstr;

namespace {

uint32_t bitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}
float floatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}
// Independent references for the narrow formats: the compiler's _Float16
// and the classic round-to-nearest-even bit trick on the f32 bits for bf16.
uint16_t halfBitsOf(float value) {
  _Float16 half = static_cast<_Float16>(value);
  uint16_t bits;
  std::memcpy(&bits, &half, sizeof bits);
  return bits;
}
float floatOfHalfBits(uint16_t bits) {
  _Float16 half;
  std::memcpy(&half, &bits, sizeof half);
  return static_cast<float>(half);
}
uint16_t bfloat16BitsOf(float value) {
  uint32_t bits = bitsOf(value);
  if (std::isnan(value))
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  return static_cast<uint16_t>((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

// The arguments and buffers of one launch, in kernel-argument order.
struct Launch {
  std::vector<HostBuffer> buffers;
  std::vector<KernelArgument> arguments;

  template <typename T>
  Launch &buffer(std::vector<T> &data, const char *name) {
    KernelArgument argument;
    argument.kind = KernelArgument::Kind::Pointer;
    argument.bufferIndex = static_cast<int>(buffers.size());
    buffers.push_back({data.data(), data.size() * sizeof(T), name});
    arguments.push_back(argument);
    return *this;
  }
  Launch &integer(int64_t value) {
    KernelArgument argument;
    argument.kind = KernelArgument::Kind::Int;
    argument.intValue = value;
    arguments.push_back(argument);
    return *this;
  }
};

class InterpreterTest : public ::testing::Test {
protected:
  InterpreterTest() : seed_(std::random_device{}()), rng_(seed_) {
    context_.loadDialect<terrazzo::tz::TzDialect, mlir::arith::ArithDialect,
                         mlir::math::MathDialect, mlir::scf::SCFDialect,
                         mlir::func::FuncDialect>();
  }

  // Parses `ir` and returns its first function (the module stays alive in
  // the fixture).
  mlir::func::FuncOp parse(const std::string &ir) {
    module_ = mlir::parseSourceString<mlir::ModuleOp>(ir, &context_);
    if (!module_)
      return nullptr;
    return *module_->getOps<mlir::func::FuncOp>().begin();
  }

  // Parses and runs `ir` over `programs` programs along axis 0.
  void run(const std::string &ir, Launch &launch, int64_t programs = 1,
           std::string *printed = nullptr) {
    mlir::func::FuncOp kernel = parse(ir);
    ASSERT_TRUE(kernel) << "the test kernel does not parse";
    LaunchGrid grid;
    grid.programs = {programs, 1, 1};
    runKernel(kernel, grid, launch.buffers, launch.arguments, printed);
  }

  // Runs `ir` expecting an InterpreterError; returns it.
  InterpreterError runExpectingError(const std::string &ir, Launch &launch,
                                     int64_t programs = 1) {
    try {
      run(ir, launch, programs);
    } catch (const InterpreterError &error) {
      return error;
    }
    ADD_FAILURE() << "the kernel ran without an error";
    return InterpreterError(mlir::UnknownLoc::get(&context_), "");
  }

  std::vector<float> randomFloats(size_t n, float low = -1.0f, float high = 1.0f) {
    std::uniform_real_distribution<float> dist(low, high);
    std::vector<float> values(n);
    for (float &v : values)
      v = dist(rng_);
    return values;
  }

  // Scoped trace of the seed, so a failure can be reproduced.
  std::string seedTrace() const { return "random seed " + std::to_string(seed_); }

  mlir::MLIRContext context_;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  unsigned seed_;
  std::mt19937 rng_;
};

//===----------------------------------------------------------------------===//
// Elementwise, masks, shapes
//===----------------------------------------------------------------------===//

const char *kVectorAdd = R"mlir(
func.func @add(%x: !tz.ptr<f32>, %y: !tz.ptr<f32>, %out: !tz.ptr<f32>, %n: i32) attributes {tz.kernel} {
  %pid = tz.program_id 0 : i32
  %c64 = arith.constant 64 : i32
  %start = arith.muli %pid, %c64 : i32
  %range = tz.make_range 0, 64 : tensor<64xi32>
  %starts = tz.splat %start : i32 -> tensor<64xi32>
  %offs = arith.addi %starts, %range : tensor<64xi32>
  %ns = tz.splat %n : i32 -> tensor<64xi32>
  %mask = arith.cmpi slt, %offs, %ns : tensor<64xi32>
  %xs = tz.splat %x : !tz.ptr<f32> -> tensor<64x!tz.ptr<f32>>
  %xp = tz.addptr %xs, %offs : tensor<64x!tz.ptr<f32>>, tensor<64xi32>
  %ys = tz.splat %y : !tz.ptr<f32> -> tensor<64x!tz.ptr<f32>>
  %yp = tz.addptr %ys, %offs : tensor<64x!tz.ptr<f32>>, tensor<64xi32>
  %os = tz.splat %out : !tz.ptr<f32> -> tensor<64x!tz.ptr<f32>>
  %op = tz.addptr %os, %offs : tensor<64x!tz.ptr<f32>>, tensor<64xi32>
  %xv = tz.load %xp, mask %mask : tensor<64x!tz.ptr<f32>> -> tensor<64xf32>, tensor<64xi1>
  %yv = tz.load %yp, mask %mask : tensor<64x!tz.ptr<f32>> -> tensor<64xf32>, tensor<64xi1>
  %sum = arith.addf %xv, %yv : tensor<64xf32>
  tz.store %op, %sum, mask %mask : tensor<64x!tz.ptr<f32>>, tensor<64xf32>, tensor<64xi1>
  return
}
)mlir";

TEST_F(InterpreterTest, VectorAddWithRaggedTail) {
  SCOPED_TRACE(seedTrace());
  const int n = 1000; // 16 programs of 64; the last one is 40 lanes short
  std::vector<float> x = randomFloats(n), y = randomFloats(n);
  // The output has room past n: masked-off lanes must leave it untouched.
  const float sentinel = -12345.0f;
  std::vector<float> out(n + 40, sentinel);
  Launch launch;
  launch.buffer(x, "x").buffer(y, "y").buffer(out, "out").integer(n);
  run(kVectorAdd, launch, (n + 63) / 64);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(out[i], x[i] + y[i]) << "element " << i;
  for (int i = n; i < n + 40; ++i)
    ASSERT_EQ(out[i], sentinel) << "masked-off element " << i << " was written";
}

TEST_F(InterpreterTest, ExpandDimsBroadcastAndTrans) {
  SCOPED_TRACE(seedTrace());
  const char *ir = R"mlir(
func.func @k(%x: !tz.ptr<f32>, %rv: !tz.ptr<f32>, %cv: !tz.ptr<f32>, %out: !tz.ptr<f32>,
             %outT: !tz.ptr<f32>) attributes {tz.kernel} {
  %rows = tz.make_range 0, 8 : tensor<8xi32>
  %cols = tz.make_range 0, 16 : tensor<16xi32>
  %r2 = tz.expand_dims %rows {axis = 1 : i32} : tensor<8xi32> -> tensor<8x1xi32>
  %c2 = tz.expand_dims %cols {axis = 0 : i32} : tensor<16xi32> -> tensor<1x16xi32>
  %sixteen = arith.constant dense<16> : tensor<8x1xi32>
  %rn = arith.muli %r2, %sixteen : tensor<8x1xi32>
  %rb = tz.broadcast %rn : tensor<8x1xi32> -> tensor<8x16xi32>
  %cb = tz.broadcast %c2 : tensor<1x16xi32> -> tensor<8x16xi32>
  %offs = arith.addi %rb, %cb : tensor<8x16xi32>
  %xs = tz.splat %x : !tz.ptr<f32> -> tensor<8x16x!tz.ptr<f32>>
  %xp = tz.addptr %xs, %offs : tensor<8x16x!tz.ptr<f32>>, tensor<8x16xi32>
  %xv = tz.load %xp : tensor<8x16x!tz.ptr<f32>> -> tensor<8x16xf32>
  %rvs = tz.splat %rv : !tz.ptr<f32> -> tensor<8x!tz.ptr<f32>>
  %rvp = tz.addptr %rvs, %rows : tensor<8x!tz.ptr<f32>>, tensor<8xi32>
  %rvv = tz.load %rvp : tensor<8x!tz.ptr<f32>> -> tensor<8xf32>
  %rv2 = tz.expand_dims %rvv {axis = 1 : i32} : tensor<8xf32> -> tensor<8x1xf32>
  %rvb = tz.broadcast %rv2 : tensor<8x1xf32> -> tensor<8x16xf32>
  %cvs = tz.splat %cv : !tz.ptr<f32> -> tensor<16x!tz.ptr<f32>>
  %cvp = tz.addptr %cvs, %cols : tensor<16x!tz.ptr<f32>>, tensor<16xi32>
  %cvv = tz.load %cvp : tensor<16x!tz.ptr<f32>> -> tensor<16xf32>
  %cv2 = tz.expand_dims %cvv {axis = 0 : i32} : tensor<16xf32> -> tensor<1x16xf32>
  %cvb = tz.broadcast %cv2 : tensor<1x16xf32> -> tensor<8x16xf32>
  %prod = arith.mulf %rvb, %cvb : tensor<8x16xf32>
  %res = arith.addf %xv, %prod : tensor<8x16xf32>
  %os = tz.splat %out : !tz.ptr<f32> -> tensor<8x16x!tz.ptr<f32>>
  %op = tz.addptr %os, %offs : tensor<8x16x!tz.ptr<f32>>, tensor<8x16xi32>
  tz.store %op, %res : tensor<8x16x!tz.ptr<f32>>, tensor<8x16xf32>
  // The transpose, stored row-major as 16x8 through a reshape to 1-D.
  %t = tz.trans %res {order = array<i32: 1, 0>} : tensor<8x16xf32> -> tensor<16x8xf32>
  %flat = tz.reshape %t : tensor<16x8xf32> -> tensor<128xf32>
  %all = tz.make_range 0, 128 : tensor<128xi32>
  %ts = tz.splat %outT : !tz.ptr<f32> -> tensor<128x!tz.ptr<f32>>
  %tp = tz.addptr %ts, %all : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  tz.store %tp, %flat : tensor<128x!tz.ptr<f32>>, tensor<128xf32>
  return
}
)mlir";
  std::vector<float> x = randomFloats(8 * 16), rv = randomFloats(8), cv = randomFloats(16);
  std::vector<float> out(8 * 16), outT(16 * 8);
  Launch launch;
  launch.buffer(x, "x").buffer(rv, "rv").buffer(cv, "cv").buffer(out, "out").buffer(outT, "outT");
  run(ir, launch);
  for (int i = 0; i < 8; ++i) {
    for (int j = 0; j < 16; ++j) {
      float expected = x[i * 16 + j] + rv[i] * cv[j];
      ASSERT_EQ(out[i * 16 + j], expected) << i << "," << j;
      ASSERT_EQ(outT[j * 8 + i], expected) << "transposed " << j << "," << i;
    }
  }
}

//===----------------------------------------------------------------------===//
// dot, reduce, scan
//===----------------------------------------------------------------------===//

TEST_F(InterpreterTest, DotWithKLoop) {
  SCOPED_TRACE(seedTrace());
  // C[16x16] f32 = A[16x64] f16 @ B[64x16] f16, 16 columns of K at a time.
  const char *ir = R"mlir(
func.func @mm(%a: !tz.ptr<f16>, %b: !tz.ptr<f16>, %c: !tz.ptr<f32>) attributes {tz.kernel} {
  %r = tz.make_range 0, 16 : tensor<16xi32>
  %rcol = tz.expand_dims %r {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32>
  %rrow = tz.expand_dims %r {axis = 0 : i32} : tensor<16xi32> -> tensor<1x16xi32>
  %down = tz.broadcast %rcol : tensor<16x1xi32> -> tensor<16x16xi32>
  %across = tz.broadcast %rrow : tensor<1x16xi32> -> tensor<16x16xi32>
  %k64 = arith.constant dense<64> : tensor<16x16xi32>
  %n16 = arith.constant dense<16> : tensor<16x16xi32>
  %aRowStart = arith.muli %down, %k64 : tensor<16x16xi32>
  %aOffs0 = arith.addi %aRowStart, %across : tensor<16x16xi32>
  %bRowStart = arith.muli %down, %n16 : tensor<16x16xi32>
  %bOffs0 = arith.addi %bRowStart, %across : tensor<16x16xi32>
  %as = tz.splat %a : !tz.ptr<f16> -> tensor<16x16x!tz.ptr<f16>>
  %bs = tz.splat %b : !tz.ptr<f16> -> tensor<16x16x!tz.ptr<f16>>
  %zero = arith.constant dense<0.0> : tensor<16x16xf32>
  %lo = arith.constant 0 : index
  %hi = arith.constant 64 : index
  %step = arith.constant 16 : index
  %acc = scf.for %k = %lo to %hi step %step iter_args(%acc0 = %zero) -> (tensor<16x16xf32>) {
    %ki = arith.index_cast %k : index to i32
    %kb = tz.splat %ki : i32 -> tensor<16x16xi32>
    %aOffs = arith.addi %aOffs0, %kb : tensor<16x16xi32>
    %kRows = arith.muli %kb, %n16 : tensor<16x16xi32>
    %bOffs = arith.addi %bOffs0, %kRows : tensor<16x16xi32>
    %ap = tz.addptr %as, %aOffs : tensor<16x16x!tz.ptr<f16>>, tensor<16x16xi32>
    %bp = tz.addptr %bs, %bOffs : tensor<16x16x!tz.ptr<f16>>, tensor<16x16xi32>
    %av = tz.load %ap : tensor<16x16x!tz.ptr<f16>> -> tensor<16x16xf16>
    %bv = tz.load %bp : tensor<16x16x!tz.ptr<f16>> -> tensor<16x16xf16>
    %d = tz.dot %av, %bv, %acc0 : tensor<16x16xf16> * tensor<16x16xf16> -> tensor<16x16xf32>
    scf.yield %d : tensor<16x16xf32>
  }
  %cs = tz.splat %c : !tz.ptr<f32> -> tensor<16x16x!tz.ptr<f32>>
  %cp = tz.addptr %cs, %bOffs0 : tensor<16x16x!tz.ptr<f32>>, tensor<16x16xi32>
  tz.store %cp, %acc : tensor<16x16x!tz.ptr<f32>>, tensor<16x16xf32>
  return
}
)mlir";
  const int M = 16, N = 16, K = 64;
  std::vector<float> aValues = randomFloats(M * K), bValues = randomFloats(K * N);
  std::vector<uint16_t> a(M * K), b(K * N);
  for (int i = 0; i < M * K; ++i)
    a[i] = halfBitsOf(aValues[i]);
  for (int i = 0; i < K * N; ++i)
    b[i] = halfBitsOf(bValues[i]);
  std::vector<float> c(M * N, -1.0f);
  Launch launch;
  launch.buffer(a, "a").buffer(b, "b").buffer(c, "c");
  run(ir, launch);
  // Each dot adds one K block to the f32 accumulator, exactly in double, and
  // rounds once.
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      float acc = 0.0f;
      for (int k0 = 0; k0 < K; k0 += 16) {
        double sum = acc;
        for (int k = k0; k < k0 + 16; ++k)
          sum += double(floatOfHalfBits(a[i * K + k])) * double(floatOfHalfBits(b[k * N + j]));
        acc = static_cast<float>(sum);
      }
      ASSERT_EQ(c[i * N + j], acc) << i << "," << j;
    }
  }
}

TEST_F(InterpreterTest, ReduceAlongEachAxis) {
  SCOPED_TRACE(seedTrace());
  // Small integers make ties, so argmax must pick the first maximum.
  const char *ir = R"mlir(
func.func @k(%x: !tz.ptr<f32>, %sum0: !tz.ptr<f32>, %max0: !tz.ptr<f32>, %arg0: !tz.ptr<i32>,
             %sum1: !tz.ptr<f32>, %max1: !tz.ptr<f32>, %arg1: !tz.ptr<i32>) attributes {tz.kernel} {
  %all = tz.make_range 0, 128 : tensor<128xi32>
  %xs = tz.splat %x : !tz.ptr<f32> -> tensor<128x!tz.ptr<f32>>
  %xp = tz.addptr %xs, %all : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  %flat = tz.load %xp : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>
  %v = tz.reshape %flat : tensor<128xf32> -> tensor<8x16xf32>
  %cols = tz.make_range 0, 16 : tensor<16xi32>
  %rows = tz.make_range 0, 8 : tensor<8xi32>
  %s0 = tz.reduce sum %v {axis = 0 : i32} : tensor<8x16xf32> -> tensor<16xf32>
  %m0 = tz.reduce max %v {axis = 0 : i32} : tensor<8x16xf32> -> tensor<16xf32>
  %a0 = tz.reduce argmax %v {axis = 0 : i32} : tensor<8x16xf32> -> tensor<16xi32>
  %s1 = tz.reduce sum %v {axis = 1 : i32} : tensor<8x16xf32> -> tensor<8xf32>
  %m1 = tz.reduce max %v {axis = 1 : i32} : tensor<8x16xf32> -> tensor<8xf32>
  %a1 = tz.reduce argmax %v {axis = 1 : i32} : tensor<8x16xf32> -> tensor<8xi32>
  %p0 = tz.splat %sum0 : !tz.ptr<f32> -> tensor<16x!tz.ptr<f32>>
  %q0 = tz.addptr %p0, %cols : tensor<16x!tz.ptr<f32>>, tensor<16xi32>
  tz.store %q0, %s0 : tensor<16x!tz.ptr<f32>>, tensor<16xf32>
  %p1 = tz.splat %max0 : !tz.ptr<f32> -> tensor<16x!tz.ptr<f32>>
  %q1 = tz.addptr %p1, %cols : tensor<16x!tz.ptr<f32>>, tensor<16xi32>
  tz.store %q1, %m0 : tensor<16x!tz.ptr<f32>>, tensor<16xf32>
  %p2 = tz.splat %arg0 : !tz.ptr<i32> -> tensor<16x!tz.ptr<i32>>
  %q2 = tz.addptr %p2, %cols : tensor<16x!tz.ptr<i32>>, tensor<16xi32>
  tz.store %q2, %a0 : tensor<16x!tz.ptr<i32>>, tensor<16xi32>
  %p3 = tz.splat %sum1 : !tz.ptr<f32> -> tensor<8x!tz.ptr<f32>>
  %q3 = tz.addptr %p3, %rows : tensor<8x!tz.ptr<f32>>, tensor<8xi32>
  tz.store %q3, %s1 : tensor<8x!tz.ptr<f32>>, tensor<8xf32>
  %p4 = tz.splat %max1 : !tz.ptr<f32> -> tensor<8x!tz.ptr<f32>>
  %q4 = tz.addptr %p4, %rows : tensor<8x!tz.ptr<f32>>, tensor<8xi32>
  tz.store %q4, %m1 : tensor<8x!tz.ptr<f32>>, tensor<8xf32>
  %p5 = tz.splat %arg1 : !tz.ptr<i32> -> tensor<8x!tz.ptr<i32>>
  %q5 = tz.addptr %p5, %rows : tensor<8x!tz.ptr<i32>>, tensor<8xi32>
  tz.store %q5, %a1 : tensor<8x!tz.ptr<i32>>, tensor<8xi32>
  return
}
)mlir";
  const int R = 8, C = 16;
  std::uniform_int_distribution<int> small(-4, 4);
  std::vector<float> x(R * C);
  for (float &v : x)
    v = static_cast<float>(small(rng_)) * 0.375f;
  std::vector<float> sum0(C), max0(C), sum1(R), max1(R);
  std::vector<int32_t> arg0(C), arg1(R);
  Launch launch;
  launch.buffer(x, "x").buffer(sum0, "sum0").buffer(max0, "max0").buffer(arg0, "arg0");
  launch.buffer(sum1, "sum1").buffer(max1, "max1").buffer(arg1, "arg1");
  run(ir, launch);
  for (int j = 0; j < C; ++j) {
    float sum = 0, best = x[j];
    int where = 0;
    for (int i = 0; i < R; ++i) {
      sum += x[i * C + j];
      if (x[i * C + j] > best) {
        best = x[i * C + j];
        where = i;
      }
    }
    EXPECT_EQ(sum0[j], sum) << "column " << j;
    EXPECT_EQ(max0[j], best) << "column " << j;
    EXPECT_EQ(arg0[j], where) << "column " << j;
  }
  for (int i = 0; i < R; ++i) {
    float sum = 0, best = x[i * C];
    int where = 0;
    for (int j = 0; j < C; ++j) {
      sum += x[i * C + j];
      if (x[i * C + j] > best) {
        best = x[i * C + j];
        where = j;
      }
    }
    EXPECT_EQ(sum1[i], sum) << "row " << i;
    EXPECT_EQ(max1[i], best) << "row " << i;
    EXPECT_EQ(arg1[i], where) << "row " << i;
  }
}

TEST_F(InterpreterTest, ReduceToScalarPropagatesNaN) {
  const char *ir = R"mlir(
func.func @k(%x: !tz.ptr<f32>, %out: !tz.ptr<f32>, %idx: !tz.ptr<i32>) attributes {tz.kernel} {
  %r = tz.make_range 0, 8 : tensor<8xi32>
  %xs = tz.splat %x : !tz.ptr<f32> -> tensor<8x!tz.ptr<f32>>
  %xp = tz.addptr %xs, %r : tensor<8x!tz.ptr<f32>>, tensor<8xi32>
  %v = tz.load %xp : tensor<8x!tz.ptr<f32>> -> tensor<8xf32>
  %mx = tz.reduce max %v {axis = 0 : i32} : tensor<8xf32> -> f32
  %mn = tz.reduce min %v {axis = 0 : i32} : tensor<8xf32> -> f32
  %am = tz.reduce argmax %v {axis = 0 : i32} : tensor<8xf32> -> i32
  %an = tz.reduce argmin %v {axis = 0 : i32} : tensor<8xf32> -> i32
  %one = arith.constant 1 : i32
  %out1 = tz.addptr %out, %one : !tz.ptr<f32>, i32
  %idx1 = tz.addptr %idx, %one : !tz.ptr<i32>, i32
  tz.store %out, %mx : !tz.ptr<f32>, f32
  tz.store %out1, %mn : !tz.ptr<f32>, f32
  tz.store %idx, %am : !tz.ptr<i32>, i32
  tz.store %idx1, %an : !tz.ptr<i32>, i32
  return
}
)mlir";
  float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {1, 7, -3, 7, nan, 2, nan, -3};
  std::vector<float> out(2, 0);
  std::vector<int32_t> idx(2, -1);
  Launch launch;
  launch.buffer(x, "x").buffer(out, "out").buffer(idx, "idx");
  run(ir, launch);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_TRUE(std::isnan(out[1]));
  EXPECT_EQ(idx[0], 4); // the first NaN
  EXPECT_EQ(idx[1], 4);

  x = {1, 7, -3, 7, 0, 2, 5, -3};
  run(ir, launch);
  EXPECT_EQ(out[0], 7);
  EXPECT_EQ(out[1], -3);
  EXPECT_EQ(idx[0], 1); // first of the tied maxima
  EXPECT_EQ(idx[1], 2);
}

TEST_F(InterpreterTest, Scan) {
  SCOPED_TRACE(seedTrace());
  // Forward sum along axis 1 of a 4x8 f32 tile, reverse sum along axis 0,
  // and an i8 forward sum that wraps.
  const char *ir = R"mlir(
func.func @k(%x: !tz.ptr<f32>, %fwd: !tz.ptr<f32>, %rev: !tz.ptr<f32>, %b: !tz.ptr<i8>,
             %bout: !tz.ptr<i8>) attributes {tz.kernel} {
  %all = tz.make_range 0, 32 : tensor<32xi32>
  %xs = tz.splat %x : !tz.ptr<f32> -> tensor<32x!tz.ptr<f32>>
  %xp = tz.addptr %xs, %all : tensor<32x!tz.ptr<f32>>, tensor<32xi32>
  %flat = tz.load %xp : tensor<32x!tz.ptr<f32>> -> tensor<32xf32>
  %v = tz.reshape %flat : tensor<32xf32> -> tensor<4x8xf32>
  %f = tz.scan sum %v {axis = 1 : i32} : tensor<4x8xf32>
  %r = tz.scan sum %v {axis = 0 : i32, reverse} : tensor<4x8xf32>
  %ff = tz.reshape %f : tensor<4x8xf32> -> tensor<32xf32>
  %rf = tz.reshape %r : tensor<4x8xf32> -> tensor<32xf32>
  %fs = tz.splat %fwd : !tz.ptr<f32> -> tensor<32x!tz.ptr<f32>>
  %fp = tz.addptr %fs, %all : tensor<32x!tz.ptr<f32>>, tensor<32xi32>
  tz.store %fp, %ff : tensor<32x!tz.ptr<f32>>, tensor<32xf32>
  %rs = tz.splat %rev : !tz.ptr<f32> -> tensor<32x!tz.ptr<f32>>
  %rp = tz.addptr %rs, %all : tensor<32x!tz.ptr<f32>>, tensor<32xi32>
  tz.store %rp, %rf : tensor<32x!tz.ptr<f32>>, tensor<32xf32>
  %bs = tz.splat %b : !tz.ptr<i8> -> tensor<32x!tz.ptr<i8>>
  %bp = tz.addptr %bs, %all : tensor<32x!tz.ptr<i8>>, tensor<32xi32>
  %bv = tz.load %bp : tensor<32x!tz.ptr<i8>> -> tensor<32xi8>
  %bscan = tz.scan sum %bv {axis = 0 : i32} : tensor<32xi8>
  %bos = tz.splat %bout : !tz.ptr<i8> -> tensor<32x!tz.ptr<i8>>
  %bop = tz.addptr %bos, %all : tensor<32x!tz.ptr<i8>>, tensor<32xi32>
  tz.store %bop, %bscan : tensor<32x!tz.ptr<i8>>, tensor<32xi8>
  return
}
)mlir";
  std::vector<float> x = randomFloats(32), fwd(32), rev(32);
  std::vector<int8_t> b(32), bout(32);
  std::uniform_int_distribution<int> bytes(-128, 127);
  for (int8_t &v : b)
    v = static_cast<int8_t>(bytes(rng_));
  Launch launch;
  launch.buffer(x, "x").buffer(fwd, "fwd").buffer(rev, "rev").buffer(b, "b").buffer(bout, "bout");
  run(ir, launch);
  // The running sum is carried in double; each output is rounded once.
  for (int i = 0; i < 4; ++i) {
    double running = 0;
    for (int j = 0; j < 8; ++j) {
      running += x[i * 8 + j];
      ASSERT_EQ(fwd[i * 8 + j], static_cast<float>(running)) << i << "," << j;
    }
  }
  for (int j = 0; j < 8; ++j) {
    double running = 0;
    for (int i = 3; i >= 0; --i) {
      running += x[i * 8 + j];
      ASSERT_EQ(rev[i * 8 + j], static_cast<float>(running)) << i << "," << j;
    }
  }
  int8_t running = 0;
  for (int i = 0; i < 32; ++i) {
    running = static_cast<int8_t>(static_cast<uint8_t>(running) + static_cast<uint8_t>(b[i]));
    ASSERT_EQ(bout[i], running) << i;
  }
}

//===----------------------------------------------------------------------===//
// Control flow and integers
//===----------------------------------------------------------------------===//

TEST_F(InterpreterTest, WhileAndIf) {
  SCOPED_TRACE(seedTrace());
  // Counts the Collatz steps from n down to 1.
  const char *ir = R"mlir(
func.func @collatz(%n: i32, %out: !tz.ptr<i32>) attributes {tz.kernel} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c2 = arith.constant 2 : i32
  %c3 = arith.constant 3 : i32
  %res:2 = scf.while (%x = %n, %steps = %c0) : (i32, i32) -> (i32, i32) {
    %more = arith.cmpi ne, %x, %c1 : i32
    scf.condition(%more) %x, %steps : i32, i32
  } do {
  ^bb0(%x: i32, %steps: i32):
    %rem = arith.remui %x, %c2 : i32
    %even = arith.cmpi eq, %rem, %c0 : i32
    %next = scf.if %even -> (i32) {
      %half = arith.divui %x, %c2 : i32
      scf.yield %half : i32
    } else {
      %triple = arith.muli %x, %c3 : i32
      %up = arith.addi %triple, %c1 : i32
      scf.yield %up : i32
    }
    %steps1 = arith.addi %steps, %c1 : i32
    scf.yield %next, %steps1 : i32, i32
  }
  tz.store %out, %res#1 : !tz.ptr<i32>, i32
  return
}
)mlir";
  std::uniform_int_distribution<int> start(1, 10000);
  for (int trial = 0; trial < 5; ++trial) {
    int n = trial == 0 ? 27 : start(rng_);
    int expected = 0;
    for (int64_t x = n; x != 1; ++expected)
      x = x % 2 == 0 ? x / 2 : 3 * x + 1;
    std::vector<int32_t> out(1, -1);
    Launch launch;
    launch.integer(n).buffer(out, "out");
    run(ir, launch);
    ASSERT_EQ(out[0], expected) << "n = " << n;
  }
}

TEST_F(InterpreterTest, IntegerOpsWrapToTheirWidth) {
  const char *ir = R"mlir(
func.func @k(%out: !tz.ptr<i32>) attributes {tz.kernel} {
  %a = arith.constant 100 : i8
  %m7 = arith.constant -7 : i8
  %two = arith.constant 2 : i8
  %min = arith.constant -128 : i8
  %neg1 = arith.constant -1 : i8
  %four = arith.constant 4 : i8
  %one = arith.constant 1 : i8
  %t = arith.constant true
  %r0 = arith.addi %a, %a : i8
  %r1 = arith.divsi %min, %neg1 : i8
  %r2 = arith.floordivsi %m7, %two : i8
  %r3 = arith.ceildivsi %m7, %two : i8
  %r4 = arith.remsi %m7, %two : i8
  %r5 = arith.shrui %neg1, %four : i8
  %r6 = arith.shrsi %min, %four : i8
  %r7 = arith.divui %neg1, %two : i8
  %c8 = arith.cmpi ult, %neg1, %one : i8
  %c9 = arith.cmpi slt, %neg1, %one : i8
  %r8 = arith.extui %c8 : i1 to i32
  %r9 = arith.extsi %c9 : i1 to i32
  %r10 = arith.extui %t : i1 to i32
  %r11 = arith.maxui %neg1, %one : i8
  %values = tz.make_range 0, 16 : tensor<16xi32>
  %outs = tz.splat %out : !tz.ptr<i32> -> tensor<16x!tz.ptr<i32>>
  %ptrs = tz.addptr %outs, %values : tensor<16x!tz.ptr<i32>>, tensor<16xi32>
  %i0 = arith.extsi %r0 : i8 to i32
  %i1 = arith.extsi %r1 : i8 to i32
  %i2 = arith.extsi %r2 : i8 to i32
  %i3 = arith.extsi %r3 : i8 to i32
  %i4 = arith.extsi %r4 : i8 to i32
  %i5 = arith.extsi %r5 : i8 to i32
  %i6 = arith.extsi %r6 : i8 to i32
  %i7 = arith.extsi %r7 : i8 to i32
  %i11 = arith.extui %r11 : i8 to i32
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c2 = arith.constant 2 : i32
  %c3 = arith.constant 3 : i32
  %c4 = arith.constant 4 : i32
  %c5 = arith.constant 5 : i32
  %c6 = arith.constant 6 : i32
  %c7 = arith.constant 7 : i32
  %c8i = arith.constant 8 : i32
  %c9i = arith.constant 9 : i32
  %c10 = arith.constant 10 : i32
  %c11 = arith.constant 11 : i32
  %p0 = tz.addptr %out, %c0 : !tz.ptr<i32>, i32
  tz.store %p0, %i0 : !tz.ptr<i32>, i32
  %p1 = tz.addptr %out, %c1 : !tz.ptr<i32>, i32
  tz.store %p1, %i1 : !tz.ptr<i32>, i32
  %p2 = tz.addptr %out, %c2 : !tz.ptr<i32>, i32
  tz.store %p2, %i2 : !tz.ptr<i32>, i32
  %p3 = tz.addptr %out, %c3 : !tz.ptr<i32>, i32
  tz.store %p3, %i3 : !tz.ptr<i32>, i32
  %p4 = tz.addptr %out, %c4 : !tz.ptr<i32>, i32
  tz.store %p4, %i4 : !tz.ptr<i32>, i32
  %p5 = tz.addptr %out, %c5 : !tz.ptr<i32>, i32
  tz.store %p5, %i5 : !tz.ptr<i32>, i32
  %p6 = tz.addptr %out, %c6 : !tz.ptr<i32>, i32
  tz.store %p6, %i6 : !tz.ptr<i32>, i32
  %p7 = tz.addptr %out, %c7 : !tz.ptr<i32>, i32
  tz.store %p7, %i7 : !tz.ptr<i32>, i32
  %p8 = tz.addptr %out, %c8i : !tz.ptr<i32>, i32
  tz.store %p8, %r8 : !tz.ptr<i32>, i32
  %p9 = tz.addptr %out, %c9i : !tz.ptr<i32>, i32
  tz.store %p9, %r9 : !tz.ptr<i32>, i32
  %p10 = tz.addptr %out, %c10 : !tz.ptr<i32>, i32
  tz.store %p10, %r10 : !tz.ptr<i32>, i32
  %p11 = tz.addptr %out, %c11 : !tz.ptr<i32>, i32
  tz.store %p11, %i11 : !tz.ptr<i32>, i32
  return
}
)mlir";
  std::vector<int32_t> out(16, 999);
  Launch launch;
  launch.buffer(out, "out");
  run(ir, launch);
  EXPECT_EQ(out[0], -56);  // 200 wraps in i8
  EXPECT_EQ(out[1], -128); // -128 / -1 overflows back to -128
  EXPECT_EQ(out[2], -4);   // floor(-3.5)
  EXPECT_EQ(out[3], -3);   // ceil(-3.5)
  EXPECT_EQ(out[4], -1);
  EXPECT_EQ(out[5], 15);   // 0xFF >> 4, unsigned
  EXPECT_EQ(out[6], -8);   // -128 >> 4, signed
  EXPECT_EQ(out[7], 127);  // 255 / 2
  EXPECT_EQ(out[8], 0);    // 255 <u 1 is false
  EXPECT_EQ(out[9], -1);   // -1 <s 1 is true, sign-extended
  EXPECT_EQ(out[10], 1);   // true zero-extended
  EXPECT_EQ(out[11], 255); // maxui(0xFF, 1)
  EXPECT_EQ(out[12], 999); // untouched
}

TEST_F(InterpreterTest, IntegerDivisionByZeroIsAnError) {
  const char *ir = R"mlir(
func.func @k(%a: i32, %b: i32, %out: !tz.ptr<i32>) attributes {tz.kernel} {
  %q = arith.divsi %a, %b : i32 loc("k.py":5:9)
  tz.store %out, %q : !tz.ptr<i32>, i32
  return
}
)mlir";
  std::vector<int32_t> out(1, 0);
  Launch launch;
  launch.integer(7).integer(0).buffer(out, "out");
  InterpreterError error = runExpectingError(ir, launch);
  EXPECT_THAT(error.message(), HasSubstr("integer division by zero"));
  auto loc = mlir::dyn_cast<mlir::FileLineColLoc>(error.loc());
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc.getLine(), 5u);
  EXPECT_EQ(loc.getColumn(), 9u);
}

//===----------------------------------------------------------------------===//
// Float rounding
//===----------------------------------------------------------------------===//

TEST_F(InterpreterTest, CastsRoundToNearestEven) {
  SCOPED_TRACE(seedTrace());
  // out = extf(truncf(x) to bf16) and h = truncf(x) to f16, stored as bits.
  const char *ir = R"mlir(
func.func @k(%x: !tz.ptr<f32>, %out: !tz.ptr<f32>, %h: !tz.ptr<f16>) attributes {tz.kernel} {
  %r = tz.make_range 0, 256 : tensor<256xi32>
  %xs = tz.splat %x : !tz.ptr<f32> -> tensor<256x!tz.ptr<f32>>
  %xp = tz.addptr %xs, %r : tensor<256x!tz.ptr<f32>>, tensor<256xi32>
  %v = tz.load %xp : tensor<256x!tz.ptr<f32>> -> tensor<256xf32>
  %bf = arith.truncf %v : tensor<256xf32> to tensor<256xbf16>
  %back = arith.extf %bf : tensor<256xbf16> to tensor<256xf32>
  %os = tz.splat %out : !tz.ptr<f32> -> tensor<256x!tz.ptr<f32>>
  %op = tz.addptr %os, %r : tensor<256x!tz.ptr<f32>>, tensor<256xi32>
  tz.store %op, %back : tensor<256x!tz.ptr<f32>>, tensor<256xf32>
  %half = arith.truncf %v : tensor<256xf32> to tensor<256xf16>
  %hs = tz.splat %h : !tz.ptr<f16> -> tensor<256x!tz.ptr<f16>>
  %hp = tz.addptr %hs, %r : tensor<256x!tz.ptr<f16>>, tensor<256xi32>
  tz.store %hp, %half : tensor<256x!tz.ptr<f16>>, tensor<256xf16>
  return
}
)mlir";
  std::vector<float> x(256);
  // Hand-picked cases first.
  float inf = std::numeric_limits<float>::infinity();
  const float cases[] = {
      1.0f + std::ldexp(1.0f, -8),     // bf16: tie, rounds down to even 1.0
      1.0f + 3 * std::ldexp(1.0f, -8), // bf16: tie, rounds up to even 1 + 2^-6
      65520.0f,                        // f16: tie above the largest finite: inf
      65519.0f,                        // f16: 65504
      std::ldexp(1.0f, -25),           // f16: half the smallest subnormal: 0
      3 * std::ldexp(1.0f, -25),       // f16: tie between subnormals 1 and 2: 2
      -0.0f,
      floatOf(0x7F7FFFFF), // largest f32: bf16 rounds it to inf
      -inf,
      std::numeric_limits<float>::quiet_NaN(),
      1.0f / 3.0f,
      std::ldexp(1.0f, -130), // f32 subnormal: bf16 subnormal
  };
  size_t numCases = sizeof(cases) / sizeof(cases[0]);
  std::copy(cases, cases + numCases, x.begin());
  // Then random values around the f16 range and random bit patterns.
  std::uniform_int_distribution<uint32_t> anyBits;
  std::vector<float> wide = randomFloats(100, -70000.0f, 70000.0f);
  for (size_t i = numCases; i < 256; ++i)
    x[i] = i < numCases + wide.size() ? wide[i - numCases] : floatOf(anyBits(rng_));
  std::vector<float> out(256);
  std::vector<uint16_t> h(256);
  Launch launch;
  launch.buffer(x, "x").buffer(out, "out").buffer(h, "h");
  run(ir, launch);

  EXPECT_EQ(bitsOf(out[0]), 0x3F800000u);
  EXPECT_EQ(bitsOf(out[1]), 0x3F820000u); // 1 + 2^-6
  EXPECT_EQ(h[2], 0x7C00);
  EXPECT_EQ(h[3], 0x7BFF);
  EXPECT_EQ(h[4], 0x0000);
  EXPECT_EQ(h[5], 0x0002);
  EXPECT_EQ(h[6], 0x8000);
  EXPECT_EQ(bitsOf(out[6]), 0x80000000u);
  EXPECT_EQ(bitsOf(out[7]), 0x7F800000u);
  EXPECT_EQ(h[7], 0x7C00);
  EXPECT_EQ(h[8], 0xFC00);
  EXPECT_EQ(bitsOf(out[8]), 0xFF800000u);
  EXPECT_EQ(h[9] & 0x7C00, 0x7C00);
  EXPECT_NE(h[9] & 0x03FF, 0);
  EXPECT_TRUE(std::isnan(out[9]));
  EXPECT_EQ(h[10], 0x3555);
  EXPECT_EQ(bitsOf(out[11]), 0x00080000u);

  for (size_t i = 0; i < 256; ++i) {
    if (std::isnan(x[i]))
      continue;
    ASSERT_EQ(bitsOf(out[i]) >> 16, bfloat16BitsOf(x[i])) << "bf16 of " << x[i];
    ASSERT_EQ(bitsOf(out[i]) & 0xFFFF, 0u);
    ASSERT_EQ(h[i], halfBitsOf(x[i])) << "f16 of " << x[i];
  }
}

// The bit-level rounding against the hardware's double -> float conversion,
// including the f32 subnormal range.
TEST(FloatRoundingTest, GenericRoundingMatchesHardwareFloat) {
  std::mt19937_64 rng(12345);
  std::uniform_int_distribution<int> exponent(-160, 130);
  std::uniform_real_distribution<double> mantissa(1.0, 2.0);
  for (int i = 0; i < 200000; ++i) {
    double x = std::ldexp(mantissa(rng), exponent(rng)) * (i % 2 ? -1 : 1);
    if (i % 7 == 0) // exact ties of f32
      x = static_cast<double>(static_cast<float>(x)) +
          std::ldexp(1.0, std::ilogb(x) - 24) * (i % 3 ? 1 : -1);
    double viaHardware = static_cast<double>(static_cast<float>(x));
    double viaBits = roundToFormat(x, kFloat32);
    ASSERT_EQ(std::signbit(viaHardware), std::signbit(viaBits)) << x;
    ASSERT_EQ(viaHardware, viaBits) << x;
    ASSERT_EQ(encodeFormat(x, kFloat32), bitsOf(static_cast<float>(x))) << x;
    ASSERT_EQ(decodeFormat(encodeFormat(x, kFloat32), kFloat32), viaHardware) << x;
  }
}

TEST(FloatRoundingTest, HalfRoundTripsEveryPattern) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    double value = decodeFormat(bits, kHalf);
    if (std::isnan(value))
      continue;
    ASSERT_EQ(value, static_cast<double>(floatOfHalfBits(static_cast<uint16_t>(bits)))) << bits;
    ASSERT_EQ(encodeFormat(value, kHalf), bits) << bits;
    ASSERT_EQ(roundToHalf(value), value) << bits;
  }
}

TEST_F(InterpreterTest, HalfPrecisionRoundsAfterEveryOp) {
  SCOPED_TRACE(seedTrace());
  // out = (a + b) * b in f16. With |a|, |b| in [0.5, 2) the float results
  // are exact, so rounding them once to f16 is the reference.
  const char *ir = R"mlir(
func.func @k(%a: !tz.ptr<f16>, %b: !tz.ptr<f16>, %out: !tz.ptr<f16>) attributes {tz.kernel} {
  %r = tz.make_range 0, 128 : tensor<128xi32>
  %as = tz.splat %a : !tz.ptr<f16> -> tensor<128x!tz.ptr<f16>>
  %ap = tz.addptr %as, %r : tensor<128x!tz.ptr<f16>>, tensor<128xi32>
  %bs = tz.splat %b : !tz.ptr<f16> -> tensor<128x!tz.ptr<f16>>
  %bp = tz.addptr %bs, %r : tensor<128x!tz.ptr<f16>>, tensor<128xi32>
  %av = tz.load %ap : tensor<128x!tz.ptr<f16>> -> tensor<128xf16>
  %bv = tz.load %bp : tensor<128x!tz.ptr<f16>> -> tensor<128xf16>
  %sum = arith.addf %av, %bv : tensor<128xf16>
  %prod = arith.mulf %sum, %bv : tensor<128xf16>
  %os = tz.splat %out : !tz.ptr<f16> -> tensor<128x!tz.ptr<f16>>
  %op = tz.addptr %os, %r : tensor<128x!tz.ptr<f16>>, tensor<128xi32>
  tz.store %op, %prod : tensor<128x!tz.ptr<f16>>, tensor<128xf16>
  return
}
)mlir";
  std::vector<uint16_t> a(128), b(128), out(128);
  std::vector<float> magnitudes = randomFloats(256, 0.5f, 1.999f);
  for (int i = 0; i < 128; ++i) {
    a[i] = halfBitsOf(magnitudes[i] * (i % 3 ? 1.0f : -1.0f));
    b[i] = halfBitsOf(magnitudes[128 + i]);
  }
  a[0] = halfBitsOf(2048.0f); // 2048 + 1 = 2049 is a tie in f16: 2048
  b[0] = halfBitsOf(1.0f);
  Launch launch;
  launch.buffer(a, "a").buffer(b, "b").buffer(out, "out");
  run(ir, launch);
  EXPECT_EQ(out[0], halfBitsOf(2048.0f));
  for (int i = 1; i < 128; ++i) {
    float fa = floatOfHalfBits(a[i]), fb = floatOfHalfBits(b[i]);
    float sum = floatOfHalfBits(halfBitsOf(fa + fb));
    ASSERT_EQ(out[i], halfBitsOf(sum * fb)) << fa << " " << fb;
  }
}

TEST_F(InterpreterTest, FloatCompareAndSelectWithNaN) {
  // Per lane: olt, ult, uno and one as bits 0-3 of a flag byte, plus
  // maximumf, maxnumf and a tile select, on lanes with NaN and signed zeros.
  const char *ir = R"mlir(
func.func @k(%x: !tz.ptr<f32>, %y: !tz.ptr<f32>, %flags: !tz.ptr<i8>, %mx: !tz.ptr<f32>,
             %mxn: !tz.ptr<f32>, %sel: !tz.ptr<f32>) attributes {tz.kernel} {
  %r = tz.make_range 0, 8 : tensor<8xi32>
  %xs = tz.splat %x : !tz.ptr<f32> -> tensor<8x!tz.ptr<f32>>
  %xp = tz.addptr %xs, %r : tensor<8x!tz.ptr<f32>>, tensor<8xi32>
  %ys = tz.splat %y : !tz.ptr<f32> -> tensor<8x!tz.ptr<f32>>
  %yp = tz.addptr %ys, %r : tensor<8x!tz.ptr<f32>>, tensor<8xi32>
  %xv = tz.load %xp : tensor<8x!tz.ptr<f32>> -> tensor<8xf32>
  %yv = tz.load %yp : tensor<8x!tz.ptr<f32>> -> tensor<8xf32>
  %olt = arith.cmpf olt, %xv, %yv : tensor<8xf32>
  %ult = arith.cmpf ult, %xv, %yv : tensor<8xf32>
  %uno = arith.cmpf uno, %xv, %yv : tensor<8xf32>
  %one = arith.cmpf one, %xv, %yv : tensor<8xf32>
  %b0 = arith.extui %olt : tensor<8xi1> to tensor<8xi8>
  %b1 = arith.extui %ult : tensor<8xi1> to tensor<8xi8>
  %b2 = arith.extui %uno : tensor<8xi1> to tensor<8xi8>
  %b3 = arith.extui %one : tensor<8xi1> to tensor<8xi8>
  %c2 = arith.constant dense<2> : tensor<8xi8>
  %c4 = arith.constant dense<4> : tensor<8xi8>
  %c8 = arith.constant dense<8> : tensor<8xi8>
  %s1 = arith.muli %b1, %c2 : tensor<8xi8>
  %s2 = arith.muli %b2, %c4 : tensor<8xi8>
  %s3 = arith.muli %b3, %c8 : tensor<8xi8>
  %f01 = arith.ori %b0, %s1 : tensor<8xi8>
  %f012 = arith.ori %f01, %s2 : tensor<8xi8>
  %fl = arith.ori %f012, %s3 : tensor<8xi8>
  %fs = tz.splat %flags : !tz.ptr<i8> -> tensor<8x!tz.ptr<i8>>
  %fp = tz.addptr %fs, %r : tensor<8x!tz.ptr<i8>>, tensor<8xi32>
  tz.store %fp, %fl : tensor<8x!tz.ptr<i8>>, tensor<8xi8>
  %m = arith.maximumf %xv, %yv : tensor<8xf32>
  %mn = arith.maxnumf %xv, %yv : tensor<8xf32>
  %s = arith.select %olt, %xv, %yv : tensor<8xi1>, tensor<8xf32>
  %ms = tz.splat %mx : !tz.ptr<f32> -> tensor<8x!tz.ptr<f32>>
  %mp = tz.addptr %ms, %r : tensor<8x!tz.ptr<f32>>, tensor<8xi32>
  tz.store %mp, %m : tensor<8x!tz.ptr<f32>>, tensor<8xf32>
  %mns = tz.splat %mxn : !tz.ptr<f32> -> tensor<8x!tz.ptr<f32>>
  %mnp = tz.addptr %mns, %r : tensor<8x!tz.ptr<f32>>, tensor<8xi32>
  tz.store %mnp, %mn : tensor<8x!tz.ptr<f32>>, tensor<8xf32>
  %ss = tz.splat %sel : !tz.ptr<f32> -> tensor<8x!tz.ptr<f32>>
  %sp = tz.addptr %ss, %r : tensor<8x!tz.ptr<f32>>, tensor<8xi32>
  tz.store %sp, %s : tensor<8x!tz.ptr<f32>>, tensor<8xf32>
  return
}
)mlir";
  float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {1, 2, nan, 3, nan, -0.0f, 5, -1};
  std::vector<float> y = {2, 1, 1, nan, nan, 0.0f, 5, -2};
  std::vector<int8_t> flags(8);
  std::vector<float> mx(8), mxn(8), sel(8);
  Launch launch;
  launch.buffer(x, "x").buffer(y, "y").buffer(flags, "flags").buffer(mx, "mx");
  launch.buffer(mxn, "mxn").buffer(sel, "sel");
  run(ir, launch);
  for (int i = 0; i < 8; ++i) {
    bool unordered = std::isnan(x[i]) || std::isnan(y[i]);
    int expected = (x[i] < y[i] ? 1 : 0) | (unordered || x[i] < y[i] ? 2 : 0) |
                   (unordered ? 4 : 0) | (!unordered && x[i] != y[i] ? 8 : 0);
    EXPECT_EQ(flags[i], expected) << "lane " << i;
    if (unordered)
      EXPECT_TRUE(std::isnan(mx[i])) << "lane " << i;
    else
      EXPECT_EQ(mx[i], std::max(x[i], y[i])) << "lane " << i;
    if (std::isnan(x[i]) && std::isnan(y[i]))
      EXPECT_TRUE(std::isnan(mxn[i]));
    else if (std::isnan(x[i]) || std::isnan(y[i]))
      EXPECT_EQ(mxn[i], std::isnan(x[i]) ? y[i] : x[i]) << "lane " << i;
    float chosen = x[i] < y[i] ? x[i] : y[i];
    EXPECT_EQ(bitsOf(sel[i]), bitsOf(chosen)) << "lane " << i;
  }
  // maximumf orders -0 below +0.
  EXPECT_EQ(bitsOf(mx[5]), bitsOf(0.0f));
}

TEST_F(InterpreterTest, ProgramIdsCoverTheGrid) {
  const char *ir = R"mlir(
func.func @k(%out: !tz.ptr<i32>) attributes {tz.kernel} {
  %x = tz.program_id 0 : i32
  %y = tz.program_id 1 : i32
  %z = tz.program_id 2 : i32
  %nx = tz.num_programs 0 : i32
  %ny = tz.num_programs 1 : i32
  %yz = arith.muli %z, %ny : i32
  %row = arith.addi %yz, %y : i32
  %base = arith.muli %row, %nx : i32
  %linear = arith.addi %base, %x : i32
  %c100 = arith.constant 100 : i32
  %c10 = arith.constant 10 : i32
  %hz = arith.muli %z, %c100 : i32
  %ty = arith.muli %y, %c10 : i32
  %code0 = arith.addi %hz, %ty : i32
  %code = arith.addi %code0, %x : i32
  %p = tz.addptr %out, %linear : !tz.ptr<i32>, i32
  tz.store %p, %code : !tz.ptr<i32>, i32
  return
}
)mlir";
  std::vector<int32_t> out(2 * 3 * 4, -1);
  Launch launch;
  launch.buffer(out, "out");
  mlir::func::FuncOp kernel = parse(ir);
  ASSERT_TRUE(kernel);
  LaunchGrid grid;
  grid.programs = {2, 3, 4};
  runKernel(kernel, grid, launch.buffers, launch.arguments);
  for (int z = 0; z < 4; ++z)
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 2; ++x)
        EXPECT_EQ(out[(z * 3 + y) * 2 + x], 100 * z + 10 * y + x);
}

//===----------------------------------------------------------------------===//
// Atomics, memory errors, debugging ops
//===----------------------------------------------------------------------===//

TEST_F(InterpreterTest, AtomicAddFromSeveralPrograms) {
  SCOPED_TRACE(seedTrace());
  // Every program adds its 16 values into acc and bumps a counter, recording
  // the counter value it saw.
  const char *ir = R"mlir(
func.func @k(%x: !tz.ptr<f32>, %acc: !tz.ptr<f32>, %counter: !tz.ptr<i32>,
             %seen: !tz.ptr<i32>) attributes {tz.kernel} {
  %pid = tz.program_id 0 : i32
  %c16 = arith.constant 16 : i32
  %start = arith.muli %pid, %c16 : i32
  %r = tz.make_range 0, 16 : tensor<16xi32>
  %starts = tz.splat %start : i32 -> tensor<16xi32>
  %offs = arith.addi %starts, %r : tensor<16xi32>
  %xs = tz.splat %x : !tz.ptr<f32> -> tensor<16x!tz.ptr<f32>>
  %xp = tz.addptr %xs, %offs : tensor<16x!tz.ptr<f32>>, tensor<16xi32>
  %v = tz.load %xp : tensor<16x!tz.ptr<f32>> -> tensor<16xf32>
  %as = tz.splat %acc : !tz.ptr<f32> -> tensor<16x!tz.ptr<f32>>
  %ap = tz.addptr %as, %r : tensor<16x!tz.ptr<f32>>, tensor<16xi32>
  %old = tz.atomic_rmw add %ap, %v : tensor<16x!tz.ptr<f32>>, tensor<16xf32>
  %one = arith.constant 1 : i32
  %before = tz.atomic_rmw add %counter, %one : !tz.ptr<i32>, i32
  %sp = tz.addptr %seen, %pid : !tz.ptr<i32>, i32
  tz.store %sp, %before : !tz.ptr<i32>, i32
  return
}
)mlir";
  const int programs = 8;
  // Small integers: the float sums are exact in any order.
  std::uniform_int_distribution<int> small(-50, 50);
  std::vector<float> x(programs * 16);
  for (float &v : x)
    v = static_cast<float>(small(rng_));
  std::vector<float> acc(16, 0.5f);
  std::vector<int32_t> counter(1, 0), seen(programs, -1);
  Launch launch;
  launch.buffer(x, "x").buffer(acc, "acc").buffer(counter, "counter").buffer(seen, "seen");
  run(ir, launch, programs);
  for (int j = 0; j < 16; ++j) {
    float expected = 0.5f;
    for (int p = 0; p < programs; ++p)
      expected += x[p * 16 + j];
    EXPECT_EQ(acc[j], expected) << j;
  }
  EXPECT_EQ(counter[0], programs);
  std::set<int32_t> values(seen.begin(), seen.end());
  EXPECT_EQ(values.size(), static_cast<size_t>(programs));
  EXPECT_EQ(*values.begin(), 0);
  EXPECT_EQ(*values.rbegin(), programs - 1);
}

const char *kLoadSixteen = R"mlir(
func.func @k(%x: !tz.ptr<f32>, %out: !tz.ptr<f32>, %n: i32, %useMask: i1) attributes {tz.kernel} {
  %r = tz.make_range 0, 16 : tensor<16xi32>
  %xs = tz.splat %x : !tz.ptr<f32> -> tensor<16x!tz.ptr<f32>>
  %xp = tz.addptr %xs, %r : tensor<16x!tz.ptr<f32>>, tensor<16xi32>
  %ns = tz.splat %n : i32 -> tensor<16xi32>
  %inside = arith.cmpi slt, %r, %ns : tensor<16xi32>
  %everything = arith.constant dense<true> : tensor<16xi1>
  %mask = arith.select %useMask, %inside, %everything : tensor<16xi1>
  %minus = arith.constant dense<-1.0> : tensor<16xf32>
  %v = tz.load %xp, mask %mask, other %minus : tensor<16x!tz.ptr<f32>> -> tensor<16xf32>, tensor<16xi1>, tensor<16xf32> loc("k.py":3:7)
  %os = tz.splat %out : !tz.ptr<f32> -> tensor<16x!tz.ptr<f32>>
  %op = tz.addptr %os, %r : tensor<16x!tz.ptr<f32>>, tensor<16xi32>
  tz.store %op, %v : tensor<16x!tz.ptr<f32>>, tensor<16xf32>
  return
}
)mlir";

TEST_F(InterpreterTest, OutOfBoundsLoadIsAnErrorAtItsLocation) {
  std::vector<float> x = randomFloats(10), out(16);
  Launch launch;
  launch.buffer(x, "x").buffer(out, "out").integer(10).integer(0);
  InterpreterError error = runExpectingError(kLoadSixteen, launch);
  EXPECT_THAT(error.message(), HasSubstr("out-of-bounds load"));
  EXPECT_THAT(error.message(), HasSubstr("element index 10 of tile"));
  EXPECT_THAT(error.message(), HasSubstr("0 bytes past the end of buffer 'x'"));
  EXPECT_THAT(error.message(), HasSubstr("program (0, 0, 0)"));
  auto loc = mlir::dyn_cast<mlir::FileLineColLoc>(error.loc());
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc.getFilename().str(), "k.py");
  EXPECT_EQ(loc.getLine(), 3u);
  EXPECT_EQ(loc.getColumn(), 7u);
}

TEST_F(InterpreterTest, MaskedOffOutOfBoundsLanesAreNotAccessed) {
  std::vector<float> x = randomFloats(10), out(16);
  Launch launch;
  launch.buffer(x, "x").buffer(out, "out").integer(10).integer(1);
  run(kLoadSixteen, launch);
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(out[i], i < 10 ? x[i] : -1.0f) << i;
}

TEST_F(InterpreterTest, WildPointerIsOutsideEveryBuffer) {
  const char *ir = R"mlir(
func.func @k(%x: !tz.ptr<i32>) attributes {tz.kernel} {
  %far = arith.constant -100000000 : i32
  %p = tz.addptr %x, %far : !tz.ptr<i32>, i32
  %one = arith.constant 1 : i32
  tz.store %p, %one : !tz.ptr<i32>, i32 loc("k.py":9:1)
  return
}
)mlir";
  std::vector<int32_t> x(4);
  Launch launch;
  launch.buffer(x, "x");
  InterpreterError error = runExpectingError(ir, launch);
  // The pointer was derived from x, so the report measures from x however
  // far away the address landed.
  EXPECT_THAT(error.message(),
              HasSubstr("out-of-bounds store: address is 400000000 bytes before the start of buffer 'x'"));
}

TEST_F(InterpreterTest, UnknownOpIsAnError) {
  const char *ir = R"mlir(
func.func @k(%a: i32) attributes {tz.kernel} {
  %b = math.ctlz %a : i32 loc("k.py":2:2)
  return
}
)mlir";
  Launch launch;
  launch.integer(3);
  InterpreterError error = runExpectingError(ir, launch);
  EXPECT_THAT(error.message(), HasSubstr("the interpreter cannot execute 'math.ctlz'"));
}

TEST_F(InterpreterTest, PrintAndAssert) {
  const char *ir = R"mlir(
func.func @k(%limit: i32) attributes {tz.kernel} {
  %pid = tz.program_id 0 : i32
  %r = tz.make_range 0, 4 : tensor<4xi32>
  %f = arith.sitofp %r : tensor<4xi32> to tensor<4xf32>
  %half = arith.constant dense<0.5> : tensor<4xf32>
  %g = arith.mulf %f, %half : tensor<4xf32>
  tz.print "x:" %pid, %g : i32, tensor<4xf32>
  %ok = arith.cmpi slt, %pid, %limit : i32
  tz.assert %ok, "pid too large" : i1
  return
}
)mlir";
  Launch launch;
  launch.integer(5);
  std::string printed;
  run(ir, launch, 2, &printed);
  EXPECT_EQ(printed, "pid (0, 0, 0) x: 0 [0, 0.5, 1, 1.5]\n"
                     "pid (1, 0, 0) x: 1 [0, 0.5, 1, 1.5]\n");

  Launch failing;
  failing.integer(1);
  InterpreterError error = runExpectingError(ir, failing, 3);
  EXPECT_THAT(error.message(), HasSubstr("pid too large"));
  EXPECT_THAT(error.message(), HasSubstr("program (1, 0, 0)"));
}

} // namespace
