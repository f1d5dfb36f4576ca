//===- ForwardDerivative.cpp - forward-mode differentiation of tz code ----===//
//
// One rule per op: the tangent of its result from the tangents of its
// operands and the primal values. A null tangent means zero, so code that
// does not depend on the seed costs nothing; the rules add and multiply
// through helpers that skip zero terms.
//
#include "terrazzo/Dialect/Tz/Transforms/ForwardDerivative.h"
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;

namespace terrazzo::tz {

namespace {

bool isFloatLike(Type t) { return isa<FloatType>(getElementTypeOrSelf(t)); }

// Builds tangent arithmetic at the insertion point, folding away zeros.
class TangentBuilder {
public:
  TangentBuilder(OpBuilder &b, Location loc) : b_(b), loc_(loc) {}

  Value constant(Type like, double value) {
    auto elem = cast<FloatType>(getElementTypeOrSelf(like));
    auto attr = b_.getFloatAttr(elem, value);
    if (auto tile = dyn_cast<RankedTensorType>(like))
      return b_.create<arith::ConstantOp>(loc_, DenseElementsAttr::get(tile, attr.getValue()));
    return b_.create<arith::ConstantOp>(loc_, attr);
  }
  Value add(Value a, Value c) {
    if (!a)
      return c;
    if (!c)
      return a;
    return b_.create<arith::AddFOp>(loc_, a, c);
  }
  Value sub(Value a, Value c) {
    if (!c)
      return a;
    if (!a)
      return neg(c);
    return b_.create<arith::SubFOp>(loc_, a, c);
  }
  Value neg(Value a) { return a ? Value(b_.create<arith::NegFOp>(loc_, a)) : Value(); }
  // tangent * factor; zero stays zero.
  Value mul(Value tangent, Value factor) {
    return tangent ? Value(b_.create<arith::MulFOp>(loc_, tangent, factor)) : Value();
  }
  Value div(Value tangent, Value divisor) {
    return tangent ? Value(b_.create<arith::DivFOp>(loc_, tangent, divisor)) : Value();
  }
  Value mulf(Value a, Value c) { return b_.create<arith::MulFOp>(loc_, a, c); }
  Value divf(Value a, Value c) { return b_.create<arith::DivFOp>(loc_, a, c); }
  Value addf(Value a, Value c) { return b_.create<arith::AddFOp>(loc_, a, c); }
  Value subf(Value a, Value c) { return b_.create<arith::SubFOp>(loc_, a, c); }
  Value cmp(arith::CmpFPredicate p, Value a, Value c) { return b_.create<arith::CmpFOp>(loc_, p, a, c); }
  // select(cond, a, c) on tangents, where either may be zero.
  Value select(Value cond, Value a, Value c, Type like) {
    if (!a && !c)
      return Value();
    return b_.create<arith::SelectOp>(loc_, cond, a ? a : constant(like, 0), c ? c : constant(like, 0));
  }
  OpBuilder &builder() { return b_; }

private:
  OpBuilder &b_;
  Location loc_;
};

class Differentiator {
public:
  Differentiator(OpBuilder &b, DerivativeFailure &failure) : b_(b), failure_(failure) {}

  void seed(Value v, Value tangent) { tangents_[v] = tangent; }
  Value tangentOf(Value v) const { return tangents_.lookup(v); }

  // Gives `op`'s results their tangents; false (and `failure_`) when `op`
  // carries a tangent it has no rule for.
  LogicalResult visit(Operation *op) {
    if (!carriesTangent(op))
      return success();
    // Comparisons, integer casts, isnan...: the result is not a real number,
    // so nothing flows on (its value is a constant to the derivative).
    bool anyFloatResult = llvm::any_of(op->getResultTypes(), isFloatLike);
    if (!anyFloatResult && !isa<arith::BitcastOp>(op) && op->getNumRegions() == 0 &&
        op->getNumResults() > 0)
      return success();
    if (op->getNumRegions() > 0)
      return fail(op, "run-time control flow cannot be differentiated (make the branch a tz.where, or the "
                      "condition a compile-time value)");
    TangentBuilder t(b_, op->getLoc());
    Value result = op->getNumResults() == 1 ? op->getResult(0) : Value();
    auto T = [&](unsigned i) { return tangentOf(op->getOperand(i)); };
    auto P = [&](unsigned i) { return op->getOperand(i); };
    Type type = result ? result.getType() : Type();
    auto ln = [&](double c) { return t.constant(type, c); };

    std::optional<Value> d =
        llvm::TypeSwitch<Operation *, std::optional<Value>>(op)
            // --- linear ops ---------------------------------------------------
            .Case<arith::AddFOp>([&](auto) { return t.add(T(0), T(1)); })
            .Case<arith::SubFOp>([&](auto) { return t.sub(T(0), T(1)); })
            .Case<arith::NegFOp>([&](auto) { return t.neg(T(0)); })
            .Case<arith::ExtFOp, arith::TruncFOp>([&](Operation *o) -> std::optional<Value> {
              IRMapping m;
              m.map(o->getOperand(0), T(0));
              return b_.clone(*o, m)->getResult(0);
            })
            // Shape ops, sums and cumulative sums are linear: the same op
            // applied to the tangent.
            .Case<SplatOp, BroadcastOp, ExpandDimsOp, ReshapeOp, TransOp>([&](Operation *o) -> std::optional<Value> {
              IRMapping m;
              m.map(o->getOperand(0), T(0));
              return b_.clone(*o, m)->getResult(0);
            })
            .Case<ReduceOp, ScanOp>([&](Operation *o) -> std::optional<Value> {
              auto kind = isa<ReduceOp>(o) ? cast<ReduceOp>(o).getKind() : cast<ScanOp>(o).getKind();
              if (kind != ReduceKind::Sum)
                return std::nullopt;
              IRMapping m;
              m.map(o->getOperand(0), T(0));
              return b_.clone(*o, m)->getResult(0);
            })
            // --- products and quotients ----------------------------------------
            .Case<arith::MulFOp>([&](auto) { return t.add(t.mul(T(0), P(1)), t.mul(T(1), P(0))); })
            .Case<arith::DivFOp>([&](auto) {
              // (a/b)' = a'/b - (a/b) b'/b
              return t.sub(t.div(T(0), P(1)), t.div(t.mul(T(1), result), P(1)));
            })
            .Case<arith::RemFOp>([&](auto) {
              // fmod(a, b) = a - trunc(a/b) b
              Value q = b_.create<math::TruncOp>(op->getLoc(), t.divf(P(0), P(1)));
              return t.sub(T(0), t.mul(T(1), q));
            })
            .Case<math::FmaOp>([&](auto) {
              return t.add(t.add(t.mul(T(0), P(1)), t.mul(T(1), P(0))), T(2));
            })
            .Case<DotOp>([&](Operation *o) -> std::optional<Value> {
              Value zero = t.constant(type, 0);
              Value d = T(2);
              if (T(0))
                d = t.add(d, b_.create<DotOp>(o->getLoc(), type, T(0), P(1), zero));
              if (T(1))
                d = t.add(d, b_.create<DotOp>(o->getLoc(), type, P(0), T(1), zero));
              return d;
            })
            // --- choices ---------------------------------------------------------
            .Case<arith::SelectOp>([&](auto) { return t.select(P(0), T(1), T(2), type); })
            .Case<arith::MaximumFOp, arith::MaxNumFOp>([&](auto) {
              return t.select(t.cmp(arith::CmpFPredicate::OGE, P(0), P(1)), T(0), T(1), type);
            })
            .Case<arith::MinimumFOp, arith::MinNumFOp>([&](auto) {
              return t.select(t.cmp(arith::CmpFPredicate::OLE, P(0), P(1)), T(0), T(1), type);
            })
            .Case<math::AbsFOp>([&](auto) {
              // sign(a) a', zero at a == 0
              Value zero = t.constant(type, 0);
              Value pos = t.select(t.cmp(arith::CmpFPredicate::OGT, P(0), zero), T(0), Value(), type);
              return t.select(t.cmp(arith::CmpFPredicate::OLT, P(0), zero), t.neg(T(0)), pos, type);
            })
            .Case<math::CopySignOp>([&](auto) {
              // |a| sign(b): d/da = sign(a) sign(b); zero in b almost everywhere
              Value one = t.constant(type, 1);
              Value s = t.mulf(b_.create<math::CopySignOp>(op->getLoc(), one, P(0)),
                               b_.create<math::CopySignOp>(op->getLoc(), one, P(1)));
              return t.mul(T(0), s);
            })
            // Piecewise constant: zero wherever the derivative exists.
            .Case<math::FloorOp, math::CeilOp, math::TruncOp, math::RoundOp, math::RoundEvenOp>(
                [&](auto) { return Value(); })
            // --- transcendental functions ---------------------------------------
            .Case<math::ExpOp>([&](auto) { return t.mul(T(0), result); })
            .Case<math::Exp2Op>([&](auto) { return t.mul(T(0), t.mulf(result, ln(M_LN2))); })
            .Case<math::ExpM1Op>([&](auto) { return t.mul(T(0), t.addf(result, ln(1))); })
            .Case<math::LogOp>([&](auto) { return t.div(T(0), P(0)); })
            .Case<math::Log2Op>([&](auto) { return t.div(T(0), t.mulf(P(0), ln(M_LN2))); })
            .Case<math::Log10Op>([&](auto) { return t.div(T(0), t.mulf(P(0), ln(M_LN10))); })
            .Case<math::Log1pOp>([&](auto) { return t.div(T(0), t.addf(P(0), ln(1))); })
            .Case<math::SqrtOp>([&](auto) { return t.div(T(0), t.mulf(result, ln(2))); })
            .Case<math::RsqrtOp>([&](auto) {
              // (a^-1/2)' = -1/2 a^-3/2 = -r / (2a)
              return t.mul(T(0), t.divf(t.mulf(result, ln(-0.5)), P(0)));
            })
            .Case<math::TanhOp>([&](auto) { return t.mul(T(0), t.subf(ln(1), t.mulf(result, result))); })
            .Case<math::SinOp>([&](auto) { return t.mul(T(0), b_.create<math::CosOp>(op->getLoc(), P(0))); })
            .Case<math::CosOp>([&](auto) {
              return t.neg(t.mul(T(0), b_.create<math::SinOp>(op->getLoc(), P(0))));
            })
            .Case<math::TanOp>([&](auto) { return t.mul(T(0), t.addf(ln(1), t.mulf(result, result))); })
            .Case<math::AtanOp>([&](auto) { return t.div(T(0), t.addf(ln(1), t.mulf(P(0), P(0)))); })
            .Case<math::ErfOp>([&](auto) {
              Value g = b_.create<math::ExpOp>(op->getLoc(), t.mulf(t.mulf(P(0), P(0)), ln(-1)));
              return t.mul(T(0), t.mulf(g, ln(2 / std::sqrt(M_PI))));
            })
            .Case<math::Atan2Op>([&](auto) {
              // atan2(y, x)' = (x y' - y x') / (x^2 + y^2)
              Value r2 = t.addf(t.mulf(P(0), P(0)), t.mulf(P(1), P(1)));
              return t.div(t.sub(t.mul(T(0), P(1)), t.mul(T(1), P(0))), r2);
            })
            .Case<math::PowFOp>([&](auto) {
              // (a^b)' = b a^(b-1) a' + a^b log(a) b'
              Value da;
              if (T(0)) {
                Value pm1 = b_.create<math::PowFOp>(op->getLoc(), P(0), t.subf(P(1), ln(1)));
                da = t.mul(T(0), t.mulf(P(1), pm1));
              }
              Value db;
              if (T(1))
                db = t.mul(T(1), t.mulf(result, b_.create<math::LogOp>(op->getLoc(), P(0))));
              return t.add(da, db);
            })
            .Default([&](Operation *) -> std::optional<Value> { return std::nullopt; });
    if (!d)
      return fail(op, "no derivative rule for it");
    if (result && *d)
      tangents_[result] = *d;
    return success();
  }

private:
  // Whether a tangent reaches `op`: through its operands, or through values
  // its regions use from above (an scf.if branch computing from the seed).
  bool carriesTangent(Operation *op) const {
    auto hasTangent = [&](Value v) { return tangentOf(v) != nullptr; };
    if (llvm::any_of(op->getOperands(), hasTangent))
      return true;
    bool inRegions = false;
    for (Region &region : op->getRegions())
      region.walk([&](Operation *inner) { inRegions |= llvm::any_of(inner->getOperands(), hasTangent); });
    return inRegions;
  }

  LogicalResult fail(Operation *op, const std::string &why) {
    failure_.op = op;
    failure_.reason = "cannot differentiate '" + op->getName().getStringRef().str() + "': " + why;
    return failure();
  }

  OpBuilder &b_;
  DerivativeFailure &failure_;
  llvm::DenseMap<Value, Value> tangents_;
};

} // namespace

FailureOr<Value> buildForwardDerivative(OpBuilder &builder, ArrayRef<Operation *> ops, Value seed, Value output,
                                        DerivativeFailure &why) {
  Location loc = output.getLoc();
  if (!isFloatLike(seed.getType()) || !isFloatLike(output.getType())) {
    why.op = output.getDefiningOp();
    why.reason = "a derivative needs floating-point values";
    return mlir::failure();
  }
  Differentiator d(builder, why);
  TangentBuilder t(builder, loc);
  d.seed(seed, t.constant(seed.getType(), 1.0));
  for (Operation *op : ops)
    if (failed(d.visit(op)))
      return mlir::failure();
  if (Value tangent = d.tangentOf(output))
    return tangent;
  return t.constant(output.getType(), 0.0);
}

} // namespace terrazzo::tz
