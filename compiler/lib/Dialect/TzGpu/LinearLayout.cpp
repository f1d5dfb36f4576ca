//===- LinearLayout.cpp - layouts of tiles as linear maps over F2 --------===//
#include "terrazzo/Dialect/TzGpu/LinearLayout.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cassert>

namespace terrazzo::tzgpu {

namespace {
int log2Exact(int64_t v) {
  assert(v > 0 && llvm::isPowerOf2_64(v) && "sizes of a linear layout are powers of two");
  return llvm::Log2_64(v);
}

Coord zeroCoord(int rank) { return Coord(rank, 0); }

Coord unitCoord(int rank, int dim, int32_t value) {
  Coord c = zeroCoord(rank);
  c[dim] = value;
  return c;
}

void xorInto(Coord &acc, const Coord &basis) {
  for (size_t i = 0; i < acc.size(); ++i)
    acc[i] ^= basis[i];
}
} // namespace

LinearLayout::LinearLayout(llvm::ArrayRef<int64_t> shape, llvm::SmallVector<Coord> reg,
                           llvm::SmallVector<Coord> lane, llvm::SmallVector<Coord> warp)
    : shape_(shape.begin(), shape.end()) {
  bases_[0] = std::move(reg);
  bases_[1] = std::move(lane);
  bases_[2] = std::move(warp);
  assert(bases_[1].size() == kLaneBits && "a warp has 32 lanes");
}

int64_t LinearLayout::numElements() const {
  int64_t n = 1;
  for (int64_t s : shape_)
    n *= s;
  return n;
}

LinearLayout LinearLayout::blockedFromSizes(llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int> sizePerThread,
                                            llvm::ArrayRef<int> lanesPerWarp, llvm::ArrayRef<int> warpsPerBlock,
                                            llvm::ArrayRef<int> order) {
  int rank = shape.size();
  // How many bits of each dimension are still unassigned.
  llvm::SmallVector<int> left;
  for (int64_t s : shape)
    left.push_back(log2Exact(s));
  llvm::SmallVector<int> used(rank, 0);
  // Takes `bits` bits of input along `dim` (zero bases once the dimension is
  // exhausted: those bits broadcast).
  auto take = [&](llvm::SmallVector<Coord> &out, int dim, int bits) {
    for (int b = 0; b < bits; ++b) {
      if (left[dim] > 0) {
        out.push_back(unitCoord(rank, dim, 1 << used[dim]));
        ++used[dim];
        --left[dim];
      } else {
        out.push_back(zeroCoord(rank));
      }
    }
  };
  llvm::SmallVector<Coord> reg, lane, warp;
  for (int d : order)
    take(reg, d, log2Exact(sizePerThread[d]));
  for (int d : order)
    take(lane, d, log2Exact(lanesPerWarp[d]));
  for (int d : order)
    take(warp, d, log2Exact(warpsPerBlock[d]));
  // What the block does not cover repeats in registers.
  for (int d : order)
    while (left[d] > 0)
      take(reg, d, 1);
  return LinearLayout(shape, std::move(reg), std::move(lane), std::move(warp));
}

LinearLayout LinearLayout::blocked(llvm::ArrayRef<int64_t> shape, int numWarps, int perThread) {
  int rank = shape.size();
  llvm::SmallVector<int> order;
  for (int d = rank - 1; d >= 0; --d)
    order.push_back(d);
  llvm::SmallVector<int> spt(rank, 1), lanes(rank, 1), warps(rank, 1);
  if (rank == 0)
    return blockedFromSizes(shape, spt, lanes, warps, order);
  // Small tiles spread over every thread before they use vector width.
  int64_t elements = 1;
  for (int64_t s : shape)
    elements *= s;
  int64_t threads = 32 * int64_t(numWarps);
  int64_t vector = std::max<int64_t>(1, std::min<int64_t>(perThread, elements / threads));
  spt[rank - 1] = std::min<int64_t>(vector, shape[rank - 1]);
  // Lanes and warps go to the dimensions, fastest first, while they have
  // room; what remains of them lands on dimension 0 (as copies if it is full).
  llvm::SmallVector<int64_t> room(shape.begin(), shape.end());
  room[rank - 1] /= spt[rank - 1];
  auto spread = [&](llvm::SmallVector<int> &per, int count) {
    for (int d : order) {
      while (count > 1 && room[d] > 1) {
        per[d] *= 2;
        room[d] /= 2;
        count /= 2;
      }
    }
    per[order.back()] *= count;
  };
  spread(lanes, 32);
  spread(warps, numWarps);
  return blockedFromSizes(shape, spt, lanes, warps, order);
}

namespace {
// The 16x8 blocks of mma.sync over an [M, N] tile: lane and register bits
// 0-1 inside a block, warps over rows of blocks (then columns of blocks if
// `warpsSplitColumns`, else copies), the remaining blocks in registers,
// along columns first.
LinearLayout mmaBlocks(llvm::ArrayRef<int64_t> shape, int numWarps, bool warpsSplitColumns) {
  auto at = [](int32_t row, int32_t col) { return Coord{row, col}; };
  llvm::SmallVector<Coord> reg = {at(0, 1), at(8, 0)};
  llvm::SmallVector<Coord> lane = {at(0, 2), at(0, 4), at(1, 0), at(2, 0), at(4, 0)};
  llvm::SmallVector<Coord> warp;
  int64_t rowsLeft = shape[0] / 16, colsLeft = shape[1] / 8; // 16x8 blocks not yet covered
  int32_t rowStep = 16, colStep = 8;
  for (int w = 1; w < numWarps; w *= 2) {
    if (rowsLeft > 1) {
      warp.push_back(at(rowStep, 0));
      rowStep *= 2;
      rowsLeft /= 2;
    } else if (warpsSplitColumns && colsLeft > 1) {
      warp.push_back(at(0, colStep));
      colStep *= 2;
      colsLeft /= 2;
    } else {
      warp.push_back(at(0, 0)); // more warps than blocks: copies
    }
  }
  for (; colsLeft > 1; colsLeft /= 2, colStep *= 2)
    reg.push_back(at(0, colStep));
  for (; rowsLeft > 1; rowsLeft /= 2, rowStep *= 2)
    reg.push_back(at(rowStep, 0));
  return LinearLayout(shape, std::move(reg), std::move(lane), std::move(warp));
}
} // namespace

LinearLayout LinearLayout::mmaAccumulator(llvm::ArrayRef<int64_t> shape, int numWarps) {
  assert(shape.size() == 2 && shape[0] % 16 == 0 && shape[1] % 8 == 0 && "mma tiles are 16x8 blocks");
  return mmaBlocks(shape, numWarps, /*warpsSplitColumns=*/true);
}

LinearLayout LinearLayout::mmaOperandA(llvm::ArrayRef<int64_t> shape, int numWarps) {
  assert(shape.size() == 2 && shape[0] % 16 == 0 && shape[1] % 16 == 0 && "mma A operands are 16x16 blocks");
  // Register bit 2 (column + 8) completes the 16x16 block: the first
  // column step of the accumulator's registers.
  return mmaBlocks(shape, numWarps, /*warpsSplitColumns=*/false);
}

Coord LinearLayout::applyPart(InDim d, int index) const {
  Coord c = zeroCoord(rank());
  const auto &bs = bases(d);
  for (size_t b = 0; b < bs.size(); ++b)
    if (index & (1 << b))
      xorInto(c, bs[b]);
  return c;
}

Coord LinearLayout::apply(int reg, int lane, int warp) const {
  Coord c = applyPart(InDim::Register, reg);
  xorInto(c, applyPart(InDim::Lane, lane));
  xorInto(c, applyPart(InDim::Warp, warp));
  return c;
}

int64_t LinearLayout::linearIndex(llvm::ArrayRef<int32_t> coord) const {
  int64_t index = 0;
  for (int d = 0; d < rank(); ++d)
    index = index * shape_[d] + coord[d];
  return index;
}

bool LinearLayout::coversTile() const {
  // Surjective iff the bases span F2^(total bits): Gaussian elimination on
  // the coordinates packed into one bit vector.
  int totalBits = 0;
  llvm::SmallVector<int> offset;
  for (int64_t s : shape_) {
    offset.push_back(totalBits);
    totalBits += log2Exact(s);
  }
  llvm::SmallVector<uint64_t> rows;
  for (const auto &bs : bases_)
    for (const Coord &c : bs) {
      uint64_t v = 0;
      for (int d = 0; d < rank(); ++d)
        v |= uint64_t(c[d]) << offset[d];
      rows.push_back(v);
    }
  int rankFound = 0;
  for (int bit = 0; bit < totalBits; ++bit) {
    auto pivot = llvm::find_if(llvm::drop_begin(rows, rankFound), [&](uint64_t r) { return (r >> bit) & 1; });
    if (pivot == rows.end())
      return false;
    std::swap(*pivot, rows[rankFound]);
    for (size_t i = 0; i < rows.size(); ++i)
      if (i != (size_t)rankFound && ((rows[i] >> bit) & 1))
        rows[i] ^= rows[rankFound];
    ++rankFound;
  }
  return true;
}

bool LinearLayout::basesAreAxisAligned() const {
  for (const auto &bs : bases_)
    for (const Coord &c : bs)
      if (llvm::count_if(c, [](int32_t v) { return v != 0; }) > 1)
        return false;
  return true;
}

llvm::SmallVector<int> LinearLayout::zeroBits(InDim d) const {
  llvm::SmallVector<int> bits;
  const auto &bs = bases(d);
  for (size_t b = 0; b < bs.size(); ++b)
    if (llvm::all_of(bs[b], [](int32_t v) { return v == 0; }))
      bits.push_back(b);
  return bits;
}

LinearLayout LinearLayout::dropDim(int axis) const {
  assert(basesAreAxisAligned() && "dropDim needs axis-aligned bases");
  llvm::SmallVector<int64_t> shape;
  for (int d = 0; d < rank(); ++d)
    if (d != axis)
      shape.push_back(shape_[d]);
  llvm::SmallVector<Coord> out[3];
  for (int i = 0; i < 3; ++i)
    for (const Coord &c : bases_[i]) {
      Coord nc;
      for (int d = 0; d < rank(); ++d)
        if (d != axis)
          nc.push_back(c[d]);
      out[i].push_back(nc);
    }
  return LinearLayout(shape, out[0], out[1], out[2]);
}

LinearLayout LinearLayout::broadcastSource(llvm::ArrayRef<int64_t> srcShape) const {
  assert((int)srcShape.size() == rank() && "a broadcast keeps the rank");
  llvm::SmallVector<Coord> out[3];
  for (int i = 0; i < 3; ++i)
    for (Coord c : bases_[i]) {
      for (int d = 0; d < rank(); ++d)
        if (srcShape[d] == 1)
          c[d] = 0;
      out[i].push_back(c);
    }
  return LinearLayout(srcShape, out[0], out[1], out[2]);
}

LinearLayout LinearLayout::permuted(llvm::ArrayRef<int32_t> order) const {
  assert((int)order.size() == rank() && "a permutation of every dimension");
  llvm::SmallVector<int64_t> shape;
  for (int32_t d : order)
    shape.push_back(shape_[d]);
  llvm::SmallVector<Coord> out[3];
  for (int i = 0; i < 3; ++i)
    for (const Coord &c : bases_[i]) {
      Coord nc;
      for (int32_t d : order)
        nc.push_back(c[d]);
      out[i].push_back(nc);
    }
  return LinearLayout(shape, out[0], out[1], out[2]);
}

std::optional<llvm::SmallVector<int>> registerOnlyRemap(const LinearLayout &src, const LinearLayout &dst,
                                                        const CoordMap &map) {
  using D = LinearLayout::InDim;
  // The map is linear, so when the lane and warp bases agree (after the
  // map) every thread holds the same part of the source in both layouts,
  // and only the register parts remain to be matched.
  for (D dim : {D::Lane, D::Warp}) {
    if (src.numBits(dim) != dst.numBits(dim))
      return std::nullopt;
    for (int bit = 0; bit < dst.numBits(dim); ++bit)
      if (map(dst.bases(dim)[bit]) != src.bases(dim)[bit])
        return std::nullopt;
  }
  llvm::SmallVector<int64_t> srcIndex;
  for (int r = 0; r < src.numRegisters(); ++r)
    srcIndex.push_back(src.linearIndex(src.applyPart(D::Register, r)));
  llvm::SmallVector<int> out;
  for (int r = 0; r < dst.numRegisters(); ++r) {
    int64_t want = src.linearIndex(map(dst.applyPart(D::Register, r)));
    auto it = llvm::find(srcIndex, want);
    if (it == srcIndex.end())
      return std::nullopt;
    out.push_back(it - srcIndex.begin());
  }
  return out;
}

bool LinearLayout::operator==(const LinearLayout &o) const {
  if (shape_ != o.shape_)
    return false;
  for (int i = 0; i < 3; ++i)
    if (bases_[i] != o.bases_[i])
      return false;
  return true;
}

std::string LinearLayout::str() const {
  std::string s;
  llvm::raw_string_ostream os(s);
  static const char *names[] = {"reg", "lane", "warp"};
  for (int i = 0; i < 3; ++i) {
    if (i)
      os << ", ";
    os << names[i] << " = [";
    llvm::interleaveComma(bases_[i], os, [&](const Coord &c) {
      os << "[";
      llvm::interleaveComma(c, os);
      os << "]";
    });
    os << "]";
  }
  return s;
}

} // namespace terrazzo::tzgpu
