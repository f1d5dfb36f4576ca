//===- ForwardDerivative.h - forward-mode differentiation of tz code -*- C++ -*-===//
//
// Builds the derivative of a value with respect to another by forward-mode
// differentiation of the straight-line tz/arith/math code between them: each
// op gets a tangent computed from the tangents of its operands (the chain
// rule, one op at a time). The frontend uses it for tz.derivative, which is
// how the attention backward gets d score_mod / d score, and for the
// gradients of what a function loads from memory.
//
#pragma once

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"

#include <string>

namespace terrazzo::tz {

// Why an op could not be differentiated.
struct DerivativeFailure {
  mlir::Operation *op = nullptr; // the op, for its location and name
  std::string reason;            // "cannot differentiate 'scf.if': ..."
};

// The tangent of `output` when `seed` moves with tangent one, through `ops`
// (ops of one block, in program order, that compute `output` from `seed`;
// ops that `output` does not depend on may be among them). New ops are built
// at the builder's insertion point, which must be after `ops`; they reuse
// the primal values. `seed` must be a floating-point scalar or tile and
// `output` a floating-point value; where `output` does not depend on `seed`
// the result is a zero constant.
//
// Ops whose results are not floating point (comparisons, integer casts) end
// a tangent: they pass their value on as a constant. Piecewise-constant ops
// (floor, ceil, round, trunc) have tangent zero. Anything else that carries
// a tangent and has no rule (run-time control flow, stores, bit casts,
// non-sum reductions, ...) fails, with the op and the reason in `failure`.
mlir::FailureOr<mlir::Value> buildForwardDerivative(mlir::OpBuilder &builder, llvm::ArrayRef<mlir::Operation *> ops,
                                                    mlir::Value seed, mlir::Value output,
                                                    DerivativeFailure &failure);

} // namespace terrazzo::tz
