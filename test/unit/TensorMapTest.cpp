// describeTensorMaps: what the host hands cuTensorMapEncodeTiled for a
// kernel's TMA tensor maps, read from the launch's argument slots, and the
// arguments it refuses (the launch then runs the kernel compiled without
// TMA). No GPU needed: the description is host arithmetic.
#include "TensorMaps.h"

#include <gtest/gtest.h>

#include <cstring>

using terrazzo::describeTensorMaps;
using terrazzo::ParamKind;
using terrazzo::pipeline::TensorMapSpec;

namespace {

// The A operand of a masked row-major matmul C[M, N] = A[M, K] @ B[K, N]
// with arguments (a, b, c, M, N, K): dims [K, M] (extents from the masks),
// row stride K, a 64 x 128 box, bf16 in the 128-byte swizzle.
TensorMapSpec matmulA() {
  TensorMapSpec t;
  t.baseArg = 0;
  t.elementType = "bf16";
  t.elementBytes = 2;
  t.swizzleBytes = 128;
  t.box = {64, 128};
  t.extentArgs = {5, 3};
  t.extents = {0, 0};
  t.strideArgs = {5};
  t.strides = {0};
  return t;
}

// Argument slots as both launch paths fill them: 8 bytes each, an i32 in
// the low half.
struct Slots {
  uint64_t words[8] = {};
  void *pointers[8];
  std::vector<ParamKind> kinds;
  Slots(std::vector<ParamKind> k) : kinds(std::move(k)) {
    for (int i = 0; i < 8; ++i)
      pointers[i] = &words[i];
  }
  void setI32(int i, int32_t v) { std::memcpy(&words[i], &v, 4); }
};

Slots matmulSlots(uint64_t a, int32_t M, int32_t K) {
  Slots s({ParamKind::Pointer, ParamKind::Pointer, ParamKind::Pointer, ParamKind::I32, ParamKind::I32,
           ParamKind::I32});
  s.words[0] = a;
  s.setI32(3, M);
  s.setI32(4, 528);
  s.setI32(5, K);
  return s;
}

} // namespace

TEST(TensorMapTest, MatmulOperandIsDescribedFromItsArguments) {
  Slots s = matmulSlots(0x7f0000001000, 300, 336);
  auto d = describeTensorMaps({matmulA()}, s.kinds, s.pointers);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->size(), 1u);
  const auto &m = d->front();
  EXPECT_EQ(m.address, 0x7f0000001000u);
  EXPECT_EQ(m.rank, 2u);
  EXPECT_EQ(m.dims[0], 336u); // K columns
  EXPECT_EQ(m.dims[1], 300u); // M rows
  EXPECT_EQ(m.strideBytes[0], 672u);
  EXPECT_EQ(m.box[0], 64u);
  EXPECT_EQ(m.box[1], 128u);
  EXPECT_EQ(m.dataType, 9); // CU_TENSOR_MAP_DATA_TYPE_BFLOAT16
  EXPECT_EQ(m.swizzleBytes, 128);
}

TEST(TensorMapTest, UnboundedExtentsAndI64StridesOfFurtherDimensions) {
  // The flash forward's K: [head dim, keys, head, batch], no mask, strides
  // from three arguments (one of them i64).
  TensorMapSpec t = matmulA();
  t.box = {64, 64, 1, 1};
  t.extentArgs = {-1, -1, -1, -1};
  t.extents = {-1, -1, -1, -1};
  t.strideArgs = {1, 2, 3};
  t.strides = {0, 0, 0};
  Slots s({ParamKind::Pointer, ParamKind::I32, ParamKind::I32, ParamKind::I64});
  s.words[0] = 0x10000;
  s.setI32(1, 128);
  s.setI32(2, 1024 * 128);
  s.words[3] = uint64_t(16) * 1024 * 128;
  auto d = describeTensorMaps({t}, s.kinds, s.pointers);
  ASSERT_TRUE(d.has_value());
  const auto &m = d->front();
  EXPECT_EQ(m.rank, 4u);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(m.dims[i], uint64_t(1) << 32);
  EXPECT_EQ(m.strideBytes[0], 256u);
  EXPECT_EQ(m.strideBytes[1], 2u * 1024 * 128);
  EXPECT_EQ(m.strideBytes[2], 2u * 16 * 1024 * 128);
}

TEST(TensorMapTest, ArgumentsNoMapDescribesExactlyAreRefused) {
  // A row stride of 300 bf16 elements is 600 bytes: not a multiple of 16.
  Slots odd = matmulSlots(0x1000, 300, 300);
  EXPECT_FALSE(describeTensorMaps({matmulA()}, odd.kinds, odd.pointers).has_value());
  // A base address off 16 bytes.
  Slots misaligned = matmulSlots(0x1008, 300, 336);
  EXPECT_FALSE(describeTensorMaps({matmulA()}, misaligned.kinds, misaligned.pointers).has_value());
  // An empty extent (M = 0) and a negative stride.
  Slots empty = matmulSlots(0x1000, 0, 336);
  EXPECT_FALSE(describeTensorMaps({matmulA()}, empty.kinds, empty.pointers).has_value());
  Slots negative = matmulSlots(0x1000, 300, -336);
  EXPECT_FALSE(describeTensorMaps({matmulA()}, negative.kinds, negative.pointers).has_value());
  // The base argument is not a pointer.
  Slots wrongKind = matmulSlots(0x1000, 300, 336);
  wrongKind.kinds[0] = ParamKind::I64;
  EXPECT_FALSE(describeTensorMaps({matmulA()}, wrongKind.kinds, wrongKind.pointers).has_value());
}
