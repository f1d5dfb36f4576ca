//===- Combine.h - combining functions of reductions and scans -*- C++ -*-===//
#pragma once

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/IR/Builders.h"

namespace terrazzo::tzgpu::lowering {

// A partial result: the value, and for argmax/argmin the index (i32) of the
// element it came from.
struct Partial {
  mlir::Value value, index;
};

// combine(a, b) for `kind`, with the interpreter's semantics: float max/min
// propagate NaN; i1 compares unsigned; argmax/argmin keep the first index
// among equal values and let a NaN win.
Partial combine(mlir::OpBuilder &b, mlir::Location loc, tz::ReduceKind kind, Partial a, Partial c);

inline bool isArgKind(tz::ReduceKind kind) {
  return kind == tz::ReduceKind::Argmax || kind == tz::ReduceKind::Argmin;
}

} // namespace terrazzo::tzgpu::lowering
