// Triton's counter-based random numbers (Philox4x32, tz.rand/randn/randint
// and their helpers) and tz.umulhi, on int32 values holding uint32 bits.
#include "CompositeBuiltins.h"
#include "TileShaping.h"

using namespace mlir;

namespace terrazzo::dsl {

namespace composite {

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

} // namespace composite

using namespace composite;

namespace {

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

void addRandomBuiltins(BuiltinTable &t) {
  t["umulhi"] = [](KernelBuilder &kb, CallArgs &args, SourceLoc loc) {
    Binder b(kb, "umulhi", args, loc, {"x", "y"});
    return umulhi32(kb, b.get("x"), b.get("y"), loc);
  };
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
}

} // namespace terrazzo::dsl
