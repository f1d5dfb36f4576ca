//===- Combine.cpp - combining functions of reductions and scans ---------===//
#include "Combine.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {

namespace {
Value isNaN(OpBuilder &b, Location loc, Value v) {
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, v, v);
}

// c beats a for argmax (isMax) or argmin: strictly better, or NaN over a
// number; equal values (and two NaNs) go to the smaller index.
Partial argCombine(OpBuilder &b, Location loc, bool isMax, Partial a, Partial c) {
  Type t = a.value.getType();
  Value better, equal;
  if (isa<FloatType>(t)) {
    better = arith::CmpFOp::create(b, loc, isMax ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT, c.value,
                                   a.value);
    Value cNaN = isNaN(b, loc, c.value), aNaN = isNaN(b, loc, a.value);
    Value notANaN = arith::XOrIOp::create(b, loc, aNaN, arith::ConstantIntOp::create(b, loc, 1, 1));
    better = arith::OrIOp::create(b, loc, arith::AndIOp::create(b, loc, better, notANaN),
                                  arith::AndIOp::create(b, loc, cNaN, notANaN));
    equal = arith::OrIOp::create(b, loc, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, c.value, a.value),
                                 arith::AndIOp::create(b, loc, cNaN, aNaN));
  } else {
    bool i1 = t.isInteger(1);
    auto gt = i1 ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt;
    auto lt = i1 ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt;
    better = arith::CmpIOp::create(b, loc, isMax ? gt : lt, c.value, a.value);
    equal = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, c.value, a.value);
  }
  Value earlier = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, c.index, a.index);
  Value takeC = arith::OrIOp::create(b, loc, better, arith::AndIOp::create(b, loc, equal, earlier));
  return {arith::SelectOp::create(b, loc, takeC, c.value, a.value),
          arith::SelectOp::create(b, loc, takeC, c.index, a.index)};
}
} // namespace

Partial combine(OpBuilder &b, Location loc, tz::ReduceKind kind, Partial a, Partial c) {
  Type t = a.value.getType();
  bool isFloat = isa<FloatType>(t);
  bool i1 = t.isInteger(1);
  switch (kind) {
  case tz::ReduceKind::Sum:
    if (i1)
      return {arith::XOrIOp::create(b, loc, a.value, c.value), {}};
    return {isFloat ? (Value)arith::AddFOp::create(b, loc, a.value, c.value)
                    : (Value)arith::AddIOp::create(b, loc, a.value, c.value),
            {}};
  case tz::ReduceKind::Prod:
    if (i1)
      return {arith::AndIOp::create(b, loc, a.value, c.value), {}};
    return {isFloat ? (Value)arith::MulFOp::create(b, loc, a.value, c.value)
                    : (Value)arith::MulIOp::create(b, loc, a.value, c.value),
            {}};
  case tz::ReduceKind::Max:
    if (isFloat)
      return {arith::MaximumFOp::create(b, loc, a.value, c.value), {}};
    return {i1 ? (Value)arith::MaxUIOp::create(b, loc, a.value, c.value)
               : (Value)arith::MaxSIOp::create(b, loc, a.value, c.value),
            {}};
  case tz::ReduceKind::Min:
    if (isFloat)
      return {arith::MinimumFOp::create(b, loc, a.value, c.value), {}};
    return {i1 ? (Value)arith::MinUIOp::create(b, loc, a.value, c.value)
               : (Value)arith::MinSIOp::create(b, loc, a.value, c.value),
            {}};
  case tz::ReduceKind::Xor:
    return {arith::XOrIOp::create(b, loc, a.value, c.value), {}};
  case tz::ReduceKind::Argmax:
    return argCombine(b, loc, true, a, c);
  case tz::ReduceKind::Argmin:
    return argCombine(b, loc, false, a, c);
  }
  return a;
}

} // namespace terrazzo::tzgpu::lowering
