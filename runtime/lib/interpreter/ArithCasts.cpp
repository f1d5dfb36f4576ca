//===- ArithCasts.cpp - arith conversions between element types ----------===//
#include "Elementwise.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <cmath>

using namespace mlir;

namespace terrazzo::interp {
namespace {

// The source and result tiles of a one-operand cast.
struct CastOperands {
  const Tile &source;
  Tile &result;
};
CastOperands castOperands(Executor &ex, Operation *op) {
  const Tile &source = ex.get(op->getOperand(0));
  return {source, ex.define(op->getResult(0))};
}

// extf, truncf: round to the result type (exact when widening).
void runFloatCast(Executor &ex, Operation *op) {
  auto [source, result] = castOperands(ex, op);
  result.f = source.f;
  roundAllToKind(result.f, result.kind);
}

// extsi, trunci, index_cast: the sign-extended form only needs re-wrapping.
void runSignedIntCast(Executor &ex, Operation *op) {
  auto [source, result] = castOperands(ex, op);
  unsigned bits = intBitWidth(result.kind);
  for (size_t k = 0; k < result.i.size(); ++k)
    result.i[k] = wrapToWidth(static_cast<uint64_t>(source.i[k]), bits);
}

// extui, index_castui: zero-extend from the source width, then wrap (which
// only matters when narrowing).
void runUnsignedIntCast(Executor &ex, Operation *op) {
  auto [source, result] = castOperands(ex, op);
  unsigned sourceBits = intBitWidth(source.kind), bits = intBitWidth(result.kind);
  for (size_t k = 0; k < result.i.size(); ++k)
    result.i[k] = wrapToWidth(zeroExtend(source.i[k], sourceBits), bits);
}

// An integer value converted to a float kind with a single rounding: through
// float for f32 (converting to double first could round twice for |x| > 2^53).
template <typename Int>
double intToFloat(Int value, ElemKind kind) {
  if (kind == ElemKind::F32)
    return static_cast<float>(value);
  return roundToKind(static_cast<double>(value), kind);
}

void runSIToFP(Executor &ex, Operation *op) {
  auto [source, result] = castOperands(ex, op);
  for (size_t k = 0; k < result.f.size(); ++k)
    result.f[k] = intToFloat(source.i[k], result.kind);
}

void runUIToFP(Executor &ex, Operation *op) {
  auto [source, result] = castOperands(ex, op);
  unsigned sourceBits = intBitWidth(source.kind);
  for (size_t k = 0; k < result.f.size(); ++k)
    result.f[k] = intToFloat(zeroExtend(source.i[k], sourceBits), result.kind);
}

// Out-of-range conversions are poison in MLIR; saturate (NaN gives 0) so the
// C++ conversion itself is always defined.
void runFPToSI(Executor &ex, Operation *op) {
  auto [source, result] = castOperands(ex, op);
  unsigned bits = intBitWidth(result.kind);
  double limit = std::ldexp(1.0, bits - 1); // 2^(bits-1)
  int64_t maxValue = wrapToWidth((uint64_t(1) << (bits - 1)) - 1, bits);
  int64_t minValue = wrapToWidth(uint64_t(1) << (bits - 1), bits);
  for (size_t k = 0; k < result.i.size(); ++k) {
    double x = source.f[k];
    if (std::isnan(x))
      result.i[k] = 0;
    else if (x >= limit)
      result.i[k] = maxValue;
    else if (x < -limit)
      result.i[k] = minValue;
    else
      result.i[k] = static_cast<int64_t>(x);
  }
}

void runFPToUI(Executor &ex, Operation *op) {
  auto [source, result] = castOperands(ex, op);
  unsigned bits = intBitWidth(result.kind);
  double limit = std::ldexp(1.0, bits); // 2^bits
  for (size_t k = 0; k < result.i.size(); ++k) {
    double x = source.f[k];
    uint64_t value;
    if (std::isnan(x) || x <= -1.0)
      value = 0;
    else if (x >= limit)
      value = ~uint64_t(0);
    else
      value = static_cast<uint64_t>(x);
    result.i[k] = wrapToWidth(value, bits);
  }
}

// Reinterprets the bits between same-width types (f32 <-> i32, f16 <-> i16 ...).
void runBitcast(Executor &ex, Operation *op) {
  auto [source, result] = castOperands(ex, op);
  unsigned bits = storageBytes(result.kind) * 8;
  if (result.kind == ElemKind::I1)
    bits = 1;
  for (size_t k = 0; k < result.size(); ++k) {
    uint64_t raw = source.isFloat() ? floatToBits(source.f[k], source.kind)
                                    : zeroExtend(source.i[k], intBitWidth(source.kind));
    if (result.isFloat())
      result.f[k] = floatFromBits(raw, result.kind);
    else
      result.i[k] = wrapToWidth(raw, bits);
  }
}

} // namespace

void registerArithCastHandlers(HandlerTable &table) {
  addHandler<arith::ExtFOp>(table, runFloatCast);
  addHandler<arith::TruncFOp>(table, runFloatCast);
  addHandler<arith::ExtSIOp>(table, runSignedIntCast);
  addHandler<arith::TruncIOp>(table, runSignedIntCast);
  addHandler<arith::IndexCastOp>(table, runSignedIntCast);
  addHandler<arith::ExtUIOp>(table, runUnsignedIntCast);
  addHandler<arith::IndexCastUIOp>(table, runUnsignedIntCast);
  addHandler<arith::SIToFPOp>(table, runSIToFP);
  addHandler<arith::UIToFPOp>(table, runUIToFP);
  addHandler<arith::FPToSIOp>(table, runFPToSI);
  addHandler<arith::FPToUIOp>(table, runFPToUI);
  addHandler<arith::BitcastOp>(table, runBitcast);
}

} // namespace terrazzo::interp
