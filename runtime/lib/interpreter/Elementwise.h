// Generic handlers for elementwise ops (arith and math).
//
// Each takes the scalar function as a type with a static `apply`, so one
// handler is instantiated per op and the function and the rounding to the
// result type inline into a plain loop over the flat storage.
#pragma once

#include "Executor.h"
#include "FloatRounding.h"

namespace terrazzo::interp {

// result = round(Fn::apply(a)) for a float op with one operand.
template <typename Fn>
void floatUnaryOp(Executor &ex, mlir::Operation *op) {
  const Tile &a = ex.get(op->getOperand(0));
  Tile &out = ex.define(op->getResult(0));
  const double *x = a.f.data();
  double *r = out.f.data();
  size_t n = out.f.size();
  withRounding(out.kind, [&](auto round) {
    using Round = decltype(round);
    for (size_t k = 0; k < n; ++k)
      r[k] = Round::apply(Fn::apply(x[k]));
  });
}

// result = round(Fn::apply(a, b)) for a float op with two operands.
template <typename Fn>
void floatBinaryOp(Executor &ex, mlir::Operation *op) {
  const Tile &a = ex.get(op->getOperand(0));
  const Tile &b = ex.get(op->getOperand(1));
  Tile &out = ex.define(op->getResult(0));
  const double *x = a.f.data(), *y = b.f.data();
  double *r = out.f.data();
  size_t n = out.f.size();
  withRounding(out.kind, [&](auto round) {
    using Round = decltype(round);
    for (size_t k = 0; k < n; ++k)
      r[k] = Round::apply(Fn::apply(x[k], y[k]));
  });
}

// result = round(Fn::apply(a, b, c)) for a float op with three operands.
template <typename Fn>
void floatTernaryOp(Executor &ex, mlir::Operation *op) {
  const Tile &a = ex.get(op->getOperand(0));
  const Tile &b = ex.get(op->getOperand(1));
  const Tile &c = ex.get(op->getOperand(2));
  Tile &out = ex.define(op->getResult(0));
  const double *x = a.f.data(), *y = b.f.data(), *z = c.f.data();
  double *r = out.f.data();
  size_t n = out.f.size();
  withRounding(out.kind, [&](auto round) {
    using Round = decltype(round);
    for (size_t k = 0; k < n; ++k)
      r[k] = Round::apply(Fn::apply(x[k], y[k], z[k]));
  });
}

// result = wrap(Fn::apply(a, bits)) for an integer op with one operand.
template <typename Fn>
void intUnaryOp(Executor &ex, mlir::Operation *op) {
  const Tile &a = ex.get(op->getOperand(0));
  Tile &out = ex.define(op->getResult(0));
  unsigned bits = intBitWidth(out.kind);
  const int64_t *x = a.i.data();
  int64_t *r = out.i.data();
  size_t n = out.i.size();
  for (size_t k = 0; k < n; ++k)
    r[k] = wrapToWidth(Fn::apply(x[k], bits), bits);
}

// result = wrap(Fn::apply(a, b, bits)) for an integer op with two operands.
// Fn::kDivides marks divisions, which fail on a zero divisor.
template <typename Fn>
void intBinaryOp(Executor &ex, mlir::Operation *op) {
  const Tile &a = ex.get(op->getOperand(0));
  const Tile &b = ex.get(op->getOperand(1));
  Tile &out = ex.define(op->getResult(0));
  unsigned bits = intBitWidth(out.kind);
  const int64_t *x = a.i.data(), *y = b.i.data();
  int64_t *r = out.i.data();
  size_t n = out.i.size();
  if constexpr (Fn::kDivides) {
    for (size_t k = 0; k < n; ++k)
      if (y[k] == 0)
        Executor::fail(op, "integer division by zero");
  }
  for (size_t k = 0; k < n; ++k)
    r[k] = wrapToWidth(Fn::apply(x[k], y[k], bits), bits);
}

} // namespace terrazzo::interp
