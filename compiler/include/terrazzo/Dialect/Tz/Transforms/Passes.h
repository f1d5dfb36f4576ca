//===- Passes.h - tz transformations ----------------------------*- C++ -*-===//
#pragma once

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace terrazzo::tz {
// The function attribute tz-make-persistent sets: the index of the first of
// the three grid arguments it appended.
inline constexpr const char *kPersistentGridAttrName = "tz.persistent_grid";

#define GEN_PASS_DECL
#include "terrazzo/Dialect/Tz/Transforms/Passes.h.inc"
#define GEN_PASS_REGISTRATION
#include "terrazzo/Dialect/Tz/Transforms/Passes.h.inc"
} // namespace terrazzo::tz
