//===- TzDialect.h - the tz tile dialect ------------------------*- C++ -*-===//
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h.inc"

namespace terrazzo::tz {
// The side-effect resource read and written by tz memory ops.
struct GlobalMemory : public mlir::SideEffects::Resource::Base<GlobalMemory> {
  llvm::StringRef getName() final { return "<GlobalMemory>"; }
};
} // namespace terrazzo::tz

#include "terrazzo/Dialect/Tz/IR/TzEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "terrazzo/Dialect/Tz/IR/TzAttrs.h.inc"
#define GET_TYPEDEF_CLASSES
#include "terrazzo/Dialect/Tz/IR/TzTypes.h.inc"
#define GET_OP_CLASSES
#include "terrazzo/Dialect/Tz/IR/TzOps.h.inc"

namespace terrazzo::tz {
// The element type of a scalar or tile type.
mlir::Type getElementTypeOrSelf(mlir::Type type);
// `like` with its element type replaced by `element` (a tile stays a tile).
mlir::Type replaceElementType(mlir::Type like, mlir::Type element);
// Name of the unit attribute that marks a func.func as a kernel.
inline constexpr const char *kKernelAttrName = "tz.kernel";
// Name of the unit attribute tz-make-persistent puts on the loop that runs a
// persistent kernel's body once per tile: what is directly in it runs once
// per tile, as it ran once per program before.
inline constexpr const char *kPersistentTileLoopAttrName = "tz.persistent_tiles";
// Bool attribute of an scf.for from `tz.range(..., warp_specialize=...)`:
// whether tzgpu-pipeline gives the loop a producer warpgroup (with TMA
// copies), whatever the launch's warp_specialize option says.
inline constexpr const char *kWarpSpecializeAttrName = "tz.warp_specialize";
} // namespace terrazzo::tz
