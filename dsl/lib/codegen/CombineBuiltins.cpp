// tz.reduce and tz.associative_scan with a user combine function, and
// tz.reduce_or, as trees over neighbouring pairs (see TileShaping.h): the
// combine function always sees a left group that precedes its right group,
// so any associative combine gives a left-to-right fold's result.
#include "CompositeBuiltins.h"
#include "TileShaping.h"

#include <functional>

using namespace mlir;

namespace terrazzo::dsl {

using namespace composite;

namespace {

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


} // namespace

void addCombineBuiltins(BuiltinTable &t) {
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
}

} // namespace terrazzo::dsl
