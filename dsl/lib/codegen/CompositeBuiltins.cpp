// Builtins composed from other tz operations (see CompositeBuiltins.h).
//
// The one primitive they share is `takeAlong`: the element at index 0 or 1 of
// a size-2 axis, with that axis removed. It is a select against the axis index
// followed by an integer sum over the axis, carried out on the integer image
// of the elements (floats are bitcast), so every bit pattern — NaN payloads,
// -0.0, infinities — comes out unchanged. Splitting a dimension of n into
// (n/2, 2) with a reshape and taking both halves pairs neighbours, which is
// what a tree reduction and a prefix scan need.
#include "CompositeBuiltins.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <algorithm>
#include <map>
#include <tuple>

using namespace mlir;

namespace terrazzo::dsl {

namespace {

using Values = std::vector<CgValue>;

CgValue call(KernelBuilder &kb, const char *name, Values positional, SourceLoc loc) {
  CallArgs a;
  a.positional = std::move(positional);
  a.positionalLocs.assign(a.positional.size(), loc);
  return kb.callBuiltin(name, a, loc);
}

CgValue shapeTuple(ArrayRef<int64_t> shape) {
  Values dims;
  for (int64_t d : shape)
    dims.push_back(CgValue::integer(d));
  return CgValue::tuple(std::move(dims));
}

RankedTensorType tileType(KernelBuilder &kb, const CgValue &v, SourceLoc loc, const std::string &what) {
  Value x = kb.requireIr(v, loc, what);
  auto t = dyn_cast<RankedTensorType>(x.getType());
  if (!t)
    kb.fail(loc, what + " must be a tile, not " + kb.describe(v));
  return t;
}

std::vector<int64_t> shapeOfValue(const CgValue &v) {
  if (auto t = dyn_cast<RankedTensorType>(v.ir.getType()))
    return {t.getShape().begin(), t.getShape().end()};
  return {};
}

CgValue reshapeTo(KernelBuilder &kb, const CgValue &x, ArrayRef<int64_t> shape, SourceLoc loc) {
  return call(kb, "reshape", {x, shapeTuple(shape)}, loc);
}

// 0..n-1 laid along `axis` of a rank-`rank` tile (size 1 elsewhere).
CgValue indexAlong(KernelBuilder &kb, int64_t n, int64_t axis, int64_t rank, SourceLoc loc) {
  CgValue r = call(kb, "arange", {CgValue::integer(0), CgValue::integer(n)}, loc);
  if (rank == 1)
    return r;
  std::vector<int64_t> shape(rank, 1);
  shape[axis] = n;
  return reshapeTo(kb, r, shape, loc);
}

int64_t normalizeAxis(KernelBuilder &kb, const CgValue &axis, int64_t rank, SourceLoc loc) {
  int64_t a = kb.requireInt(axis, loc, "axis");
  if (a < -rank || a >= rank)
    kb.fail(loc, "axis " + std::to_string(a) + " is out of range for a tile of rank " + std::to_string(rank));
  return a < 0 ? a + rank : a;
}

// Elements as integers of at least 32 bits carrying their exact bits (floats
// bitcast, narrow integers widened), so a select against zero followed by a
// sum moves any value, NaN payloads and -0.0 included, unchanged.
Value toIntImage(KernelBuilder &kb, Value v, const char *what, SourceLoc loc) {
  Type elem = tz::getElementTypeOrSelf(v.getType());
  if (isa<tz::PointerType>(elem))
    kb.fail(loc, std::string(what) + " of a tile of pointers is not supported; apply it to the offsets, then add "
                                     "them to the pointer");
  auto &b = kb.builder();
  unsigned width = elem.getIntOrFloatBitWidth();
  if (isa<FloatType>(elem))
    v = kb.castTo(v, b.getIntegerType(width), loc, /*bitcast=*/true);
  if (width < 32)
    v = kb.castTo(v, b.getI32Type(), loc);
  return v;
}

Value fromIntImage(KernelBuilder &kb, Value v, Type elem, SourceLoc loc) {
  if (isa<FloatType>(elem)) {
    v = kb.castTo(v, kb.builder().getIntegerType(elem.getIntOrFloatBitWidth()), loc);
    return kb.castTo(v, elem, loc, /*bitcast=*/true);
  }
  return kb.castTo(v, elem, loc);
}

// Sum over `axis` of an integer image, removing that axis.
Value sumAlong(KernelBuilder &kb, Value w, int64_t axis, SourceLoc loc) {
  auto t = cast<RankedTensorType>(w.getType());
  SmallVector<int64_t> shape(t.getShape());
  shape.erase(shape.begin() + axis);
  Type rt = shape.empty() ? t.getElementType() : Type(RankedTensorType::get(shape, t.getElementType()));
  auto &b = kb.builder();
  return b.create<tz::ReduceOp>(kb.location(loc), rt, tz::ReduceKindAttr::get(&kb.context(), tz::ReduceKind::Sum),
                                w, b.getI32IntegerAttr(axis));
}

// The element at `index` of `axis` (size 1 or 2) of tile `x`, that axis removed.
CgValue takeAlong(KernelBuilder &kb, const CgValue &x, int64_t axis, int64_t index, SourceLoc loc) {
  auto t = cast<RankedTensorType>(x.ir.getType());
  CgValue cw = CgValue::fromIr(toIntImage(kb, x.ir, "splitting", loc));
  if (t.getDimSize(axis) > 1) {
    CgValue at = kb.compareOp(CmpOpKind::Eq, indexAlong(kb, t.getDimSize(axis), axis, t.getRank(), loc),
                              CgValue::integer(index), loc);
    cw = call(kb, "where", {at, cw, CgValue::integer(0)}, loc);
  }
  return CgValue::fromIr(fromIntImage(kb, sumAlong(kb, cw.ir, axis, loc), t.getElementType(), loc));
}

// gather: out[..., i, ...] = src[..., index[..., i, ...], ...] along `axis`,
// as a one-hot selection over a new source axis next to it.
CgValue gather(KernelBuilder &kb, const CgValue &src, const CgValue &index, const CgValue &axisArg, SourceLoc loc) {
  auto ts = tileType(kb, src, loc, "argument 'src' of tz.gather");
  auto ti = tileType(kb, index, loc, "argument 'index' of tz.gather");
  if (!isa<IntegerType>(ti.getElementType()))
    kb.fail(loc, "the index of tz.gather must be an integer tile, not " + kb.typeName(ti));
  if (ts.getRank() != ti.getRank())
    kb.fail(loc, "tz.gather needs src and index of one rank, not " + kb.typeName(ts) + " and " + kb.typeName(ti));
  int64_t axis = normalizeAxis(kb, axisArg, ts.getRank(), loc);
  for (int64_t d = 0; d < ts.getRank(); ++d)
    if (d != axis && ts.getDimSize(d) != ti.getDimSize(d))
      kb.fail(loc, "tz.gather: index dimension " + std::to_string(d) + " must match the source's (" +
                       kb.typeName(ts) + " and " + kb.typeName(ti) + ")");
  int64_t rank = ts.getRank();
  CgValue image = CgValue::fromIr(toIntImage(kb, src.ir, "tz.gather", loc));
  CgValue sources = call(kb, "expand_dims", {image, CgValue::integer(axis)}, loc);          // [.., 1, N, ..]
  CgValue wanted = call(kb, "expand_dims", {index, CgValue::integer(axis + 1)}, loc);       // [.., K, 1, ..]
  CgValue hit = kb.compareOp(CmpOpKind::Eq, wanted, indexAlong(kb, ts.getDimSize(axis), axis + 1, rank + 1, loc), loc);
  CgValue picked = call(kb, "where", {hit, sources, CgValue::integer(0)}, loc);            // [.., K, N, ..]
  return CgValue::fromIr(fromIntImage(kb, sumAlong(kb, picked.ir, axis + 1, loc), ts.getElementType(), loc));
}

// a and b (broadcast together) stacked along a new dimension of 2 inserted at
// `pos` (their rank: a new minor dimension, as tz.join). Built with
// expand_dims and a select, so no transpose is needed wherever it goes.
CgValue joinAt(KernelBuilder &kb, const CgValue &a, const CgValue &b, int64_t pos, SourceLoc loc) {
  Value x, y;
  if (a.isIr() && b.isIr() && a.ir.getType() == b.ir.getType()) {
    x = a.ir;
    y = b.ir;
  } else {
    std::tie(x, y) = kb.unify(a, b, loc, "tz.join");
  }
  CgValue cx = call(kb, "expand_dims", {CgValue::fromIr(x), CgValue::integer(pos)}, loc);
  CgValue cy = call(kb, "expand_dims", {CgValue::fromIr(y), CgValue::integer(pos)}, loc);
  std::vector<int64_t> shape = shapeOfValue(cx);
  shape[pos] = 2;
  cx = CgValue::fromIr(kb.broadcastTo(cx.ir, shape, loc));
  cy = CgValue::fromIr(kb.broadcastTo(cy.ir, shape, loc));
  CgValue first =
      kb.compareOp(CmpOpKind::Eq, indexAlong(kb, 2, pos, shape.size(), loc), CgValue::integer(0), loc);
  return call(kb, "where", {first, cx, cy}, loc);
}

CgValue join(KernelBuilder &kb, const CgValue &a, const CgValue &b, SourceLoc loc) {
  int64_t rank = std::max(a.isIr() ? (int64_t)shapeOfValue(a).size() : 0,
                          b.isIr() ? (int64_t)shapeOfValue(b).size() : 0);
  return joinAt(kb, a, b, rank, loc);
}

// Tiles e and o of one shape interleaved along `axis`: result[2i] = e[i],
// result[2i+1] = o[i].
CgValue interleaveAlong(KernelBuilder &kb, const CgValue &e, const CgValue &o, int64_t axis, SourceLoc loc) {
  std::vector<int64_t> shape = shapeOfValue(e);
  CgValue c = joinAt(kb, e, o, axis + 1, loc);
  shape[axis] *= 2;
  return reshapeTo(kb, c, shape, loc);
}

// Neighbouring pairs along `axis`: (x[2i], x[2i+1]) as two tiles.
std::pair<CgValue, CgValue> pairsAlong(KernelBuilder &kb, const CgValue &x, int64_t axis, SourceLoc loc) {
  std::vector<int64_t> shape = shapeOfValue(x);
  std::vector<int64_t> split(shape.begin(), shape.begin() + axis);
  split.push_back(shape[axis] / 2);
  split.push_back(2);
  split.insert(split.end(), shape.begin() + axis + 1, shape.end());
  CgValue pairs = reshapeTo(kb, x, split, loc);
  return {takeAlong(kb, pairs, axis + 1, 0, loc), takeAlong(kb, pairs, axis + 1, 1, loc)};
}

CgValue flipAlong(KernelBuilder &kb, const CgValue &x, int64_t axis, SourceLoc loc) {
  std::vector<int64_t> shape = shapeOfValue(x);
  int64_t steps = 0;
  while ((int64_t(1) << steps) < shape[axis])
    ++steps;
  // Index bits of `axis` as `steps` dimensions of 2; reversing the index flips every bit.
  std::vector<int64_t> bits(shape.begin(), shape.begin() + axis);
  bits.insert(bits.end(), steps, 2);
  bits.insert(bits.end(), shape.begin() + axis + 1, shape.end());
  CgValue y = reshapeTo(kb, x, bits, loc);
  for (int64_t i = 0; i < steps; ++i) {
    y = joinAt(kb, takeAlong(kb, y, axis + i, 1, loc), takeAlong(kb, y, axis + i, 0, loc), axis + i, loc);
  }
  return reshapeTo(kb, y, shape, loc);
}

// A combine step: left and right groups (one value per input) to one group.
using Combine = std::function<Values(const Values &left, const Values &right)>;

Combine userCombine(KernelBuilder &kb, const CgValue &fn, const char *what, SourceLoc loc) {
  if (fn.kind != CgValue::Kind::Function && fn.kind != CgValue::Kind::Builtin)
    kb.fail(loc, std::string("combine_fn of tz.") + what + " must be a @jit function, not " + kb.describe(fn));
  return [&kb, fn, what, loc](const Values &left, const Values &right) {
    CallArgs a;
    a.positional = left;
    a.positional.insert(a.positional.end(), right.begin(), right.end());
    a.positionalLocs.assign(a.positional.size(), loc);
    CgValue r = kb.callValue(fn, a, loc);
    Values out = r.kind == CgValue::Kind::Tuple ? r.elems : Values{r};
    if (out.size() != left.size())
      kb.fail(loc, std::string("the combine_fn of tz.") + what + " returned " + std::to_string(out.size()) +
                       " values for " + std::to_string(left.size()) + " inputs");
    std::vector<int64_t> shape = shapeOfValue(left[0]);
    for (size_t i = 0; i < out.size(); ++i) {
      Value v = out[i].isIr() ? out[i].ir : kb.materializeAs(out[i], left[i].ir.getType(), loc);
      out[i] = CgValue::fromIr(kb.broadcastTo(v, shape, loc));
    }
    return out;
  };
}

Values inputsOf(KernelBuilder &kb, const CgValue &input, const char *what, SourceLoc loc) {
  Values xs = input.kind == CgValue::Kind::Tuple ? input.elems : Values{input};
  if (xs.empty())
    kb.fail(loc, std::string("tz.") + what + " needs at least one input tile");
  auto first = tileType(kb, xs[0], loc, std::string("the input of tz.") + what);
  for (auto &x : xs) {
    auto t = tileType(kb, x, loc, std::string("the input of tz.") + what);
    if (t.getShape() != first.getShape())
      kb.fail(loc, std::string("the inputs of tz.") + what + " must have one shape, not " + kb.typeName(first) +
                       " and " + kb.typeName(t));
  }
  return xs;
}


// Tree reduction along `axis`, combining neighbours so that the combine
// function always sees a left group that precedes its right group.
Values treeReduce(KernelBuilder &kb, Values xs, int64_t axis, const Combine &combine, SourceLoc loc) {
  while (shapeOfValue(xs[0])[axis] > 1) {
    Values lo, hi;
    for (auto &x : xs) {
      auto [a, b] = pairsAlong(kb, x, axis, loc);
      lo.push_back(a);
      hi.push_back(b);
    }
    xs = combine(lo, hi);
  }
  for (auto &x : xs)
    x = takeAlong(kb, x, axis, 0, loc);
  return xs;
}

CgValue reduceBuiltin(KernelBuilder &kb, const CgValue &input, const CgValue &axisArg, bool keepDims,
                      const Combine &combine, const char *what, SourceLoc loc) {
  Values xs = inputsOf(kb, input, what, loc);
  std::vector<int64_t> shape = shapeOfValue(xs[0]);
  int64_t axis = 0;
  if (axisArg.kind == CgValue::Kind::None) {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    for (auto &x : xs)
      x = reshapeTo(kb, x, {n}, loc);
  } else {
    axis = normalizeAxis(kb, axisArg, shape.size(), loc);
  }
  xs = treeReduce(kb, xs, axis, combine, loc);
  if (keepDims)
    for (auto &x : xs) {
      if (axisArg.kind == CgValue::Kind::None)
        x = CgValue::fromIr(kb.broadcastTo(x.ir, std::vector<int64_t>(shape.size(), 1), loc));
      else
        x = call(kb, "expand_dims", {x, CgValue::integer(axis)}, loc);
    }
  return input.kind == CgValue::Kind::Tuple ? CgValue::tuple(xs) : xs[0];
}

// Inclusive scan along `axis` by pairing neighbours: scan the pair sums, then
// fill in the even positions. Returns the scan and the scan shifted by one
// (position i holds scan[i-1]; position 0 holds an unused value).
std::pair<Values, Values> pairScan(KernelBuilder &kb, const Values &xs, int64_t axis, const Combine &combine,
                                   SourceLoc loc) {
  std::vector<int64_t> shape = shapeOfValue(xs[0]);
  if (shape[axis] == 1)
    return {xs, xs};
  Values even, odd;
  for (auto &x : xs) {
    auto [a, b] = pairsAlong(kb, x, axis, loc);
    even.push_back(a);
    odd.push_back(b);
  }
  auto [scanned, shifted] = pairScan(kb, combine(even, odd), axis, combine, loc);
  // scanned[i] covers x[0..2i+1]; shifted[i] = scanned[i-1] covers x[0..2i-1].
  Values withEven = combine(shifted, even);
  CgValue first = kb.compareOp(CmpOpKind::Eq, indexAlong(kb, shape[axis] / 2, axis, shape.size(), loc),
                               CgValue::integer(0), loc);
  Values inc, incShifted;
  for (size_t i = 0; i < xs.size(); ++i) {
    CgValue evenOut = call(kb, "where", {first, even[i], withEven[i]}, loc);
    inc.push_back(interleaveAlong(kb, evenOut, scanned[i], axis, loc));
    incShifted.push_back(interleaveAlong(kb, shifted[i], evenOut, axis, loc));
  }
  return {inc, incShifted};
}

CgValue scanBuiltin(KernelBuilder &kb, const CgValue &input, const CgValue &axisArg, bool reverse,
                    const Combine &combine, const char *what, SourceLoc loc) {
  Values xs = inputsOf(kb, input, what, loc);
  int64_t axis = normalizeAxis(kb, axisArg, shapeOfValue(xs[0]).size(), loc);
  if (reverse) {
    // As Triton: a forward scan of the flipped input, flipped back (the
    // combine's left group is the one accumulated from the end).
    for (auto &x : xs)
      x = flipAlong(kb, x, axis, loc);
  }
  Values out = pairScan(kb, xs, axis, combine, loc).first;
  if (reverse)
    for (auto &x : out)
      x = flipAlong(kb, x, axis, loc);
  return input.kind == CgValue::Kind::Tuple ? CgValue::tuple(out) : out[0];
}

bool flag(Binder &b, const std::string &name) { return b.has(name) && b.integer(name); }

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

// The high 32 bits of the unsigned 64-bit product of two 32-bit integers
// (zero-extended into int64, multiplied, shifted).
CgValue umulhi32(KernelBuilder &kb, const CgValue &a, const CgValue &b, SourceLoc loc) {
  auto [x, y] = kb.unify(a, b, loc, "tz.umulhi");
  if (!tz::getElementTypeOrSelf(x.getType()).isInteger(32))
    kb.fail(loc, "tz.umulhi needs int32 operands, not " + kb.typeName(x.getType()));
  auto &bd = kb.builder();
  CgValue low32 = CgValue::integer(0xFFFFFFFFll);
  CgValue wx = kb.binaryOp(BinOpKind::BitAnd, CgValue::fromIr(kb.castTo(x, bd.getI64Type(), loc)), low32, loc);
  CgValue wy = kb.binaryOp(BinOpKind::BitAnd, CgValue::fromIr(kb.castTo(y, bd.getI64Type(), loc)), low32, loc);
  CgValue hi = kb.binaryOp(BinOpKind::RShift, kb.binaryOp(BinOpKind::Mul, wx, wy, loc), CgValue::integer(32), loc);
  return CgValue::fromIr(kb.castTo(hi.ir, bd.getI32Type(), loc));
}

// --- Philox4x32 random numbers (Salmon et al., "Parallel random numbers: as
// easy as 1, 2, 3", SC'11), on int32 values holding the uint32 bit patterns.

CgValue int32Constant(KernelBuilder &kb, uint32_t bits, SourceLoc loc) {
  return CgValue::fromIr(kb.constantScalar(kb.builder().getI32Type(), (double)(int32_t)bits, loc));
}

CgValue asInt32(KernelBuilder &kb, const CgValue &v, SourceLoc loc, const char *what) {
  Value x = kb.requireIr(v.isIr() ? v : CgValue::fromIr(kb.materialize(v, loc)), loc, what);
  if (!isa<IntegerType>(tz::getElementTypeOrSelf(x.getType())))
    kb.fail(loc, std::string(what) + " must be an integer, not " + kb.typeName(x.getType()));
  return CgValue::fromIr(kb.castTo(x, kb.builder().getI32Type(), loc));
}

// `rounds` rounds on the counter (c0..c3) under the key (k0, k1).
Values philoxRounds(KernelBuilder &kb, Values c, CgValue k0, CgValue k1, int64_t rounds, SourceLoc loc) {
  const uint32_t roundA = 0xD2511F53, roundB = 0xCD9E8D57, keyA = 0x9E3779B9, keyB = 0xBB67AE85;
  auto op = [&](BinOpKind k, const CgValue &x, const CgValue &y) { return kb.binaryOp(k, x, y, loc); };
  CgValue a = int32Constant(kb, roundA, loc), bconst = int32Constant(kb, roundB, loc);
  for (int64_t r = 0; r < rounds; ++r) {
    CgValue c0 = c[0], c2 = c[2];
    c[0] = op(BinOpKind::BitXor, op(BinOpKind::BitXor, umulhi32(kb, bconst, c2, loc), c[1]), k0);
    c[2] = op(BinOpKind::BitXor, op(BinOpKind::BitXor, umulhi32(kb, a, c0, loc), c[3]), k1);
    c[1] = op(BinOpKind::Mul, bconst, c2);
    c[3] = op(BinOpKind::Mul, a, c0);
    k0 = op(BinOpKind::Add, k0, int32Constant(kb, keyA, loc));
    k1 = op(BinOpKind::Add, k1, int32Constant(kb, keyB, loc));
  }
  for (auto &v : c) // scalars and tiles alike
    v = CgValue::fromIr(kb.materializeAs(v, kb.materialize(c[0], loc).getType(), loc));
  return c;
}

// philox(seed, c0, c1, c2, c3): the seed's low and high 32 bits are the key.
Values philox(KernelBuilder &kb, const CgValue &seed, Values counters, int64_t rounds, SourceLoc loc) {
  Value s = kb.requireIr(seed.isIr() ? seed : CgValue::fromIr(kb.materialize(seed, loc)), loc, "seed");
  if (!isa<IntegerType>(s.getType()))
    kb.fail(loc, "the seed must be an integer scalar, not " + kb.typeName(s.getType()));
  CgValue s64 = CgValue::fromIr(kb.castTo(s, kb.builder().getI64Type(), loc));
  CgValue lo = CgValue::fromIr(kb.castTo(s64.ir, kb.builder().getI32Type(), loc));
  CgValue hi = CgValue::fromIr(
      kb.castTo(kb.binaryOp(BinOpKind::RShift, s64, CgValue::integer(32), loc).ir, kb.builder().getI32Type(), loc));
  // All four counters take one shape.
  std::vector<int64_t> shape;
  for (auto &c : counters)
    if (c.isIr())
      shape = kb.broadcastShapes(shape, shapeOfValue(c), loc, "philox");
  for (auto &c : counters) {
    if (c.isIr() && tz::getElementTypeOrSelf(c.ir.getType()).getIntOrFloatBitWidth() > 32)
      kb.fail(loc, "tz.philox supports 32-bit counters, not " + kb.typeName(c.ir.getType()));
    c = CgValue::fromIr(kb.broadcastTo(asInt32(kb, c, loc, "a philox counter").ir, shape, loc));
  }
  return philoxRounds(kb, counters, lo, hi, rounds, loc);
}

// randint4x: the counter is (offset low bits, offset high bits, 0, 0).
Values randint4x(KernelBuilder &kb, const CgValue &seed, const CgValue &offset, int64_t rounds, SourceLoc loc) {
  Value off = kb.requireIr(offset.isIr() ? offset : CgValue::fromIr(kb.materialize(offset, loc)), loc, "offset");
  if (!isa<IntegerType>(tz::getElementTypeOrSelf(off.getType())))
    kb.fail(loc, "the offset must be an integer, not " + kb.typeName(off.getType()));
  CgValue lo = asInt32(kb, CgValue::fromIr(off), loc, "offset");
  CgValue zero = kb.binaryOp(BinOpKind::Mul, lo, CgValue::integer(0), loc);
  CgValue hi = zero;
  if (tz::getElementTypeOrSelf(off.getType()).getIntOrFloatBitWidth() > 32)
    hi = asInt32(kb, kb.binaryOp(BinOpKind::RShift, CgValue::fromIr(off), CgValue::integer(32), loc), loc, "offset");
  return philox(kb, seed, {lo, hi, zero, zero}, rounds, loc);
}

// A uniform float in [0, 1) from 32 random bits, as Triton: fold the signed
// value to non-negative, then scale by the largest factor keeping it below 1.
CgValue uniformFromBits(KernelBuilder &kb, const CgValue &bits, SourceLoc loc) {
  CgValue x = asInt32(kb, bits, loc, "the random bits");
  CgValue negative = kb.compareOp(CmpOpKind::Lt, x, CgValue::integer(0), loc);
  CgValue folded = kb.binaryOp(BinOpKind::Sub, kb.unaryOp(UnaryOpKind::Neg, x, loc), CgValue::integer(1), loc);
  CgValue nonNegative = call(kb, "where", {negative, folded, x}, loc);
  return kb.binaryOp(BinOpKind::Mul, nonNegative, CgValue::floating(4.6566127342e-10), loc);
}

// Box-Muller: two uniforms to two standard normals.
std::pair<CgValue, CgValue> normalPair(KernelBuilder &kb, const CgValue &u1, const CgValue &u2, SourceLoc loc) {
  auto op = [&](BinOpKind k, const CgValue &x, const CgValue &y) { return kb.binaryOp(k, x, y, loc); };
  CgValue u = call(kb, "maximum", {CgValue::floating(1.0e-7), u1}, loc);
  CgValue theta = op(BinOpKind::Mul, CgValue::floating(6.283185307179586), u2);
  CgValue r = call(kb, "sqrt", {op(BinOpKind::Mul, CgValue::floating(-2.0), call(kb, "log", {u}, loc))}, loc);
  return {op(BinOpKind::Mul, r, call(kb, "cos", {theta}, loc)), op(BinOpKind::Mul, r, call(kb, "sin", {theta}, loc))};
}

int64_t roundsArg(Binder &b) { return b.has("n_rounds") ? b.integer("n_rounds") : 10; }

} // namespace

std::string unsupportedTritonName(const std::string &name) {
  static const std::map<std::string, std::string> reasons = {
      {"dot_scaled", "tl.dot_scaled (microscaled fp8/fp4 dot) is not supported by terrazzo"},
      {"inline_asm_elementwise", "tl.inline_asm_elementwise is not supported by terrazzo (the interpreter cannot run PTX)"},
      {"map_elementwise", "tl.map_elementwise is not supported by terrazzo"},
      {"uint8", "unsigned integer dtype tl.uint8 is not supported by terrazzo"},
      {"uint16", "unsigned integer dtype tl.uint16 is not supported by terrazzo"},
      {"uint32", "unsigned integer dtype tl.uint32 is not supported by terrazzo"},
      {"uint64", "unsigned integer dtype tl.uint64 is not supported by terrazzo"},
      {"float8e4nv", "fp8 dtype tl.float8e4nv is not supported by terrazzo yet"},
      {"float8e5", "fp8 dtype tl.float8e5 is not supported by terrazzo yet"},
      {"float8e4b15", "fp8 dtype tl.float8e4b15 is not supported by terrazzo yet"},
      {"float8e4b8", "fp8 dtype tl.float8e4b8 is not supported by terrazzo yet"},
      {"float8e5b16", "fp8 dtype tl.float8e5b16 is not supported by terrazzo yet"},
      {"slice", "tl.slice is not supported by terrazzo"},
      {"condition", "tl.condition is not supported by terrazzo"},
      {"tensor", "tl.tensor is a type: it is only accepted as an annotation"},
      {"tensor_descriptor", "tl.tensor_descriptor is a type: it is only accepted as an annotation"},
      {"block_type", "tl.block_type is a type: it is only accepted as an annotation"},
      {"pointer_type", "tl.pointer_type is not supported inside terrazzo kernels"},
      {"const", "tl.const is a type: it is only accepted as an annotation"},
      {"void", "tl.void is not supported inside terrazzo kernels"},
      {"constexpr_type", "tl.constexpr_type is not supported inside terrazzo kernels"},
      {"pi32_t", "tl.pi32_t is not supported inside terrazzo kernels"},
      {"target_info", "tl.target_info is not supported by terrazzo"},
      {"PropagateNan", "tl.PropagateNan is not supported inside terrazzo kernels (NaN always propagates)"},
  };
  auto it = reasons.find(name);
  return it == reasons.end() ? std::string() : it->second;
}

void addCompositeBuiltins(BuiltinTable &t) {
  t["join"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "join", args, loc, {"a", "b"});
    return join(kb, b.get("a"), b.get("b"), loc);
  };
  t["gather"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "gather", args, loc, {"src", "index", "axis"});
    return gather(kb, b.get("src"), b.get("index"), b.get("axis"), loc);
  };
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
  t["tuple"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // tl.tuple(iterable): the same elements as a tuple.
    Binder b(kb, "tuple", args, loc, {"args"});
    CgValue v = b.get("args");
    if (v.kind != CgValue::Kind::Tuple)
      kb.fail(loc, "tz.tuple needs a tuple or list, not " + kb.describe(v));
    return v;
  };
  t["split"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "split", args, loc, {"a"});
    auto tile = tileType(kb, b.get("a"), loc, "the argument of tz.split");
    if (tile.getShape().back() != 2)
      kb.fail(loc, "tz.split needs a tile whose last dimension is 2, not " + kb.typeName(tile));
    int64_t last = tile.getRank() - 1;
    return CgValue::tuple({takeAlong(kb, b.get("a"), last, 0, loc), takeAlong(kb, b.get("a"), last, 1, loc)});
  };
  t["interleave"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "interleave", args, loc, {"a", "b"});
    CgValue c = join(kb, b.get("a"), b.get("b"), loc);
    std::vector<int64_t> shape = shapeOfValue(c);
    if (shape.size() == 1)
      return c;
    shape.pop_back();
    shape.back() *= 2;
    return reshapeTo(kb, c, shape, loc);
  };
  t["cat"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // Triton only promises the elements of both (can_reorder); these are in
    // order, `input` first, along dimension 0.
    Binder b(kb, "cat", args, loc, {"input", "other", "can_reorder="});
    auto ta = tileType(kb, b.get("input"), loc, "argument 'input' of tz.cat");
    auto tb = tileType(kb, b.get("other"), loc, "argument 'other' of tz.cat");
    if (ta.getShape() != tb.getShape())
      kb.fail(loc, "tz.cat needs two tiles of one shape, not " + kb.typeName(ta) + " and " + kb.typeName(tb));
    CgValue c = joinAt(kb, b.get("input"), b.get("other"), 0, loc);
    std::vector<int64_t> shape(ta.getShape());
    shape[0] *= 2;
    return reshapeTo(kb, c, shape, loc);
  };
  t["flip"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "flip", args, loc, {"x", "dim="});
    auto tile = tileType(kb, b.get("x"), loc, "argument 'x' of tz.flip");
    int64_t dim = b.has("dim") ? normalizeAxis(kb, b.get("dim"), tile.getRank(), loc) : tile.getRank() - 1;
    return flipAlong(kb, b.get("x"), dim, loc);
  };
  t["ravel"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "ravel", args, loc, {"x", "can_reorder="});
    auto tile = tileType(kb, b.get("x"), loc, "argument 'x' of tz.ravel");
    return reshapeTo(kb, b.get("x"), {tile.getNumElements()}, loc);
  };

  t["reduce"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "reduce", args, loc, {"input", "axis", "combine_fn", "keep_dims="});
    return reduceBuiltin(kb, b.get("input"), b.get("axis"), flag(b, "keep_dims"),
                         userCombine(kb, b.get("combine_fn"), "reduce", loc), "reduce", loc);
  };
  t["associative_scan"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "associative_scan", args, loc, {"input", "axis", "combine_fn", "reverse="});
    return scanBuiltin(kb, b.get("input"), b.get("axis"), flag(b, "reverse"),
                       userCombine(kb, b.get("combine_fn"), "associative_scan", loc), "associative_scan", loc);
  };
  t["reduce_or"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "reduce_or", args, loc, {"input", "axis", "keep_dims="});
    auto tile = tileType(kb, b.get("input"), loc, "argument 'input' of tz.reduce_or");
    if (!isa<IntegerType>(tile.getElementType()))
      kb.fail(loc, "tz.reduce_or needs integer elements, not " + kb.typeName(tile.getElementType()));
    Combine orCombine = [&kb, loc](const Values &l, const Values &r) {
      return Values{kb.binaryOp(BinOpKind::BitOr, l[0], r[0], loc)};
    };
    return reduceBuiltin(kb, b.get("input"), b.get("axis"), flag(b, "keep_dims"), orCombine, "reduce_or", loc);
  };

  t["histogram"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "histogram", args, loc, {"input", "num_bins", "mask="});
    auto tile = tileType(kb, b.get("input"), loc, "argument 'input' of tz.histogram");
    if (tile.getRank() != 1 || !isa<IntegerType>(tile.getElementType()))
      kb.fail(loc, "tz.histogram needs a 1-D integer tile, not " + kb.typeName(tile));
    int64_t bins = b.integer("num_bins");
    // One row per element, one column per bin: count the matches per column.
    CgValue values = call(kb, "expand_dims", {b.get("input"), CgValue::integer(1)}, loc);
    CgValue binIds = call(kb, "expand_dims", {call(kb, "arange", {CgValue::integer(0), CgValue::integer(bins)}, loc),
                                              CgValue::integer(0)},
                          loc);
    CgValue hits = kb.compareOp(CmpOpKind::Eq, values, binIds, loc);
    if (b.has("mask")) {
      CgValue mask = CgValue::fromIr(kb.castTo(b.ir("mask"), kb.builder().getI1Type(), loc));
      hits = kb.binaryOp(BinOpKind::BitAnd, hits, call(kb, "expand_dims", {mask, CgValue::integer(1)}, loc), loc);
    }
    CgValue counts = CgValue::fromIr(kb.castTo(hits.ir, kb.builder().getI32Type(), loc));
    return call(kb, "sum", {counts, CgValue::integer(0)}, loc);
  };

  t["softmax"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // As triton.language.standard.softmax: the max and the sum are taken along
    // dim (0 when None) and broadcast back by the usual rules.
    Binder b(kb, "softmax", args, loc, {"x", "dim=", "keep_dims=", "ieee_rounding="});
    CgValue dim = b.has("dim") ? b.get("dim") : CgValue::integer(0);
    CallArgs maxArgs;
    maxArgs.positional = {b.get("x"), dim};
    maxArgs.positionalLocs = {loc, loc};
    maxArgs.keywords = {{"keep_dims", CgValue::boolean(flag(b, "keep_dims"))}};
    CgValue z = kb.binaryOp(BinOpKind::Sub, b.get("x"), kb.callBuiltin("max", maxArgs, loc), loc);
    CgValue num = call(kb, "exp", {z}, loc);
    CallArgs sumArgs = maxArgs;
    sumArgs.positional[0] = num;
    return kb.binaryOp(BinOpKind::Div, num, kb.callBuiltin("sum", sumArgs, loc), loc);
  };
  t["swizzle2d"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // Row-major (i, j) of a size_i x size_j grid renumbered so that groups of
    // size_g rows are walked column by column.
    Binder b(kb, "swizzle2d", args, loc, {"i", "j", "size_i", "size_j", "size_g"});
    auto op = [&](BinOpKind k, const CgValue &x, const CgValue &y) { return kb.binaryOp(k, x, y, loc); };
    CgValue ij = op(BinOpKind::Add, op(BinOpKind::Mul, b.get("i"), b.get("size_j")), b.get("j"));
    CgValue perGroup = op(BinOpKind::Mul, b.get("size_g"), b.get("size_j"));
    CgValue firstRow = op(BinOpKind::Mul, op(BinOpKind::FloorDiv, ij, perGroup), b.get("size_g"));
    CallArgs m;
    m.positional = {op(BinOpKind::Sub, b.get("size_i"), firstRow), b.get("size_g")};
    m.positionalLocs = {loc, loc};
    CgValue groupRows = kb.callBuiltin("minimum", m, loc);
    CgValue inGroup = op(BinOpKind::Mod, ij, perGroup);
    return CgValue::tuple({op(BinOpKind::Add, firstRow, op(BinOpKind::Mod, inGroup, groupRows)),
                           op(BinOpKind::FloorDiv, inGroup, groupRows)});
  };
  t["umulhi"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "umulhi", args, loc, {"x", "y"});
    return umulhi32(kb, b.get("x"), b.get("y"), loc);
  };
  auto arithmetic = [](const char *name, BinOpKind k) {
    return [name, k](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, name, args, loc, {"x", "y", "sanitize_overflow="});
      return kb.binaryOp(k, b.get("x"), b.get("y"), loc);
    };
  };
  t["add"] = arithmetic("add", BinOpKind::Add);
  t["sub"] = arithmetic("sub", BinOpKind::Sub);
  t["mul"] = arithmetic("mul", BinOpKind::Mul);
  t["philox"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "philox", args, loc, {"seed", "c0", "c1", "c2", "c3", "n_rounds="});
    return CgValue::tuple(philox(kb, b.get("seed"), {b.get("c0"), b.get("c1"), b.get("c2"), b.get("c3")},
                                 roundsArg(b), loc));
  };
  t["philox_impl"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "philox_impl", args, loc, {"c0", "c1", "c2", "c3", "k0", "k1", "n_rounds="});
    Values c = {b.get("c0"), b.get("c1"), b.get("c2"), b.get("c3")};
    for (auto &v : c)
      v = asInt32(kb, v, loc, "a philox counter");
    return CgValue::tuple(philoxRounds(kb, c, asInt32(kb, b.get("k0"), loc, "k0"),
                                       asInt32(kb, b.get("k1"), loc, "k1"), roundsArg(b), loc));
  };
  auto random = [](const char *name, int outputs, int kind) {
    // kind 0: int32 bits, 1: uniform floats, 2: normal floats.
    return [name, outputs, kind](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
      Binder b(kb, name, args, loc, {"seed", "offset", "n_rounds="});
      Values bits = randint4x(kb, b.get("seed"), b.get("offset"), roundsArg(b), loc);
      Values out;
      if (kind == 0) {
        out = bits;
      } else if (kind == 1) {
        for (auto &v : bits)
          out.push_back(uniformFromBits(kb, v, loc));
      } else {
        auto [n0, n1] = normalPair(kb, uniformFromBits(kb, bits[0], loc), uniformFromBits(kb, bits[1], loc), loc);
        auto [n2, n3] = normalPair(kb, uniformFromBits(kb, bits[2], loc), uniformFromBits(kb, bits[3], loc), loc);
        out = {n0, n1, n2, n3};
      }
      if (outputs == 1)
        return out[0];
      return CgValue::tuple(out);
    };
  };
  t["randint"] = random("randint", 1, 0);
  t["randint4x"] = random("randint4x", 4, 0);
  t["rand"] = random("rand", 1, 1);
  t["rand4x"] = random("rand4x", 4, 1);
  t["randn"] = random("randn", 1, 2);
  t["randn4x"] = random("randn4x", 4, 2);
  t["uint_to_uniform_float"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "uint_to_uniform_float", args, loc, {"x"});
    Type elem = tz::getElementTypeOrSelf(b.ir("x").getType());
    if (!elem.isInteger(32))
      kb.fail(loc, "tz.uint_to_uniform_float supports 32-bit integers, not " + kb.typeName(elem));
    return uniformFromBits(kb, b.get("x"), loc);
  };
  t["pair_uniform_to_normal"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "pair_uniform_to_normal", args, loc, {"u1", "u2"});
    auto [n1, n2] = normalPair(kb, b.get("u1"), b.get("u2"), loc);
    return CgValue::tuple({n1, n2});
  };
  t["assume"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    // A promise to the optimizer; nothing here uses it.
    Binder b(kb, "assume", args, loc, {"cond"});
    (void)b;
    return CgValue::none();
  };
}

} // namespace terrazzo::dsl
