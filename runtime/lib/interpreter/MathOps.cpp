//===- MathOps.cpp - math dialect functions -------------------------------===//
//
// Computed with the C library in double and rounded to the result type, so
// results are at least as accurate as the GPU's.
#include "Elementwise.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;

namespace terrazzo::interp {
namespace {

#define TZ_UNARY_FN(Name, expr)                                                                    \
  struct Name {                                                                                    \
    static double apply(double x) { return expr; }                                                \
  };
TZ_UNARY_FN(Exp, std::exp(x))
TZ_UNARY_FN(Exp2, std::exp2(x))
TZ_UNARY_FN(ExpM1, std::expm1(x))
TZ_UNARY_FN(Log, std::log(x))
TZ_UNARY_FN(Log2, std::log2(x))
TZ_UNARY_FN(Log10, std::log10(x))
TZ_UNARY_FN(Log1p, std::log1p(x))
TZ_UNARY_FN(Sqrt, std::sqrt(x))
TZ_UNARY_FN(Rsqrt, 1.0 / std::sqrt(x))
TZ_UNARY_FN(AbsF, std::fabs(x))
TZ_UNARY_FN(Sin, std::sin(x))
TZ_UNARY_FN(Cos, std::cos(x))
TZ_UNARY_FN(Tan, std::tan(x))
TZ_UNARY_FN(Tanh, std::tanh(x))
TZ_UNARY_FN(Atan, std::atan(x))
TZ_UNARY_FN(Erf, std::erf(x))
TZ_UNARY_FN(Floor, std::floor(x))
TZ_UNARY_FN(Ceil, std::ceil(x))
TZ_UNARY_FN(Trunc, std::trunc(x))
TZ_UNARY_FN(Round, std::round(x)) // halfway cases away from zero
TZ_UNARY_FN(RoundEven, std::nearbyint(x)) // the default rounding mode: ties to even
#undef TZ_UNARY_FN

struct PowF {
  static double apply(double x, double y) { return std::pow(x, y); }
};
struct Atan2 {
  static double apply(double y, double x) { return std::atan2(y, x); }
};
struct CopySign {
  static double apply(double x, double y) { return std::copysign(x, y); }
};
struct Fma {
  static double apply(double a, double b, double c) { return std::fma(a, b, c); }
};

// absi of the most negative value wraps to itself, as in two's complement.
struct AbsI {
  static uint64_t apply(int64_t x, unsigned) { return x < 0 ? 0 - uint64_t(x) : uint64_t(x); }
};

} // namespace

void registerMathHandlers(HandlerTable &table) {
  addHandler<math::ExpOp>(table, floatUnaryOp<Exp>);
  addHandler<math::Exp2Op>(table, floatUnaryOp<Exp2>);
  addHandler<math::ExpM1Op>(table, floatUnaryOp<ExpM1>);
  addHandler<math::LogOp>(table, floatUnaryOp<Log>);
  addHandler<math::Log2Op>(table, floatUnaryOp<Log2>);
  addHandler<math::Log10Op>(table, floatUnaryOp<Log10>);
  addHandler<math::Log1pOp>(table, floatUnaryOp<Log1p>);
  addHandler<math::SqrtOp>(table, floatUnaryOp<Sqrt>);
  addHandler<math::RsqrtOp>(table, floatUnaryOp<Rsqrt>);
  addHandler<math::AbsFOp>(table, floatUnaryOp<AbsF>);
  addHandler<math::SinOp>(table, floatUnaryOp<Sin>);
  addHandler<math::CosOp>(table, floatUnaryOp<Cos>);
  addHandler<math::TanOp>(table, floatUnaryOp<Tan>);
  addHandler<math::TanhOp>(table, floatUnaryOp<Tanh>);
  addHandler<math::AtanOp>(table, floatUnaryOp<Atan>);
  addHandler<math::ErfOp>(table, floatUnaryOp<Erf>);
  addHandler<math::FloorOp>(table, floatUnaryOp<Floor>);
  addHandler<math::CeilOp>(table, floatUnaryOp<Ceil>);
  addHandler<math::TruncOp>(table, floatUnaryOp<Trunc>);
  addHandler<math::RoundOp>(table, floatUnaryOp<Round>);
  addHandler<math::RoundEvenOp>(table, floatUnaryOp<RoundEven>);
  addHandler<math::PowFOp>(table, floatBinaryOp<PowF>);
  addHandler<math::Atan2Op>(table, floatBinaryOp<Atan2>);
  addHandler<math::CopySignOp>(table, floatBinaryOp<CopySign>);
  addHandler<math::FmaOp>(table, floatTernaryOp<Fma>);
  addHandler<math::AbsIOp>(table, intUnaryOp<AbsI>);
}

} // namespace terrazzo::interp
