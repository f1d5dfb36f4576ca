//===- LinearLayout.h - layouts of tiles as linear maps over F2 -*- C++ -*-===//
//
// How a tile of power-of-two shape is spread over the registers, lanes and
// warps of a thread block, as a linear map over F2: every input bit (one bit
// of the register index, of the lane id, of the warp id) has a basis vector
// (a tile coordinate), and the element held at (register r, lane l, warp w)
// is the XOR of the bases of the bits set in r, l and w, taken per dimension.
//
// Blocked, tensor-core and swizzled layouts are all such maps, so one class
// answers every question the lowering asks (which element a register holds,
// which registers hold the same element, whether two layouts agree) by the
// same arithmetic instead of one special case per pair of layout kinds.
//
// A basis may be zero: then the bit selects a copy of the same element
// (several lanes holding one value: a broadcast).
#pragma once

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <string>

namespace terrazzo::tzgpu {

// A tile coordinate, one entry per dimension.
using Coord = llvm::SmallVector<int32_t, 4>;

class LinearLayout {
public:
  enum class InDim { Register = 0, Lane = 1, Warp = 2 };
  static constexpr int kLaneBits = 5; // 32 lanes per warp

  LinearLayout() = default;
  // `shape`: the tile (powers of two). `bases[d]`: one coordinate per bit of
  // input dimension d. Lane bases must number kLaneBits.
  LinearLayout(llvm::ArrayRef<int64_t> shape, llvm::SmallVector<Coord> reg, llvm::SmallVector<Coord> lane,
               llvm::SmallVector<Coord> warp);

  // The default layout of a tile: `perThread` consecutive elements of the
  // last dimension in each thread (fewer if the tile is narrower), lanes then
  // warps laid over the dimensions from the last one inwards, and what is
  // left over repeated in registers. Elementwise ops need equal layouts on
  // their operands, so the choice depends on the shape only.
  static LinearLayout blocked(llvm::ArrayRef<int64_t> shape, int numWarps, int perThread = 4);
  // Like `blocked` with explicit sizes per thread / lanes / warps per
  // dimension and the dimension order (fastest first), as Triton's
  // BlockedEncoding describes them; the products may be smaller than the
  // shape (registers repeat) or larger (elements are broadcast).
  static LinearLayout blockedFromSizes(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int> sizePerThread,
                                       llvm::ArrayRef<int> lanesPerWarp, llvm::ArrayRef<int> warpsPerBlock,
                                       llvm::ArrayRef<int> order);

  // The accumulator of mma.sync m16n8k16 for an [M, N] tile (M a multiple
  // of 16, N of 8): in each warp, lane l holds rows l/4 and l/4 + 8 and
  // columns 2(l%4) and 2(l%4) + 1 of a 16x8 block (register bits 0 and 1:
  // column + 1, row + 8); warps split M first, then N; further registers
  // step over the warp's 16x8 blocks, along N first. Register r therefore
  // holds element r % 4 of block r / 4.
  static LinearLayout mmaAccumulator(llvm::ArrayRef<int64_t> shape, int numWarps);
  // The A operand of mma.sync m16n8k16 for an [M, K] tile held in
  // registers: per 16x16 block, lane l holds rows l/4 and l/4 + 8 and
  // columns 2(l%4), +1, +8, +9 (register bits: column + 1, row + 8,
  // column + 8); further registers step along K, then over M blocks. Warps
  // split M as the accumulator does and never split K (a warp needs whole
  // rows), so warps left over hold copies. When warps do not split N, this
  // equals mmaAccumulator of the same shape: a dot result feeds the next
  // dot's A operand without moving.
  static LinearLayout mmaOperandA(llvm::ArrayRef<int64_t> shape, int numWarps);

  llvm::ArrayRef<int64_t> shape() const { return shape_; }
  int rank() const { return shape_.size(); }
  int64_t numElements() const;
  const llvm::SmallVector<Coord> &bases(InDim d) const { return bases_[static_cast<int>(d)]; }
  int numBits(InDim d) const { return bases(d).size(); }
  int numRegisters() const { return 1 << numBits(InDim::Register); }
  int numWarps() const { return 1 << numBits(InDim::Warp); }

  // The coordinate held at (reg, lane, warp).
  Coord apply(int reg, int lane, int warp) const;
  // The part of apply() contributed by each input alone; apply() is the XOR
  // of the three (the map is linear).
  Coord applyPart(InDim d, int index) const;

  // Row-major index of a coordinate in this layout's shape.
  int64_t linearIndex(llvm::ArrayRef<int32_t> coord) const;

  // Every element is held somewhere (the map onto the tile is surjective).
  bool coversTile() const;
  // Each non-zero basis has a single non-zero dimension: then a dimension's
  // coordinate depends only on the bits whose bases point along it, which
  // reductions and slices rely on.
  bool basesAreAxisAligned() const;
  // Bits of `d` whose basis is zero (they select copies, not elements).
  llvm::SmallVector<int> zeroBits(InDim d) const;

  // This layout with dimension `axis` removed (the layout of a reduction's
  // result): bases along `axis` become zero. Requires axis-aligned bases.
  LinearLayout dropDim(int axis) const;
  // The layout of the source of a broadcast to this layout: `srcShape` has
  // 1 where the broadcast repeats, and bases along those dimensions become
  // zero, so each thread holds the source elements its results repeat.
  LinearLayout broadcastSource(llvm::ArrayRef<int64_t> srcShape) const;
  // Dimensions reordered: dimension i of the result is dimension order[i]
  // of this layout (the layout tz.trans gives for free).
  LinearLayout permuted(llvm::ArrayRef<int32_t> order) const;

  bool operator==(const LinearLayout &o) const;
  bool operator!=(const LinearLayout &o) const { return !(*this == o); }
  std::string str() const;

private:
  llvm::SmallVector<int64_t, 4> shape_;
  llvm::SmallVector<Coord> bases_[3];
};

// A coordinate map between two tiles: given a coordinate of the destination
// tile, the coordinate of the source element it takes. It must be linear
// over F2 (broadcasts, inserted or removed unit dimensions, transposes and
// reshapes of power-of-two shapes all are).
using CoordMap = std::function<Coord(const Coord &)>;

// When every thread of `dst` finds the source element map(c) of each of its
// registers among its own registers of `src`: the source register for each
// destination register. Otherwise (some element lives in another thread)
// nothing, and the move needs shared memory or shuffles.
std::optional<llvm::SmallVector<int>> registerOnlyRemap(const LinearLayout &src, const LinearLayout &dst,
                                                        const CoordMap &map);
inline std::optional<llvm::SmallVector<int>> registerOnlyRemap(const LinearLayout &src, const LinearLayout &dst) {
  return registerOnlyRemap(src, dst, [](const Coord &c) { return c; });
}

} // namespace terrazzo::tzgpu
