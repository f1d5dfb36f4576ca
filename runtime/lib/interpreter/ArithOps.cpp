//===- ArithOps.cpp - arith constants, integer/float math, compare, select ===//
//
// Integer ops compute on the sign-extended int64 form and wrap back to the
// type's width; unsigned ops zero-extend their operands first. Float ops
// compute in double and round to the result type.
#include "Elementwise.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir;

namespace terrazzo::interp {
namespace {

//===----------------------------------------------------------------------===//
// arith.constant
//===----------------------------------------------------------------------===//

double toDouble(APFloat value) {
  bool losesInfo;
  value.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &losesInfo);
  return value.convertToDouble();
}

TileRef buildConstant(Operation *op, Attribute value, Type type) {
  auto tile = std::make_shared<Tile>();
  tile->reset(Executor::elemKind(op, type), shapeOf(type));
  if (auto integer = dyn_cast<IntegerAttr>(value)) {
    tile->i[0] = integer.getValue().getSExtValue();
  } else if (auto real = dyn_cast<FloatAttr>(value)) {
    tile->f[0] = toDouble(real.getValue());
  } else if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    if (tile->isFloat()) {
      if (dense.isSplat())
        std::fill(tile->f.begin(), tile->f.end(), toDouble(dense.getSplatValue<APFloat>()));
      else
        llvm::transform(dense.getValues<APFloat>(), tile->f.begin(), toDouble);
    } else {
      auto sext = [](const APInt &v) { return v.getSExtValue(); };
      if (dense.isSplat())
        std::fill(tile->i.begin(), tile->i.end(), sext(dense.getSplatValue<APInt>()));
      else
        llvm::transform(dense.getValues<APInt>(), tile->i.begin(), sext);
    }
  } else {
    Executor::fail(op, "the interpreter does not support this constant attribute");
  }
  return tile;
}

// Constants are converted once and shared by every execution of the op.
void runConstant(Executor &ex, Operation *op) {
  TileRef tile = ex.cachedValue(op);
  if (!tile) {
    auto constant = cast<arith::ConstantOp>(op);
    tile = buildConstant(op, constant.getValue(), constant.getType());
    ex.cacheValue(op, tile);
  }
  ex.bind(op->getResult(0), tile);
}

//===----------------------------------------------------------------------===//
// Integer arithmetic (results before wrapping to the width)
//===----------------------------------------------------------------------===//

struct NoDivide {
  static constexpr bool kDivides = false;
};
struct Divide {
  static constexpr bool kDivides = true;
};

struct AddI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) { return uint64_t(a) + uint64_t(b); }
};
struct SubI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) { return uint64_t(a) - uint64_t(b); }
};
struct MulI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) { return uint64_t(a) * uint64_t(b); }
};
// Dividing by -1 is negation; doing it by hand avoids INT64_MIN / -1, which
// traps on x86.
struct DivSI : Divide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) {
    return b == -1 ? 0 - uint64_t(a) : uint64_t(a / b);
  }
};
struct DivUI : Divide {
  static uint64_t apply(int64_t a, int64_t b, unsigned bits) {
    return zeroExtend(a, bits) / zeroExtend(b, bits);
  }
};
struct RemSI : Divide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) { return b == -1 ? 0 : uint64_t(a % b); }
};
struct RemUI : Divide {
  static uint64_t apply(int64_t a, int64_t b, unsigned bits) {
    return zeroExtend(a, bits) % zeroExtend(b, bits);
  }
};
struct FloorDivSI : Divide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) {
    if (b == -1)
      return 0 - uint64_t(a);
    int64_t q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0)))
      --q;
    return uint64_t(q);
  }
};
struct CeilDivSI : Divide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) {
    if (b == -1)
      return 0 - uint64_t(a);
    int64_t q = a / b;
    if (a % b != 0 && ((a < 0) == (b < 0)))
      ++q;
    return uint64_t(q);
  }
};
struct AndI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) { return uint64_t(a & b); }
};
struct OrI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) { return uint64_t(a | b); }
};
struct XOrI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) { return uint64_t(a ^ b); }
};
// Shifts by the width or more are poison in MLIR; they give what a shifter
// that does not wrap the amount would: every bit shifted out.
struct ShLI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned bits) {
    uint64_t amount = zeroExtend(b, bits);
    return amount >= bits ? 0 : uint64_t(a) << amount;
  }
};
struct ShRSI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned bits) {
    uint64_t amount = zeroExtend(b, bits);
    return uint64_t(amount >= bits ? (a < 0 ? -1 : 0) : a >> amount);
  }
};
struct ShRUI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned bits) {
    uint64_t amount = zeroExtend(b, bits);
    return amount >= bits ? 0 : zeroExtend(a, bits) >> amount;
  }
};
struct MaxSI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) { return uint64_t(a > b ? a : b); }
};
struct MinSI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned) { return uint64_t(a < b ? a : b); }
};
struct MaxUI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned bits) {
    return std::max(zeroExtend(a, bits), zeroExtend(b, bits));
  }
};
struct MinUI : NoDivide {
  static uint64_t apply(int64_t a, int64_t b, unsigned bits) {
    return std::min(zeroExtend(a, bits), zeroExtend(b, bits));
  }
};

//===----------------------------------------------------------------------===//
// Float arithmetic
//===----------------------------------------------------------------------===//

struct AddF {
  static double apply(double a, double b) { return a + b; }
};
struct SubF {
  static double apply(double a, double b) { return a - b; }
};
struct MulF {
  static double apply(double a, double b) { return a * b; }
};
struct DivF {
  static double apply(double a, double b) { return a / b; }
};
struct RemF {
  static double apply(double a, double b) { return std::fmod(a, b); }
};
struct NegF {
  static double apply(double a) { return -a; }
};
// maximumf/minimumf propagate NaN and order -0 below +0; maxnumf/minnumf
// return the other operand when one is NaN.
struct MaximumF {
  static double apply(double a, double b) {
    if (std::isnan(a) || std::isnan(b))
      return std::numeric_limits<double>::quiet_NaN();
    if (a == b)
      return std::signbit(a) ? b : a;
    return a > b ? a : b;
  }
};
struct MinimumF {
  static double apply(double a, double b) {
    if (std::isnan(a) || std::isnan(b))
      return std::numeric_limits<double>::quiet_NaN();
    if (a == b)
      return std::signbit(a) ? a : b;
    return a < b ? a : b;
  }
};
struct MaxNumF {
  static double apply(double a, double b) {
    if (std::isnan(a))
      return b;
    if (std::isnan(b))
      return a;
    return MaximumF::apply(a, b);
  }
};
struct MinNumF {
  static double apply(double a, double b) {
    if (std::isnan(a))
      return b;
    if (std::isnan(b))
      return a;
    return MinimumF::apply(a, b);
  }
};

//===----------------------------------------------------------------------===//
// Comparisons (i1 results: true is -1)
//===----------------------------------------------------------------------===//

template <typename T, typename Pred>
void compareLoop(const T *x, const T *y, int64_t *r, size_t n, Pred pred) {
  for (size_t k = 0; k < n; ++k)
    r[k] = pred(x[k], y[k]) ? -1 : 0;
}

void runCmpI(Executor &ex, Operation *raw) {
  auto op = cast<arith::CmpIOp>(raw);
  const Tile &a = ex.get(op.getLhs()), &b = ex.get(op.getRhs());
  unsigned bits = intBitWidth(a.kind);
  Tile &out = ex.define(op.getResult());
  const int64_t *x = a.i.data(), *y = b.i.data();
  int64_t *r = out.i.data();
  size_t n = out.i.size();
  auto u = [bits](int64_t v) { return zeroExtend(v, bits); };
  using P = arith::CmpIPredicate;
  switch (op.getPredicate()) {
  case P::eq:
    return compareLoop(x, y, r, n, [](int64_t p, int64_t q) { return p == q; });
  case P::ne:
    return compareLoop(x, y, r, n, [](int64_t p, int64_t q) { return p != q; });
  case P::slt:
    return compareLoop(x, y, r, n, [](int64_t p, int64_t q) { return p < q; });
  case P::sle:
    return compareLoop(x, y, r, n, [](int64_t p, int64_t q) { return p <= q; });
  case P::sgt:
    return compareLoop(x, y, r, n, [](int64_t p, int64_t q) { return p > q; });
  case P::sge:
    return compareLoop(x, y, r, n, [](int64_t p, int64_t q) { return p >= q; });
  case P::ult:
    return compareLoop(x, y, r, n, [&](int64_t p, int64_t q) { return u(p) < u(q); });
  case P::ule:
    return compareLoop(x, y, r, n, [&](int64_t p, int64_t q) { return u(p) <= u(q); });
  case P::ugt:
    return compareLoop(x, y, r, n, [&](int64_t p, int64_t q) { return u(p) > u(q); });
  case P::uge:
    return compareLoop(x, y, r, n, [&](int64_t p, int64_t q) { return u(p) >= u(q); });
  }
}

void runCmpF(Executor &ex, Operation *raw) {
  auto op = cast<arith::CmpFOp>(raw);
  const Tile &a = ex.get(op.getLhs()), &b = ex.get(op.getRhs());
  Tile &out = ex.define(op.getResult());
  const double *x = a.f.data(), *y = b.f.data();
  int64_t *r = out.i.data();
  size_t n = out.i.size();
  auto unordered = [](double p, double q) { return std::isnan(p) || std::isnan(q); };
  using P = arith::CmpFPredicate;
  // C++ comparisons are false when either side is NaN: the ordered
  // predicates as they are, the unordered ones as negations.
  switch (op.getPredicate()) {
  case P::AlwaysFalse:
    return compareLoop(x, y, r, n, [](double, double) { return false; });
  case P::AlwaysTrue:
    return compareLoop(x, y, r, n, [](double, double) { return true; });
  case P::OEQ:
    return compareLoop(x, y, r, n, [](double p, double q) { return p == q; });
  case P::OGT:
    return compareLoop(x, y, r, n, [](double p, double q) { return p > q; });
  case P::OGE:
    return compareLoop(x, y, r, n, [](double p, double q) { return p >= q; });
  case P::OLT:
    return compareLoop(x, y, r, n, [](double p, double q) { return p < q; });
  case P::OLE:
    return compareLoop(x, y, r, n, [](double p, double q) { return p <= q; });
  case P::ONE:
    return compareLoop(x, y, r, n, [](double p, double q) { return p < q || p > q; });
  case P::ORD:
    return compareLoop(x, y, r, n, [&](double p, double q) { return !unordered(p, q); });
  case P::UEQ:
    return compareLoop(x, y, r, n, [](double p, double q) { return !(p < q || p > q); });
  case P::UGT:
    return compareLoop(x, y, r, n, [](double p, double q) { return !(p <= q); });
  case P::UGE:
    return compareLoop(x, y, r, n, [](double p, double q) { return !(p < q); });
  case P::ULT:
    return compareLoop(x, y, r, n, [](double p, double q) { return !(p >= q); });
  case P::ULE:
    return compareLoop(x, y, r, n, [](double p, double q) { return !(p > q); });
  case P::UNE:
    return compareLoop(x, y, r, n, [](double p, double q) { return p != q; });
  case P::UNO:
    return compareLoop(x, y, r, n, unordered);
  }
}

//===----------------------------------------------------------------------===//
// arith.select
//===----------------------------------------------------------------------===//

void runSelect(Executor &ex, Operation *raw) {
  auto op = cast<arith::SelectOp>(raw);
  const Tile &condition = ex.get(op.getCondition());
  if (condition.isScalar()) {
    // Values are immutable, so the chosen operand can be shared.
    Value chosen = condition.i[0] != 0 ? op.getTrueValue() : op.getFalseValue();
    ex.bind(op.getResult(), ex.getRef(chosen));
    return;
  }
  const Tile &t = ex.get(op.getTrueValue()), &f = ex.get(op.getFalseValue());
  Tile &out = ex.define(op.getResult());
  const int64_t *c = condition.i.data();
  size_t n = out.size();
  if (out.isFloat()) {
    for (size_t k = 0; k < n; ++k)
      out.f[k] = c[k] ? t.f[k] : f.f[k];
  } else {
    for (size_t k = 0; k < n; ++k)
      out.i[k] = c[k] ? t.i[k] : f.i[k];
  }
}

} // namespace

void registerArithHandlers(HandlerTable &table) {
  addHandler<arith::ConstantOp>(table, runConstant);
  addHandler<arith::AddIOp>(table, intBinaryOp<AddI>);
  addHandler<arith::SubIOp>(table, intBinaryOp<SubI>);
  addHandler<arith::MulIOp>(table, intBinaryOp<MulI>);
  addHandler<arith::DivSIOp>(table, intBinaryOp<DivSI>);
  addHandler<arith::DivUIOp>(table, intBinaryOp<DivUI>);
  addHandler<arith::RemSIOp>(table, intBinaryOp<RemSI>);
  addHandler<arith::RemUIOp>(table, intBinaryOp<RemUI>);
  addHandler<arith::FloorDivSIOp>(table, intBinaryOp<FloorDivSI>);
  addHandler<arith::CeilDivSIOp>(table, intBinaryOp<CeilDivSI>);
  addHandler<arith::AndIOp>(table, intBinaryOp<AndI>);
  addHandler<arith::OrIOp>(table, intBinaryOp<OrI>);
  addHandler<arith::XOrIOp>(table, intBinaryOp<XOrI>);
  addHandler<arith::ShLIOp>(table, intBinaryOp<ShLI>);
  addHandler<arith::ShRSIOp>(table, intBinaryOp<ShRSI>);
  addHandler<arith::ShRUIOp>(table, intBinaryOp<ShRUI>);
  addHandler<arith::MaxSIOp>(table, intBinaryOp<MaxSI>);
  addHandler<arith::MinSIOp>(table, intBinaryOp<MinSI>);
  addHandler<arith::MaxUIOp>(table, intBinaryOp<MaxUI>);
  addHandler<arith::MinUIOp>(table, intBinaryOp<MinUI>);
  addHandler<arith::AddFOp>(table, floatBinaryOp<AddF>);
  addHandler<arith::SubFOp>(table, floatBinaryOp<SubF>);
  addHandler<arith::MulFOp>(table, floatBinaryOp<MulF>);
  addHandler<arith::DivFOp>(table, floatBinaryOp<DivF>);
  addHandler<arith::RemFOp>(table, floatBinaryOp<RemF>);
  addHandler<arith::NegFOp>(table, floatUnaryOp<NegF>);
  addHandler<arith::MaximumFOp>(table, floatBinaryOp<MaximumF>);
  addHandler<arith::MinimumFOp>(table, floatBinaryOp<MinimumF>);
  addHandler<arith::MaxNumFOp>(table, floatBinaryOp<MaxNumF>);
  addHandler<arith::MinNumFOp>(table, floatBinaryOp<MinNumF>);
  addHandler<arith::CmpIOp>(table, runCmpI);
  addHandler<arith::CmpFOp>(table, runCmpF);
  addHandler<arith::SelectOp>(table, runSelect);
}

} // namespace terrazzo::interp
