// Tile-shaping helpers (see TileShaping.h).
//
// `takeAlong` is the primitive the others share: the element at one index of
// an axis, with that axis removed. It is a select against the axis index
// followed by an integer sum over the axis, carried out on the integer image
// of the elements (floats are bitcast), so every bit pattern — NaN payloads,
// -0.0, infinities — comes out unchanged. Splitting a dimension of n into
// (n/2, 2) with a reshape and taking both halves pairs neighbours, which is
// what a tree reduction, a prefix scan and a sorting network need.
#include "TileShaping.h"

#include <algorithm>
#include <tuple>

using namespace mlir;

namespace terrazzo::dsl::composite {

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

// The element at `index` of `axis` of tile `x`, that axis removed.
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


bool flag(Binder &b, const std::string &name) { return b.has(name) && b.integer(name); }

} // namespace terrazzo::dsl::composite
