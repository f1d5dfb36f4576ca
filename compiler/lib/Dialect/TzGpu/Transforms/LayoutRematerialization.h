//===- LayoutRematerialization.h - tiles rebuilt in another layout -*- C++ -*-===//
//
// A conversion through shared memory costs a store, a barrier, a load and a
// barrier; recomputing a tile that is cheap to make (an index range, a
// splat, a constant, elementwise arithmetic or broadcasts of those) directly
// in the wanted layout costs a few instructions per register. This helper
// answers "can `v` be had in layout L without shared memory?" and builds it.
#pragma once

#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace terrazzo::tzgpu {

// Ops that compute each element from the same element of their operands
// (arith, math and tz.addptr on tiles of one shape). Scalar operands (a
// select's condition) are allowed.
bool isElementwise(mlir::Operation *op);

// The layout the tile operand of a shape op (broadcast, expand_dims, trans,
// convert_layout) needs for the op's result to come out in `layout`, with no
// data movement; nothing for other ops, or when `layout` cannot be sliced.
std::optional<LinearLayout> operandLayoutFor(mlir::Operation *op, const LinearLayout &layout);

// `v`'s type with `layout`.
mlir::RankedTensorType retyped(mlir::Value v, const LinearLayout &layout);

class TileRebuilder {
public:
  // Whether `v` can be produced in `layout` with no shared memory: it is
  // already in it, or moves there within each thread's registers, or is
  // made by cheap ops (make_range, splat, splat constants, elementwise,
  // broadcast, expand_dims, trans, convert_layout) from such values.
  bool canRebuild(mlir::Value v, const LinearLayout &layout);
  // `v` in `layout`; requires canRebuild. New ops go right after the ops
  // they copy, so they dominate every use of the original.
  mlir::Value rebuild(mlir::Value v, const LinearLayout &layout);

private:
  bool canRebuild(mlir::Value v, const LinearLayout &layout, int &budget);
  using Key = std::pair<mlir::Value, mlir::Type>;
  llvm::DenseMap<Key, mlir::Value> built_;
};

} // namespace terrazzo::tzgpu
