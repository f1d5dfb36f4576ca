// tz.sort, tz.topk and tz.bitonic_merge: bitonic networks along the last
// dimension, built from the pairing helpers of TileShaping.h.
#include "CompositeBuiltins.h"
#include "TileShaping.h"

using namespace mlir;

namespace terrazzo::dsl {

using namespace composite;

namespace {

// Bitonic sort of the last dimension (a power of two, n): for each block size
// s = 2, 4, ..., n and stride d = s/2, ..., 1, every element i is paired with
// i + d (i having bit d clear) and the pair is ordered ascending when bit s of
// i is clear, descending otherwise (all ascending in the last block), flipped
// for a descending sort. Pairs are formed by splitting the dimension into
// (n / 2d, 2, d); ordering a pair is a select, so values move bit-exactly.
// firstSize = n runs only the final merge (tz.bitonic_merge of a bitonic input).
CgValue bitonicSort(KernelBuilder &kb, const CgValue &x, bool descending, SourceLoc loc, int64_t firstSize = 2) {
  std::vector<int64_t> shape = shapeOfValue(x);
  int64_t rank = shape.size(), n = shape.back();
  std::vector<int64_t> outer(shape.begin(), shape.end() - 1);
  CgValue v = x;
  for (int64_t size = std::min(firstSize, n); size <= n; size *= 2) {
    for (int64_t d = size / 2; d >= 1; d /= 2) {
      std::vector<int64_t> split = outer;
      split.insert(split.end(), {n / (2 * d), 2, d});
      CgValue pairs = reshapeTo(kb, v, split, loc);
      CgValue lo = takeAlong(kb, pairs, rank, 0, loc), hi = takeAlong(kb, pairs, rank, 1, loc); // [.., n/2d, d]
      // Bit `size` of the first element's index, per block: blocks * 2d & size.
      CgValue block = indexAlong(kb, n / (2 * d), rank - 1, rank + 1, loc);
      CgValue upward = kb.compareOp(
          CmpOpKind::Eq,
          kb.binaryOp(BinOpKind::BitAnd, kb.binaryOp(BinOpKind::Mul, block, CgValue::integer(2 * d), loc),
                      CgValue::integer(size), loc),
          CgValue::integer(0), loc);
      if (descending)
        upward = kb.unaryOp(UnaryOpKind::Not, upward, loc);
      // Swap a pair that is out of the wanted order (never an equal or NaN pair).
      CgValue swap = call(kb, "where", {upward, kb.compareOp(CmpOpKind::Gt, lo, hi, loc),
                                        kb.compareOp(CmpOpKind::Lt, lo, hi, loc)},
                          loc);
      CgValue first = call(kb, "where", {swap, hi, lo}, loc);
      CgValue second = call(kb, "where", {swap, lo, hi}, loc);
      v = reshapeTo(kb, joinAt(kb, first, second, rank, loc), shape, loc);
    }
  }
  return v;
}

int64_t sortDim(KernelBuilder &kb, Binder &b, RankedTensorType t, const char *what, SourceLoc loc) {
  int64_t dim = b.has("dim") ? normalizeAxis(kb, b.get("dim"), t.getRank(), loc) : t.getRank() - 1;
  if (dim != t.getRank() - 1)
    kb.fail(loc, std::string("tz.") + what + " sorts along the last dimension only (as Triton)");
  return dim;
}

} // namespace

void addSortBuiltins(BuiltinTable &t) {
  t["sort"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "sort", args, loc, {"x", "dim=", "descending="});
    auto tile = tileType(kb, b.get("x"), loc, "argument 'x' of tz.sort");
    sortDim(kb, b, tile, "sort", loc);
    return bitonicSort(kb, b.get("x"), flag(b, "descending"), loc);
  };
  t["topk"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // The k largest along the last dimension, largest first.
    Binder b(kb, "topk", args, loc, {"x", "k", "dim="});
    auto tile = tileType(kb, b.get("x"), loc, "argument 'x' of tz.topk");
    sortDim(kb, b, tile, "topk", loc);
    int64_t k = b.integer("k"), n = tile.getShape().back();
    if (k <= 0 || k > n || (k & (k - 1)))
      kb.fail(loc, "k of tz.topk must be a power of two from 1 to " + std::to_string(n) + ", not " + std::to_string(k));
    CgValue sorted = bitonicSort(kb, b.get("x"), /*descending=*/true, loc);
    std::vector<int64_t> blocks(tile.getShape().begin(), tile.getShape().end() - 1);
    blocks.insert(blocks.end(), {n / k, k});
    return takeAlong(kb, reshapeTo(kb, sorted, blocks, loc), tile.getRank() - 1, 0, loc);
  };
  t["bitonic_merge"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // The last stage of the bitonic sort: orders a bitonic sequence.
    Binder b(kb, "bitonic_merge", args, loc, {"x", "dim=", "descending="});
    auto tile = tileType(kb, b.get("x"), loc, "argument 'x' of tz.bitonic_merge");
    sortDim(kb, b, tile, "bitonic_merge", loc);
    return bitonicSort(kb, b.get("x"), flag(b, "descending"), loc, tile.getShape().back());
  };
}

} // namespace terrazzo::dsl
