//===- Scratch.h - shared memory an op needs while it runs -------*- C++ -*-===//
//
// Some ops exchange data between threads through shared memory while they
// run: a layout conversion (or broadcast, trans, reshape, expand_dims) that
// registers and shuffles cannot do, a reduction or scan across warps, an
// atomic whose result is handed to copies, a dot whose operand is staged
// from registers. That space is a buffer like any other for
// tzgpu-allocate-shared-memory, live only during the op; these functions
// give its size from the op's types and layouts, and the lowering of each
// op uses the same functions, so the two cannot disagree.
#pragma once

#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include "mlir/IR/Operation.h"

namespace terrazzo::tzgpu {

struct ScratchNeed {
  int64_t bytes = 0;
  int64_t alignment = 16;
};

// What `op` needs (bytes 0: nothing). `op`'s tiles must have layouts.
ScratchNeed scratchNeed(mlir::Operation *op);

// How a value of `type` is kept in shared memory: i1 as a byte, pointers as
// 8 bytes, other scalars as themselves.
int64_t sharedStorageBytesOf(mlir::Type elementType);

// The coordinate map of a shape op (broadcast, expand_dims, trans, reshape,
// convert_layout): element c of the result is element map(c) of the source.
CoordMap remapCoordMap(mlir::Operation *op);

// Scratch of a reduction of a tile in `layout` along `axis` whose partial
// values are `valueBytes` wide (plus an i32 index for argmax/argmin): the
// exchange across warps, and the move of the result into `resultLayout`
// (null for 1-D sources).
int64_t reduceAcrossWarpsBytes(const LinearLayout &layout, int axis, int64_t valueBytes, bool withIndex);
int64_t reduceResultRemapBytes(const LinearLayout &sliced, const LinearLayout &resultLayout, int64_t valueBytes);

} // namespace terrazzo::tzgpu
