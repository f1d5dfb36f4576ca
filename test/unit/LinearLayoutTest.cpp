// Unit tests of LinearLayout, the F2 map from (register, lane, warp) bits to
// tile coordinates that every GPU layout is expressed in.
//
// Properties are checked by enumerating every (register, lane, warp) input,
// never by re-deriving the bases: the default blocked layout of every
// power-of-two shape up to 4096 elements covers its tile, is a bijection
// when the block has enough threads' worth of elements and otherwise holds
// copies exactly on its zero-basis bits, and gives consecutive lanes
// consecutive elements. The mma.sync m16n8k16 fragments are checked against
// ownership tables written from the PTX ISA ("Matrix Fragments for
// mma.m16n8k16"), independently of the layout code.
#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"
#include "terrazzo/Dialect/TzGpu/LinearLayout.h"

#include "llvm/ADT/STLExtras.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace terrazzo::tzgpu;
using D = LinearLayout::InDim;

namespace {

constexpr int kLanes = 32;

using Shape = std::vector<int64_t>;

std::string show(const Shape &shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? "x" : "") << shape[i];
  os << "]";
  return os.str();
}

std::string show(const Coord &c) {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < c.size(); ++i)
    os << (i ? ", " : "") << c[i];
  os << ")";
  return os.str();
}

int64_t product(const Shape &shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

int log2Of(int64_t v) {
  int bits = 0;
  while ((int64_t(1) << bits) < v)
    ++bits;
  return bits;
}

// Every power-of-two shape of rank 1 and 2 with 1 to 4096 elements, and a
// few of rank 3.
std::vector<Shape> allShapes() {
  std::vector<Shape> shapes;
  for (int64_t n = 1; n <= 4096; n *= 2)
    shapes.push_back({n});
  for (int64_t a = 1; a <= 4096; a *= 2)
    for (int64_t b = 1; a * b <= 4096; b *= 2)
      shapes.push_back({a, b});
  for (Shape s : std::vector<Shape>{{1, 1, 1}, {2, 2, 2}, {2, 4, 8}, {8, 4, 2}, {4, 1, 64}, {1, 64, 1},
                                    {16, 16, 16}, {2, 32, 64}, {64, 2, 32}, {4, 8, 1}})
    shapes.push_back(s);
  return shapes;
}

bool inTile(const Coord &c, const Shape &shape) {
  if (c.size() != shape.size())
    return false;
  for (size_t d = 0; d < shape.size(); ++d)
    if (c[d] < 0 || c[d] >= shape[d])
      return false;
  return true;
}

// How many (register, lane, warp) inputs hold each element, by row-major
// index; fails the test on a coordinate outside the tile.
std::vector<int> holders(const LinearLayout &layout, const Shape &shape) {
  std::vector<int> count(product(shape), 0);
  for (int w = 0; w < layout.numWarps(); ++w)
    for (int l = 0; l < kLanes; ++l)
      for (int r = 0; r < layout.numRegisters(); ++r) {
        Coord c = layout.apply(r, l, w);
        if (!inTile(c, shape)) {
          ADD_FAILURE() << "(reg " << r << ", lane " << l << ", warp " << w << ") -> " << show(c)
                        << " outside " << show(shape);
          continue;
        }
        ++count[layout.linearIndex(c)];
      }
  return count;
}

int totalZeroBits(const LinearLayout &layout) {
  return layout.zeroBits(D::Register).size() + layout.zeroBits(D::Lane).size() + layout.zeroBits(D::Warp).size();
}

// The vector width `blocked` is documented to give: `perThread` consecutive
// elements of the last dimension, fewer if the tile is narrower or too small
// to give every thread that many.
int64_t expectedVector(const Shape &shape, int numWarps, int perThread) {
  int64_t perThreadShare = product(shape) / (int64_t(kLanes) * numWarps);
  int64_t v = std::min<int64_t>(perThread, std::max<int64_t>(1, perThreadShare));
  return std::min<int64_t>(v, shape.back());
}

// Holds for any F2-linear map, whatever the bases.
void expectApplyIsXorOfParts(const LinearLayout &layout) {
  for (int w = 0; w < layout.numWarps(); ++w)
    for (int l = 0; l < kLanes; ++l)
      for (int r = 0; r < layout.numRegisters(); ++r) {
        Coord c = layout.applyPart(D::Register, r);
        Coord lane = layout.applyPart(D::Lane, l), warp = layout.applyPart(D::Warp, w);
        for (int d = 0; d < layout.rank(); ++d)
          c[d] ^= lane[d] ^ warp[d];
        ASSERT_EQ(layout.apply(r, l, w), c) << "reg " << r << " lane " << l << " warp " << w << " in "
                                            << layout.str();
      }
}

//===----------------------------------------------------------------------===//
// blocked(): every shape x num_warps x elements per thread
//===----------------------------------------------------------------------===//

class BlockedTest : public ::testing::TestWithParam<std::tuple<int, int>> {
protected:
  int numWarps() const { return std::get<0>(GetParam()); }
  int perThread() const { return std::get<1>(GetParam()); }
};

TEST_P(BlockedTest, ShapeAndBitCounts) {
  for (const Shape &shape : allShapes()) {
    SCOPED_TRACE(show(shape));
    LinearLayout layout = LinearLayout::blocked(shape, numWarps(), perThread());
    EXPECT_EQ(layout.shape().vec(), shape);
    EXPECT_EQ(layout.rank(), (int)shape.size());
    EXPECT_EQ(layout.numElements(), product(shape));
    EXPECT_EQ(layout.numBits(D::Lane), 5);
    EXPECT_EQ(layout.numWarps(), numWarps());
    for (D d : {D::Register, D::Lane, D::Warp})
      for (const Coord &basis : layout.bases(d))
        EXPECT_EQ(basis.size(), shape.size()) << layout.str();
    EXPECT_TRUE(layout.basesAreAxisAligned()) << layout.str();
    // Registers never hold copies: a register is a distinct element.
    EXPECT_TRUE(layout.zeroBits(D::Register).empty()) << layout.str();
  }
}

TEST_P(BlockedTest, CoversTile) {
  for (const Shape &shape : allShapes()) {
    SCOPED_TRACE(show(shape));
    LinearLayout layout = LinearLayout::blocked(shape, numWarps(), perThread());
    EXPECT_TRUE(layout.coversTile()) << layout.str();
    std::vector<int> count = holders(layout, shape);
    for (size_t i = 0; i < count.size(); ++i)
      ASSERT_GT(count[i], 0) << "element " << i << " is held by no thread in " << layout.str();
  }
}

// With at least one element per thread, every element is held exactly once.
TEST_P(BlockedTest, BijectionWhenTileFillsTheBlock) {
  int64_t threads = int64_t(kLanes) * numWarps();
  int checked = 0;
  for (const Shape &shape : allShapes()) {
    if (product(shape) < threads)
      continue;
    SCOPED_TRACE(show(shape));
    LinearLayout layout = LinearLayout::blocked(shape, numWarps(), perThread());
    EXPECT_EQ(int64_t(layout.numRegisters()) * threads, product(shape)) << layout.str();
    EXPECT_EQ(totalZeroBits(layout), 0) << layout.str();
    std::vector<int> count = holders(layout, shape);
    for (size_t i = 0; i < count.size(); ++i)
      ASSERT_EQ(count[i], 1) << "element " << i << " in " << layout.str();
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

// A tile smaller than the block: each element is held by the same number of
// threads, and two inputs hold the same element exactly when they differ in
// zero-basis bits only (so copies are found from zeroBits() alone).
TEST_P(BlockedTest, CopiesAreTheZeroBitsWhenTileIsSmall) {
  int64_t threads = int64_t(kLanes) * numWarps();
  int checked = 0;
  for (const Shape &shape : allShapes()) {
    if (product(shape) >= threads)
      continue;
    SCOPED_TRACE(show(shape));
    LinearLayout layout = LinearLayout::blocked(shape, numWarps(), perThread());
    // One element per thread: no vector when lanes are left over.
    EXPECT_EQ(layout.numRegisters(), 1) << layout.str();
    int zero = totalZeroBits(layout);
    EXPECT_EQ(int64_t(1) << zero, threads / product(shape)) << layout.str();
    std::vector<int> count = holders(layout, shape);
    for (size_t i = 0; i < count.size(); ++i)
      ASSERT_EQ(count[i], 1 << zero) << "element " << i << " in " << layout.str();
    // Flipping a zero bit keeps the element; flipping any other bit moves it.
    for (D d : {D::Lane, D::Warp}) {
      llvm::SmallVector<int> zeros = layout.zeroBits(d);
      for (int bit = 0; bit < layout.numBits(d); ++bit) {
        bool isZero = llvm::is_contained(zeros, bit);
        for (int w = 0; w < layout.numWarps(); ++w)
          for (int l = 0; l < kLanes; ++l) {
            int l2 = d == D::Lane ? l ^ (1 << bit) : l;
            int w2 = d == D::Warp ? w ^ (1 << bit) : w;
            ASSERT_EQ(layout.apply(0, l, w) == layout.apply(0, l2, w2), isZero)
                << "bit " << bit << " of " << (d == D::Lane ? "lane" : "warp") << " in " << layout.str();
          }
      }
    }
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// Coalescing: thread t = 32 * warp + lane holds the `v` elements t*v ..
// t*v + v - 1 of the tile in row-major order (v the vector width), so a warp
// reads one contiguous run; a tile smaller than the block wraps around.
TEST_P(BlockedTest, ConsecutiveThreadsHoldConsecutiveElements) {
  int64_t threads = int64_t(kLanes) * numWarps();
  for (const Shape &shape : allShapes()) {
    SCOPED_TRACE(show(shape));
    LinearLayout layout = LinearLayout::blocked(shape, numWarps(), perThread());
    int64_t n = product(shape);
    int64_t v = expectedVector(shape, numWarps(), perThread());
    ASSERT_GE(layout.numRegisters(), v) << layout.str();
    for (int w = 0; w < numWarps(); ++w)
      for (int l = 0; l < kLanes; ++l)
        for (int r = 0; r < v; ++r) {
          int64_t thread = int64_t(w) * kLanes + l;
          int64_t expected = n >= threads ? thread * v + r : thread % n;
          ASSERT_EQ(layout.linearIndex(layout.apply(r, l, w)), expected)
              << "reg " << r << " lane " << l << " warp " << w << " in " << layout.str();
        }
  }
}

// The plain statement of coalescing on a wide row: lane l of warp 0 starts
// at column v*l of row 0, and its v registers are the next v columns.
TEST_P(BlockedTest, LanesWalkTheLastDimensionOfWideTiles) {
  int checked = 0;
  for (const Shape &shape : allShapes()) {
    int64_t v = expectedVector(shape, numWarps(), perThread());
    if (shape.back() < kLanes * v)
      continue;
    SCOPED_TRACE(show(shape));
    LinearLayout layout = LinearLayout::blocked(shape, numWarps(), perThread());
    for (int l = 0; l < kLanes; ++l)
      for (int r = 0; r < v; ++r) {
        Coord expected(shape.size(), 0);
        expected.back() = int32_t(l * v + r);
        ASSERT_EQ(layout.apply(r, l, 0), expected) << "reg " << r << " lane " << l << " in " << layout.str();
      }
    ++checked;
  }
  EXPECT_GT(checked, 5);
}

TEST_P(BlockedTest, ApplyIsXorOfParts) {
  for (const Shape &shape : allShapes()) {
    SCOPED_TRACE(show(shape));
    expectApplyIsXorOfParts(LinearLayout::blocked(shape, numWarps(), perThread()));
  }
}

// Removing a dimension (a reduction's result) keeps every other coordinate.
TEST_P(BlockedTest, DropDimKeepsOtherCoordinates) {
  for (const Shape &shape : allShapes()) {
    if (shape.size() < 2)
      continue;
    LinearLayout layout = LinearLayout::blocked(shape, numWarps(), perThread());
    for (int axis = 0; axis < (int)shape.size(); ++axis) {
      SCOPED_TRACE(show(shape) + " axis " + std::to_string(axis));
      LinearLayout dropped = layout.dropDim(axis);
      Shape rest = shape;
      rest.erase(rest.begin() + axis);
      EXPECT_EQ(dropped.shape().vec(), rest);
      EXPECT_EQ(dropped.numRegisters(), layout.numRegisters());
      EXPECT_EQ(dropped.numWarps(), layout.numWarps());
      EXPECT_TRUE(dropped.coversTile()) << dropped.str();
      for (int w = 0; w < layout.numWarps(); ++w)
        for (int l = 0; l < kLanes; ++l)
          for (int r = 0; r < layout.numRegisters(); ++r) {
            Coord full = layout.apply(r, l, w);
            Coord expected;
            for (int d = 0; d < (int)shape.size(); ++d)
              if (d != axis)
                expected.push_back(full[d]);
            ASSERT_EQ(dropped.apply(r, l, w), expected) << "reg " << r << " lane " << l << " warp " << w;
          }
      // The bits that walked `axis` now select copies; no others do.
      for (D d : {D::Register, D::Lane, D::Warp}) {
        llvm::SmallVector<int> expectedZeros;
        for (int bit = 0; bit < layout.numBits(d); ++bit) {
          const Coord &b = layout.bases(d)[bit];
          bool others = false;
          for (int k = 0; k < (int)shape.size(); ++k)
            others |= k != axis && b[k] != 0;
          if (!others)
            expectedZeros.push_back(bit);
        }
        EXPECT_EQ(dropped.zeroBits(d), expectedZeros);
      }
    }
  }
}

// The layout is a function of shape, warps and vector width only.
TEST_P(BlockedTest, EqualityIsByShapeAndBases) {
  std::vector<Shape> shapes = allShapes();
  for (size_t i = 0; i < shapes.size(); ++i) {
    LinearLayout a = LinearLayout::blocked(shapes[i], numWarps(), perThread());
    EXPECT_TRUE(a == LinearLayout::blocked(shapes[i], numWarps(), perThread())) << show(shapes[i]);
    EXPECT_FALSE(a != LinearLayout::blocked(shapes[i], numWarps(), perThread())) << show(shapes[i]);
    // Rebuilt from its own bases.
    EXPECT_EQ(a, LinearLayout(shapes[i], a.bases(D::Register), a.bases(D::Lane), a.bases(D::Warp)));
    // Other shapes (of the same element count too) differ.
    for (size_t j = 0; j < shapes.size(); ++j)
      if (j != i)
        EXPECT_NE(a, LinearLayout::blocked(shapes[j], numWarps(), perThread()))
            << show(shapes[i]) << " vs " << show(shapes[j]);
    // So do other warp counts.
    EXPECT_NE(a, LinearLayout::blocked(shapes[i], numWarps() * 2, perThread())) << show(shapes[i]);
  }
}

std::string blockedName(const ::testing::TestParamInfo<std::tuple<int, int>> &info) {
  return "warps" + std::to_string(std::get<0>(info.param)) + "_per" + std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(NumWarpsAndVector, BlockedTest,
                         ::testing::Combine(::testing::Values(1, 2, 4, 8), ::testing::Values(1, 2, 4, 8)),
                         blockedName);

//===----------------------------------------------------------------------===//
// Hand-written layouts
//===----------------------------------------------------------------------===//

TEST(LinearLayout, LinearIndexIsRowMajor) {
  for (const Shape &shape : allShapes()) {
    if (product(shape) > 1024)
      continue;
    SCOPED_TRACE(show(shape));
    LinearLayout layout = LinearLayout::blocked(shape, 4);
    // Enumerate coordinates with the last dimension fastest.
    Coord c(shape.size(), 0);
    for (int64_t expected = 0; expected < product(shape); ++expected) {
      ASSERT_EQ(layout.linearIndex(c), expected) << show(c);
      for (int d = (int)shape.size() - 1; d >= 0; --d) {
        if (++c[d] < shape[d])
          break;
        c[d] = 0;
      }
    }
  }
  LinearLayout l = LinearLayout::blocked({4, 8, 16}, 1);
  EXPECT_EQ(l.linearIndex({0, 0, 1}), 1);
  EXPECT_EQ(l.linearIndex({0, 1, 0}), 16);
  EXPECT_EQ(l.linearIndex({1, 0, 0}), 128);
  EXPECT_EQ(l.linearIndex({3, 7, 15}), 511);
}

TEST(LinearLayout, BlockedFromSizesMatchesTritonBlockedEncoding) {
  // sizePerThread [1, 4], threadsPerWarp [4, 8], warpsPerCTA [2, 2], order
  // [1, 0] on 32x64: a warp covers 4x32, the block 8x64, registers repeat
  // over the rows 4 times.
  LinearLayout l = LinearLayout::blockedFromSizes({32, 64}, {1, 4}, {4, 8}, {2, 2}, {1, 0});
  for (int w = 0; w < 4; ++w)
    for (int lane = 0; lane < 32; ++lane)
      for (int r = 0; r < l.numRegisters(); ++r) {
        // Warp bit 0 goes to the columns (order[0]), bit 1 to the rows.
        int wc = w & 1, wr = (w >> 1) & 1;
        int row = (r / 4) * 8 + wr * 4 + lane / 8;
        int col = wc * 32 + (lane % 8) * 4 + r % 4;
        ASSERT_EQ(l.apply(r, lane, w), (Coord{row, col})) << "reg " << r << " lane " << lane << " warp " << w;
      }
  EXPECT_EQ(l.numRegisters(), 16);
  // Broadcast: more lanes than the tile has rows give zero bases.
  LinearLayout b = LinearLayout::blockedFromSizes({2, 8}, {1, 1}, {4, 8}, {1, 1}, {1, 0});
  EXPECT_TRUE(b.coversTile());
  EXPECT_EQ(b.zeroBits(D::Lane), (llvm::SmallVector<int>{4}));
}

TEST(LinearLayout, ApplyIsXorOfPartsForSwizzledBases) {
  // Bases with two non-zero dimensions (an XOR swizzle) are still linear.
  LinearLayout l({8, 8}, {{0, 1}, {1, 1}, {2, 2}}, {{0, 2}, {0, 4}, {1, 4}, {2, 0}, {4, 0}}, {{4, 4}, {0, 0}});
  expectApplyIsXorOfParts(l);
  EXPECT_FALSE(l.basesAreAxisAligned());
  EXPECT_EQ(l.zeroBits(D::Warp), (llvm::SmallVector<int>{1}));
  EXPECT_EQ(l.apply(3, 0, 0), (Coord{1, 0}));    // (0,1) ^ (1,1)
  EXPECT_EQ(l.apply(0, 4, 1), (Coord{5, 0}));    // (1,4) ^ (4,4)
  // (3, 2) from the registers, (7, 2) from the lanes, (4, 4) from the warps.
  EXPECT_EQ(l.apply(7, 31, 3), (Coord{0, 4}));
  EXPECT_TRUE(l.coversTile());
}

TEST(LinearLayout, CoversTileDetectsMissingElements) {
  // Lane bit 4 repeats lane bit 0's basis and nothing reaches column 8.
  LinearLayout l({2, 16}, {{0, 4}}, {{0, 1}, {0, 2}, {1, 0}, {0, 0}, {0, 1}}, {});
  EXPECT_FALSE(l.coversTile());
  std::vector<int> count(32, 0);
  for (int lane = 0; lane < 32; ++lane)
    for (int r = 0; r < 2; ++r)
      ++count[l.linearIndex(l.apply(r, lane, 0))];
  EXPECT_EQ(count[8], 0);
  EXPECT_EQ(l.zeroBits(D::Lane), (llvm::SmallVector<int>{3}));
  // Rows and columns both covered once column 8 is.
  LinearLayout full({2, 16}, {{0, 4}, {0, 8}}, {{0, 1}, {0, 2}, {1, 0}, {0, 0}, {0, 1}}, {});
  EXPECT_TRUE(full.coversTile());
}

TEST(LinearLayout, DropDimOfRankOne) {
  // A 1-D tile reduced to a scalar: every bit selects a copy.
  LinearLayout l = LinearLayout::blocked({256}, 4);
  LinearLayout s = l.dropDim(0);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.numRegisters(), l.numRegisters());
  EXPECT_EQ((int)s.zeroBits(D::Lane).size(), 5);
  EXPECT_EQ((int)s.zeroBits(D::Warp).size(), 2);
  EXPECT_EQ(s.apply(1, 7, 3), Coord{});
}

TEST(LinearLayout, EqualityComparesEveryPart) {
  LinearLayout a({16, 8}, {{0, 1}, {8, 0}}, {{0, 2}, {0, 4}, {1, 0}, {2, 0}, {4, 0}}, {});
  LinearLayout same({16, 8}, {{0, 1}, {8, 0}}, {{0, 2}, {0, 4}, {1, 0}, {2, 0}, {4, 0}}, {});
  EXPECT_EQ(a, same);
  // Register bits swapped: the same elements per thread, another register order.
  EXPECT_NE(a, LinearLayout({16, 8}, {{8, 0}, {0, 1}}, {{0, 2}, {0, 4}, {1, 0}, {2, 0}, {4, 0}}, {}));
  // Another shape with the same bases.
  EXPECT_NE(a, LinearLayout({16, 16}, {{0, 1}, {8, 0}}, {{0, 2}, {0, 4}, {1, 0}, {2, 0}, {4, 0}}, {}));
  // A copy warp added.
  EXPECT_NE(a, LinearLayout({16, 8}, {{0, 1}, {8, 0}}, {{0, 2}, {0, 4}, {1, 0}, {2, 0}, {4, 0}}, {{0, 0}}));
  // Lanes differ.
  EXPECT_NE(a, LinearLayout({16, 8}, {{0, 1}, {8, 0}}, {{0, 2}, {0, 4}, {1, 0}, {4, 0}, {2, 0}}, {}));
}

//===----------------------------------------------------------------------===//
// mma.sync m16n8k16 fragments, against the PTX ISA tables
//===----------------------------------------------------------------------===//

// PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type":
// groupID = %laneid >> 2, threadID_in_group = %laneid % 4.
int groupId(int lane) { return lane >> 2; }
int threadInGroup(int lane) { return lane % 4; }

// Accumulator C/D (.f32, 4 elements c0..c3) of the 16x8 tile:
//   row = groupID for c0, c1; groupID + 8 for c2, c3
//   col = threadID_in_group * 2 + (i & 0x1)
Coord ptxAccumulator(int lane, int i) {
  int row = groupId(lane) + (i >= 2 ? 8 : 0);
  int col = threadInGroup(lane) * 2 + (i & 0x1);
  return {row, col};
}

// Multiplicand A (.f16/.bf16, 16x16, 8 elements a0..a7 in four .f16x2):
//   row = groupID for a0, a1, a4, a5; groupID + 8 for a2, a3, a6, a7
//   col = threadID_in_group * 2 + (i & 0x1) for a0..a3; + 8 for a4..a7
Coord ptxOperandA(int lane, int i) {
  bool lowRow = i == 0 || i == 1 || i == 4 || i == 5;
  int row = groupId(lane) + (lowRow ? 0 : 8);
  int col = threadInGroup(lane) * 2 + (i & 0x1) + (i >= 4 ? 8 : 0);
  return {row, col};
}

// Multiplicand B (.f16/.bf16, 16x8 as [k, n], 4 elements b0..b3):
//   row (k) = threadID_in_group * 2 + (i & 0x1) for b0, b1; + 8 for b2, b3
//   col (n) = groupID
Coord ptxOperandB(int lane, int i) {
  int k = threadInGroup(lane) * 2 + (i & 0x1) + (i >= 2 ? 8 : 0);
  int n = groupId(lane);
  return {k, n};
}

// Every lane x element of one warp against the table, and each element of
// the fragment held exactly once.
template <typename Table>
void expectFragment(const LinearLayout &layout, int elements, Table table) {
  ASSERT_EQ(layout.numRegisters(), elements) << layout.str();
  ASSERT_EQ(layout.numWarps(), 1) << layout.str();
  std::map<std::pair<int, int>, int> held;
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < elements; ++i) {
      Coord expected = table(lane, i);
      EXPECT_EQ(layout.apply(i, lane, 0), expected)
          << "lane " << lane << " element " << i << " in " << layout.str();
      ++held[{expected[0], expected[1]}];
    }
  // The table itself is a bijection onto the fragment.
  EXPECT_EQ((int)held.size(), 32 * elements);
  EXPECT_TRUE(layout.coversTile()) << layout.str();
  EXPECT_EQ(totalZeroBits(layout), 0) << layout.str();
}

TEST(MmaFragment, AccumulatorFromBlockedSizes) {
  // Two consecutive columns per thread, 8x4 lanes (columns fastest), the
  // rest (row + 8) repeated in registers.
  LinearLayout acc = LinearLayout::blockedFromSizes({16, 8}, {1, 2}, {8, 4}, {1, 1}, {1, 0});
  expectFragment(acc, 4, ptxAccumulator);
  EXPECT_EQ(acc.bases(D::Register), (llvm::SmallVector<Coord>{{0, 1}, {8, 0}}));
}

TEST(MmaFragment, AccumulatorFromBases) {
  LinearLayout acc({16, 8}, {{0, 1}, {8, 0}}, {{0, 2}, {0, 4}, {1, 0}, {2, 0}, {4, 0}}, {});
  expectFragment(acc, 4, ptxAccumulator);
  EXPECT_EQ(acc, LinearLayout::blockedFromSizes({16, 8}, {1, 2}, {8, 4}, {1, 1}, {1, 0}));
}

TEST(MmaFragment, OperandA) {
  // Register bits: column + 1, row + 8, column + 8.
  LinearLayout a({16, 16}, {{0, 1}, {8, 0}, {0, 8}}, {{0, 2}, {0, 4}, {1, 0}, {2, 0}, {4, 0}}, {});
  expectFragment(a, 8, ptxOperandA);
  // The same threads hold the same elements with blocked register order,
  // but a4 would then be the row + 8 element: the order matters.
  LinearLayout blockedOrder = LinearLayout::blockedFromSizes({16, 16}, {1, 2}, {8, 4}, {1, 1}, {1, 0});
  EXPECT_NE(a, blockedOrder);
  EXPECT_EQ(blockedOrder.apply(4, 0, 0), (Coord{8, 0}));
  EXPECT_EQ(a.apply(4, 0, 0), (Coord{0, 8}));
}

TEST(MmaFragment, OperandB) {
  // [k, n]: register bits k + 1, k + 8; lane bits k + 2, k + 4, then n.
  LinearLayout b({16, 8}, {{1, 0}, {8, 0}}, {{2, 0}, {4, 0}, {0, 1}, {0, 2}, {0, 4}}, {});
  expectFragment(b, 4, ptxOperandB);
  // It is the A-style fragment of B transposed: k runs along the thread's pair.
  LinearLayout fromSizes = LinearLayout::blockedFromSizes({16, 8}, {2, 1}, {4, 8}, {1, 1}, {0, 1});
  EXPECT_EQ(b, fromSizes) << fromSizes.str();
}

// mmaAccumulator: warps split M first, then N; register r holds element
// r % 4 of the warp's block r / 4, blocks along N first. Block (i, j) of a
// warp with warp-grid position (wm, wn) is the tile's 16x8 block
// (i * warpsM + wm, j * warpsN + wn).
TEST(MmaFragment, AccumulatorOfWholeTiles) {
  for (int numWarps : {1, 2, 4, 8})
    for (int64_t m = 16; m <= 128; m *= 2)
      for (int64_t n = 8; n <= 128; n *= 2) {
        SCOPED_TRACE("[" + std::to_string(m) + "x" + std::to_string(n) + "] warps " + std::to_string(numWarps));
        LinearLayout acc = LinearLayout::mmaAccumulator({m, n}, numWarps);
        int64_t blocksM = m / 16, blocksN = n / 8;
        int64_t warpsM = std::min<int64_t>(numWarps, blocksM);
        int64_t warpsN = std::min<int64_t>(numWarps / warpsM, blocksN);
        int64_t perWarpM = blocksM / warpsM, perWarpN = blocksN / warpsN;
        ASSERT_EQ(acc.numWarps(), numWarps);
        ASSERT_EQ(acc.numRegisters(), 4 * perWarpM * perWarpN) << acc.str();
        EXPECT_TRUE(acc.coversTile()) << acc.str();
        EXPECT_TRUE(acc.basesAreAxisAligned()) << acc.str();
        EXPECT_EQ((int64_t)acc.zeroBits(D::Warp).size(), log2Of(numWarps / (warpsM * warpsN)));
        for (int w = 0; w < numWarps; ++w) {
          int64_t wm = w % warpsM, wn = (w / warpsM) % warpsN;
          for (int lane = 0; lane < 32; ++lane)
            for (int r = 0; r < acc.numRegisters(); ++r) {
              int64_t block = r / 4, bi = block / perWarpN, bj = block % perWarpN;
              Coord inBlock = ptxAccumulator(lane, r % 4);
              Coord expected = {int32_t((bi * warpsM + wm) * 16 + inBlock[0]),
                                int32_t((bj * warpsN + wn) * 8 + inBlock[1])};
              ASSERT_EQ(acc.apply(r, lane, w), expected) << "reg " << r << " lane " << lane << " warp " << w;
            }
        }
        std::vector<int> count = holders(acc, {m, n});
        for (int c : count)
          ASSERT_EQ(c, numWarps / (warpsM * warpsN));
      }
}

// mmaOperandA: each warp holds whole rows of A (all of K), in the order
// mma.sync wants its a0..a7 per 16x16 block, blocks along K first; warps
// split M like the accumulator and are copies past that.
TEST(MmaFragment, OperandAOfWholeTiles) {
  for (int numWarps : {1, 2, 4, 8})
    for (int64_t m = 16; m <= 128; m *= 2)
      for (int64_t k = 16; k <= 128; k *= 2) {
        SCOPED_TRACE("[" + std::to_string(m) + "x" + std::to_string(k) + "] warps " + std::to_string(numWarps));
        LinearLayout a = LinearLayout::mmaOperandA({m, k}, numWarps);
        int64_t blocksM = m / 16, blocksK = k / 16;
        int64_t warpsM = std::min<int64_t>(numWarps, blocksM);
        int64_t perWarpM = blocksM / warpsM;
        ASSERT_EQ(a.numRegisters(), 8 * perWarpM * blocksK) << a.str();
        EXPECT_TRUE(a.coversTile()) << a.str();
        for (int w = 0; w < numWarps; ++w)
          for (int lane = 0; lane < 32; ++lane)
            for (int r = 0; r < a.numRegisters(); ++r) {
              int64_t block = r / 8, bi = block / blocksK, bj = block % blocksK;
              Coord inBlock = ptxOperandA(lane, r % 8);
              Coord expected = {int32_t((bi * warpsM + w % warpsM) * 16 + inBlock[0]),
                                int32_t(bj * 16 + inBlock[1])};
              ASSERT_EQ(a.apply(r, lane, w), expected) << "reg " << r << " lane " << lane << " warp " << w;
            }
        // A dot result is the next dot's A operand as it stands, unless warps
        // had to split its columns.
        if (numWarps <= blocksM)
          EXPECT_EQ(a, LinearLayout::mmaAccumulator({m, k}, numWarps));
        else
          EXPECT_NE(a, LinearLayout::mmaAccumulator({m, k}, numWarps));
      }
}

//===----------------------------------------------------------------------===//
// Layouts derived for shape ops, and which conversions stay in registers
//===----------------------------------------------------------------------===//

TEST(DerivedLayout, PermutedIsTheTransposedMap) {
  LinearLayout blocked = LinearLayout::blocked({64, 128}, 8);
  LinearLayout t = blocked.permuted({1, 0});
  EXPECT_EQ(t.shape(), (llvm::ArrayRef<int64_t>{128, 64}));
  for (int w = 0; w < 8; ++w)
    for (int lane = 0; lane < 32; ++lane)
      for (int r = 0; r < blocked.numRegisters(); ++r) {
        Coord c = blocked.apply(r, lane, w);
        ASSERT_EQ(t.apply(r, lane, w), (Coord{c[1], c[0]}));
      }
  EXPECT_EQ(t.permuted({1, 0}), blocked);
}

TEST(DerivedLayout, BroadcastSourceHoldsWhatEachThreadRepeats) {
  LinearLayout acc = LinearLayout::mmaAccumulator({64, 32}, 4);
  LinearLayout rowSource = acc.broadcastSource({64, 1});
  EXPECT_EQ(rowSource.shape(), (llvm::ArrayRef<int64_t>{64, 1}));
  for (int w = 0; w < 4; ++w)
    for (int lane = 0; lane < 32; ++lane)
      for (int r = 0; r < acc.numRegisters(); ++r)
        ASSERT_EQ(rowSource.apply(r, lane, w), (Coord{acc.apply(r, lane, w)[0], 0}));
  // Broadcasting it back needs no data movement.
  auto dropCols = [](const Coord &c) { return Coord{c[0], 0}; };
  EXPECT_TRUE(registerOnlyRemap(rowSource, acc, dropCols).has_value());
}

TEST(DerivedLayout, RegisterOnlyRemap) {
  LinearLayout acc = LinearLayout::mmaAccumulator({128, 64}, 8);
  EXPECT_TRUE(registerOnlyRemap(acc, acc).has_value());
  // The row vectors of two accumulators with the same rows per thread: the
  // registers differ in number and order, the threads hold the same rows.
  LinearLayout rows64 = acc.dropDim(1);
  LinearLayout rows128 = LinearLayout::mmaAccumulator({128, 128}, 8).dropDim(1);
  ASSERT_NE(rows64, rows128);
  auto regs = registerOnlyRemap(rows64, rows128);
  ASSERT_TRUE(regs.has_value());
  for (int r = 0; r < rows128.numRegisters(); ++r)
    EXPECT_EQ(rows64.applyPart(D::Register, (*regs)[r]), rows128.applyPart(D::Register, r));
  // Blocked and mma place rows in other threads: shared memory is needed.
  EXPECT_FALSE(registerOnlyRemap(LinearLayout::blocked({128, 64}, 8), acc).has_value());
  EXPECT_FALSE(registerOnlyRemap(acc, LinearLayout::mmaAccumulator({128, 64}, 4)).has_value());
}

} // namespace

// The 128-byte swizzle of wgmma operands (swizzledByteOffset): a bijection
// of the tile onto its bytes, linear over F2 in the coordinate bits (what
// SwizzledPlacement relies on to split a register's offset into a thread
// part and a register part), and free of bank conflicts for the 8 rows of
// each 16-byte column of an 8-row group (how ldmatrix and wgmma read).
TEST(SwizzledSharedMemory, IsABijectionOntoTheTileBytes) {
  for (int64_t rows : {8, 64, 128})
    for (int64_t cols : {64, 128, 256}) {
      std::vector<bool> seen(rows * cols, false);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          int64_t off = swizzledByteOffset(r, c, rows, 2);
          ASSERT_EQ(off % 2, 0);
          ASSERT_GE(off, 0);
          ASSERT_LT(off, rows * cols * 2);
          ASSERT_FALSE(seen[off / 2]) << rows << "x" << cols << " at " << r << "," << c;
          seen[off / 2] = true;
        }
    }
}

TEST(SwizzledSharedMemory, IsLinearOverF2) {
  int64_t rows = 128, cols = 256;
  for (int64_t r1 = 0; r1 < rows; r1 += 7)
    for (int64_t c1 = 0; c1 < cols; c1 += 5)
      for (int64_t r2 = 0; r2 < rows; r2 += 11)
        for (int64_t c2 = 0; c2 < cols; c2 += 13)
          ASSERT_EQ(swizzledByteOffset(r1 ^ r2, c1 ^ c2, rows, 2),
                    swizzledByteOffset(r1, c1, rows, 2) ^ swizzledByteOffset(r2, c2, rows, 2));
}

TEST(SwizzledSharedMemory, EightRowsOfAChunkColumnHitDistinctBanks) {
  int64_t rows = 64;
  for (int64_t group = 0; group < rows; group += 8)
    for (int64_t c = 0; c < 64; c += 8) {
      std::vector<bool> quarter(8, false); // 16-byte bank groups of a 128-byte line
      for (int64_t r = group; r < group + 8; ++r) {
        int64_t q = (swizzledByteOffset(r, c, rows, 2) / 16) % 8;
        ASSERT_FALSE(quarter[q]) << "rows " << group << "+, column " << c;
        quarter[q] = true;
      }
    }
}
